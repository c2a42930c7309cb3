// Tests of the multi-layer perceptron (model/mlp.h): Forward against a hand
// computation, Backward's kernel, bias and input gradients against central
// finite differences (with and without L2), Adagrad as Keras applies it, and
// the ToProto/FromProto round trip with its refusals.
#include "model/mlp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::ExpectGradientsMatch;
using ::movierec::test::IsError;
using ::movierec::test::MinHiddenPreactivation;
using ::movierec::test::RandomizeBiases;
using ::movierec::test::RandomMatrix;

constexpr float kKinkMargin = 0.02f;

TEST(MlpTest, ShapesFollowTheWidths) {
  const Mlp mlp({5, 7, 3, 1});
  EXPECT_FALSE(mlp.empty());
  EXPECT_EQ(mlp.input_dim(), 5);
  EXPECT_EQ(mlp.output_dim(), 1);
  ASSERT_EQ(mlp.layers().size(), 3u);
  EXPECT_EQ(mlp.layers()[0].kernel.rows(), 5);
  EXPECT_EQ(mlp.layers()[0].kernel.cols(), 7);
  EXPECT_EQ(mlp.layers()[1].bias.size(), 3);
  EXPECT_EQ(mlp.layers()[2].kernel.cols(), 1);
  EXPECT_EQ(mlp.tensor_count(), 6);
  EXPECT_TRUE(Mlp().empty());
}

TEST(MlpTest, GlorotInitialisationStaysWithinTheLimitWithZeroBiases) {
  Mlp mlp({5, 7, 1});
  Rng rng(3);
  RandomizeBiases(&mlp, 1.0f, rng);
  mlp.InitGlorot(rng);
  for (const DenseLayer& layer : mlp.layers()) {
    const float limit = std::sqrt(
        6.0f / static_cast<float>(layer.kernel.rows() + layer.kernel.cols()));
    EXPECT_LE(layer.kernel.cwiseAbs().maxCoeff(), limit);
    EXPECT_GT(layer.kernel.cwiseAbs().maxCoeff(), limit / 2);
    EXPECT_TRUE(layer.bias.isZero());
  }
}

// A 2-3-1 network by hand: one hidden unit is cut by the ReLU in each row,
// and the linear output layer passes a negative value through.
TEST(MlpTest, ForwardMatchesHandComputation) {
  Mlp mlp({2, 3, 1});
  DenseLayer& hidden = mlp.mutable_layers()[0];
  hidden.kernel << 1, -1, 0.5f, 2, 0.5f, -1;
  hidden.bias << 0.1f, -0.2f, 0.3f;
  DenseLayer& out = mlp.mutable_layers()[1];
  out.kernel << 1, -2, 3;
  out.bias << -0.5f;
  RowMatrix x(2, 2);
  x << 1, 2, -1, 0.5f;
  // Row 0: z = (5.1, -0.2, -1.2) -> relu (5.1, 0, 0) -> 5.1 - 0.5.
  // Row 1: z = (0.1, 1.05, -0.7) -> relu (0.1, 1.05, 0) -> 0.1 - 2.1 - 0.5.
  RowMatrix y;
  MlpActivations activations;
  mlp.Forward(x, &y, &activations);
  ASSERT_EQ(y.rows(), 2);
  ASSERT_EQ(y.cols(), 1);
  EXPECT_NEAR(y(0, 0), 4.6f, 1e-5);
  EXPECT_NEAR(y(1, 0), -2.5f, 1e-5);
  // The kept activations: the input, the hidden output after the ReLU, and
  // the output.
  ASSERT_EQ(activations.layers.size(), 3u);
  EXPECT_EQ(activations.layers[0], x);
  RowMatrix relu(2, 3);
  relu << 5.1f, 0, 0, 0.1f, 1.05f, 0;
  EXPECT_TRUE(activations.layers[1].isApprox(relu, 1e-6f))
      << activations.layers[1];
  EXPECT_EQ(activations.layers[2], y);
  // Without activations the output is the same.
  RowMatrix again;
  mlp.Forward(x, &again);
  EXPECT_EQ(again, y);
}

