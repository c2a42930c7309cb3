#include "model/mlp.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/tensor_proto.h"
#include "util/status_macros.h"

namespace movierec {

Mlp::Mlp(std::vector<int> widths) : widths_(std::move(widths)) {
  for (size_t i = 0; i + 1 < widths_.size(); ++i) {
    DenseLayer layer;
    layer.kernel = RowMatrix::Zero(widths_[i], widths_[i + 1]);
    layer.bias = RowVector::Zero(widths_[i + 1]);
    layer.kernel_grad = RowMatrix::Zero(widths_[i], widths_[i + 1]);
    layer.bias_grad = RowVector::Zero(widths_[i + 1]);
    layer.kernel_acc.resize(widths_[i], widths_[i + 1]);
    layer.bias_acc.resize(widths_[i + 1]);
    layers_.push_back(std::move(layer));
  }
}

void Mlp::InitGlorot(Rng& rng) {
  for (DenseLayer& layer : layers_) {
    const float limit = std::sqrt(
        6.0f / static_cast<float>(layer.kernel.rows() + layer.kernel.cols()));
    for (Eigen::Index i = 0; i < layer.kernel.size(); ++i) {
      layer.kernel.data()[i] = rng.UniformFloat(-limit, limit);
    }
    layer.bias.setZero();
  }
}

void Mlp::Forward(const RowMatrix& x, RowMatrix* out,
                  MlpActivations* activations) const {
  if (activations != nullptr) {
    activations->layers.clear();
    activations->layers.push_back(x);
  }
  if (layers_.empty()) {
    *out = x;
    return;
  }
  // The last layer is written into *out, whose storage a caller can reuse
  // from call to call; the input is read in place, not copied.
  RowMatrix current;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const RowMatrix& in = i == 0 ? x : current;
    const bool last = i + 1 == layers_.size();
    RowMatrix next;
    RowMatrix& target = last ? *out : next;
    target.noalias() = in * layers_[i].kernel;
    target.rowwise() += layers_[i].bias;
    if (!last) target = target.cwiseMax(0.0f);
    if (activations != nullptr) activations->layers.push_back(target);
    if (!last) current = std::move(next);
  }
}

void Mlp::Backward(const MlpActivations& activations, const RowMatrix& d_out,
                   float l2, RowMatrix* d_x) {
  RowMatrix delta = d_out;
  for (size_t i = layers_.size(); i-- > 0;) {
    DenseLayer& layer = layers_[i];
    const RowMatrix& input = activations.layers[i];
    layer.kernel_grad.noalias() += input.transpose() * delta;
    layer.bias_grad += delta.colwise().sum();
    if (l2 > 0) layer.kernel_grad += 2 * l2 * layer.kernel;
    if (i == 0 && d_x == nullptr) break;
    RowMatrix d_input = delta * layer.kernel.transpose();
    if (i > 0) {
      // ReLU: gradient flows where the layer's output was positive.
      d_input.array() *= (input.array() > 0).cast<float>();
      delta = std::move(d_input);
    } else {
      *d_x = std::move(d_input);
    }
  }
}

void Mlp::ApplyAdagrad(const AdagradOptions& options) {
  for (DenseLayer& layer : layers_) {
    if (!accumulators_initialised_) {
      layer.kernel_acc.setConstant(options.initial_accumulator);
      layer.bias_acc.setConstant(options.initial_accumulator);
    }
    AdagradUpdate(options, layer.kernel, layer.kernel_acc, layer.kernel_grad);
    AdagradUpdate(options, layer.bias, layer.bias_acc, layer.bias_grad);
    layer.kernel_grad.setZero();
    layer.bias_grad.setZero();
  }
  accumulators_initialised_ = true;
}

double Mlp::TrainFlops(int rows) const {
  double flops = 0;
  for (const DenseLayer& layer : layers_) {
    flops += 6.0 * rows * static_cast<double>(layer.kernel.size());
  }
  return flops;
}

void Mlp::ToProto(absl::string_view prefix,
                  movierec::model::v1::ParameterSet* proto) const {
  auto& tensors = *proto->mutable_tensors();
  for (size_t i = 0; i < layers_.size(); ++i) {
    ToTensor(layers_[i].kernel, &tensors[absl::StrCat(prefix, i, "/kernel")]);
    ToTensor(Vector(layers_[i].bias.transpose()),
             &tensors[absl::StrCat(prefix, i, "/bias")]);
  }
}

absl::Status Mlp::FromProto(absl::string_view prefix,
                            const movierec::model::v1::ParameterSet& proto) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    DenseLayer& layer = layers_[i];
    const std::string kernel = absl::StrCat(prefix, i, "/kernel");
    const std::string bias = absl::StrCat(prefix, i, "/bias");
    const auto k = proto.tensors().find(kernel);
    const auto b = proto.tensors().find(bias);
    if (k == proto.tensors().end() || b == proto.tensors().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", kernel, " or ", bias, " is missing"));
    }
    MOVIEREC_ASSIGN_OR_RETURN(
        layer.kernel, MatrixFromTensor(k->second, kernel, layer.kernel.rows(),
                                       layer.kernel.cols()));
    MOVIEREC_ASSIGN_OR_RETURN(
        Vector bias_vector,
        VectorFromTensor(b->second, bias, layer.bias.size()));
    layer.bias = bias_vector.transpose();
  }
  return absl::OkStatus();
}

}  // namespace movierec
