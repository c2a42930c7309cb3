#include "model/tower.h"

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

double Tower::Backward(const Bag& bag, const float* grad, float l2) {
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

double Tower::BackwardL2(const Bag& bag, float l2) {
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
