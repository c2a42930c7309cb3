#include "tests/bench/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/random.h"

namespace movierec::bench {
namespace {

// Targets measured on the trained default-preset model (see the header).
constexpr float kMovieTasteNorm = 1.76f;  // median |taste part|
constexpr float kOffsetShare = 0.35f;     // |mean| / median |taste|
constexpr float kUserTasteNorm = 2.5f;    // median |user taste| before the
constexpr float kUserOffset = 1.3f;       // offset against the movie mean
constexpr float kBiasMean = -0.18f;
constexpr float kBiasStd = 0.38f;

float MedianRowNorm(const RowMatrix& m, Eigen::Index cols) {
  const Eigen::Index rows = std::min<Eigen::Index>(m.rows(), 4096);
  if (rows == 0) return 1;
  std::vector<float> norms(static_cast<size_t>(rows));
  for (Eigen::Index r = 0; r < rows; ++r) {
    norms[static_cast<size_t>(r)] = m.row(r).leftCols(cols).norm();
  }
  std::nth_element(norms.begin(), norms.begin() + rows / 2, norms.end());
  return std::max(norms[static_cast<size_t>(rows / 2)], 1e-6f);
}

}  // namespace

SyntheticVectors MakeSyntheticVectors(const SyntheticSpec& spec) {
  Rng rng(spec.seed);
  const int taste = spec.dim - 1;
  const auto clusters = static_cast<int>(std::max<double>(
      8, std::round(std::sqrt(static_cast<double>(spec.movies)))));
  RowVector scale(taste);
  for (int j = 0; j < taste; ++j) scale(j) = 1.0f / (1.0f + j / 4.0f);
  RowMatrix centres(clusters, taste);
  for (Eigen::Index i = 0; i < centres.size(); ++i) {
    centres.data()[i] = rng.Normal();
  }
  RowVector offset(taste);
  for (int j = 0; j < taste; ++j) offset(j) = rng.Normal();
  offset.normalize();

  SyntheticVectors out;
  out.movies.resize(spec.movies, spec.dim);
  for (int64_t i = 0; i < spec.movies; ++i) {
    const auto c = static_cast<Eigen::Index>(rng.Uniform(clusters));
    for (int j = 0; j < taste; ++j) {
      out.movies(i, j) =
          scale(j) * (0.8f * centres(c, j) + 0.6f * rng.Normal());
    }
    out.movies(i, taste) = kBiasMean + kBiasStd * rng.Normal();
  }
  const float raw = MedianRowNorm(out.movies, taste);
  for (int64_t i = 0; i < spec.movies; ++i) {
    out.movies.row(i).leftCols(taste) += kOffsetShare * raw * offset;
  }
  const float shift = kMovieTasteNorm / MedianRowNorm(out.movies, taste);
  out.movies.leftCols(taste) *= shift;

  out.users.resize(spec.users, spec.dim);
  for (int u = 0; u < spec.users; ++u) {
    const auto a = static_cast<Eigen::Index>(rng.Uniform(clusters));
    const auto b = static_cast<Eigen::Index>(rng.Uniform(clusters));
    for (int j = 0; j < taste; ++j) {
      out.users(u, j) = scale(j) * (0.8f * centres(a, j) +
                                    0.5f * centres(b, j) + 0.6f * rng.Normal());
    }
    out.users(u, taste) = 1;
  }
  out.users.leftCols(taste) *= kUserTasteNorm / MedianRowNorm(out.users, taste);
  out.users.leftCols(taste).rowwise() -= kUserOffset * offset;
  return out;
}

std::vector<std::vector<int32_t>> ExactTopK(const RowMatrix& movies,
                                            const RowMatrix& users, int k) {
  const auto n = static_cast<int32_t>(movies.rows());
  const int keep = std::min<int>(k, n);
  std::vector<std::vector<int32_t>> top(static_cast<size_t>(users.rows()));
  constexpr Eigen::Index kBlock = 16;
  Eigen::MatrixXf scores;
  for (Eigen::Index start = 0; start < users.rows(); start += kBlock) {
    const Eigen::Index block = std::min(kBlock, users.rows() - start);
    scores.noalias() = movies * users.middleRows(start, block).transpose();
#pragma omp parallel for schedule(dynamic)
    for (Eigen::Index b = 0; b < block; ++b) {
      const float* s = scores.col(b).data();
      const auto better = [s](int32_t x, int32_t y) {
        return s[x] != s[y] ? s[x] > s[y] : x < y;
      };
      std::vector<int32_t> rows(static_cast<size_t>(n));
      std::iota(rows.begin(), rows.end(), 0);
      std::nth_element(rows.begin(), rows.begin() + keep, rows.end(), better);
      rows.resize(static_cast<size_t>(keep));
      std::sort(rows.begin(), rows.end(), better);
      top[static_cast<size_t>(start + b)] = std::move(rows);
    }
  }
  return top;
}

std::vector<std::vector<int32_t>> MakeSeenLists(
    const std::vector<std::vector<int32_t>>& top, int64_t movies,
    uint64_t seed) {
  Rng rng(seed ^ 0x5EE75EE7ull);
  std::vector<std::vector<int32_t>> seen(top.size());
  for (size_t u = 0; u < top.size(); ++u) {
    const double draw = 20 * std::pow(15.0, rng.UniformFloat());
    const auto count = static_cast<int64_t>(
        std::min<double>(std::round(draw), static_cast<double>(movies) / 4));
    const auto liked = static_cast<int64_t>(std::round(0.7 * count));
    const auto pool = std::min<uint64_t>(top[u].size(), 1000);
    std::vector<int32_t>& list = seen[u];
    for (int64_t i = 0; i < count && pool > 0; ++i) {
      list.push_back(i < liked ? top[u][rng.Uniform(pool)]
                               : static_cast<int32_t>(rng.Uniform(movies)));
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return seen;
}

std::vector<int32_t> TopExcluding(const std::vector<int32_t>& top,
                                  const std::vector<int32_t>& seen, int k) {
  std::vector<int32_t> out;
  for (const int32_t row : top) {
    if (static_cast<int>(out.size()) >= k) break;
    if (!std::binary_search(seen.begin(), seen.end(), row)) out.push_back(row);
  }
  return out;
}

}  // namespace movierec::bench
