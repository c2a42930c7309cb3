#include "tests/train/seed42_equivalence.h"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "data/dataset.h"
#include "tests/test_util.h"
#include "tests/train/quality_report.h"
#include "train/progress.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace movierec::test {
namespace {

using Metrics = std::map<std::string, double>;

// The compared metrics of one training.
Metrics Train(MovieLens data) {
  Metrics metrics;
  absl::StatusOr<Dataset> dataset = MakeRandomSplit(std::move(data), 42);
  EXPECT_TRUE(IsOk(dataset));
  if (!dataset.ok()) return metrics;
  absl::StatusOr<TrainConfig> config = PresetConfig("default");
  EXPECT_TRUE(IsOk(config));
  config->seed = 42;
  Progress progress = Progress::Silent();
  absl::StatusOr<TrainOutput> output = TrainModel(*config, *dataset, &progress);
  EXPECT_TRUE(IsOk(output));
  if (!output.ok()) return metrics;
  const Evaluation& e = output->evaluation;
  metrics["protocol_a_top_100"] = e.protocol_a.at(100);
  metrics["retrieval_recall_at_10"] = e.protocol_b.recall_at_10;
  metrics["retrieval_ndcg_at_10"] = e.protocol_b.ndcg_at_10;
  if (e.pipeline) {
    metrics["pipeline_recall_at_10"] = e.pipeline->recall_at_10;
    metrics["pipeline_ndcg_at_10"] = e.pipeline->ndcg_at_10;
  }
  if (e.rmse) metrics["ranking_rmse"] = *e.rmse;
  return metrics;
}

}  // namespace

void ExpectNativeSeed42Metrics(MovieLens native, MovieLens converted,
                               absl::string_view door) {
  Metrics expected = FreshQualityReport(42);
  if (expected.empty()) {
    std::cout << "no fresh model_quality_test seed-42 metrics in "
              << MOVIEREC_TEST_OUT_DIR << ": training the native reader's data"
              << std::endl;
    expected = Train(std::move(native));
  } else {
    std::cout << "native metrics from model_quality_test seed 42" << std::endl;
  }
  const Metrics got = Train(std::move(converted));
  ASSERT_EQ(got.size(), 6u);
  for (const auto& [name, value] : got) {
    ASSERT_TRUE(expected.count(name)) << name;
    std::cout << name << ": native " << expected.at(name) << ", " << door << " "
              << value << std::endl;
    ::testing::Test::RecordProperty(name, std::to_string(value));
    EXPECT_NEAR(value, expected.at(name), 5e-5) << name;
  }
}

}  // namespace movierec::test
