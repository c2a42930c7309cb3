// Tests of the trainer's quality gate (train/quality_gate.h): the thresholds'
// validation, the figures read from metrics.json, the evaluation-data
// fingerprint, and each check: absolute floors and ceiling, the relative
// gate against the newest published version, and the cases where it is
// skipped (no version, no metrics.json, no fingerprint, other data).
#include "train/quality_gate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "data/dataset.h"
#include "model/bundle.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;

TEST(QualityGateOptionsTest, RefusesBadValuesNamingTheFlag) {
  EXPECT_OK(ValidateQualityGateOptions({}));
  QualityGateOptions good;
  good.min_ndcg_at_10 = 0.3;
  good.min_recall_at_10 = 0;
  good.max_rmse = 1.2;
  good.max_relative_regression = 1;
  EXPECT_OK(ValidateQualityGateOptions(good));

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto refused = [](QualityGateOptions options, const char* flag) {
    return IsError(ValidateQualityGateOptions(options),
                   absl::StatusCode::kInvalidArgument, {flag});
  };
  for (const double bad : {-0.1, 1.5, nan}) {
    SCOPED_TRACE(bad);
    QualityGateOptions options;
    options.min_ndcg_at_10 = bad;
    EXPECT_TRUE(refused(options, "--min_ndcg_at_10="));
    options = {};
    options.min_recall_at_10 = bad;
    EXPECT_TRUE(refused(options, "--min_recall_at_10="));
    options = {};
    options.max_relative_regression = bad;
    EXPECT_TRUE(refused(options, "--max_relative_regression="));
  }
  for (const double bad : {0.0, -1.0, inf, nan}) {
    QualityGateOptions options;
    options.max_rmse = bad;
    EXPECT_TRUE(refused(options, "--max_rmse=")) << bad;
  }
}

nlohmann::json Metrics(double ndcg, double recall, bool pipeline,
                       const std::string& fingerprint = "") {
  nlohmann::json metrics;
  metrics["protocol_b"] = {{"ndcg_at_10", ndcg / 2},
                           {"recall_at_10", recall / 2}};
  if (pipeline) {
    metrics["pipeline"] = {{"ndcg_at_10", ndcg}, {"recall_at_10", recall}};
    metrics["ranking"]["rmse"] = 0.93;
  } else {
    metrics["protocol_b"] = {{"ndcg_at_10", ndcg}, {"recall_at_10", recall}};
  }
  if (!fingerprint.empty()) metrics["data"]["fingerprint"] = fingerprint;
  return metrics;
}

