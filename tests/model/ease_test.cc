// Tests of EASE^R (model/ease.h): the closed form's defining property on a
// random set of users, and the sparse table of the item source against the
// dense weights it keeps.
#include "model/ease.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "util/random.h"

namespace movierec {
namespace {

// 40 users over 25 movies, each rating 3-10 of them, popular movies more.
UserMovies RandomUsers() {
  Rng rng(7);
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u < 40; ++u) {
    const int count = 3 + static_cast<int>(rng.Uniform(8));
    for (int i = 0; i < count; ++i) {
      const auto movie =
          static_cast<int32_t>(rng.Uniform(25) * rng.Uniform(25) / 25);
      interactions.push_back({u, movie, 4.0f, i});
    }
  }
  return UserMovies(40, interactions);
}

// B minimises ||X - XB||^2 + lambda ||B||^2 with a zero diagonal exactly
// when G (I - B) is diagonal, G = X^T X + lambda I (Steck 2019, eq. 8).
TEST(EaseTest, WeightsAreTheClosedFormSolution) {
  const UserMovies seen = RandomUsers();
  constexpr int kMovies = 25;
  constexpr float kLambda = 3;
  const Eigen::MatrixXf b = EaseWeights(seen, kMovies, kLambda);
  ASSERT_EQ(b.rows(), kMovies);
  ASSERT_EQ(b.cols(), kMovies);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(40, kMovies);
  for (int u = 0; u < 40; ++u) {
    for (const int32_t m : seen.Of(u)) x(u, m) = 1;
  }
  Eigen::MatrixXd g = x.transpose() * x;
  g.diagonal().array() += kLambda;
  const Eigen::MatrixXd product =
      g * (Eigen::MatrixXd::Identity(kMovies, kMovies) - b.cast<double>());
  for (int i = 0; i < kMovies; ++i) {
    EXPECT_EQ(b(i, i), 0) << i;
    for (int j = 0; j < kMovies; ++j) {
      if (i != j) EXPECT_NEAR(product(i, j), 0, 1e-4) << i << ", " << j;
    }
    EXPECT_GT(product(i, i), 0);
  }
  // Movies that share users point to each other.
  EXPECT_GT(b.maxCoeff(), 0);
}

// The table keeps each movie's k weights of largest magnitude, negative
// ones too, filed under the movie they point to, with their values.
TEST(EaseTest, NeighborsKeepEachMoviesStrongestWeights) {
  const UserMovies seen = RandomUsers();
  constexpr int kMovies = 25;
  constexpr int kKeep = 4;
  const Eigen::MatrixXf b = EaseWeights(seen, kMovies, 3);
  const ItemNeighbors table = EaseNeighbors(seen, kMovies, 3, kKeep);
  ASSERT_EQ(table.num_movies(), kMovies);
  // table: target i <- (source j, B(j, i)); regroup by source.
  std::vector<std::vector<std::pair<int32_t, float>>> by_source(kMovies);
  for (int32_t i = 0; i < kMovies; ++i) {
    const auto from = table.neighbors(i);
    const auto weights = table.similarities(i);
    EXPECT_TRUE(std::is_sorted(from.begin(), from.end()));
    for (size_t e = 0; e < from.size(); ++e) {
      EXPECT_EQ(weights[e], b(from[e], i));
      by_source[from[e]].emplace_back(i, weights[e]);
    }
  }
  int kept = 0;
  int negative = 0;
  for (int32_t j = 0; j < kMovies; ++j) {
    std::vector<float> magnitudes;
    for (int32_t i = 0; i < kMovies; ++i) {
      if (b(j, i) != 0) magnitudes.push_back(std::abs(b(j, i)));
    }
    std::sort(magnitudes.rbegin(), magnitudes.rend());
    const size_t expected = std::min<size_t>(magnitudes.size(), kKeep);
    ASSERT_EQ(by_source[j].size(), expected) << "movie " << j;
    float smallest_kept = std::numeric_limits<float>::max();
    for (const auto& [i, w] : by_source[j]) {
      smallest_kept = std::min(smallest_kept, std::abs(w));
      negative += w < 0;
    }
    if (expected > 0 && expected < magnitudes.size()) {
      EXPECT_GE(smallest_kept, magnitudes[expected]) << "movie " << j;
    }
    kept += static_cast<int>(expected);
  }
  EXPECT_GT(kept, kMovies);
  EXPECT_GT(negative, 0);
}

}  // namespace
}  // namespace movierec
