#include "train/quality_gate.h"

#include <cmath>
#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/bundle.h"
#include "util/file_util.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// The payload that marks a refusal of the gate.
constexpr char kRefusalPayload[] = "type.movierec/quality_gate";

// The splitmix64 finaliser: a bijective mix of all 64 bits.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t InteractionHash(const Interaction& x) {
  uint32_t rating_bits = 0;
  static_assert(sizeof(rating_bits) == sizeof(x.rating));
  std::memcpy(&rating_bits, &x.rating, sizeof(rating_bits));
  uint64_t h =
      Mix((static_cast<uint64_t>(static_cast<uint32_t>(x.user)) << 32) |
          static_cast<uint32_t>(x.movie));
  h = Mix(h ^ rating_bits);
  return Mix(h ^ static_cast<uint64_t>(x.timestamp));
}

// An order-independent hash of a multiset of interactions, in two lanes
// (128 bits): sums of per-interaction hashes.
struct MultisetHash {
  uint64_t a = 0;
  uint64_t b = 0;
};

MultisetHash HashInteractions(const std::vector<Interaction>& interactions) {
  MultisetHash hash;
  for (const Interaction& x : interactions) {
    const uint64_t h = InteractionHash(x);
    hash.a += h;
    hash.b += Mix(h ^ 0x5bd1e9955bd1e995ull);
  }
  return hash;
}

double Get(const nlohmann::json& object, const char* key,
           absl::string_view where, absl::Status* error) {
  if (!object.is_object() || !object.contains(key) ||
      !object[key].is_number()) {
    if (error->ok()) {
      *error = absl::InvalidArgumentError(
          absl::StrCat(where, ": no number at ", key));
    }
    return 0;
  }
  return object[key].get<double>();
}

std::string Figure(double value) { return absl::StrFormat("%.4f", value); }

absl::Status BadFlag(absl::string_view flag, double value,
                     absl::string_view must) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, ": must be ", must));
}

}  // namespace

absl::Status ValidateQualityGateOptions(const QualityGateOptions& options) {
  const auto share = [](const std::optional<double>& v) {
    return !v || (*v >= 0 && *v <= 1);  // false for NaN
  };
  if (!share(options.min_ndcg_at_10)) {
    return BadFlag("min_ndcg_at_10", *options.min_ndcg_at_10,
                   "a share in [0, 1]");
  }
  if (!share(options.min_recall_at_10)) {
    return BadFlag("min_recall_at_10", *options.min_recall_at_10,
                   "a share in [0, 1]");
  }
  if (options.max_rmse &&
      !(*options.max_rmse > 0 && std::isfinite(*options.max_rmse))) {
    return BadFlag("max_rmse", *options.max_rmse, "positive and finite");
  }
  if (!(options.max_relative_regression >= 0 &&
        options.max_relative_regression <= 1)) {
    return BadFlag("max_relative_regression", options.max_relative_regression,
                   "in [0, 1] (a share: 0.02 allows a 2% drop, 1 turns the "
                   "relative gate off)");
  }
  return absl::OkStatus();
}

absl::StatusOr<GatedMetrics> GatedMetricsFromJson(const nlohmann::json& metrics,
                                                  absl::string_view name) {
  GatedMetrics gated;
  if (!metrics.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a JSON object"));
  }
  gated.served = metrics.contains("pipeline") ? "pipeline" : "protocol_b";
  if (!metrics.contains(gated.served)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": no protocol_b (the evaluation)"));
  }
  const nlohmann::json& list = metrics[gated.served];
  absl::Status error;
  const std::string where = absl::StrCat(name, ": ", gated.served);
  gated.ndcg_at_10 = Get(list, "ndcg_at_10", where, &error);
  gated.recall_at_10 = Get(list, "recall_at_10", where, &error);
  if (metrics.contains("ranking")) {
    gated.rmse = Get(metrics["ranking"], "rmse",
                     absl::StrCat(name, ": ranking"), &error);
  }
  MOVIEREC_RETURN_IF_ERROR(error);
  if (metrics.contains("data") && metrics["data"].is_object() &&
      metrics["data"].contains("fingerprint")) {
    if (!metrics["data"]["fingerprint"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": data.fingerprint is not a string"));
    }
    gated.fingerprint = metrics["data"]["fingerprint"].get<std::string>();
  }
  return gated;
}

std::string EvaluationDataFingerprint(const Dataset& dataset) {
  const MultisetHash train = HashInteractions(dataset.train);
  const MultisetHash test = HashInteractions(dataset.test);
  uint64_t a = Mix(static_cast<uint64_t>(dataset.num_users()));
  a = Mix(a ^ static_cast<uint64_t>(dataset.num_movies()));
  a = Mix(a ^ dataset.train.size());
  a = Mix(a ^ dataset.test.size());
  uint64_t b = Mix(a ^ 1);
  a = Mix(Mix(a ^ train.a) ^ test.a);
  b = Mix(Mix(b ^ train.b) ^ test.b);
  return absl::StrFormat("v1:%016x%016x", a, b);
}