// A random network and batch, and the scalar loss
//   L = sum_ij w_ij out_ij + l2 * sum over kernels |kernel|^2
// whose gradient with respect to `out` is w.
class MlpGradientTest
    : public ::testing::TestWithParam<std::tuple<std::vector<int>, float>> {
 protected:
  MlpGradientTest()
      : mlp_(std::get<0>(GetParam())), l2_(std::get<1>(GetParam())) {
    Rng rng(11);
    mlp_.InitGlorot(rng);
    RandomizeBiases(&mlp_, 0.3f, rng);
    // A batch whose hidden pre-activations keep clear of the ReLU kink, where
    // a finite difference of step 1e-3 would be meaningless.
    for (int attempt = 0; attempt < 1000; ++attempt) {
      x_ = RandomMatrix(5, mlp_.input_dim(), 1.0f, rng);
      if (MinHiddenPreactivation(mlp_, x_) > kKinkMargin) break;
    }
    w_ = RandomMatrix(5, mlp_.output_dim(), 1.0f, rng);
  }

  double Loss() const {
    RowMatrix out;
    mlp_.Forward(x_, &out);
    double loss =
        (out.cast<double>().array() * w_.cast<double>().array()).sum();
    for (const DenseLayer& layer : mlp_.layers()) {
      loss += l2_ * layer.kernel.cast<double>().squaredNorm();
    }
    return loss;
  }

  Mlp mlp_;
  float l2_;
  RowMatrix x_;
  RowMatrix w_;
};

TEST_P(MlpGradientTest, BackwardMatchesFiniteDifferences) {
  ASSERT_GT(MinHiddenPreactivation(mlp_, x_), kKinkMargin);
  MlpActivations activations;
  RowMatrix out;
  mlp_.Forward(x_, &out, &activations);
  RowMatrix d_x;
  mlp_.Backward(activations, w_, l2_, &d_x);
  ASSERT_EQ(d_x.rows(), x_.rows());
  ASSERT_EQ(d_x.cols(), x_.cols());

  const auto loss = [this] { return Loss(); };
  int nonzero = 0;
  for (size_t i = 0; i < mlp_.layers().size(); ++i) {
    DenseLayer& layer = mlp_.mutable_layers()[i];
    const RowMatrix kernel_grad = layer.kernel_grad;
    const RowVector bias_grad = layer.bias_grad;
    nonzero += ExpectGradientsMatch(loss, layer.kernel.data(),
                                    kernel_grad.data(), kernel_grad.size(),
                                    absl::StrCat("layer ", i, " kernel"));
    nonzero += ExpectGradientsMatch(loss, layer.bias.data(), bias_grad.data(),
                                    bias_grad.size(),
                                    absl::StrCat("layer ", i, " bias"));
  }
  nonzero +=
      ExpectGradientsMatch(loss, x_.data(), d_x.data(), d_x.size(), "input");
  EXPECT_GT(nonzero, 20);
}

TEST_P(MlpGradientTest, ParameterGradientsDoNotNeedTheInputGradient) {
  MlpActivations activations;
  RowMatrix out;
  mlp_.Forward(x_, &out, &activations);
  RowMatrix d_x;
  mlp_.Backward(activations, w_, l2_, &d_x);
  std::vector<RowMatrix> with_input;
  for (const DenseLayer& layer : mlp_.layers()) {
    with_input.push_back(layer.kernel_grad);
  }
  Mlp other = mlp_;
  for (DenseLayer& layer : other.mutable_layers()) {
    layer.kernel_grad.setZero();
    layer.bias_grad.setZero();
  }
  other.Backward(activations, w_, l2_, nullptr);
  for (size_t i = 0; i < with_input.size(); ++i) {
    EXPECT_EQ(other.layers()[i].kernel_grad, with_input[i]) << "layer " << i;
    EXPECT_EQ(other.layers()[i].bias_grad, mlp_.layers()[i].bias_grad)
        << "layer " << i;
  }
}

