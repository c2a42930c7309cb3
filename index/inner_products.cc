#include "index/inner_products.h"

#include <cstddef>
#include <cstring>

namespace movierec {
namespace internal {

TransposedVectors::TransposedVectors(const float* rows, int64_t n, int dim)
    : n_(n),
      dim_(dim),
      stride_((n + kLanes - 1) / kLanes * kLanes),
      columns_(static_cast<size_t>(dim) * static_cast<size_t>(stride_), 0.f) {
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < dim; ++d) {
      columns_[static_cast<size_t>(d * stride_ + i)] = rows[i * dim + d];
    }
  }
}

namespace {

// Eight floats in one vector register (GCC and Clang vector extensions: AVX
// with MOVIEREC_NATIVE, two SSE registers otherwise). Left to itself, the
// compiler vectorised the block across queries, with a shuffle per
// multiply-add.
typedef float Floats8 __attribute__((vector_size(32)));
constexpr int64_t kHalves = TransposedVectors::kLanes / 8;

Floats8 Load8(const float* p) {
  Floats8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

// kChunks x kLanes scores of each of kQueries queries live in registers
// while the dimensions stream past; every score is acc = acc + q[d] * v[d]
// for d in order, whatever kQueries and kChunks are. One query scores four
// chunks at once, so that eight multiply-adds are in flight rather than a
// chain of two each waiting for the last (the latency of a multiply-add).
template <int kQueries, int kChunks>
void TransposedVectors::ScoreBlock(const float* queries, float* scores) const {
  constexpr int64_t kStep = kChunks * kLanes;
  constexpr int64_t kVectors = kChunks * kHalves;
  int64_t begin = 0;
  for (; begin + kStep <= stride_; begin += kStep) {
    Floats8 acc[kQueries][kVectors] = {};
    const float* column = columns_.data() + begin;
    for (int d = 0; d < dim_; ++d, column += stride_) {
      Floats8 values[kVectors];
      for (int64_t h = 0; h < kVectors; ++h) values[h] = Load8(column + 8 * h);
      for (int q = 0; q < kQueries; ++q) {
        const float weight = queries[q * dim_ + d];
        for (int64_t h = 0; h < kVectors; ++h) {
          acc[q][h] += weight * values[h];
        }
      }
    }
    for (int q = 0; q < kQueries; ++q) {
      for (int64_t h = 0; h < kVectors; ++h) {
        std::memcpy(scores + q * stride_ + begin + 8 * h, &acc[q][h],
                    sizeof(Floats8));
      }
    }
  }
  if (begin < stride_) {
    // The last chunks, fewer than kChunks: one at a time.
    ScoreTail<kQueries>(queries, begin, scores);
  }
}

template <int kQueries>
void TransposedVectors::ScoreTail(const float* queries, int64_t begin,
                                  float* scores) const {
  for (; begin < stride_; begin += kLanes) {
    Floats8 acc[kQueries][kHalves] = {};
    const float* column = columns_.data() + begin;
    for (int d = 0; d < dim_; ++d, column += stride_) {
      Floats8 values[kHalves];
      for (int64_t h = 0; h < kHalves; ++h) values[h] = Load8(column + 8 * h);
      for (int q = 0; q < kQueries; ++q) {
        const float weight = queries[q * dim_ + d];
        for (int64_t h = 0; h < kHalves; ++h) {
          acc[q][h] += weight * values[h];
        }
      }
    }
    for (int q = 0; q < kQueries; ++q) {
      for (int64_t h = 0; h < kHalves; ++h) {
        std::memcpy(scores + q * stride_ + begin + 8 * h, &acc[q][h],
                    sizeof(Floats8));
      }
    }
  }
}

void TransposedVectors::Score(const float* queries, int64_t m,
                              float* scores) const {
  int64_t q = 0;
  for (; q + kBlock <= m; q += kBlock) {
    ScoreBlock<kBlock, 1>(queries + q * dim_, scores + q * stride_);
  }
  for (; q < m; ++q) {
    ScoreBlock<1, 4>(queries + q * dim_, scores + q * stride_);
  }
}

}  // namespace internal
}  // namespace movierec
