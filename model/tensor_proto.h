// Conversions between Eigen matrices and movierec.model.v1.Tensor.
#ifndef MOVIEREC_MODEL_TENSOR_PROTO_H_
#define MOVIEREC_MODEL_TENSOR_PROTO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/eigen_types.h"

namespace movierec {

void ToTensor(const RowMatrix& matrix, movierec::model::v1::Tensor* tensor);
void ToTensor(const Vector& vector, movierec::model::v1::Tensor* tensor);

// A [rows, cols] tensor as a matrix. `rows` or `cols` of -1 accept any size.
// Refuses (InvalidArgument naming `name`) a tensor of another shape, with the
// wrong number of values, or holding a NaN or infinity.
absl::StatusOr<RowMatrix> MatrixFromTensor(
    const movierec::model::v1::Tensor& tensor, absl::string_view name,
    Eigen::Index rows, Eigen::Index cols);

// A [size] tensor as a vector, with the same checks.
absl::StatusOr<Vector> VectorFromTensor(
    const movierec::model::v1::Tensor& tensor, absl::string_view name,
    Eigen::Index size);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_TENSOR_PROTO_H_
