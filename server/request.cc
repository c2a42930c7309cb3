#include "server/request.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/recommender.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

using ::google::protobuf::RepeatedPtrField;

absl::Status CheckCount(int count, absl::string_view path) {
  if (count < 0 || count > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, "count ", count, " is outside 0-", kMaxCount,
                     " (0 means ", kDefaultCount, ")"));
  }
  return absl::OkStatus();
}

int CountOrDefault(int count) { return count == 0 ? kDefaultCount : count; }

// A list of ids: at most `max` entries, none empty.
absl::Status CheckIds(const RepeatedPtrField<std::string>& ids, int max,
                      absl::string_view path, absl::string_view field) {
  if (ids.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, field, " has ", ids.size(), " entries; at most ",
                     max, " are allowed"));
  }
  for (int i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, field, "[", i, "] is empty"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckYear(int year, absl::string_view path,
                       absl::string_view field) {
  if (year < 0 || year > kMaxReleaseYear) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, field, " ", year, " is outside 0-", kMaxReleaseYear,
                     " (0: no bound)"));
  }
  return absl::OkStatus();
}

absl::Status CheckFilter(const movierec::v1::MovieFilter& filter,
                         absl::string_view path) {
  const std::string prefix = absl::StrCat(path, "filter.");
  MOVIEREC_RETURN_IF_ERROR(
      CheckIds(filter.genres(), kMaxFilterGenres, prefix, "genres"));
  MOVIEREC_RETURN_IF_ERROR(CheckIds(filter.exclude_movie_ids(),
                                    kMaxExcludedMovies, prefix,
                                    "exclude_movie_ids"));
  MOVIEREC_RETURN_IF_ERROR(CheckIds(filter.include_movie_ids(),
                                    kMaxIncludedMovies, prefix,
                                    "include_movie_ids"));
  MOVIEREC_RETURN_IF_ERROR(
      CheckYear(filter.min_release_year(), prefix, "min_release_year"));
  MOVIEREC_RETURN_IF_ERROR(
      CheckYear(filter.max_release_year(), prefix, "max_release_year"));
  if (filter.min_release_year() > 0 && filter.max_release_year() > 0 &&
      filter.min_release_year() > filter.max_release_year()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "min_release_year ", filter.min_release_year(),
                     " is after max_release_year ", filter.max_release_year()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ResolveMovie(const Snapshot& snapshot,
                                 const std::string& id,
                                 absl::string_view field) {
  const int row = snapshot.MovieRow(id);
  if (row < 0) {
    return absl::NotFoundError(absl::StrCat(
        field, ": movie \"", id, "\" is not in the catalogue of model version ",
        snapshot.version_string()));
  }
  return row;
}

absl::Status ResolveMovies(const Snapshot& snapshot,
                           const RepeatedPtrField<std::string>& ids,
                           absl::string_view field,
                           std::vector<int32_t>* rows) {
  rows->reserve(rows->size() + static_cast<size_t>(ids.size()));
  for (int i = 0; i < ids.size(); ++i) {
    MOVIEREC_ASSIGN_OR_RETURN(
        const int row,
        ResolveMovie(snapshot, ids[i], absl::StrCat(field, "[", i, "]")));
    rows->push_back(row);
  }
  return absl::OkStatus();
}

absl::StatusOr<MovieFilter> ResolveFilter(
    const Snapshot& snapshot, const movierec::v1::MovieFilter& proto,
    absl::string_view path) {
  MovieFilter filter;
  // A filter on a field the catalogue lacks (data without genres or
  // years) would silently answer nothing: it is refused, saying why.
  if (proto.genres_size() > 0 && snapshot.model().catalog.genre_names.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, "filter.genres: the catalogue of model version ",
        snapshot.version(),
        " has no genres (its data had none); drop the genre filter"));
  }
  if ((proto.min_release_year() > 0 || proto.max_release_year() > 0) &&
      !snapshot.has_release_years()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, "filter.", proto.min_release_year() > 0 ? "min" : "max",
        "_release_year: no movie in the catalogue of model version ",
        snapshot.version(),
        " has a release year (its data had none); drop the year filter"));
  }
  for (int i = 0; i < proto.genres_size(); ++i) {
    const int genre = snapshot.GenreIndex(proto.genres(i));
    if (genre < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, "filter.genres[", i, "]: unknown genre \"", proto.genres(i),
          "\"; the genres are: ",
          absl::StrJoin(snapshot.model().catalog.genre_names, ", ")));
    }
    filter.genres.push_back(genre);
  }
  filter.min_release_year = proto.min_release_year();
  filter.max_release_year = proto.max_release_year();
  MOVIEREC_RETURN_IF_ERROR(ResolveMovies(
      snapshot, proto.exclude_movie_ids(),
      absl::StrCat(path, "filter.exclude_movie_ids"), &filter.exclude));
  // Unknown ids are NOT_FOUND as everywhere else: an allow-list that
  // silently dropped them would answer from a shorter list than was asked.
  MOVIEREC_RETURN_IF_ERROR(ResolveMovies(
      snapshot, proto.include_movie_ids(),
      absl::StrCat(path, "filter.include_movie_ids"), &filter.include));
  return filter;
}

}  // namespace