TEST_P(MlpGradientTest, BackwardAccumulates) {
  MlpActivations activations;
  RowMatrix out;
  mlp_.Forward(x_, &out, &activations);
  mlp_.Backward(activations, w_, l2_, nullptr);
  std::vector<RowMatrix> once;
  for (const DenseLayer& layer : mlp_.layers())
    once.push_back(layer.kernel_grad);
  mlp_.Backward(activations, w_, l2_, nullptr);
  for (size_t i = 0; i < once.size(); ++i) {
    EXPECT_TRUE(mlp_.layers()[i].kernel_grad.isApprox(2 * once[i], 1e-6f))
        << "layer " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Widths, MlpGradientTest,
    ::testing::Combine(::testing::Values(std::vector<int>{5, 7, 3, 1},
                                         std::vector<int>{4, 1},
                                         std::vector<int>{3, 4, 2}),
                       ::testing::Values(0.0f, 0.05f)),
    [](const auto& info) {
      std::string name = "w";
      for (const int w : std::get<0>(info.param))
        absl::StrAppend(&name, "_", w);
      return absl::StrCat(name, std::get<1>(info.param) > 0 ? "_l2" : "_no_l2");
    });

// Keras' Adagrad on a dense variable: the accumulator starts at
// initial_accumulator, then acc += g^2; w -= lr g / (sqrt(acc) + epsilon).
TEST(MlpTest, ApplyAdagradFollowsKerasFromTheInitialAccumulator) {
  Mlp mlp({3, 2, 1});
  Rng rng(5);
  mlp.InitGlorot(rng);
  RandomizeBiases(&mlp, 0.5f, rng);
  AdagradOptions options;
  options.learning_rate = 0.3f;
  options.initial_accumulator = 0.2f;
  options.epsilon = 1e-7f;

  struct Param {
    float* weight;
    float* grad;
  };
  std::vector<Param> params;
  for (DenseLayer& layer : mlp.mutable_layers()) {
    for (Eigen::Index i = 0; i < layer.kernel.size(); ++i) {
      params.push_back({&layer.kernel.data()[i], &layer.kernel_grad.data()[i]});
    }
    for (Eigen::Index i = 0; i < layer.bias.size(); ++i) {
      params.push_back({&layer.bias.data()[i], &layer.bias_grad.data()[i]});
    }
  }
  std::vector<double> acc(params.size(), options.initial_accumulator);
  for (int step = 0; step < 3; ++step) {
    std::vector<double> expected(params.size());
    for (size_t p = 0; p < params.size(); ++p) {
      // One parameter has no gradient in the first step: it must not move.
      const float g = step == 0 && p == 1 ? 0.0f : rng.UniformFloat(-2, 2);
      *params[p].grad = g;
      acc[p] += static_cast<double>(g) * g;
      expected[p] = *params[p].weight -
                    options.learning_rate * g / (std::sqrt(acc[p]) + 1e-7);
    }
    const float saved = *params[1].weight;
    mlp.ApplyAdagrad(options);
    for (size_t p = 0; p < params.size(); ++p) {
      EXPECT_NEAR(*params[p].weight, expected[p], 2e-6)
          << "step " << step << " parameter " << p;
      EXPECT_EQ(*params[p].grad, 0.0f) << "gradients are cleared";
    }
    if (step == 0) {
      EXPECT_EQ(*params[1].weight, saved);
    }
    // The initial accumulator is used once, at the first step, as Keras
    // creates its slots once.
    options.initial_accumulator = 100.0f;
  }
}

class MlpProtoTest : public ::testing::Test {
 protected:
  MlpProtoTest() : mlp_({5, 7, 3, 1}) {
    Rng rng(9);
    mlp_.InitGlorot(rng);
    RandomizeBiases(&mlp_, 0.4f, rng);
    mlp_.ToProto("mlp/", &proto_);
  }

  Mlp mlp_;
  model::v1::ParameterSet proto_;
};

TEST_F(MlpProtoTest, RoundTripIsExact) {
  ASSERT_EQ(proto_.tensors_size(), mlp_.tensor_count());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(proto_.tensors().contains(absl::StrCat("mlp/", i, "/kernel")));
    EXPECT_TRUE(proto_.tensors().contains(absl::StrCat("mlp/", i, "/bias")));
  }
  const model::v1::Tensor& kernel = proto_.tensors().at("mlp/0/kernel");
  ASSERT_EQ(kernel.shape_size(), 2);
  EXPECT_EQ(kernel.shape(0), 5);
  EXPECT_EQ(kernel.shape(1), 7);

  Mlp read({5, 7, 3, 1});
  ASSERT_OK(read.FromProto("mlp/", proto_));
  for (size_t i = 0; i < mlp_.layers().size(); ++i) {
    EXPECT_EQ(read.layers()[i].kernel, mlp_.layers()[i].kernel) << i;
    EXPECT_EQ(read.layers()[i].bias, mlp_.layers()[i].bias) << i;
  }
  Rng rng(1);
  const RowMatrix x = RandomMatrix(4, 5, 1.0f, rng);
  RowMatrix a, b;
  mlp_.Forward(x, &a);
  read.Forward(x, &b);
  EXPECT_EQ(a, b);
}

