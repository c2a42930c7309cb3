// The quality bars of the default preset on the real MovieLens 100K (from
// $MOVIELENS_DIR; skipped when it is unset), one test per seed of the random
// 80/20 split so that ctest can run them side by side. Each seed must clear
// the bars below, which puts the mean over seeds 1, 2 and 3 above them too
// (EVALUATION.md reports seed 42 and that mean), beat EASE^R fitted in the
// same run (by kMinRatioToEase on seed 42 and on the mean of seeds 1-3,
// which model_quality_mean_test checks), and serve visitors (their K most
// recent training movies) at least as well as EASE^R does, at each K.
// The measured figures go to the test log and to the test's XML properties.
//
// MOVIEREC_QUALITY_SEEDS (comma-separated, e.g. "42") runs only those seeds
// and skips the others, saying so: tests/run.sh --asan sets it to 42, because
// under the sanitizers a training is several times slower and what they check
// (memory and undefined behaviour on the real data's code paths) does not
// depend on the seed; the plain suite runs every seed.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/dataset.h"
#include "data/movielens.h"
#include "tests/test_util.h"
#include "tests/train/quality_report.h"
#include "train/progress.h"
#include "train/train_config.h"
#include "train/trainer.h"
#include "train/visitor_evaluation.h"

namespace movierec {
namespace {

using ::movierec::test::MovieLensDirFromEnv;

constexpr double kMinTop100 = 0.33;          // protocol A, retrieval
constexpr double kMinPipelineRecall = 0.22;  // protocol B, served top 10
constexpr double kMinPipelineNdcg = 0.40;
constexpr double kMaxRmse = 0.95;  // the rating model on test
// The served top 10 against EASE^R (lambda 500) fitted to the same training
// ratings in the same run: recall@10 and NDCG@10 each at least
// test::kMinRatioToEase on seed 42 (and on the mean of seeds 1, 2 and 3,
// which model_quality_mean_test checks), and at least kMinSeedRatioToEase
// on each of seeds 1, 2 and 3, whose ratios spread over a few percent from
// split to split (docs/models.md, "Quality").
constexpr double kMinSeedRatioToEase = 1.01;

class ModelQualityTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  // Logs `value` as a property of the test and on stdout, and keeps it for
  // WriteReport.
  void Report(const std::string& name, double value) {
    RecordProperty(name, std::to_string(value));
    std::cout << "seed " << GetParam() << " " << name << " = " << value
              << std::endl;
    absl::StrAppend(&report_, name, " ", absl::StrFormat("%.17g", value), "\n");
  }
  // Writes the reported figures where the other real-data tests read them
  // (quality_report.h) instead of training again.
  void WriteReport() {
    std::filesystem::create_directories(MOVIEREC_TEST_OUT_DIR);
    std::ofstream(test::QualityReportPath(GetParam())) << report_;
  }

 private:
  std::string report_;
};

TEST_P(ModelQualityTest, DefaultPresetClearsTheBars) {
  const std::string dir = MovieLensDirFromEnv();
  if (dir.empty()) GTEST_SKIP() << "MOVIELENS_DIR is not set";
  const uint64_t seed = GetParam();
  if (!test::QualitySeedSelected(seed)) {
    GTEST_SKIP() << "seed " << seed << " is not in MOVIEREC_QUALITY_SEEDS="
                 << std::getenv("MOVIEREC_QUALITY_SEEDS");
  }
  ASSERT_OK_AND_ASSIGN(MovieLens data, LoadMovieLens(dir));
  ASSERT_OK_AND_ASSIGN(const Dataset dataset,
                       MakeRandomSplit(std::move(data), seed));
  // As movierec-train --seed does: the split, initialisation and batch order.
  ASSERT_OK_AND_ASSIGN(TrainConfig config, PresetConfig("default"));
  config.seed = seed;
  Progress progress = Progress::Silent();
  ASSERT_OK_AND_ASSIGN(const TrainOutput output,
                       TrainModel(config, dataset, &progress));
  const Evaluation& e = output.evaluation;
  ASSERT_TRUE(e.pipeline.has_value());
  ASSERT_TRUE(e.rmse.has_value());

  const double top100 = e.protocol_a.at(100);
  Report("protocol_a_top_100", top100);
  Report("retrieval_recall_at_10", e.protocol_b.recall_at_10);
  Report("retrieval_ndcg_at_10", e.protocol_b.ndcg_at_10);
  Report("retrieval_hit_rate_at_10", e.protocol_b.hit_rate_at_10);
  Report("pipeline_recall_at_10", e.pipeline->recall_at_10);
  Report("pipeline_ndcg_at_10", e.pipeline->ndcg_at_10);
  Report("pipeline_hit_rate_at_10", e.pipeline->hit_rate_at_10);
  Report("ranking_rmse", *e.rmse);
  ASSERT_TRUE(e.ease.has_value());
  ASSERT_EQ(e.ease->users, e.pipeline->users);
  Report("ease_recall_at_10", e.ease->recall_at_10);
  Report("ease_ndcg_at_10", e.ease->ndcg_at_10);
  Report("pipeline_to_ease_recall_at_10",
         e.pipeline->recall_at_10 / e.ease->recall_at_10);
  Report("pipeline_to_ease_ndcg_at_10",
         e.pipeline->ndcg_at_10 / e.ease->ndcg_at_10);
  for (const auto& [stage, result] : output.stages) {
    Report(absl::StrCat(stage, "_epochs"),
           static_cast<double>(result.epochs.size()));
  }

  WriteReport();

  EXPECT_GE(top100, kMinTop100);
  EXPECT_GE(e.pipeline->recall_at_10, kMinPipelineRecall);
  EXPECT_GE(e.pipeline->ndcg_at_10, kMinPipelineNdcg);
  EXPECT_LE(*e.rmse, kMaxRmse);
  // The ranking stage must not make the served list worse than retrieval's.
  EXPECT_GE(e.pipeline->ndcg_at_10, e.protocol_b.ndcg_at_10);
  // The two-stage system beats the strongest simple baseline, clearly.
  const double min_ratio =
      seed == 42 ? test::kMinRatioToEase : kMinSeedRatioToEase;
  EXPECT_GE(e.pipeline->recall_at_10, min_ratio * e.ease->recall_at_10);
  EXPECT_GE(e.pipeline->ndcg_at_10, min_ratio * e.ease->ndcg_at_10);

  // A visitor giving their K most recent training movies is served at least
  // as well as EASE^R (lambda 500) scoring the same K movies, both measured
  // in this run (visitor_evaluation.h).
  ASSERT_EQ(e.visitors.size(), std::size(kVisitorKs));
  for (const VisitorEvaluation& v : e.visitors) {
    const std::string k = absl::StrCat("visitor_k", v.k);
    Report(k + "_served_recall_at_10", v.served.recall_at_10);
    Report(k + "_served_ndcg_at_10", v.served.ndcg_at_10);
    Report(k + "_ease_recall_at_10", v.ease.recall_at_10);
    Report(k + "_ease_ndcg_at_10", v.ease.ndcg_at_10);
    Report(k + "_visitors_with_fewer_movies", v.fewer_than_k);
    ASSERT_GT(v.ease.users, 0) << k;
    EXPECT_GE(v.served.ndcg_at_10, v.ease.ndcg_at_10) << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelQualityTest,
                         ::testing::Values(42, 1, 2, 3),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return absl::StrCat("seed_", info.param);
                         });

}  // namespace
}  // namespace movierec
