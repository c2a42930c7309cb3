#include "model/movie_similarity.h"

#include <algorithm>

namespace movierec {

MovieSimilarity::MovieSimilarity(const Model& model) {
  const bool bias = model.retrieval && model.retrieval->config().movie_bias;
  const auto dim = model.movie_vectors.cols() - (bias ? 1 : 0);
  unit_ = model.movie_vectors.leftCols(std::max<Eigen::Index>(dim, 0));
  for (Eigen::Index m = 0; m < unit_.rows(); ++m) {
    const float norm = unit_.row(m).norm();
    if (norm > 0) unit_.row(m) /= norm;
  }
  index_ = MakeFlatIndex(unit_);
}

std::vector<Candidate> MovieSimilarity::Nearest(
    int movie, int count, absl::Span<const int32_t> exclude) const {
  if (index_ == nullptr) return {};
  std::vector<int32_t> skip(exclude.begin(), exclude.end());
  const auto at = std::lower_bound(skip.begin(), skip.end(), movie);
  if (at == skip.end() || *at != movie) skip.insert(at, movie);
  return index_->Search(unit_.row(movie).data(), count, skip);
}

}  // namespace movierec
