#include "model/scorer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <utility>

namespace movierec {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

RowMatrix GenreProfiles(const Model& model) {
  const int genres = static_cast<int>(model.catalog.genre_names.size());
  RowMatrix profile = RowMatrix::Zero(model.num_users(), genres);
  for (int u = 0; u < model.num_users(); ++u) {
    const absl::Span<const int32_t> seen = model.seen.Of(u);
    for (const int32_t movie : seen) {
      for (const int32_t g : model.catalog.movies[movie].genres) {
        profile(u, g) += 1;
      }
    }
    if (!seen.empty()) profile.row(u) /= static_cast<float>(seen.size());
  }
  return profile;
}

// Each user's mean release year over the seen movies that have one; 0 when
// none has.
std::vector<float> MeanReleaseYears(const Model& model) {
  std::vector<float> years(static_cast<size_t>(model.num_users()), 0.0f);
  for (int u = 0; u < model.num_users(); ++u) {
    double sum = 0;
    int count = 0;
    for (const int32_t movie : model.seen.Of(u)) {
      const int32_t year = model.catalog.movies[movie].release_year;
      if (year > 0) {
        sum += year;
        ++count;
      }
    }
    if (count > 0) years[u] = static_cast<float>(sum / count);
  }
  return years;
}

}  // namespace

Scorer::Scorer(std::shared_ptr<const Model> model, ScorerOptions options)
    : Scorer(model, MakeFlatIndex(model->movie_vectors), options) {}

Scorer::Scorer(std::shared_ptr<const Model> model,
               std::unique_ptr<CandidateIndex> index, ScorerOptions options)
    : model_(std::move(model)), index_(std::move(index)), options_(options) {
  by_popularity_.resize(model_->popularity.size());
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(),
                   [this](int32_t a, int32_t b) {
                     return model_->popularity[a] > model_->popularity[b];
                   });
  if (model_->rating) {
    rating_users_ = model_->rating->UserVectors(model_->seen);
    rating_movies_ = model_->rating->MovieVectors(model_->popularity);
  }
  // Always: reranker training computes features on models without one.
  genre_profile_ = GenreProfiles(*model_);
  user_year_ = MeanReleaseYears(*model_);
  neighbors_ =
      ItemNeighbors::Build(model_->seen, model_->num_movies(), kItemNeighbors);
  double ratings = 0;
  for (const int32_t count : model_->popularity) ratings += count;
  log_mean_popularity_ = static_cast<float>(
      std::log1p(ratings / std::max<size_t>(model_->popularity.size(), 1)));
}

std::vector<Candidate> Scorer::RetrieveForQuery(
    const float* query, absl::Span<const int32_t> exclude, int count) const {
  return index_->Search(query, count, exclude);
}

std::vector<ScoredMovie> Scorer::Retrieve(int user, int count) const {
  std::vector<ScoredMovie> result;
  for (const Candidate& c :
       RetrieveForQuery(model_->user_vectors.row(user).data(),
                        model_->seen.Of(user), count)) {
    result.push_back({c.row, c.score, c.score});
  }
  return result;
}

std::vector<ScoredMovie> Scorer::Recommend(int user, int count,
                                           StageTimes* times) const {
  StageTimes ignored;
  if (times == nullptr) times = &ignored;
  auto start = std::chrono::steady_clock::now();
  const int retrieve =
      ranks() ? std::max(count, options_.num_candidates) : count;
  const std::vector<Candidate> candidates = RetrieveForQuery(
      model_->user_vectors.row(user).data(), model_->seen.Of(user), retrieve);
  times->retrieval_seconds = SecondsSince(start);
  if (!ranks()) {
    std::vector<ScoredMovie> result;
    for (const Candidate& c : candidates) {
      result.push_back({c.row, c.score, c.score});
    }
    return result;
  }
  start = std::chrono::steady_clock::now();
  std::vector<ScoredMovie> result = Rank(user, candidates, count);
  times->ranking_seconds = SecondsSince(start);
  return result;
}

