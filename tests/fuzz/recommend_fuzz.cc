// libFuzzer target: the request handler. Each input is parsed as a
// serialized movierec.v1.RecommendRequest (inputs that are not one are
// skipped) and answered by a Recommender (server/recommender.h) over a small
// model loaded once, through EncodeBundle and DecodeBundle, as a server
// loads it.
//
// Properties: Recommend returns; an error is INVALID_ARGUMENT or NOT_FOUND
// with a message; an answer names the serving version and holds at most
// `count` (0: 10) distinct catalogue movies, none seen by a known user,
// and a known user is never given the popular fallback.
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "server/recommender.h"
#include "server/snapshot.h"
#include "tests/fuzz/fuzz_fixtures.h"

namespace {

using movierec::Recommender;
using movierec::Snapshot;

const Snapshot* snapshot = nullptr;
const Recommender* recommender = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  omp_set_num_threads(1);  // deterministic, and one core per fuzzer
  static const auto shared = std::make_shared<const Snapshot>(
      3,
      std::make_shared<const movierec::Model>(movierec::fuzz::ServedModel()));
  snapshot = shared.get();
  recommender = new Recommender([] { return shared; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  movierec::v1::RecommendRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;
  movierec::v1::RecommendResponse response;
  const absl::Status status = recommender->Recommend(request, &response);
  if (!status.ok()) {
    MOVIEREC_FUZZ_CHECK(
        absl::IsInvalidArgument(status) || absl::IsNotFound(status),
        status.ToString());
    MOVIEREC_FUZZ_CHECK(!status.message().empty(), "error without a reason");
    return 0;
  }
  const int count =
      request.count() == 0 ? movierec::kDefaultCount : request.count();
  MOVIEREC_FUZZ_CHECK(response.model_version() == "3",
                      response.model_version());
  MOVIEREC_FUZZ_CHECK(response.movies_size() <= count, "too many movies");
  const int user = snapshot->UserRow(request.user_id());
  MOVIEREC_FUZZ_CHECK(!response.fallback() || user < 0,
                      "a known user got the popular fallback");
  absl::flat_hash_set<std::string> ids;
  for (const movierec::v1::ScoredMovie& movie : response.movies()) {
    MOVIEREC_FUZZ_CHECK(ids.insert(movie.movie_id()).second,
                        "duplicate movie " + movie.movie_id());
    const int row = snapshot->MovieRow(movie.movie_id());
    MOVIEREC_FUZZ_CHECK(row >= 0, "unknown movie " + movie.movie_id());
    if (user >= 0) {
      MOVIEREC_FUZZ_CHECK(!snapshot->model().seen.Contains(user, row),
                          "seen movie " + movie.movie_id());
    }
  }
  return 0;
}
