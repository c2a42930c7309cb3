#include "model/tensor_proto.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

absl::Status CheckFinite(const float* values, Eigen::Index size,
                         absl::string_view name) {
  for (Eigen::Index i = 0; i < size; ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor ", name, " holds a non-finite value at index ", i));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void ToTensor(const RowMatrix& matrix, movierec::model::v1::Tensor* tensor) {
  tensor->Clear();
  tensor->add_shape(matrix.rows());
  tensor->add_shape(matrix.cols());
  tensor->mutable_values()->Add(matrix.data(), matrix.data() + matrix.size());
}

void ToTensor(const Vector& vector, movierec::model::v1::Tensor* tensor) {
  tensor->Clear();
  tensor->add_shape(vector.size());
  tensor->mutable_values()->Add(vector.data(), vector.data() + vector.size());
}

absl::StatusOr<RowMatrix> MatrixFromTensor(
    const movierec::model::v1::Tensor& tensor, absl::string_view name,
    Eigen::Index rows, Eigen::Index cols) {
  const auto& shape = tensor.shape();
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0 ||
      (rows >= 0 && shape[0] != rows) || (cols >= 0 && shape[1] != cols)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", name, " has shape [", absl::StrJoin(shape, ", "),
        "], expected [", rows < 0 ? "any" : absl::StrCat(rows), ", ",
        cols < 0 ? "any" : absl::StrCat(cols), "]"));
  }
  if (static_cast<int64_t>(tensor.values_size()) != shape[0] * shape[1]) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " of shape [", shape[0], ", ", shape[1],
                     "] holds ", tensor.values_size(), " values"));
  }
  MOVIEREC_RETURN_IF_ERROR(
      CheckFinite(tensor.values().data(), tensor.values_size(), name));
  return RowMatrix(
      Eigen::Map<const RowMatrix>(tensor.values().data(), shape[0], shape[1]));
}

absl::StatusOr<Vector> VectorFromTensor(
    const movierec::model::v1::Tensor& tensor, absl::string_view name,
    Eigen::Index size) {
  const auto& shape = tensor.shape();
  if (shape.size() != 1 || shape[0] != size || tensor.values_size() != size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", name, " has shape [", absl::StrJoin(shape, ", "), "] and ",
        tensor.values_size(), " values, expected [", size, "]"));
  }
  MOVIEREC_RETURN_IF_ERROR(
      CheckFinite(tensor.values().data(), tensor.values_size(), name));
  return Vector(Eigen::Map<const Vector>(tensor.values().data(), size));
}

}  // namespace movierec