absl::StatusOr<std::optional<PublishedMetrics>> ReadNewestPublished(
    const std::string& model_base) {
  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(model_base);
  if (absl::IsNotFound(versions.status())) return std::nullopt;
  MOVIEREC_RETURN_IF_ERROR(versions.status());
  if (versions->empty()) return std::nullopt;
  PublishedMetrics newest;
  newest.version = versions->back();
  const std::string path =
      absl::StrCat(model_base, "/", newest.version, "/", kMetricsFileName);
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    newest.metrics = text.status();
    return newest;
  }
  const nlohmann::json json =
      nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    newest.metrics =
        absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
    return newest;
  }
  newest.metrics = GatedMetricsFromJson(json, path);
  return newest;
}

std::string GateCheck::Describe() const {
  const char* side = at_most ? "above" : "below";
  if (passed) side = at_most ? "within" : "at or above";
  return absl::StrCat(metric, " ", Figure(value), " is ", side, " ",
                      Figure(threshold), " (", rule, ")");
}

bool GateReport::passed() const {
  for (const GateCheck& check : checks) {
    if (!check.passed) return false;
  }
  return true;
}

std::string GateReport::FailureSummary() const {
  std::vector<std::string> failures;
  for (const GateCheck& check : checks) {
    if (!check.passed) failures.push_back(check.Describe());
  }
  return absl::StrJoin(failures, "; ");
}

GateReport CheckQualityGate(const GatedMetrics& candidate,
                            const PublishedMetrics* newest,
                            const QualityGateOptions& options) {
  GateReport report;
  const std::string served = candidate.served == "pipeline"
                                 ? "served (retrieval -> ranking)"
                                 : "served (retrieval alone)";
  const auto at_least = [&](const char* metric, double value, double floor,
                            std::string rule) {
    report.checks.push_back({absl::StrCat(served, " ", metric), value, floor,
                             /*at_most=*/false, std::move(rule),
                             value >= floor});
  };
  if (options.min_ndcg_at_10) {
    at_least("ndcg@10", candidate.ndcg_at_10, *options.min_ndcg_at_10,
             "--min_ndcg_at_10");
  }
  if (options.min_recall_at_10) {
    at_least("recall@10", candidate.recall_at_10, *options.min_recall_at_10,
             "--min_recall_at_10");
  }
  if (options.max_rmse) {
    if (candidate.rmse) {
      report.checks.push_back({"test RMSE", *candidate.rmse, *options.max_rmse,
                               /*at_most=*/true, "--max_rmse",
                               *candidate.rmse <= *options.max_rmse});
    } else {
      // A ceiling that cannot be checked is a failure, not a pass.
      report.checks.push_back(
          {"test RMSE", std::nan(""), *options.max_rmse, /*at_most=*/true,
           "--max_rmse; the version has no rating model to measure", false});
    }
  }

  // The relative gate.
  const double tolerance = options.max_relative_regression;
  const std::string skipped = "relative gate skipped: ";
  if (tolerance >= 1) {
    report.notes.push_back(skipped +
                           "--max_relative_regression=1 turns it off");
  } else if (newest == nullptr) {
    report.notes.push_back(skipped + "no published version to compare with");
  } else if (!newest->metrics.ok()) {
    report.notes.push_back(absl::StrCat(
        skipped, "version ", newest->version, " (the newest) has no readable ",
        kMetricsFileName, ": ", newest->metrics.status().message()));
  } else if (newest->metrics->fingerprint.empty()) {
    report.notes.push_back(absl::StrCat(
        skipped, "version ", newest->version,
        " (the newest) records no evaluation-data fingerprint in its ",
        kMetricsFileName, " (written before the gate existed)"));
  } else if (candidate.fingerprint.empty()) {
    report.notes.push_back(
        skipped + "the new version records no evaluation-data fingerprint");
  } else if (newest->metrics->fingerprint != candidate.fingerprint) {
    report.notes.push_back(
        absl::StrCat(skipped, "version ", newest->version,
                     " (the newest) was evaluated on other data (fingerprint ",
                     newest->metrics->fingerprint, ", this one ",
                     candidate.fingerprint, ")"));
  } else {
    const GatedMetrics& old = *newest->metrics;
    const auto relative = [&](const char* metric, double value, double was) {
      at_least(metric, value, (1 - tolerance) * was,
               absl::StrCat("--max_relative_regression=", tolerance,
                            " against version ", newest->version, "'s ",
                            Figure(was)));
    };
    relative("ndcg@10", candidate.ndcg_at_10, old.ndcg_at_10);
    relative("recall@10", candidate.recall_at_10, old.recall_at_10);
  }
  return report;
}

absl::Status QualityGateRefusal(absl::string_view message) {
  absl::Status status = absl::FailedPreconditionError(message);
  status.SetPayload(kRefusalPayload, absl::Cord());
  return status;
}

bool IsQualityGateRefusal(const absl::Status& status) {
  return status.GetPayload(kRefusalPayload).has_value();
}

}  // namespace movierec
