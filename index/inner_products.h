// Internal to index/: the exact index's scoring, one query or a batch of
// them against every movie vector, with the same arithmetic either way.
//
// The vectors are kept transposed (dim rows of the movies, each padded with
// zeros to a whole number of kLanes), so that one vector register holds one
// score of kLanes movies and a score is accumulated over the dimensions in
// order, one multiply-add each. A batch scores kBlock queries per pass over
// the vectors: each load of a vector register feeds kBlock multiply-adds
// instead of one, which a batch of queries needs (a matrix-vector product
// per query re-reads every vector from the cache for each query). Both paths
// run the same per-score sequence of operations, so a batch's scores are
// bit for bit those of its queries searched one by one.
#ifndef MOVIEREC_INDEX_INNER_PRODUCTS_H_
#define MOVIEREC_INDEX_INNER_PRODUCTS_H_

#include <cstdint>
#include <vector>

namespace movierec {
namespace internal {

class TransposedVectors {
 public:
  // Scores computed side by side (a multiple of every SIMD width in use).
  static constexpr int64_t kLanes = 16;
  // Queries scored per pass over the vectors.
  static constexpr int kBlock = 8;

  // A copy of `n` row-major vectors of `dim` floats.
  TransposedVectors(const float* rows, int64_t n, int dim);

  int64_t size() const { return n_; }
  int dim() const { return dim_; }
  // Floats per query in Score's output: size() rounded up to kLanes.
  int64_t stride() const { return stride_; }

  // scores[q * stride() + i] = <query q, vector i> for the `m` row-major
  // queries of dim() floats (scores holds m * stride() floats; the padding
  // after size() scores 0).
  void Score(const float* queries, int64_t m, float* scores) const;

 private:
  template <int kQueries, int kChunks>
  int64_t ScoreBlock(const float* queries, int64_t begin, int64_t end,
                     float* scores) const;

  int64_t n_;
  int dim_;
  int64_t stride_;
  std::vector<float> columns_;  // dim_ x stride_
};

}  // namespace internal
}  // namespace movierec

#endif  // MOVIEREC_INDEX_INNER_PRODUCTS_H_
