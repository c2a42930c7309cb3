// movierec-train: reads MovieLens 100K, trains the model, evaluates it and
// writes the next model version under --model_base.
#include <omp.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "data/features.h"
#include "index/index_factory.h"
#include "index/index_options.h"
#include "index/ivf_calibration.h"
#include "model/bundle.h"
#include "spdlog/spdlog.h"
#include "train/config_json.h"
#include "train/quality_gate.h"
#include "train/retention.h"
#include "train/trainer.h"
#include "util/blas.h"
#include "util/command_line.h"
#include "util/file_util.h"
#include "util/log_flags.h"
#include "util/status_macros.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, data_dir, "",
          "MovieLens directory (100K, 1M, 10M, 20M/25M/32M/latest) or a "
          "folder in the generic format (see --format); defaults to "
          "$MOVIELENS_DIR");
ABSL_FLAG(std::string, format, "auto",
          "Format of --data_dir: auto (detected from its files), ml-100k, "
          "ml-1m, ml-10m, ml-csv (20M, 25M, 32M, latest) or generic "
          "(interactions.csv, items.csv[, users.csv]); docs/data.md");
ABSL_FLAG(std::string, model_base, "",
          "Directory of model versions; the new version is written as "
          "MODEL_BASE/<highest version + 1>/ (required)");
ABSL_FLAG(uint64_t, seed, 42,
          "Seed of the random 80/20 split, the initialisation and the "
          "training order");
ABSL_FLAG(std::optional<std::string>, split, std::nullopt,
          "How the ratings are split into train and test: random (the "
          "default: a seeded 80/20 permutation), temporal (the latest 20% by "
          "timestamp are test) or leave_last_n=N (each user's last N are "
          "test); the validation part of train follows the same kind. Not "
          "with --train/--test");
ABSL_FLAG(std::string, train, "",
          "Training ratings in u.data format; with --test, replaces the "
          "random split");
ABSL_FLAG(std::string, test, "",
          "Test ratings in u.data format (with --train)");
ABSL_FLAG(
    std::string, preset, "default",
    "Training configuration: default or tfrs (the TFRS tutorial replica)");
ABSL_FLAG(std::string, config, "",
          "JSON merged over the preset's configuration, e.g. "
          "'{\"retrieval\": {\"l2\": 0.01}}' (see train/train_config.h)");
ABSL_FLAG(bool, evaluate_on_validation, false,
          "For tuning: hold out a validation part of the training ratings, "
          "train on the rest and evaluate on it; the test ratings stay unseen");
ABSL_FLAG(int, threads, 0, "Training threads; 0 means one per core");
ABSL_FLAG(bool, dry_run, false,
          "Train, evaluate and apply the quality gate (exit status 3 if it "
          "would refuse), but write no model version and remove none");
ABSL_FLAG(std::string, index_kind, "auto",
          "Candidate index served for this version: flat (exact), hnsw, ivf, "
          "or auto (flat up to 50,000 movies, ivf above). hnsw and ivf are "
          "built here and saved in the version as index.faiss");
ABSL_FLAG(int, hnsw_m, movierec::IndexOptions{}.hnsw_m,
          "HNSW neighbours per node (M)");
ABSL_FLAG(int, hnsw_ef_construction,
          movierec::IndexOptions{}.hnsw_ef_construction,
          "HNSW candidate list size while building (efConstruction)");
ABSL_FLAG(int, hnsw_ef_search, movierec::IndexOptions{}.hnsw_ef_search,
          "HNSW candidate list size while searching (efSearch), saved as "
          "the index's default");
ABSL_FLAG(int, ivf_nlist, movierec::IndexOptions{}.ivf_nlist,
          "IVF cells; 0: round(2 * sqrt(movies))");
ABSL_FLAG(int, ivf_nprobe, 0,
          "IVF cells scanned per query, saved as the index's default; 0: "
          "the fewest that find 95% of the exact top 100 for the model's "
          "own users (measured here, recorded in metrics.json)");
ABSL_FLAG(std::optional<double>, min_ndcg_at_10, std::nullopt,
          "Quality gate: refuse the version when its served NDCG@10 is below "
          "this (unset: no floor)");
ABSL_FLAG(std::optional<double>, min_recall_at_10, std::nullopt,
          "Quality gate: refuse the version when its served recall@10 is "
          "below this (unset: no floor)");
ABSL_FLAG(std::optional<double>, max_rmse, std::nullopt,
          "Quality gate: refuse the version when its rating model's test "
          "RMSE is above this (unset: no ceiling)");
