// Tests of the LambdaMART reranker's training (train/lambdamart.h): the
// converted trees score exactly as XGBoost predicts, training learns a
// ranking no linear model can (an interaction of two features), the trained
// reranker survives its disk form, and malformed XGBoost models and too few
// lists are refused.
#include "train/lambdamart.h"

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "model/reranker.h"
#include "tests/test_util.h"
#include "train/ranking_trainer.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::IsOk;

// `count` lists of `size` candidates with random features in [-1, 1]; a
// candidate is relevant when kRetrievalZ and kGenreAffinity have the same
// sign (an interaction: no weighted sum of features ranks by it).
std::vector<RerankList> InteractionLists(int count, int size, uint64_t seed) {
  Rng rng(seed);
  std::vector<RerankList> lists;
  for (int l = 0; l < count; ++l) {
    RerankList list;
    list.user = l;
    list.features.resize(size, kNumRerankFeatures);
    for (Eigen::Index i = 0; i < list.features.size(); ++i) {
      list.features.data()[i] = rng.UniformFloat(-1.0f, 1.0f);
    }
    bool any = false;
    for (int r = 0; r < size; ++r) {
      list.features(r, kLogRank) = std::log1p(static_cast<float>(r));
      const bool relevant = (list.features(r, kRetrievalZ) > 0) ==
                            (list.features(r, kGenreAffinity) > 0);
      list.gains.push_back(relevant ? 1.0f : 0.0f);
      any |= relevant;
    }
    if (any) lists.push_back(std::move(list));
  }
  return lists;
}

std::vector<int32_t> All(const std::vector<RerankList>& lists) {
  std::vector<int32_t> all(lists.size());
  std::iota(all.begin(), all.end(), 0);
  return all;
}

LambdaMartTraining SmallBoosting() {
  LambdaMartTraining config;
  config.trees = 30;
  config.max_depth = 3;
  config.learning_rate = 0.3f;
  return config;
}

TEST(LambdaMartTest, ConvertedTreesScoreAsXgboostPredicts) {
  const std::vector<RerankList> lists = InteractionLists(40, 25, 7);
  absl::StatusOr<std::string> json =
      FitLambdaMartJson(SmallBoosting(), lists, All(lists), 30, 1);
  ASSERT_TRUE(IsOk(json));
  absl::StatusOr<TreeEnsemble> ensemble =
      TreeEnsembleFromXgboostJson(*json, kNumRerankFeatures);
  ASSERT_TRUE(IsOk(ensemble));
  EXPECT_EQ(ensemble->num_trees(), 30);

  // XGBoost's own predictions from the same model, on rows it never saw
  // (203: blocks of 8 walked side by side and a remainder).
  RowMatrix rows = InteractionLists(1, 203, 99)[0].features;
  BoosterHandle booster = nullptr;
  ASSERT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
  ASSERT_EQ(XGBoosterLoadModelFromBuffer(booster, json->data(), json->size()),
            0)
      << XGBGetLastError();
  DMatrixHandle matrix = nullptr;
  ASSERT_EQ(XGDMatrixCreateFromMat(rows.data(), rows.rows(), rows.cols(), NAN,
                                   &matrix),
            0);
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* predicted = nullptr;
  ASSERT_EQ(XGBoosterPredictFromDMatrix(
                booster, matrix,
                R"({"type": 0, "training": false, "iteration_begin": 0,
                    "iteration_end": 0, "strict_shape": false})",
                &shape, &dims, &predicted),
            0)
      << XGBGetLastError();
  Vector ours;
  ensemble->Predict(rows, &ours);
  ASSERT_EQ(dims, 1u);
  ASSERT_EQ(shape[0], static_cast<bst_ulong>(rows.rows()));
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    EXPECT_NEAR(ours(r), predicted[r], 1e-5f * (1 + std::abs(predicted[r])))
        << "row " << r;
  }
  XGDMatrixFree(matrix);
  XGBoosterFree(booster);
}

