// A multi-layer perceptron in Eigen: Dense layers with ReLU between them and
// a linear last layer, with its backward pass and dense Adagrad. Kernels start
// Glorot-uniform and biases zero, as Keras' Dense does.
//
// Thread safety: Forward is const and may run concurrently; Backward and
// ApplyAdagrad need exclusive access.
#ifndef MOVIEREC_MODEL_MLP_H_
#define MOVIEREC_MODEL_MLP_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "model/adagrad.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/eigen_types.h"
#include "util/random.h"

namespace movierec {

// One dense layer's parameters, gradients and Adagrad accumulators.
struct DenseLayer {
  RowMatrix kernel;  // [inputs, outputs]
  RowVector bias;    // [outputs]
  RowMatrix kernel_grad, kernel_acc;
  RowVector bias_grad, bias_acc;
};

// The activations Forward keeps for Backward.
struct MlpActivations {
  std::vector<RowMatrix> layers;  // input, then each layer's output
};

class Mlp {
 public:
  Mlp() = default;
  // Layer widths: input, hidden..., output.
  explicit Mlp(std::vector<int> widths);

  bool empty() const { return layers_.empty(); }
  int input_dim() const { return widths_.front(); }
  int output_dim() const { return widths_.back(); }
  const std::vector<int>& widths() const { return widths_; }
  const std::vector<DenseLayer>& layers() const { return layers_; }
  std::vector<DenseLayer>& mutable_layers() { return layers_; }

  void InitGlorot(Rng& rng);

  // out = mlp(x) for a batch of rows (`out` must not be `x`; its storage is
  // reused when the shape matches). With `activations`, keeps what Backward
  // needs.
  void Forward(const RowMatrix& x, RowMatrix* out,
               MlpActivations* activations = nullptr) const;

  // Given d_out = dLoss/d(out) of the batch that produced `activations`,
  // accumulates the parameter gradients and writes dLoss/dx into *d_x (when
  // not null). `l2` adds the gradient of l2 * |kernel|^2 for every kernel.
  void Backward(const MlpActivations& activations, const RowMatrix& d_out,
                float l2, RowMatrix* d_x);

  // One Adagrad step on every parameter; clears the gradients.
  void ApplyAdagrad(const AdagradOptions& options);

  // Floating-point operations of Forward + Backward for `rows` rows.
  double TrainFlops(int rows) const;

  // Writes "<prefix><i>/kernel" and "<prefix><i>/bias" tensors.
  void ToProto(absl::string_view prefix,
               movierec::model::v1::ParameterSet* proto) const;
  // Reads them back, checking every shape against this Mlp's widths.
  absl::Status FromProto(absl::string_view prefix,
                         const movierec::model::v1::ParameterSet& proto);
  // The number of tensors ToProto writes.
  int tensor_count() const { return 2 * static_cast<int>(layers_.size()); }

 private:
  std::vector<int> widths_;
  std::vector<DenseLayer> layers_;
  bool accumulators_initialised_ = false;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_MLP_H_