ABSL_FLAG(double, max_relative_regression,
          movierec::QualityGateOptions{}.max_relative_regression,
          "Quality gate: refuse the version when its served NDCG@10 or "
          "recall@10 is more than this share below the newest published "
          "version's, if both were evaluated on the same data; 1: off");
ABSL_FLAG(bool, force, false,
          "Publish even when the quality gate refuses the version (the "
          "overridden checks are logged)");
ABSL_FLAG(std::optional<int>, keep_versions, std::nullopt,
          "Retention: after publishing, remove the versions older than the "
          "newest N, except --protect'ed and pinned ones (MODEL_BASE/PINNED); "
          "unset: remove none");
ABSL_FLAG(std::string, protect, "",
          "Retention: comma-separated versions never removed, e.g. 3,7 (each "
          "must exist)");
ABSL_FLAG(std::string, stage_report, "",
          "Write each stage's wall time and peak resident memory, and each "
          "training stage's examples/s, to this JSON file (the scale "
          "benchmark's input)");
ABSL_FLAG(bool, testonly_kill_during_removal, false,
          "For tests only: SIGKILL the trainer itself after the first file of "
          "the first version under removal is deleted");

namespace movierec {
namespace {

// The split of --split (random when unset); a usage error naming a bad
// value or its combination with --train/--test.
absl::StatusOr<SplitSpec> SplitFromFlags() {
  const std::optional<std::string> split = absl::GetFlag(FLAGS_split);
  if (!split) return SplitSpec();
  if (!absl::GetFlag(FLAGS_train).empty() ||
      !absl::GetFlag(FLAGS_test).empty()) {
    return UsageError(absl::StrCat(
        "--split=", *split,
        " cannot be combined with --train/--test, which give the split as "
        "files"));
  }
  return AsUsageError(Annotate(ParseSplitSpec(*split), "--split"));
}

absl::StatusOr<Dataset> LoadDataset(const std::string& data_dir,
                                    MovieLensFormat format,
                                    const std::string& train,
                                    const std::string& test,
                                    const SplitSpec& split, uint64_t seed) {
  if (train.empty() != test.empty()) {
    return absl::InvalidArgumentError(
        "--train and --test must be given together");
  }
  if (!train.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(MovieLens catalog, LoadCatalog(data_dir, format));
    return MakeExplicitSplit(std::move(catalog), train, test);
  }
  MOVIEREC_ASSIGN_OR_RETURN(MovieLens data, LoadMovieLens(data_dir, format));
  return MakeSplit(std::move(data), split, seed);
}

void PrintEvaluation(const TrainOutput& output) {
  const Evaluation& e = output.evaluation;
  std::string a;
  for (const auto& [k, value] : e.protocol_a) {
    absl::StrAppend(&a, a.empty() ? "" : ", ", "top-", k, " ", value);
  }
  std::printf("protocol A (factorized top-K): %s\n", a.c_str());
  const auto print_list = [](const char* what, const ListMetrics& m) {
    std::printf("%s: recall@10 %.4f, ndcg@10 %.4f, hit@10 %.4f over %d users\n",
                what, m.recall_at_10, m.ndcg_at_10, m.hit_rate_at_10, m.users);
  };
  print_list("protocol B, retrieval alone (top 10, seen removed)",
             e.protocol_b);
  if (e.pipeline) {
    print_list("protocol B, retrieval -> ranking (served pipeline)",
               *e.pipeline);
  }
  if (e.ease) {
    print_list("protocol B, EASE^R (lambda 500) on the same training data",
               *e.ease);
  }
  if (e.rmse) std::printf("rating model: test RMSE %.4f\n", *e.rmse);
  if (e.cold_users) {
    std::printf("cold users (no training ratings, %lld test ratings):\n",
                static_cast<long long>(e.cold_users->test_interactions));
    print_list("  retrieval alone", e.cold_users->retrieval);
    if (e.cold_users->pipeline) {
      print_list("  served pipeline", *e.cold_users->pipeline);
    }
    print_list("  most popular (the fallback)", e.cold_users->popular);
  }
  for (const VisitorEvaluation& v : e.visitors) {
    std::printf(
        "visitors giving %d recent movies (%d had fewer and gave all):\n", v.k,
        v.fewer_than_k);
    print_list("  served pipeline", v.served);
    if (v.ease.users > 0) {
      print_list("  EASE^R (lambda 500), the same movies", v.ease);
    }
  }
}

// The index options of the flags; InvalidArgument naming a bad flag.
absl::StatusOr<IndexOptions> IndexOptionsFromFlags() {
  IndexOptions options;
  MOVIEREC_ASSIGN_OR_RETURN(options.kind,
                            ParseIndexKind(absl::GetFlag(FLAGS_index_kind)));
  options.hnsw_m = absl::GetFlag(FLAGS_hnsw_m);
  options.hnsw_ef_construction = absl::GetFlag(FLAGS_hnsw_ef_construction);
  options.hnsw_ef_search = absl::GetFlag(FLAGS_hnsw_ef_search);
  options.ivf_nlist = absl::GetFlag(FLAGS_ivf_nlist);
  // 0 (choose) builds with the default and calibrates after.
  if (const int nprobe = absl::GetFlag(FLAGS_ivf_nprobe); nprobe != 0) {
    options.ivf_nprobe = nprobe;
  }
  MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
  return options;
}

// Users whose retrieval queries calibrate the IVF index's nprobe: evenly
// spaced, so heavy and light users alike when the ids carry no order.
constexpr int kCalibrationUsers = 1000;

// The nprobe of `ivf` that finds 95% of the exact top 100 for the model's
// users (index/ivf_calibration.h), as a view to save; the measurements go
// to *report.
absl::StatusOr<std::unique_ptr<CandidateIndex>> CalibrateNprobe(
    const Model& model, const CandidateIndex& ivf, nlohmann::json* report) {
  const Eigen::Index users = model.user_vectors.rows();
  const Eigen::Index n = std::min<Eigen::Index>(users, kCalibrationUsers);
  RowMatrix queries(n, model.user_vectors.cols());
  for (Eigen::Index i = 0; i < n; ++i) {
    queries.row(i) = model.user_vectors.row(i * users / n);
  }
  const auto start = std::chrono::steady_clock::now();
  const NprobeCalibrationOptions options;
  MOVIEREC_ASSIGN_OR_RETURN(
      const NprobeChoice choice,
      ChooseIvfNprobe(ivf, model.movie_vectors, queries, options));
  nlohmann::json ladder = nlohmann::json::array();
  for (const NprobeRecall& step : choice.ladder) {
    ladder.push_back({{"nprobe", step.nprobe}, {"recall", step.recall}});
  }
  (*report)["nprobe_chosen_for"] = {{"k", options.k},
                                    {"recall", options.target_recall},
                                    {"users", n},
                                    {"ladder", ladder}};
  spdlog::info(
      "nprobe {} of {} cells finds {:.3f} of the exact top {} for {} users "
      "(the first of {} measured to reach {}; {:.1f} s)",
      choice.nprobe, choice.nlist, choice.recall, options.k, n,
      choice.ladder.size(), options.target_recall,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
  IndexOptions search;
  search.ivf_nprobe = choice.nprobe;
  return ivf.WithSearchOptions(search);
}

// The index saved with the version: null when the kind resolves to flat,
// which the server builds at load in milliseconds. An IVF index searches
// with options.ivf_nprobe, or with the calibrated nprobe when
// `calibrate_nprobe`. What was built goes to *report (metrics.json's
// "index").
absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildSavedIndex(
    const Model& model, const IndexOptions& options, bool calibrate_nprobe,
    nlohmann::json* report) {
  const IndexKind kind = ResolveIndexKind(options, model.num_movies());
  if (kind == IndexKind::kFlat) return std::unique_ptr<CandidateIndex>();
  spdlog::info("building the {} index of {} movies",
               DescribeIndexOptions(kind, options), model.num_movies());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(model.movie_vectors, options);
  if (!index.ok()) return index;
  spdlog::info(
      "built {} in {:.1f} s", (*index)->Describe(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
  if (kind == IndexKind::kIvf && calibrate_nprobe) {
    index = CalibrateNprobe(model, **index, report);
    if (!index.ok()) return index;
  }
  (*report)["kind"] = IndexKindName(kind);
  (*report)["described"] = (*index)->Describe();
  return index;
}

// The training config of --preset (adapted to `scale` when set, with each
// change logged), --config, --seed and --threads; a usage error naming the
// flag.
absl::StatusOr<TrainConfig> ConfigFromFlags(const DataScale* scale) {
  absl::StatusOr<TrainConfig> config =
      PresetConfig(absl::GetFlag(FLAGS_preset));
  if (!config.ok()) return AsUsageError(Annotate(config.status(), "--preset"));
  if (scale != nullptr) {
    for (const std::string& change : AdaptToScale(*scale, &*config)) {
      spdlog::info("preset {} at this scale: {}", config->preset, change);
    }
  }
  if (const std::string patch = absl::GetFlag(FLAGS_config); !patch.empty()) {
    MOVIEREC_RETURN_IF_ERROR(
        AsUsageError(Annotate(MergeConfigJson(patch, &*config), "--config")));
  }
  config->seed = absl::GetFlag(FLAGS_seed);
  config->threads = absl::GetFlag(FLAGS_threads);
  if (config->threads < 0) {
    return UsageError(
        absl::StrCat("--threads must be >= 0, got ", config->threads));
  }
  return config;
}

// The gate's thresholds from the flags; a usage error naming a bad one.
absl::StatusOr<QualityGateOptions> GateOptionsFromFlags() {
  QualityGateOptions options;
  options.min_ndcg_at_10 = absl::GetFlag(FLAGS_min_ndcg_at_10);
  options.min_recall_at_10 = absl::GetFlag(FLAGS_min_recall_at_10);
  options.max_rmse = absl::GetFlag(FLAGS_max_rmse);
  options.max_relative_regression =
      absl::GetFlag(FLAGS_max_relative_regression);
  MOVIEREC_RETURN_IF_ERROR(AsUsageError(ValidateQualityGateOptions(options)));
  return options;
}

// The retention options of the flags (std::nullopt without
// --keep_versions), checked against the model base; a usage error naming a
// bad flag or the pin file.
absl::StatusOr<std::optional<RetentionOptions>> RetentionFromFlags(
    const std::string& model_base, bool dry_run) {
  const std::optional<int> keep = absl::GetFlag(FLAGS_keep_versions);
  const std::string protect = absl::GetFlag(FLAGS_protect);
  if (!keep) {
    if (!protect.empty()) {
      return UsageError(
          "--protect needs --keep_versions (nothing is removed "
          "without it)");
    }
    return std::nullopt;
  }
  if (dry_run) {
    return UsageError("--keep_versions removes versions: not with --dry_run");
  }
  RetentionOptions options;
  options.keep_versions = *keep;
  MOVIEREC_ASSIGN_OR_RETURN(options.protect,
                            AsUsageError(ParseVersionList(protect, "protect")));
  MOVIEREC_RETURN_IF_ERROR(
      AsUsageError(ValidateRetention(model_base, options)));
  if (absl::GetFlag(FLAGS_testonly_kill_during_removal)) {
    options.after_file_removed = [](const std::string& path) {
      spdlog::warn("--testonly_kill_during_removal: killed after removing {}",
                   path);
      ::raise(SIGKILL);
    };
  }
  return options;
}

// Checks the new version's metrics against the gate and the newest version
// under `model_base` (none when empty). OK when it passes or --force
// overrides it; a QualityGateRefusal naming each failed check otherwise.
absl::Status ApplyQualityGate(const nlohmann::json& metrics,
                              const std::string& model_base,
                              const QualityGateOptions& options) {
  MOVIEREC_ASSIGN_OR_RETURN(const GatedMetrics candidate,
                            GatedMetricsFromJson(metrics, "the new metrics"));
  std::optional<PublishedMetrics> newest;
  if (!model_base.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(newest, ReadNewestPublished(model_base));
  }
  const GateReport report =
      CheckQualityGate(candidate, newest ? &*newest : nullptr, options);
  for (const std::string& note : report.notes) {
    spdlog::info("quality gate: {}", note);
  }
  for (const GateCheck& check : report.checks) {
    spdlog::info("quality gate: {}: {}", check.passed ? "pass" : "FAIL",
                 check.Describe());
  }
  if (report.passed()) {
    spdlog::info("quality gate: passed ({} checks)", report.checks.size());
    return absl::OkStatus();
  }
  if (absl::GetFlag(FLAGS_force)) {
    spdlog::warn("quality gate: --force overrides the refusal: {}",
                 report.FailureSummary());
    return absl::OkStatus();
  }
  return QualityGateRefusal(
      absl::StrCat("quality gate refused the new version (not published; "
                   "--force overrides): ",
                   report.FailureSummary()));
}

absl::Status Run() {
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    const char* env = std::getenv("MOVIELENS_DIR");
    if (env != nullptr) data_dir = env;
  }
  const std::string model_base = absl::GetFlag(FLAGS_model_base);
  const bool dry_run = absl::GetFlag(FLAGS_dry_run);
  if (data_dir.empty()) {
    return UsageError("no data: pass --data_dir or set MOVIELENS_DIR");
  }
  if (model_base.empty() && !dry_run) {
    return UsageError("--model_base is required (or pass --dry_run)");
  }
  MOVIEREC_ASSIGN_OR_RETURN(
      const MovieLensFormat format,
      AsUsageError(Annotate(ParseMovieLensFormat(absl::GetFlag(FLAGS_format)),
                            "--format")));
  StageMeter meter;
  // Checked before the data is read; built again for the data's scale.
  MOVIEREC_ASSIGN_OR_RETURN(TrainConfig config, ConfigFromFlags(nullptr));
  MOVIEREC_ASSIGN_OR_RETURN(const SplitSpec split, SplitFromFlags());
  if (config.threads > 0) {
    omp_set_num_threads(config.threads);
    // FAISS's k-means (the IVF index's training) multiplies matrices
    // through the BLAS: OpenBLAS gets the same threads.
    SetBlasThreads(config.threads);
  }
  spdlog::info("BLAS: {}", BlasDescription(LoadedBlas()));
  MOVIEREC_ASSIGN_OR_RETURN(const IndexOptions index_options,
                            AsUsageError(IndexOptionsFromFlags()));
  MOVIEREC_ASSIGN_OR_RETURN(const QualityGateOptions gate_options,
                            GateOptionsFromFlags());
  MOVIEREC_ASSIGN_OR_RETURN(const std::optional<RetentionOptions> retention,
                            RetentionFromFlags(model_base, dry_run));
  if (!dry_run) {
    // What a trainer killed mid-removal left (train/retention.h).
    MOVIEREC_ASSIGN_OR_RETURN(const std::vector<std::string> finished,
                              FinishPendingRemovals(model_base));
    for (const std::string& name : finished) {
      spdlog::info("finished the interrupted removal of {}/{}", model_base,
                   name);
    }
  }

  MOVIEREC_ASSIGN_OR_RETURN(
      Dataset dataset,
      Annotate(LoadDataset(data_dir, format, absl::GetFlag(FLAGS_train),
                           absl::GetFlag(FLAGS_test), split, config.seed),
               "cannot load the data"));
  const DataScale scale{static_cast<int64_t>(dataset.train.size()),
                        dataset.num_movies()};
  MOVIEREC_ASSIGN_OR_RETURN(config, ConfigFromFlags(&scale));
  if (dataset.catalog.user_attribute_names.empty()) {
    config.retrieval.model.features.user_attributes = false;
    config.rating.model.features.user_attributes = false;
  } else {
    // One line: each attribute with its number of values (the rows of its
    // table), or why it is no feature.
    std::vector<std::string> described;
    for (size_t a = 0; a < dataset.catalog.user_attribute_names.size(); ++a) {
      const size_t values =
          AttributeVocabulary(dataset.catalog.users, a).size();
      described.push_back(absl::StrCat(
          dataset.catalog.user_attribute_names[a], " (",
          values == 0 ? std::string("no user has a value: not a feature")
                      : absl::StrCat(values, " values"),
          ")"));
    }
    spdlog::info("the users' categorical attributes, user features: {}",
                 absl::StrJoin(described, ", "));
  }
  if (!HasDemographics(dataset.catalog)) {
    // 10M and the CSV releases have no users file.
    spdlog::info("the users have no demographics: the user towers go without");
    config.retrieval.model.features.user_demographics = false;
    config.rating.model.features.user_demographics = false;
  }
  if (!dataset.catalog.has_ratings) {
    spdlog::info(
        "the interactions have no ratings (implicit data; {} repeats of a "
        "(user, item) pair counted once): no rating model, the reranker ranks "
        "without predicted stars",
        dataset.catalog.implicit_repeats_dropped);
    config.rating.enabled = false;
    config.reranker.rating_weighted = false;
  }
  if (dataset.catalog.genre_names.empty()) {
    spdlog::info("the movies have no genres: the movie towers go without");
    config.retrieval.model.features.movie_genres = false;
    config.rating.model.features.movie_genres = false;
  }
  if (absl::GetFlag(FLAGS_evaluate_on_validation)) {
    // Seeded apart from the trainer's own validation carve-out, and of the
    // same kind as the test split.
    const SplitSpec validation = ValidationSplitOf(dataset.split, 0.1);
    SplitParts parts =
        SplitBy(std::move(dataset.train), validation, config.seed ^ 0x7e57);
    dataset.train = std::move(parts.kept);
    dataset.test = std::move(parts.held_out);
    dataset.split = validation;
    spdlog::info("evaluating on a {} validation part of train, not on test",
                 validation.Name());
  }
  const SplitSummary summary = SummarizeSplit(dataset);
  spdlog::info(
      "{} users, {} movies, {} train and {} test ratings ({} split; cold: "
      "{} users with {} test ratings, {} movies with {}); preset {}, "
      "{} threads",
      dataset.num_users(), dataset.num_movies(), dataset.train.size(),
      dataset.test.size(), dataset.split.Name(), summary.cold_users,
      summary.cold_user_test_interactions, summary.cold_movies,
      summary.cold_movie_test_interactions, config.preset,
      omp_get_max_threads());
  meter.End("load and split");
  Progress progress = Progress::ForStderr();
  MOVIEREC_ASSIGN_OR_RETURN(
      const TrainOutput output,
      Annotate(TrainModel(config, dataset, &progress, &meter),
               "training failed"));
  PrintEvaluation(output);
  const auto write_stage_report = [&]() -> absl::Status {
    const std::string path = absl::GetFlag(FLAGS_stage_report);
    if (path.empty()) return absl::OkStatus();
    nlohmann::json report = meter.Json();
    report["training"] = output.metrics["training"];
    report["config"] = output.metrics["config"];
    report["data"] = {{"users", dataset.num_users()},
                      {"movies", dataset.num_movies()},
                      {"train_interactions", dataset.train.size()},
                      {"test_interactions", dataset.test.size()}};
    return Annotate(WriteFileDurably(path, report.dump(2) + "\n"),
                    "--stage_report");
  };
  MOVIEREC_RETURN_IF_ERROR(
      ApplyQualityGate(output.metrics, model_base, gate_options));
  if (dry_run) return write_stage_report();
  nlohmann::json metrics = output.metrics;
  nlohmann::json index_report = {{"kind", "flat"}};
  MOVIEREC_ASSIGN_OR_RETURN(
      const std::unique_ptr<CandidateIndex> index,
      Annotate(
          BuildSavedIndex(*output.model, index_options,
                          /*calibrate_nprobe=*/
                          absl::GetFlag(FLAGS_ivf_nprobe) == 0, &index_report),
          "cannot build the index"));
  metrics["index"] = std::move(index_report);
  meter.End("index");
  MOVIEREC_ASSIGN_OR_RETURN(
      const int64_t version,
      Annotate(WriteModelVersion(model_base, *output.model,
                                 metrics.dump(2) + "\n", index.get()),
               "cannot write the model"));
  meter.End("write");
  MOVIEREC_RETURN_IF_ERROR(write_stage_report());
  std::printf("wrote model version %lld to %s/%lld\n",
              static_cast<long long>(version), model_base.c_str(),
              static_cast<long long>(version));
  std::fflush(stdout);
  if (!retention) return absl::OkStatus();
  MOVIEREC_ASSIGN_OR_RETURN(
      const RetentionResult kept,
      Annotate(ApplyRetention(model_base, *retention),
               absl::StrCat("version ", version,
                            " is published, but retention failed")));
  spdlog::info(
      "retention (--keep_versions={}): removed [{}], kept [{}], pinned in {} "
      "[{}]",
      retention->keep_versions, absl::StrJoin(kept.removed, ","),
      absl::StrJoin(kept.kept, ","), kPinFileName,
      absl::StrJoin(kept.pinned, ","));
  return absl::OkStatus();
}

}  // namespace
}  // namespace movierec

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "Trains the movierec retrieval model on MovieLens, evaluates it "
      "and writes a new model version.\n\nUsage: movierec-train --data_dir DIR "
      "[--format F] "
      "--model_base DIR [--seed N] [--split random|temporal|leave_last_n=N | "
      "--train F --test F] [--preset tfrs] "
      "[--index_kind auto|flat|hnsw|ivf] [--min_ndcg_at_10 X] "
      "[--max_relative_regression X] [--force] [--keep_versions N "
      "[--protect V,...]]\n\nExit status: 0 published (or dry run passed), "
      "1 failed, 2 bad command line, 3 refused by the quality gate "
      "(nothing published).",
      "train/train_main.cc", movierec::kBundleFormatVersion);
  absl::Status status = movierec::InitLoggingFromFlags();
  if (status.ok()) status = movierec::Run();
  if (!status.ok()) spdlog::error("{}", std::string(status.message()));
  if (movierec::IsQualityGateRefusal(status)) {
    return movierec::kExitQualityGate;
  }
  return movierec::ExitStatus(status);
}
