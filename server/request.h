// Turns API requests into what the Scorer takes, checking them in two steps:
// their shape, which needs no model (Check*: counts, list lengths, empty ids,
// year ranges), then their ids and genre names against the snapshot that
// will answer (Resolve*). Limits are the constants of recommender.h.
//
// Every error names the field as a path (`path` prefixes it: "requests[2].")
// and the offending value: INVALID_ARGUMENT for a malformed field or an
// unknown genre name, NOT_FOUND for a movie id the catalogue does not have.
//
// Stateless functions: safe from any thread.
#ifndef MOVIEREC_SERVER_REQUEST_H_
#define MOVIEREC_SERVER_REQUEST_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/scorer.h"
#include "movierec/v1/recommender.pb.h"
#include "server/snapshot.h"

namespace movierec {

// A Recommend request in model terms.
struct ResolvedRecommend {
  int user = -1;                // user row; -1: not a known user
  std::vector<int32_t> recent;  // rows of recent_movie_ids
  MovieFilter filter;           // movies by row, genres by index
  int count = 0;                // 1-kMaxCount
};

// A SimilarMovies request in model terms.
struct ResolvedSimilar {
  int movie = 0;  // movie row
  MovieFilter filter;
  int count = 0;
};

absl::Status CheckRecommendRequest(
    const movierec::v1::RecommendRequest& request, absl::string_view path = "");
absl::StatusOr<ResolvedRecommend> ResolveRecommendRequest(
    const Snapshot& snapshot, const movierec::v1::RecommendRequest& request,
    absl::string_view path = "");

absl::Status CheckSimilarMoviesRequest(
    const movierec::v1::SimilarMoviesRequest& request);
absl::StatusOr<ResolvedSimilar> ResolveSimilarMoviesRequest(
    const Snapshot& snapshot,
    const movierec::v1::SimilarMoviesRequest& request);

// The query's length, the ids' number and the count.
absl::Status CheckSearchMoviesRequest(
    const movierec::v1::SearchMoviesRequest& request);
// The rows of movie_ids (sorted, distinct; empty when none are given).
absl::StatusOr<std::vector<int32_t>> ResolveSearchMovieIds(
    const Snapshot& snapshot, const movierec::v1::SearchMoviesRequest& request);

// The batch's size, then every request's shape.
absl::Status CheckRecommendBatchRequest(
    const movierec::v1::RecommendBatchRequest& request);

}  // namespace movierec

#endif  // MOVIEREC_SERVER_REQUEST_H_
