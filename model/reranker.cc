#include "model/reranker.h"

#include "absl/strings/str_cat.h"
#include "model/model_json.h"
#include "model/tensor_proto.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

std::vector<int> Widths(const RerankerConfig& config, int inputs) {
  std::vector<int> widths = {inputs};
  widths.insert(widths.end(), config.hidden.begin(), config.hidden.end());
  widths.push_back(1);
  return widths;
}

}  // namespace

Reranker::Reranker(const RerankerConfig& config, int inputs)
    : config_(config),
      inputs_(inputs),
      mlp_(Widths(config, inputs)),
      mean_(RowVector::Zero(inputs)),
      inv_scale_(RowVector::Ones(inputs)) {}

void Reranker::InitRandom(Rng& rng) { mlp_.InitGlorot(rng); }

void Reranker::SetStandardization(const RowVector& mean,
                                  const RowVector& scale) {
  mean_ = mean;
  inv_scale_ = (scale.array() > 1e-6f).select(scale.cwiseInverse(), 1.0f);
}

RowMatrix Reranker::Standardize(const RowMatrix& raw) const {
  return (raw.leftCols(inputs_).rowwise() - mean_).array().rowwise() *
         inv_scale_.array();
}

void Reranker::Score(const RowMatrix& raw, Vector* out) const {
  if (is_trees()) {
    trees_.Predict(raw, out);
    return;
  }
  // Per-thread scratch: a serving call allocates neither.
  thread_local RowMatrix standardized;
  thread_local RowMatrix scores;
  standardized = (raw.leftCols(inputs_).rowwise() - mean_).array().rowwise() *
                 inv_scale_.array();
  mlp_.Forward(standardized, &scores);
  *out = scores.col(0);
}

model::v1::ParameterSet Reranker::ToProto() const {
  model::v1::ParameterSet proto;
  nlohmann::json config = config_;
  // The listwise kind's config as written before there were two kinds, so
  // that its versions stay byte for byte what they were.
  if (!is_trees()) config.erase("kind");
  proto.set_config_json(config.dump());
  if (is_trees()) {
    proto.set_kind(kTreesKind);
    trees_.ToProto(proto.mutable_trees());
    return proto;
  }
  proto.set_kind(kKind);
  auto& tensors = *proto.mutable_tensors();
  ToTensor(Vector(mean_.transpose()), &tensors["feature_mean"]);
  ToTensor(Vector(inv_scale_.transpose()), &tensors["feature_inv_scale"]);
  mlp_.ToProto("mlp/", &proto);
  return proto;
}

absl::StatusOr<Reranker> Reranker::FromProto(
    const model::v1::ParameterSet& proto) {
  if (proto.kind() != kKind && proto.kind() != kTreesKind) {
    return absl::InvalidArgumentError(
        absl::StrCat("reranker parameters of kind \"", proto.kind(),
                     "\", expected \"", kKind, "\" or \"", kTreesKind, "\""));
  }
  MOVIEREC_ASSIGN_OR_RETURN(
      RerankerConfig config,
      ParseConfigJson<RerankerConfig>(proto.config_json(), "reranker config"));
  const bool trees = proto.kind() == kTreesKind;
  if (config.kind != (trees ? kLambdaMartReranker : kListwiseReranker)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reranker parameters of kind \"", proto.kind(),
                     "\" configured as \"", config.kind, "\""));
  }
  if (trees) {
    if (!proto.tensors().empty() || !config.hidden.empty()) {
      return absl::InvalidArgumentError(
          "reranker trees with tensors or hidden layers");
    }
    absl::StatusOr<TreeEnsemble> ensemble =
        TreeEnsemble::FromProto(proto.trees(), kNumRerankFeatures);
    if (!ensemble.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("reranker trees: ", ensemble.status().message()));
    }
    Reranker reranker(config, ensemble->inputs());
    reranker.trees_ = *std::move(ensemble);
    return reranker;
  }
  if (proto.has_trees()) {
    return absl::InvalidArgumentError("a listwise reranker with trees");
  }
  for (const int width : config.hidden) {
    if (width <= 0 || width > 65536) {
      return absl::InvalidArgumentError(
          absl::StrCat("reranker hidden width ", width, " is not in 1-65536"));
    }
  }
  // Its input count is its feature_mean's length: the current features, or
  // those of a version written before the candidate sources (a prefix).
  int inputs = kNumRerankFeatures;
  if (const auto it = proto.tensors().find("feature_mean");
      it != proto.tensors().end() && it->second.shape_size() == 1 &&
      it->second.shape(0) == kNumRerankFeaturesBeforeSources) {
    inputs = kNumRerankFeaturesBeforeSources;
  }
  Reranker reranker(config, inputs);
  const auto read = [&proto, inputs](const char* name,
                                     RowVector* out) -> absl::Status {
    const auto it = proto.tensors().find(name);
    if (it == proto.tensors().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", name, " is missing"));
    }
    MOVIEREC_ASSIGN_OR_RETURN(Vector v,
                              VectorFromTensor(it->second, name, inputs));
    *out = v.transpose();
    return absl::OkStatus();
  };
  MOVIEREC_RETURN_IF_ERROR(read("feature_mean", &reranker.mean_));
  MOVIEREC_RETURN_IF_ERROR(read("feature_inv_scale", &reranker.inv_scale_));
  MOVIEREC_RETURN_IF_ERROR(reranker.mlp_.FromProto("mlp/", proto));
  const int expected = 2 + reranker.mlp_.tensor_count();
  if (proto.tensors().size() != static_cast<size_t>(expected)) {
    return absl::InvalidArgumentError(
        absl::StrCat("reranker parameters hold ", proto.tensors().size(),
                     " tensors, expected ", expected));
  }
  return reranker;
}

}  // namespace movierec
