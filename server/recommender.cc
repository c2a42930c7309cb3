#include "server/recommender.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace movierec {
namespace {

void AddMovies(const Snapshot& snapshot, const std::vector<ScoredMovie>& movies,
               movierec::v1::RecommendResponse* response) {
  const std::vector<Movie>& catalog = snapshot.model().catalog.movies;
  response->mutable_movies()->Reserve(static_cast<int>(movies.size()));
  for (const ScoredMovie& scored : movies) {
    const Movie& movie = catalog[scored.movie];
    movierec::v1::ScoredMovie* out = response->add_movies();
    out->set_movie_id(absl::StrCat(movie.id));
    out->set_title(movie.title);
    out->set_score(scored.score);
    out->set_retrieval_score(scored.retrieval_score);
  }
}

}  // namespace

Recommender::Recommender(SnapshotSource snapshot)
    : snapshot_(std::move(snapshot)) {}

absl::Status Recommender::Recommend(
    const movierec::v1::RecommendRequest& request,
    movierec::v1::RecommendResponse* response, RecommendTrace* trace) const {
  RecommendTrace ignored;
  if (trace == nullptr) trace = &ignored;
  if (request.user_id().empty()) {
    return absl::InvalidArgumentError("user_id is empty");
  }
  if (request.count() < 0 || request.count() > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("count ", request.count(), " is outside 0-", kMaxCount,
                     " (0 means ", kDefaultCount, ")"));
  }
  const int count = request.count() == 0 ? kDefaultCount : request.count();
  const std::shared_ptr<const Snapshot> snapshot = snapshot_();
  if (snapshot == nullptr) {
    return absl::UnavailableError("no model is loaded yet");
  }
  response->set_model_version(snapshot->version_string());
  const int user = snapshot->UserRow(request.user_id());
  if (user < 0) {
    trace->fallback = true;
    response->set_fallback(true);
    AddMovies(*snapshot, snapshot->scorer().Popular(count, {}), response);
    return absl::OkStatus();
  }
  StageTimes times;
  const std::vector<ScoredMovie> movies =
      snapshot->scorer().Recommend(user, count, &times);
  trace->retrieval_seconds = times.retrieval_seconds;
  trace->ranking_seconds = times.ranking_seconds;
  AddMovies(*snapshot, movies, response);
  return absl::OkStatus();
}

}  // namespace movierec
