#include "train/lambdamart.h"

#include <omp.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// XGBoost's C API reports failure by a non-zero return and a thread-local
// message.
absl::Status Xgb(int result, absl::string_view call) {
  if (result == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("XGBoost ", call, " failed: ", XGBGetLastError()));
}

struct DMatrixDeleter {
  void operator()(void* handle) const { XGDMatrixFree(handle); }
};
struct BoosterDeleter {
  void operator()(void* handle) const { XGBoosterFree(handle); }
};
using DMatrix = std::unique_ptr<void, DMatrixDeleter>;
using Booster = std::unique_ptr<void, BoosterDeleter>;

// One query group per list: the rows of the lists `which`, their gains as
// labels.
absl::StatusOr<DMatrix> ListsMatrix(const std::vector<RerankList>& lists,
                                    absl::Span<const int32_t> which) {
  size_t rows = 0;
  for (const int32_t i : which) rows += lists[i].features.rows();
  std::vector<float> values;
  values.reserve(rows * kNumRerankFeatures);
  std::vector<float> labels;
  labels.reserve(rows);
  std::vector<unsigned> groups;
  groups.reserve(which.size());
  for (const int32_t i : which) {
    const RerankList& list = lists[i];
    values.insert(values.end(), list.features.data(),
                  list.features.data() + list.features.size());
    labels.insert(labels.end(), list.gains.begin(), list.gains.end());
    groups.push_back(static_cast<unsigned>(list.features.rows()));
  }
  DMatrixHandle handle = nullptr;
  // No value is missing: NaN (which no feature is) marks the missing.
  MOVIEREC_RETURN_IF_ERROR(Xgb(
      XGDMatrixCreateFromMat(values.data(), rows, kNumRerankFeatures,
                             std::numeric_limits<float>::quiet_NaN(), &handle),
      "XGDMatrixCreateFromMat"));
  DMatrix matrix(handle);
  MOVIEREC_RETURN_IF_ERROR(
      Xgb(XGDMatrixSetFloatInfo(handle, "label", labels.data(), labels.size()),
          "XGDMatrixSetFloatInfo(label)"));
  MOVIEREC_RETURN_IF_ERROR(
      Xgb(XGDMatrixSetUIntInfo(handle, "group", groups.data(), groups.size()),
          "XGDMatrixSetUIntInfo(group)"));
  return matrix;
}

// The NDCG@10 of the lists `which` after each of `ensemble`'s trees: entry
// t is the mean over the lists scored by its first t + 1 trees.
std::vector<double> NdcgByTrees(const TreeEnsemble& ensemble,
                                const std::vector<RerankList>& lists,
                                absl::Span<const int32_t> which) {
  std::vector<double> curve(ensemble.num_trees(), 0.0);
  Vector scores;
  for (const int32_t i : which) {
    const RerankList& list = lists[i];
    scores.setConstant(list.features.rows(), ensemble.base_score());
    for (int t = 0; t < ensemble.num_trees(); ++t) {
      ensemble.AddTrees(list.features, t, t + 1, &scores);
      curve[t] += RerankListNdcg(list, scores);
    }
  }
  for (double& value : curve) value /= std::max<size_t>(which.size(), 1);
  return curve;
}

}  // namespace

absl::StatusOr<TreeEnsemble> TreeEnsembleFromXgboostJson(absl::string_view json,
                                                         int inputs) {
  try {
    const nlohmann::json model =
        nlohmann::json::parse(json.begin(), json.end());
    const nlohmann::json& learner = model.at("learner");
    const nlohmann::json& booster = learner.at("gradient_booster");
    if (booster.at("name") != "gbtree") {
      return absl::InvalidArgumentError(
          absl::StrCat("an XGBoost booster of kind ", booster.at("name").dump(),
                       ", expected \"gbtree\""));
    }
    const nlohmann::json& param = learner.at("learner_model_param");
    const std::string num_class = param.at("num_class").get<std::string>();
    if (num_class != "0" && num_class != "1") {
      return absl::InvalidArgumentError(
          absl::StrCat("an XGBoost model of ", num_class, " classes"));
    }
    float base_score = 0;
    if (!absl::SimpleAtof(param.at("base_score").get<std::string>(),
                          &base_score)) {
      return absl::InvalidArgumentError("XGBoost's base_score is no number");
    }
    std::vector<TreeEnsemble::Tree> trees;
    for (const nlohmann::json& tree : booster.at("model").at("trees")) {
      for (const int type : tree.at("split_type").get<std::vector<int>>()) {
        if (type != 0) {
          return absl::InvalidArgumentError(
              "an XGBoost tree with a categorical split");
        }
      }
      trees.push_back({tree.at("left_children").get<std::vector<int32_t>>(),
                       tree.at("right_children").get<std::vector<int32_t>>(),
                       tree.at("split_indices").get<std::vector<int32_t>>(),
                       tree.at("split_conditions").get<std::vector<float>>()});
    }
    return TreeEnsemble::FromTrees(trees, base_score, inputs);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("an XGBoost model that is not as expected: ", e.what()));
  }
}

