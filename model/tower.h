// A bag-of-embeddings tower: the weighted sum of the embedding rows named by
// a bag (see features.h). Both retrieval towers and the rating model's towers
// are Towers.
//
// Thread safety: Encode is const and may run concurrently; Backward,
// BackwardBatch, BackwardL2 and ApplyAdagrad need exclusive access.
#ifndef MOVIEREC_MODEL_TOWER_H_
#define MOVIEREC_MODEL_TOWER_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "data/features.h"
#include "model/embedding_table.h"
#include "movierec/model/v1/model_bundle.pb.h"

namespace movierec {

class Tower {
 public:
  Tower(const std::vector<TableSpec>& tables, int dim);

  int dim() const { return dim_; }
  std::vector<EmbeddingTable>& tables() { return tables_; }
  const std::vector<EmbeddingTable>& tables() const { return tables_; }

  // out[0 .. dim) = sum of weight * row over the bag.
  void Encode(const Bag& bag, float* out) const;

  // Accumulates the gradient `grad` (dim values) of the output into the rows
  // of the bag and, with l2 > 0, that of the penalty l2 * weight * |row|^2
  // of every entry. Returns that penalty (0 without l2).
  double Backward(const Bag& bag, const float* grad, float l2 = 0);

  // Backward of bags[i] with the gradient at grads + i * grad_stride, for
  // every i, over the OpenMP threads: each table row belongs to one thread,
  // which adds its contributions in bag order, so the gradients are bit for
  // bit those of Backward called in a loop (the returned penalty may differ
  // in its last bits: its partial sums are added per thread).
  double BackwardBatch(const std::vector<Bag>& bags, const float* grads,
                       int64_t grad_stride, float l2 = 0);

  // The penalty's part alone: accumulates its gradient and returns it.
  double BackwardL2(const Bag& bag, float l2);

  void ApplyAdagrad(const AdagradOptions& options);

  // Writes table t as the tensor "<prefix><specs[t].name>".
  void ToProto(absl::string_view prefix, const std::vector<TableSpec>& specs,
               movierec::model::v1::ParameterSet* proto) const;
  // Reads the tables back, checking each shape against specs and dim().
  absl::Status FromProto(absl::string_view prefix,
                         const std::vector<TableSpec>& specs,
                         const movierec::model::v1::ParameterSet& proto);

 private:
  // The tables' optimiser state, allocated by the first Backward* call: a
  // served tower never has it.
  void PrepareForTraining();

  int dim_;
  std::vector<EmbeddingTable> tables_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_TOWER_H_