TEST(GatedMetricsTest, ReadsTheServedListOfMetricsJson) {
  absl::StatusOr<GatedMetrics> ranked =
      GatedMetricsFromJson(Metrics(0.45, 0.25, true, "v1:ab"), "m");
  ASSERT_OK(ranked);
  EXPECT_EQ(ranked->served, "pipeline");
  EXPECT_EQ(ranked->ndcg_at_10, 0.45);
  EXPECT_EQ(ranked->recall_at_10, 0.25);
  EXPECT_EQ(ranked->rmse, 0.93);
  EXPECT_EQ(ranked->fingerprint, "v1:ab");

  absl::StatusOr<GatedMetrics> retrieval =
      GatedMetricsFromJson(Metrics(0.3, 0.2, false), "m");
  ASSERT_OK(retrieval);
  EXPECT_EQ(retrieval->served, "protocol_b");
  EXPECT_EQ(retrieval->ndcg_at_10, 0.3);
  EXPECT_FALSE(retrieval->rmse.has_value());
  EXPECT_EQ(retrieval->fingerprint, "");

  nlohmann::json broken = Metrics(0.45, 0.25, true);
  broken["pipeline"].erase("ndcg_at_10");
  EXPECT_TRUE(IsError(GatedMetricsFromJson(broken, "v/metrics.json").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"v/metrics.json", "pipeline", "ndcg_at_10"}));
  EXPECT_TRUE(
      IsError(GatedMetricsFromJson(nlohmann::json::array(), "m").status(),
              absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(
      IsError(GatedMetricsFromJson(nlohmann::json::object(), "m").status(),
              absl::StatusCode::kInvalidArgument, {"protocol_b"}));
}

Dataset SmallDataset(uint64_t seed) {
  absl::StatusOr<Dataset> dataset =
      MakeRandomSplit(test::SmallMovieLens(20, 30, 8, 1), seed);
  EXPECT_TRUE(dataset.ok()) << dataset.status();
  return *std::move(dataset);
}

TEST(FingerprintTest, SameDataSameFingerprintWhateverTheOrder) {
  const Dataset dataset = SmallDataset(5);
  const std::string fingerprint = EvaluationDataFingerprint(dataset);
  EXPECT_EQ(fingerprint.size(), 3u + 32u) << fingerprint;
  EXPECT_EQ(fingerprint.substr(0, 3), "v1:");
  EXPECT_EQ(EvaluationDataFingerprint(SmallDataset(5)), fingerprint);

  Dataset reordered = dataset;
  std::reverse(reordered.test.begin(), reordered.test.end());
  std::reverse(reordered.train.begin(), reordered.train.end());
  EXPECT_EQ(EvaluationDataFingerprint(reordered), fingerprint);

  // Another split, one rating changed, one test rating moved to train:
  // other data.
  EXPECT_NE(EvaluationDataFingerprint(SmallDataset(6)), fingerprint);
  Dataset changed = dataset;
  changed.test[0].rating += 1;
  EXPECT_NE(EvaluationDataFingerprint(changed), fingerprint);
  Dataset moved = dataset;
  moved.train.push_back(moved.test.back());
  moved.test.pop_back();
  EXPECT_NE(EvaluationDataFingerprint(moved), fingerprint);
}

GatedMetrics Candidate(double ndcg, double recall,
                       const std::string& fingerprint = "v1:same") {
  GatedMetrics m;
  m.served = "pipeline";
  m.ndcg_at_10 = ndcg;
  m.recall_at_10 = recall;
  m.rmse = 0.93;
  m.fingerprint = fingerprint;
  return m;
}

PublishedMetrics Published(int64_t version, double ndcg, double recall,
                           const std::string& fingerprint = "v1:same") {
  return {version, Candidate(ndcg, recall, fingerprint)};
}

TEST(CheckQualityGateTest, PassesAGoodVersion) {
  QualityGateOptions options;
  options.min_ndcg_at_10 = 0.40;
  options.min_recall_at_10 = 0.20;
  options.max_rmse = 0.95;
  const PublishedMetrics newest = Published(4, 0.4501, 0.2454);
  // 1% below the newest: within the default 2%.
  const GateReport report =
      CheckQualityGate(Candidate(0.4456, 0.2430), &newest, options);
  EXPECT_TRUE(report.passed()) << report.FailureSummary();
  EXPECT_EQ(report.checks.size(), 5u);  // 3 absolute, 2 relative
  EXPECT_TRUE(report.notes.empty());
  EXPECT_EQ(report.FailureSummary(), "");
  // The same figures again (a retraining that reproduces) pass.
  EXPECT_TRUE(
      CheckQualityGate(Candidate(0.4501, 0.2454), &newest, options).passed());
}

TEST(CheckQualityGateTest, AbsoluteFailureNamesMetricValueAndThreshold) {
  QualityGateOptions options;
  options.min_ndcg_at_10 = 0.40;
  options.max_rmse = 0.90;
  const GateReport report =
      CheckQualityGate(Candidate(0.3812, 0.2454), nullptr, options);
  EXPECT_FALSE(report.passed());
  const std::string summary = report.FailureSummary();
  EXPECT_NE(summary.find("ndcg@10 0.3812 is below 0.4000 (--min_ndcg_at_10)"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("test RMSE 0.9300 is above 0.9000 (--max_rmse)"),
            std::string::npos)
      << summary;
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_NE(report.notes[0].find("no published version"), std::string::npos);
}

TEST(CheckQualityGateTest, RmseCeilingWithoutARatingModelFails) {
  QualityGateOptions options;
  options.max_rmse = 1.0;
  GatedMetrics retrieval_only = Candidate(0.3, 0.2);
  retrieval_only.rmse.reset();
  const GateReport report = CheckQualityGate(retrieval_only, nullptr, options);
  EXPECT_FALSE(report.passed());
  EXPECT_NE(report.FailureSummary().find("no rating model"), std::string::npos)
      << report.FailureSummary();
}

TEST(CheckQualityGateTest, RelativeFailureNamesTheVersionItComparesWith) {
  const PublishedMetrics newest = Published(7, 0.4501, 0.2454);
  // NDCG 3% below (refused at 2%), recall 1% below (allowed).
  const GateReport report =
      CheckQualityGate(Candidate(0.4366, 0.2430), &newest, {});
  EXPECT_FALSE(report.passed());
  const std::string summary = report.FailureSummary();
  EXPECT_NE(summary.find("served (retrieval -> ranking) ndcg@10 0.4366 is "
                         "below 0.4411 (--max_relative_regression=0.02 "
                         "against version 7's 0.4501)"),
            std::string::npos)
      << summary;
  EXPECT_EQ(summary.find("recall"), std::string::npos) << summary;

  // A looser tolerance lets it through; 1 turns the relative gate off.
  QualityGateOptions loose;
  loose.max_relative_regression = 0.05;
  EXPECT_TRUE(
      CheckQualityGate(Candidate(0.4366, 0.2430), &newest, loose).passed());
  QualityGateOptions off;
  off.max_relative_regression = 1;
  const GateReport unchecked =
      CheckQualityGate(Candidate(0.01, 0.01), &newest, off);
  EXPECT_TRUE(unchecked.passed());
  ASSERT_EQ(unchecked.notes.size(), 1u);
  EXPECT_NE(unchecked.notes[0].find("turns it off"), std::string::npos);
}

TEST(CheckQualityGateTest, RelativeGateSkippedWhenNotComparable) {
  const GatedMetrics worse = Candidate(0.10, 0.05, "v1:new");
  const auto skipped = [&](const PublishedMetrics& newest,
                           const std::string& why) {
    const GateReport report = CheckQualityGate(worse, &newest, {});
    EXPECT_TRUE(report.passed()) << report.FailureSummary();
    EXPECT_TRUE(report.checks.empty());
    ASSERT_EQ(report.notes.size(), 1u);
    EXPECT_NE(report.notes[0].find("relative gate skipped"), std::string::npos)
        << report.notes[0];
    EXPECT_NE(report.notes[0].find(why), std::string::npos) << report.notes[0];
  };
  skipped(Published(3, 0.45, 0.25, "v1:old"),
          "version 3 (the newest) was evaluated on other data (fingerprint "
          "v1:old, this one v1:new)");
  skipped(Published(3, 0.45, 0.25, ""),
          "version 3 (the newest) records no evaluation-data fingerprint");
  skipped({3, absl::NotFoundError("cannot open base/3/metrics.json")},
          "version 3 (the newest) has no readable metrics.json: cannot open");
}

// A version directory holding only `metrics` as metrics.json (when given):
// enough for ListVersions and ReadNewestPublished.
void WriteVersion(const std::string& base, int64_t version,
                  const std::string& metrics) {
  const std::string dir = absl::StrCat(base, "/", version);
  fs::create_directories(dir);
  if (!metrics.empty()) test::WriteFile(dir + "/" + kMetricsFileName, metrics);
}

TEST(ReadNewestPublishedTest, ReadsTheHighestVersionsMetrics) {
  ScopedTempDir dir;
  const std::string base = dir.File("models");
  absl::StatusOr<std::optional<PublishedMetrics>> none =
      ReadNewestPublished(base);
  ASSERT_OK(none);  // no model base yet
  EXPECT_FALSE(none->has_value());
  fs::create_directories(base);
  ASSERT_OK(none = ReadNewestPublished(base));
  EXPECT_FALSE(none->has_value());

  WriteVersion(base, 2, Metrics(0.2, 0.1, false).dump());
  WriteVersion(base, 10, Metrics(0.45, 0.25, true, "v1:x").dump());
  fs::create_directories(base + "/.tmp-1-2");
  fs::create_directories(base + "/.deleting-11");
  absl::StatusOr<std::optional<PublishedMetrics>> newest =
      ReadNewestPublished(base);
  ASSERT_OK(newest);
  ASSERT_TRUE(newest->has_value());
  EXPECT_EQ((*newest)->version, 10);
  ASSERT_OK((*newest)->metrics);
  EXPECT_EQ((*newest)->metrics->ndcg_at_10, 0.45);
  EXPECT_EQ((*newest)->metrics->fingerprint, "v1:x");

  WriteVersion(base, 11, "");  // no metrics.json
  ASSERT_OK(newest = ReadNewestPublished(base));
  EXPECT_EQ((*newest)->version, 11);
  EXPECT_TRUE(IsError((*newest)->metrics.status(), absl::StatusCode::kNotFound,
                      {"11/metrics.json"}));
  WriteVersion(base, 12, "{not json");
  ASSERT_OK(newest = ReadNewestPublished(base));
  EXPECT_TRUE(IsError((*newest)->metrics.status(),
                      absl::StatusCode::kInvalidArgument,
                      {"12/metrics.json", "not valid JSON"}));
}

TEST(QualityGateRefusalTest, IsMarkedAndKeepsItsMessage) {
  const absl::Status refusal = QualityGateRefusal("ndcg too low");
  EXPECT_TRUE(IsQualityGateRefusal(refusal));
  EXPECT_EQ(refusal.message(), "ndcg too low");
  EXPECT_FALSE(IsQualityGateRefusal(absl::FailedPreconditionError("x")));
  EXPECT_FALSE(IsQualityGateRefusal(absl::OkStatus()));
  EXPECT_EQ(kExitQualityGate, 3);
}

}  // namespace
}  // namespace movierec
