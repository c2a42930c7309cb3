#include "model/tower.h"

#include <omp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "model/tensor_proto.h"
#include "util/status_macros.h"

namespace movierec {

Tower::Tower(const std::vector<TableSpec>& tables, int dim) : dim_(dim) {
  tables_.reserve(tables.size());
  for (const TableSpec& spec : tables) tables_.emplace_back(spec.rows, dim);
}

void Tower::Encode(const Bag& bag, float* out) const {
  std::fill(out, out + dim_, 0.0f);
  for (const BagEntry& e : bag) {
    const float* row = tables_[e.table].row(e.row);
    const float w = e.weight;
    for (int i = 0; i < dim_; ++i) out[i] += w * row[i];
  }
}

void Tower::PrepareForTraining() {
  for (EmbeddingTable& table : tables_) table.PrepareForTraining();
}

double Tower::Backward(const Bag& bag, const float* grad, float l2) {
  PrepareForTraining();
  double penalty = 0;
  for (const BagEntry& e : bag) {
    EmbeddingTable& table = tables_[e.table];
    if (l2 > 0) {
      penalty += l2 * e.weight *
                 table.AccumulateGradientWithDecay(e.row, grad, e.weight,
                                                   2 * l2 * e.weight);
    } else {
      table.AccumulateGradient(e.row, grad, e.weight);
    }
  }
  return penalty;
}

namespace {
constexpr int32_t kOwnedRows = 64;
}  // namespace

double Tower::BackwardBatch(const std::vector<Bag>& bags, const float* grads,
                            int64_t grad_stride, float l2) {
  // A team pays for itself on large batches only: on the rating model's
  // batches of 256 it made the stage 1.9x slower (MovieLens-1M-shaped data).
  size_t entries = 0;
  for (const Bag& bag : bags) entries += bag.size();
  const int threads =
      bags.size() >= 512 && entries >= 4096 ? omp_get_max_threads() : 1;
  PrepareForTraining();  // before the team accumulates
  if (threads == 1) {
    double penalty = 0;
    for (size_t i = 0; i < bags.size(); ++i) {
      penalty += Backward(bags[i], grads + i * grad_stride, l2);
    }
    return penalty;
  }
  std::vector<double> penalties(static_cast<size_t>(threads), 0);
  // touched[t][k]: rows of table k first touched by thread t.
  std::vector<std::vector<std::vector<int>>> touched(
      static_cast<size_t>(threads),
      std::vector<std::vector<int>>(tables_.size()));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int team = omp_get_num_threads();
    double penalty = 0;
    for (size_t i = 0; i < bags.size(); ++i) {
      const float* grad = grads + i * grad_stride;
      for (const BagEntry& e : bags[i]) {
        // Rows are owned in blocks of kOwnedRows, so that the touched flags
        // (a byte a row) of a cache line are written by one thread.
        if ((e.row / kOwnedRows) % team != t) continue;
        EmbeddingTable& table = tables_[e.table];
        std::vector<int>* rows = &touched[t][e.table];
        if (l2 > 0) {
          penalty += l2 * e.weight *
                     table.AccumulateGradientWithDecay(e.row, grad, e.weight,
                                                       2 * l2 * e.weight, rows);
        } else {
          table.AccumulateGradient(e.row, grad, e.weight, rows);
        }
      }
    }
    penalties[t] = penalty;
  }
  double penalty = 0;
  for (int t = 0; t < threads; ++t) {
    penalty += penalties[t];
    for (size_t k = 0; k < tables_.size(); ++k) {
      tables_[k].AppendTouched(touched[t][k]);
    }
  }
  return penalty;
}

double Tower::BackwardL2(const Bag& bag, float l2) {
  PrepareForTraining();
  double penalty = 0;
  for (const BagEntry& e : bag) {
    penalty += l2 * e.weight *
               tables_[e.table].AccumulateGradientWithDecay(e.row, nullptr, 0,
                                                            2 * l2 * e.weight);
  }
  return penalty;
}

void Tower::ApplyAdagrad(const AdagradOptions& options) {
  for (EmbeddingTable& table : tables_) table.ApplyAdagrad(options);
}

void Tower::ToProto(absl::string_view prefix,
                    const std::vector<TableSpec>& specs,
                    movierec::model::v1::ParameterSet* proto) const {
  auto& tensors = *proto->mutable_tensors();
  for (size_t t = 0; t < tables_.size(); ++t) {
    ToTensor(tables_[t].weights(),
             &tensors[absl::StrCat(prefix, specs[t].name)]);
  }
}

absl::Status Tower::FromProto(absl::string_view prefix,
                              const std::vector<TableSpec>& specs,
                              const movierec::model::v1::ParameterSet& proto) {
  for (size_t t = 0; t < tables_.size(); ++t) {
    const std::string name = absl::StrCat(prefix, specs[t].name);
    const auto it = proto.tensors().find(name);
    if (it == proto.tensors().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", name, " is missing"));
    }
    MOVIEREC_ASSIGN_OR_RETURN(
        tables_[t].mutable_weights(),
        MatrixFromTensor(it->second, name, specs[t].rows, dim_));
  }
  return absl::OkStatus();
}

}  // namespace movierec
