// Softmax cross-entropy of a batch of queries against a shared set of
// candidates, with its gradient: the loss of every retrieval preset.
//
//   logits[i][j] = queries[i] . candidates[j] + offsets[j]
//   loss         = sum_i -log softmax(logits[i])[labels[i]]
//
// In-batch softmax (TFRS) passes the batch's own movies as candidates and
// labels[i] = i; a full softmax passes the whole catalogue; a sampled softmax
// passes sampled movies with offsets = -log Q (the log-Q correction).
//
// The B x n logits are computed in blocks of rows that stay in cache and are
// never materialised whole. Work is split over OpenMP threads statically and
// reduced in thread order, so a fixed thread count gives identical results.
#ifndef MOVIEREC_TRAIN_SOFTMAX_H_
#define MOVIEREC_TRAIN_SOFTMAX_H_

#include <cstdint>

#include "absl/types/span.h"
#include "util/eigen_types.h"

namespace movierec {

struct SoftmaxOptions {
  // Query rows per block: the block's logits (block_rows x n floats) should
  // fit in the per-core cache.
  int block_rows = 128;
};

// Returns the summed loss and writes d_queries (B x d) and d_candidates
// (n x d), the gradients of that sum. `offsets` is null or holds n values.
// Every label must be in [0, n).
double SoftmaxCrossEntropy(const RowMatrix& queries,
                           const RowMatrix& candidates, const float* offsets,
                           absl::Span<const int32_t> labels,
                           RowMatrix* d_queries, RowMatrix* d_candidates,
                           const SoftmaxOptions& options = {});

// The floating-point operations of one SoftmaxCrossEntropy call (the three
// matrix products), for throughput reports.
double SoftmaxFlops(int64_t batch, int64_t candidates, int64_t dim);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_SOFTMAX_H_
