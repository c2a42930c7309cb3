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

// The scores of kQueries queries for the vectors [begin, end) (a whole
// number of kChunks x kLanes) into scores; returns end. kChunks x kLanes
// scores of each query live in registers while the dimensions stream past;
// every score is acc = acc + q[d] * v[d] for d in order, whatever kQueries
// and kChunks are. One query scores four chunks at once, so that eight
// multiply-adds are in flight rather than a chain of two each waiting for
// the last (the latency of a multiply-add).
template <int kQueries, int kChunks>
int64_t TransposedVectors::ScoreBlock(const float* queries, int64_t begin,
                                      int64_t end, float* scores) const {
  constexpr int64_t kStep = kChunks * kLanes;
  constexpr int64_t kVectors = kChunks * kHalves;
  for (; begin + kStep <= end; begin += kStep) {
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
  return begin;
}

void TransposedVectors::Score(const float* queries, int64_t m,
                              float* scores) const {
  int64_t q = 0;
  for (; q + kBlock <= m; q += kBlock) {
    ScoreBlock<kBlock, 1>(queries + q * dim_, 0, stride_, scores + q * stride_);
  }
  for (; q < m; ++q) {
    const float* query = queries + q * dim_;
    float* out = scores + q * stride_;
    // Four chunks at a time, then the last few one at a time.
    ScoreBlock<1, 1>(query, ScoreBlock<1, 4>(query, 0, stride_, out), stride_,
                     out);
  }
}

}  // namespace internal
}  // namespace movierec