std::vector<ScoredMovie> Scorer::Rank(int user,
                                      const std::vector<Candidate>& candidates,
                                      int count) const {
  const auto n = static_cast<Eigen::Index>(candidates.size());
  Vector scores(n);
  if (model_->reranker) {
    RowMatrix features;
    CandidateFeatures(user, candidates, &features);
    model_->reranker->Score(features, &scores);
  } else {
    std::vector<int32_t> rows(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) rows[i] = candidates[i].row;
    model_->rating->Predict(rating_users_.row(user).data(), rating_movies_,
                            rows, scores.data());
  }
  std::vector<ScoredMovie> result(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    result[i] = {candidates[i].row, scores(static_cast<Eigen::Index>(i)),
                 candidates[i].score};
  }
  // Ties fall back to the retrieval order, so the result is deterministic.
  const auto better = [](const ScoredMovie& a, const ScoredMovie& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.retrieval_score != b.retrieval_score) {
      return a.retrieval_score > b.retrieval_score;
    }
    return a.movie < b.movie;
  };
  const size_t keep = std::min(result.size(), static_cast<size_t>(count));
  std::partial_sort(result.begin(), result.begin() + keep, result.end(),
                    better);
  result.resize(keep);
  return result;
}

void Scorer::CandidateFeatures(int user, absl::Span<const Candidate> candidates,
                               RowMatrix* features) const {
  const auto n = static_cast<Eigen::Index>(candidates.size());
  features->setZero(n, kNumRerankFeatures);
  if (n == 0) return;
  Vector retrieval(n);
  for (Eigen::Index i = 0; i < n; ++i) retrieval(i) = candidates[i].score;
  const float mean = retrieval.mean();
  const float deviation =
      std::max(1e-6f, std::sqrt((retrieval.array() - mean).square().mean()));
  const float best = retrieval.maxCoeff();
  Vector predicted = Vector::Zero(n);
  if (model_->rating) {
    std::vector<int32_t> rows(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) rows[i] = candidates[i].row;
    model_->rating->Predict(rating_users_.row(user).data(), rating_movies_,
                            rows, predicted.data());
  }
  const float mean_predicted = predicted.mean();
  const absl::Span<const int32_t> history = model_->seen.Of(user);
  const float activity = std::log1p(static_cast<float>(history.size()));
  for (Eigen::Index i = 0; i < n; ++i) {
    const Candidate& c = candidates[i];
    const Movie& movie = model_->catalog.movies[c.row];
    auto f = features->row(i);
    f(kRetrievalZ) = (c.score - mean) / deviation;
    f(kRetrievalGap) = (c.score - best) / deviation;
    f(kLogRank) = std::log1p(static_cast<float>(i));
    f(kPredictedRating) = predicted(i);
    f(kRelativeRating) = predicted(i) - mean_predicted;
    f(kRelativePopularity) =
        std::log1p(static_cast<float>(model_->popularity[c.row])) -
        log_mean_popularity_;
    f(kLogUserActivity) = activity;
    if (!movie.genres.empty()) {
      float overlap = 0;
      for (const int32_t g : movie.genres) overlap += genre_profile_(user, g);
      f(kGenreAffinity) =
          overlap / std::sqrt(static_cast<float>(movie.genres.size()));
    }
    const ItemNeighbors::Affinity affinity =
        neighbors_.AffinityTo(c.row, history);
    f(kItemAffinity) = affinity.sum;
    f(kItemClosest) = affinity.closest;
    if (movie.release_year > 0) {
      f(kReleaseYear) = std::clamp(
          static_cast<float>(movie.release_year - 1990) / 10.0f, -6.0f, 1.0f);
      if (user_year_[user] > 0) {
        f(kYearDistance) = std::abs(static_cast<float>(movie.release_year) -
                                    user_year_[user]) /
                           10.0f;
      }
    }
    f(kPopularityActivity) = f(kRelativePopularity) * activity;
  }
}

std::vector<ScoredMovie> Scorer::Popular(
    int count, absl::Span<const int32_t> exclude) const {
  std::vector<ScoredMovie> result;
  for (const int32_t movie : by_popularity_) {
    if (static_cast<int>(result.size()) >= count) break;
    if (std::binary_search(exclude.begin(), exclude.end(), movie)) continue;
    const auto score = static_cast<float>(model_->popularity[movie]);
    result.push_back({movie, score, 0.0f});
  }
  return result;
}

}  // namespace movierec