TEST(LambdaMartTest, LearnsAnInteractionAndSurvivesTheDiskForm) {
  const std::vector<RerankList> lists = InteractionLists(200, 30, 3);
  RerankerTraining config;
  config.model.kind = kLambdaMartReranker;
  config.lambdamart = SmallBoosting();
  config.lambdamart.trees = 60;
  Reranker reranker(config.model);
  Progress progress = Progress::Silent();
  absl::StatusOr<StageTrainingResult> result =
      TrainLambdaMart(config, lists, 5, &reranker, &progress);
  ASSERT_TRUE(IsOk(result));
  // Held-out folds: the trees rank by the interaction, retrieval order
  // (random here) does not.
  EXPECT_GT(result->best_validation, 0.9);
  EXPECT_LT(result->reference_validation, 0.8);
  EXPECT_GE(result->best_epochs, 1);
  EXPECT_LE(result->best_epochs, 60);
  EXPECT_EQ(reranker.trees().num_trees(), result->best_epochs);
  ASSERT_EQ(result->epochs.size(), static_cast<size_t>(result->best_epochs));
  EXPECT_DOUBLE_EQ(result->epochs.back().validation, result->best_validation);

  const RerankList fresh = InteractionLists(1, 100, 11)[0];
  Vector scores;
  reranker.Score(fresh.features, &scores);
  EXPECT_GT(RerankListNdcg(fresh, scores), 0.9);

  absl::StatusOr<Reranker> loaded = Reranker::FromProto(reranker.ToProto());
  ASSERT_TRUE(IsOk(loaded));
  EXPECT_TRUE(loaded->is_trees());
  EXPECT_EQ(loaded->inputs(), kNumRerankFeatures);
  Vector reloaded;
  loaded->Score(fresh.features, &reloaded);
  EXPECT_EQ(reloaded, scores);
}

TEST(LambdaMartTest, IsDeterministicForASeed) {
  const std::vector<RerankList> lists = InteractionLists(60, 20, 4);
  LambdaMartTraining config = SmallBoosting();
  config.subsample = 0.7f;
  absl::StatusOr<std::string> a =
      FitLambdaMartJson(config, lists, All(lists), 10, 9);
  absl::StatusOr<std::string> b =
      FitLambdaMartJson(config, lists, All(lists), 10, 9);
  ASSERT_TRUE(IsOk(a));
  ASSERT_TRUE(IsOk(b));
  EXPECT_EQ(*a, *b);
}

TEST(LambdaMartTest, RefusesTooFewLists) {
  const std::vector<RerankList> lists = InteractionLists(3, 10, 1);
  RerankerTraining config;
  config.model.kind = kLambdaMartReranker;
  config.folds = 4;
  Reranker reranker(config.model);
  Progress progress = Progress::Silent();
  EXPECT_TRUE(
      IsError(TrainLambdaMart(config, lists, 1, &reranker, &progress).status(),
              absl::StatusCode::kFailedPrecondition,
              {"at least 4 candidate lists", "gave 3"}));
}

TEST(LambdaMartTest, RefusesXgboostModelsItCannotServe) {
  const std::vector<RerankList> lists = InteractionLists(20, 10, 2);
  absl::StatusOr<std::string> json =
      FitLambdaMartJson(SmallBoosting(), lists, All(lists), 2, 1);
  ASSERT_TRUE(IsOk(json));
  EXPECT_TRUE(IsError(TreeEnsembleFromXgboostJson("{", 18).status(),
                      absl::StatusCode::kInvalidArgument, {"not as expected"}));
  EXPECT_TRUE(IsError(TreeEnsembleFromXgboostJson("{}", 18).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"not as expected", "learner"}));
  const auto changed = [&](const std::string& from, const std::string& to) {
    std::string text = *json;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  EXPECT_TRUE(
      IsError(TreeEnsembleFromXgboostJson(
                  changed(R"("name":"gbtree")", R"("name":"gblinear")"), 18)
                  .status(),
              absl::StatusCode::kInvalidArgument, {"gblinear"}));
  EXPECT_TRUE(
      IsError(TreeEnsembleFromXgboostJson(
                  changed(R"("split_type":[0)", R"("split_type":[1)"), 18)
                  .status(),
              absl::StatusCode::kInvalidArgument, {"categorical"}));
  // Trees over more features than the rows hold.
  EXPECT_TRUE(IsError(TreeEnsembleFromXgboostJson(*json, 1).status(),
                      absl::StatusCode::kInvalidArgument, {"reads feature"}));
}

}  // namespace
}  // namespace movierec