absl::StatusOr<std::string> FitLambdaMartJson(
    const LambdaMartTraining& config, const std::vector<RerankList>& lists,
    absl::Span<const int32_t> which, int trees, uint64_t seed) {
  MOVIEREC_ASSIGN_OR_RETURN(DMatrix train, ListsMatrix(lists, which));
  DMatrixHandle dmats[] = {train.get()};
  BoosterHandle handle = nullptr;
  MOVIEREC_RETURN_IF_ERROR(
      Xgb(XGBoosterCreate(dmats, 1, &handle), "XGBoosterCreate"));
  Booster booster(handle);
  const std::pair<const char*, std::string> params[] = {
      {"objective", "rank:ndcg"},
      {"tree_method", "hist"},
      {"max_depth", absl::StrCat(config.max_depth)},
      {"eta", absl::StrCat(config.learning_rate)},
      {"min_child_weight", absl::StrCat(config.min_child_weight)},
      {"subsample", absl::StrCat(config.subsample)},
      {"lambda", absl::StrCat(config.l2)},
      {"seed", absl::StrCat(seed % (uint64_t{1} << 31))},
      {"nthread", absl::StrCat(omp_get_max_threads())},
      {"verbosity", "1"},
  };
  for (const auto& [name, value] : params) {
    MOVIEREC_RETURN_IF_ERROR(
        Xgb(XGBoosterSetParam(handle, name, value.c_str()),
            absl::StrCat("XGBoosterSetParam(", name, ")")));
  }
  for (int round = 0; round < trees; ++round) {
    MOVIEREC_RETURN_IF_ERROR(
        Xgb(XGBoosterUpdateOneIter(handle, round, train.get()),
            "XGBoosterUpdateOneIter"));
  }
  bst_ulong length = 0;
  const char* bytes = nullptr;
  MOVIEREC_RETURN_IF_ERROR(
      Xgb(XGBoosterSaveModelToBuffer(handle, R"({"format": "json"})", &length,
                                     &bytes),
          "XGBoosterSaveModelToBuffer"));
  return std::string(bytes, length);
}

absl::StatusOr<TreeEnsemble> FitLambdaMart(const LambdaMartTraining& config,
                                           const std::vector<RerankList>& lists,
                                           absl::Span<const int32_t> which,
                                           int trees, uint64_t seed) {
  MOVIEREC_ASSIGN_OR_RETURN(
      const std::string json,
      FitLambdaMartJson(config, lists, which, trees, seed));
  return TreeEnsembleFromXgboostJson(json, kNumRerankFeatures);
}

absl::StatusOr<StageTrainingResult> TrainLambdaMart(
    const RerankerTraining& config, const std::vector<RerankList>& lists,
    uint64_t seed, Reranker* reranker, Progress* progress) {
  const auto start = std::chrono::steady_clock::now();
  const LambdaMartTraining& boosting = config.lambdamart;
  const int folds = std::max(2, config.folds);
  if (lists.size() < static_cast<size_t>(folds)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the lambdamart reranker needs at least ", folds,
        " candidate lists with a held-out movie, the validation part gave ",
        lists.size()));
  }
  // The same folds of the same shuffled users as the listwise kind.
  const ListFolds list_folds(lists.size(), folds, seed);
  std::vector<double> curve(static_cast<size_t>(boosting.trees), 0.0);
  progress->Begin("reranker (lambdamart folds)", folds,
                  static_cast<int64_t>(lists.size()));
  for (int f = 0; f < folds; ++f) {
    std::vector<int32_t> fit, validation;
    list_folds.Split(f, &fit, &validation);
    MOVIEREC_ASSIGN_OR_RETURN(
        const TreeEnsemble fold,
        FitLambdaMart(boosting, lists, fit, boosting.trees, seed));
    const std::vector<double> fold_curve = NdcgByTrees(fold, lists, validation);
    for (size_t t = 0; t < fold_curve.size(); ++t) {
      curve[t] += fold_curve[t] / folds;
    }
    progress->Update(f + 1, static_cast<int64_t>(lists.size()), 0);
  }
  progress->End();
  const int best_trees =
      static_cast<int>(std::max_element(curve.begin(), curve.end()) -
                       curve.begin()) +
      1;
  MOVIEREC_ASSIGN_OR_RETURN(
      TreeEnsemble ensemble,
      FitLambdaMart(boosting, lists, list_folds.shuffled, best_trees, seed));
  reranker->set_trees(std::move(ensemble));

  StageTrainingResult result;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  for (int t = 1; t <= best_trees; ++t) {
    EpochReport report;
    report.epoch = t;
    report.epochs = best_trees;
    report.validation = curve[t - 1];
    report.best = t == best_trees;
    result.epochs.push_back(report);
  }
  result.best_epochs = best_trees;
  result.best_validation = curve[best_trees - 1];
  result.reference_validation = RetrievalOrderNdcg(lists, list_folds.shuffled);
  spdlog::info(
      "reranker (lambdamart): {} trees chosen of {}; NDCG@10 over the folds "
      "{:.4f}, {:.4f} in retrieval order; {:.1f} s",
      best_trees, boosting.trees, result.best_validation,
      result.reference_validation, result.seconds);
  return result;
}

}  // namespace movierec
