#include "model/scorer.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace movierec {

Scorer::Scorer(std::shared_ptr<const Model> model)
    : Scorer(model, MakeFlatIndex(model->movie_vectors)) {}

Scorer::Scorer(std::shared_ptr<const Model> model,
               std::unique_ptr<CandidateIndex> index)
    : model_(std::move(model)), index_(std::move(index)) {
  by_popularity_.resize(model_->popularity.size());
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(),
                   [this](int32_t a, int32_t b) {
                     return model_->popularity[a] > model_->popularity[b];
                   });
}

std::vector<ScoredMovie> Scorer::Recommend(int user, int count) const {
  return RecommendForQuery(model_->user_vectors.row(user).data(),
                           model_->seen.Of(user), count);
}

std::vector<ScoredMovie> Scorer::RecommendForQuery(
    const float* query, absl::Span<const int32_t> exclude, int count) const {
  std::vector<ScoredMovie> result;
  for (const Candidate& c : index_->Search(query, count, exclude)) {
    result.push_back({c.row, c.score, c.score});
  }
  return result;
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
