#include "model/ease.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace movierec {

Eigen::MatrixXf EaseWeights(const UserMovies& seen, int num_movies,
                            float lambda) {
  // X^T X from each user's pairs: the co-occurrence counts, without the
  // users x movies matrix X itself.
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(num_movies, num_movies);
  for (int u = 0; u < seen.num_users(); ++u) {
    const absl::Span<const int32_t> movies = seen.Of(u);
    for (const int32_t a : movies) {
      double* column = gram.col(a).data();
      for (const int32_t b : movies) column[b] += 1;
    }
  }
  gram.diagonal().array() += lambda;
  const Eigen::MatrixXd p =
      gram.ldlt().solve(Eigen::MatrixXd::Identity(num_movies, num_movies));
  Eigen::MatrixXd b = -p * p.diagonal().cwiseInverse().asDiagonal();
  b.diagonal().setZero();
  return b.cast<float>();
}

ItemNeighbors EaseNeighbors(const UserMovies& seen, int num_movies,
                            float lambda, int k) {
  const Eigen::MatrixXf b = EaseWeights(seen, num_movies, lambda);
  // Each movie j's k weights of largest magnitude, collected by target.
  std::vector<std::vector<std::pair<int32_t, float>>> by_target(
      static_cast<size_t>(num_movies));
  std::vector<std::pair<float, int32_t>> row;
  for (int32_t j = 0; j < num_movies; ++j) {
    row.clear();
    for (int32_t i = 0; i < num_movies; ++i) {
      const float w = b(j, i);
      if (w != 0 && std::isfinite(w)) row.emplace_back(w, i);
    }
    // Largest magnitude first, lower row on ties: deterministic.
    const size_t keep = std::min(row.size(), static_cast<size_t>(k));
    std::partial_sort(row.begin(), row.begin() + keep, row.end(),
                      [](const auto& x, const auto& y) {
                        return std::abs(x.first) != std::abs(y.first)
                                   ? std::abs(x.first) > std::abs(y.first)
                                   : x.second < y.second;
                      });
    for (size_t n = 0; n < keep; ++n) {
      by_target[row[n].second].emplace_back(j, row[n].first);
    }
  }
  std::vector<int64_t> offsets = {0};
  std::vector<int32_t> rows;
  std::vector<float> weights;
  for (const auto& list : by_target) {
    // Sources were visited in increasing order: each list is sorted.
    for (const auto& [j, w] : list) {
      rows.push_back(j);
      weights.push_back(w);
    }
    offsets.push_back(static_cast<int64_t>(rows.size()));
  }
  return *ItemNeighbors::FromParts(std::move(offsets), std::move(rows),
                                   std::move(weights), num_movies,
                                   std::numeric_limits<float>::max(), true);
}

}  // namespace movierec
