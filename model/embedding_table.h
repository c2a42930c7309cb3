// A trainable embedding table with a sparse Adagrad optimiser.
//
// Gradients are accumulated row by row and applied to the touched rows only,
// which is exactly Keras' Adagrad on an embedding's IndexedSlices gradient:
// a row with no gradient keeps its weights and its accumulator.
//
// The optimiser's state (gradients, accumulators: twice the weights' memory)
// exists only once PrepareForTraining has been called, so that a served
// model holds its weights alone.
//
// Not thread-safe, except that threads may accumulate gradients into
// disjoint sets of rows when each passes its own `touched` list and the lists
// are appended (AppendTouched) afterwards (Tower::BackwardBatch).
#ifndef MOVIEREC_MODEL_EMBEDDING_TABLE_H_
#define MOVIEREC_MODEL_EMBEDDING_TABLE_H_

#include <string>
#include <vector>

#include "model/adagrad.h"
#include "util/eigen_types.h"
#include "util/random.h"

namespace movierec {

class EmbeddingTable {
 public:
  EmbeddingTable(int rows, int dim);

  int rows() const { return static_cast<int>(weights_.rows()); }
  int dim() const { return static_cast<int>(weights_.cols()); }

  // Fills the weights uniformly in [-scale, scale) (Keras' Embedding default
  // is scale 0.05).
  void InitUniform(float scale, Rng& rng);

  const RowMatrix& weights() const { return weights_; }
  RowMatrix& mutable_weights() { return weights_; }
  const float* row(int r) const { return weights_.row(r).data(); }

  // Allocates the optimiser's state (zero gradients, no accumulator yet)
  // unless it exists; the accumulating and updating calls below need it.
  // Not thread-safe: call it before threads accumulate.
  void PrepareForTraining();

  // gradient[row] += scale * grad[0 .. dim). A row touched for the first
  // time since the last step is listed in `touched` when set, else in the
  // table's own list.
  void AccumulateGradient(int row, const float* grad, float scale = 1.0f,
                          std::vector<int>* touched = nullptr);

  // gradient[row] += scale * grad + decay * weights[row], in one pass (grad
  // may be null: the decay alone). Returns |weights[row]|^2, so that callers
  // can add the L2 penalty to their loss without another pass.
  float AccumulateGradientWithDecay(int row, const float* grad, float scale,
                                    float decay,
                                    std::vector<int>* touched = nullptr);

  // Adds rows listed by accumulations given their own `touched` list.
  void AppendTouched(const std::vector<int>& rows) {
    touched_.insert(touched_.end(), rows.begin(), rows.end());
  }

  // Applies one Adagrad step to every row with a gradient, then clears the
  // gradients. Rows without a gradient are untouched.
  void ApplyAdagrad(const AdagradOptions& options);

  // Discards accumulated gradients without applying them. Like ApplyAdagrad,
  // nothing to do before PrepareForTraining.
  void ClearGradients();

  // The accumulated gradient of a row (zero when untouched). Needs
  // PrepareForTraining.
  const float* gradient(int r) const { return gradient_.row(r).data(); }

 private:
  RowMatrix weights_;
  // The optimiser's state: empty until PrepareForTraining.
  RowMatrix accumulator_;  // lazily initialised on a row's first update
  RowMatrix gradient_;
  std::vector<char> touched_flag_;
  std::vector<char> has_accumulator_;
  std::vector<int> touched_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_EMBEDDING_TABLE_H_