absl::Status CheckRecommendRequest(
    const movierec::v1::RecommendRequest& request, absl::string_view path) {
  if (request.user_id().empty() && request.recent_movie_ids().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     "user_id is empty: give a user_id, or recent_movie_ids "
                     "for a visitor without one"));
  }
  MOVIEREC_RETURN_IF_ERROR(CheckCount(request.count(), path));
  MOVIEREC_RETURN_IF_ERROR(CheckIds(
      request.recent_movie_ids(), kMaxRecentMovies, path, "recent_movie_ids"));
  return CheckFilter(request.filter(), path);
}

absl::StatusOr<ResolvedRecommend> ResolveRecommendRequest(
    const Snapshot& snapshot, const movierec::v1::RecommendRequest& request,
    absl::string_view path) {
  ResolvedRecommend resolved;
  resolved.count = CountOrDefault(request.count());
  resolved.user =
      request.user_id().empty() ? -1 : snapshot.UserRow(request.user_id());
  MOVIEREC_RETURN_IF_ERROR(ResolveMovies(snapshot, request.recent_movie_ids(),
                                         absl::StrCat(path, "recent_movie_ids"),
                                         &resolved.recent));
  MOVIEREC_ASSIGN_OR_RETURN(resolved.filter,
                            ResolveFilter(snapshot, request.filter(), path));
  return resolved;
}

absl::Status CheckSimilarMoviesRequest(
    const movierec::v1::SimilarMoviesRequest& request) {
  if (request.movie_id().empty()) {
    return absl::InvalidArgumentError("movie_id is empty");
  }
  MOVIEREC_RETURN_IF_ERROR(CheckCount(request.count(), ""));
  return CheckFilter(request.filter(), "");
}

absl::StatusOr<ResolvedSimilar> ResolveSimilarMoviesRequest(
    const Snapshot& snapshot,
    const movierec::v1::SimilarMoviesRequest& request) {
  ResolvedSimilar resolved;
  resolved.count = CountOrDefault(request.count());
  MOVIEREC_ASSIGN_OR_RETURN(
      resolved.movie, ResolveMovie(snapshot, request.movie_id(), "movie_id"));
  MOVIEREC_ASSIGN_OR_RETURN(resolved.filter,
                            ResolveFilter(snapshot, request.filter(), ""));
  return resolved;
}

absl::Status CheckSearchMoviesRequest(
    const movierec::v1::SearchMoviesRequest& request) {
  if (request.query().size() > kMaxSearchQueryBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query is ", request.query().size(), " bytes long; at most ",
        kMaxSearchQueryBytes, " are allowed"));
  }
  MOVIEREC_RETURN_IF_ERROR(
      CheckIds(request.movie_ids(), kMaxSearchMovieIds, "", "movie_ids"));
  return CheckCount(request.count(), "");
}

absl::StatusOr<std::vector<int32_t>> ResolveSearchMovieIds(
    const Snapshot& snapshot,
    const movierec::v1::SearchMoviesRequest& request) {
  std::vector<int32_t> rows;
  MOVIEREC_RETURN_IF_ERROR(
      ResolveMovies(snapshot, request.movie_ids(), "movie_ids", &rows));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

absl::Status CheckRecommendBatchRequest(
    const movierec::v1::RecommendBatchRequest& request) {
  if (request.requests().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requests is empty: give 1-", kMaxBatchRequests, " requests"));
  }
  if (request.requests_size() > kMaxBatchRequests) {
    return absl::InvalidArgumentError(
        absl::StrCat("requests has ", request.requests_size(),
                     " entries; at most ", kMaxBatchRequests, " are allowed"));
  }
  for (int i = 0; i < request.requests_size(); ++i) {
    MOVIEREC_RETURN_IF_ERROR(CheckRecommendRequest(
        request.requests(i), absl::StrCat("requests[", i, "].")));
  }
  return absl::OkStatus();
}

}  // namespace movierec