TEST_F(MlpProtoTest, RefusesAMissingTensorNamingIt) {
  for (const std::string name : {"mlp/1/kernel", "mlp/2/bias"}) {
    model::v1::ParameterSet proto = proto_;
    proto.mutable_tensors()->erase(name);
    Mlp read({5, 7, 3, 1});
    EXPECT_TRUE(IsError(read.FromProto("mlp/", proto),
                        absl::StatusCode::kInvalidArgument, {name, "missing"}));
  }
  // Another prefix finds nothing.
  Mlp read({5, 7, 3, 1});
  EXPECT_TRUE(IsError(read.FromProto("reranker/", proto_),
                      absl::StatusCode::kInvalidArgument,
                      {"reranker/0/kernel", "missing"}));
}

TEST_F(MlpProtoTest, RefusesAWrongShapeNamingTheTensor) {
  // Widths that disagree with the stored kernels.
  Mlp wider({5, 8, 3, 1});
  EXPECT_TRUE(IsError(wider.FromProto("mlp/", proto_),
                      absl::StatusCode::kInvalidArgument, {"mlp/0/kernel"}));
  Mlp narrower({5, 7, 2, 1});
  EXPECT_TRUE(IsError(narrower.FromProto("mlp/", proto_),
                      absl::StatusCode::kInvalidArgument, {"mlp/1/kernel"}));
  // A bias of the wrong length.
  model::v1::ParameterSet proto = proto_;
  model::v1::Tensor& bias = (*proto.mutable_tensors())["mlp/1/bias"];
  bias.set_shape(0, 4);
  bias.add_values(0.5f);
  Mlp read({5, 7, 3, 1});
  EXPECT_TRUE(IsError(read.FromProto("mlp/", proto),
                      absl::StatusCode::kInvalidArgument, {"mlp/1/bias"}));
  // A kernel whose value count disagrees with its shape.
  proto = proto_;
  (*proto.mutable_tensors())["mlp/2/kernel"].add_values(1.0f);
  EXPECT_TRUE(IsError(read.FromProto("mlp/", proto),
                      absl::StatusCode::kInvalidArgument, {"mlp/2/kernel"}));
}

TEST_F(MlpProtoTest, RefusesANonFiniteWeightNamingTheTensor) {
  model::v1::ParameterSet proto = proto_;
  (*proto.mutable_tensors())["mlp/0/kernel"].set_values(
      3, std::numeric_limits<float>::quiet_NaN());
  Mlp read({5, 7, 3, 1});
  EXPECT_TRUE(IsError(read.FromProto("mlp/", proto),
                      absl::StatusCode::kInvalidArgument, {"mlp/0/kernel"}));
}

}  // namespace
}  // namespace movierec
