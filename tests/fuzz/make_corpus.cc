// Writes the binary seeds of the fuzz corpus (tests/fuzz/corpus/bundle and
// tests/fuzz/corpus/recommend) into the corpus folder given as the only
// argument. The text seeds of the MovieLens parsers are written by hand.
//
//   build/tests/bin/make_fuzz_corpus tests/fuzz/corpus
//
// Seeds named valid-* must be accepted and invalid-* refused; corpus_test
// checks that they still are.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "movierec/v1/recommender.pb.h"
#include "tests/fuzz/fuzz_fixtures.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

bool Write(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::perror(path.c_str());
    return false;
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

std::string Request(const std::string& user_id, int count) {
  v1::RecommendRequest request;
  request.set_user_id(user_id);
  request.set_count(count);
  return request.SerializeAsString();
}

int Run(const std::string& corpus) {
  const std::string bundle = EncodeBundle(fuzz::SeedModel());
  const std::string payload = bundle.substr(24);
  std::string flipped = bundle;
  flipped[flipped.size() / 2] ^= 0x01;
  const std::string b = corpus + "/bundle/";
  const std::string r = corpus + "/recommend/";
  const bool ok =
      Write(b + "valid-model.bin", bundle) &&
      Write(b + "valid-payload", payload) &&
      Write(b + "invalid-truncated", bundle.substr(0, bundle.size() / 2)) &&
      Write(b + "invalid-header-only", bundle.substr(0, 24)) &&
      Write(b + "invalid-flipped-byte", flipped) &&
      Write(b + "invalid-format-version",
            std::string("MRBUNDLE\x02\0\0\0", 12) + bundle.substr(12)) &&
      Write(r + "valid-known-user", Request("4", 5)) &&
      Write(r + "valid-unknown-user", Request("999", 0)) &&
      Write(r + "valid-most", Request("1", 100)) &&
      Write(r + "invalid-empty-user", Request("", 10)) &&
      Write(r + "invalid-count-negative", Request("1", -1)) &&
      Write(r + "invalid-count-101", Request("7", 101));
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace movierec

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  return movierec::Run(argv[1]);
}
