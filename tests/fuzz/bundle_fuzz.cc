// libFuzzer target: the model-version readers, DecodeBundle and
// DecodeBundleCatalog, on arbitrary bytes; then whatever DecodeBundle
// accepts is served, as the server would.
//
// Each input is tried twice: as the whole of model.bin (the header checks),
// and as the payload behind a valid header (fuzz::FrameBundle), since a
// mutated payload would almost never match its CRC-32 and the message
// validation behind it would go unexercised.
//
// Properties: both readers return (no crash, no sanitizer report); an error
// is InvalidArgument and names the file; a bundle DecodeBundle accepts,
// DecodeBundleCatalog accepts too, with as many movies and users; a model
// DecodeBundle accepts can be loaded into a Snapshot and answers a known
// and an unknown user with at most `count` distinct catalogue movies.
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "server/recommender.h"
#include "server/snapshot.h"
#include "tests/fuzz/fuzz_fixtures.h"

namespace movierec {
namespace {

constexpr char kName[] = "fuzz/1/model.bin";

void CheckAnswer(const Recommender& recommender, const Model& model,
                 const std::string& user_id, int count) {
  v1::RecommendRequest request;
  request.set_user_id(user_id);
  request.set_count(count);
  v1::RecommendResponse response;
  const absl::Status status = recommender.Recommend(request, &response);
  MOVIEREC_FUZZ_CHECK(status.ok(), status.ToString());
  MOVIEREC_FUZZ_CHECK(response.movies_size() <= count, "too many movies");
  absl::flat_hash_set<std::string> ids;
  for (const v1::ScoredMovie& movie : response.movies()) {
    MOVIEREC_FUZZ_CHECK(ids.insert(movie.movie_id()).second,
                        "duplicate movie " + movie.movie_id());
  }
  MOVIEREC_FUZZ_CHECK(ids.size() <= model.catalog.movies.size(),
                      "more movies than the catalogue");
}

void CheckRefusal(const absl::Status& status) {
  MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(status), status.ToString());
  MOVIEREC_FUZZ_CHECK(
      absl::StartsWith(status.message(), absl::StrCat(kName, ": ")),
      status.ToString());
}

void Decode(absl::string_view bytes) {
  absl::StatusOr<Model> model = DecodeBundle(bytes, kName);
  const absl::StatusOr<MovieLens> catalog = DecodeBundleCatalog(bytes, kName);
  if (!catalog.ok()) CheckRefusal(catalog.status());
  if (!model.ok()) {
    CheckRefusal(model.status());
    return;
  }
  // The catalogue reader skips what the whole one reads: it accepts at
  // least as much.
  MOVIEREC_FUZZ_CHECK(catalog.ok(), catalog.status().ToString());
  MOVIEREC_FUZZ_CHECK(catalog->movies.size() == model->catalog.movies.size() &&
                          catalog->users.size() == model->catalog.users.size(),
                      "the catalogue reader read another catalogue");
  const auto shared = std::make_shared<const Model>(*std::move(model));
  const auto snapshot = std::make_shared<const Snapshot>(1, shared);
  const Recommender recommender([snapshot] { return snapshot; });
  const int count = 5;
  if (!shared->catalog.users.empty()) {
    CheckAnswer(recommender, *shared, absl::StrCat(shared->catalog.users[0].id),
                count);
  }
  CheckAnswer(recommender, *shared, "not-a-user", count);
}

}  // namespace
}  // namespace movierec

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  omp_set_num_threads(1);  // deterministic, and one core per fuzzer
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  movierec::Decode(bytes);
  movierec::Decode(movierec::fuzz::FrameBundle(bytes));
  return 0;
}
