// The trainer's quality gate: before a new version is published, the figures
// of its evaluation (what its metrics.json holds) are checked against
// absolute thresholds, and against the newest published version when both
// were evaluated on the same data (the same evaluation-data fingerprint).
// A version the gate refuses is never written; movierec-train then exits
// with kExitQualityGate. Everything here is a pure function of its arguments
// except ReadNewestPublished, which reads the model base.
#ifndef MOVIEREC_TRAIN_QUALITY_GATE_H_
#define MOVIEREC_TRAIN_QUALITY_GATE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/dataset.h"

namespace movierec {

// The exit status of movierec-train when the gate refuses the new version
// (0: published, 1: failed, 2: bad command line; util/status_util.h).
inline constexpr int kExitQualityGate = 3;

// The thresholds, as movierec-train's flags of the same names set them.
struct QualityGateOptions {
  // Absolute floors of the served NDCG@10 and recall@10 (the served pipeline's
  // figures when the version ranks, retrieval alone's otherwise), and the
  // ceiling of the rating model's test RMSE. Unset (the default): no check.
  std::optional<double> min_ndcg_at_10;
  std::optional<double> min_recall_at_10;
  std::optional<double> max_rmse;
  // The largest relative drop of the served NDCG@10 and recall@10 allowed
  // against the newest published version evaluated on the same data:
  // refused when value < (1 - max_relative_regression) * its value.
  // Default 0.02; 1 turns the relative gate off.
  double max_relative_regression = 0.02;
};

// OK, or InvalidArgument naming the flag and its value: the floors must be
// in [0, 1], the RMSE ceiling positive and finite, the tolerance in [0, 1].
absl::Status ValidateQualityGateOptions(const QualityGateOptions& options);

// The figures of a metrics.json that the gate reads.
struct GatedMetrics {
  // "pipeline" (retrieval -> ranking) when the version ranks, "protocol_b"
  // (retrieval alone) otherwise: the list the server serves.
  std::string served = "protocol_b";
  double ndcg_at_10 = 0;
  double recall_at_10 = 0;
  std::optional<double> rmse;  // only with a rating model
  // data.fingerprint; empty when not recorded (versions written before the
  // gate existed).
  std::string fingerprint;
};

// The gated figures of `metrics` (a parsed metrics.json); InvalidArgument
// naming `name` and the missing or mistyped key.
absl::StatusOr<GatedMetrics> GatedMetricsFromJson(const nlohmann::json& metrics,
                                                  absl::string_view name);

// A fingerprint of the data an evaluation depends on: the catalogue's size,
// the training ratings (whose movies are removed from every list) and the
// test ratings, as multisets (their order does not matter). Two evaluations
// with the same fingerprint are comparable. A random split's seed and
// fraction, or the --train/--test files, are captured by the ratings they
// select. Written as metrics.json's data.fingerprint, e.g. "v1:3f9c...".
std::string EvaluationDataFingerprint(const Dataset& dataset);

// The newest published version and its figures, as the relative gate
// compares with it.
struct PublishedMetrics {
  int64_t version = 0;
  // Why it cannot be compared (no metrics.json, or one the gate cannot
  // read), as an error naming the file.
  absl::StatusOr<GatedMetrics> metrics;
};

// The highest version under `model_base` and its metrics.json; std::nullopt
// when there is no version (or no model base yet). An error only when the
// model base cannot be listed.
absl::StatusOr<std::optional<PublishedMetrics>> ReadNewestPublished(
    const std::string& model_base);

// One threshold checked.
struct GateCheck {
  std::string metric;  // e.g. "served ndcg@10"
  double value = 0;
  double threshold = 0;
  bool at_most = false;  // the value must be <= threshold (RMSE), else >=
  std::string rule;      // the flag and, if relative, what it compares with
  bool passed = false;

  // E.g. "served ndcg@10 0.3812 is below 0.4411 (--max_relative_regression
  // 0.02 against version 3's 0.4501)".
  std::string Describe() const;
};

struct GateReport {
  std::vector<GateCheck> checks;
  // Why a check was skipped or could not be made, e.g. the relative gate
  // against a version evaluated on other data.
  std::vector<std::string> notes;

  bool passed() const;
  // Each failed check's Describe(), joined by "; ".
  std::string FailureSummary() const;
};

// Checks `candidate` against `options`, and relatively against `newest`
// (null: no published version). A --max_rmse without a rating model to check
// fails.
GateReport CheckQualityGate(const GatedMetrics& candidate,
                            const PublishedMetrics* newest,
                            const QualityGateOptions& options);

// The error movierec-train ends with when the gate refuses a version:
// FailedPrecondition, marked so that IsQualityGateRefusal recognises it.
absl::Status QualityGateRefusal(absl::string_view message);
bool IsQualityGateRefusal(const absl::Status& status);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_QUALITY_GATE_H_
