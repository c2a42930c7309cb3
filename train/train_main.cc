// movierec-train: reads MovieLens 100K, trains the model, evaluates it and
// writes the next model version under --model_base.
#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "index/index_factory.h"
#include "index/index_options.h"
#include "model/bundle.h"
#include "spdlog/spdlog.h"
#include "train/config_json.h"
#include "train/trainer.h"
#include "util/command_line.h"
#include "util/log_flags.h"
#include "util/status_macros.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, data_dir, "",
          "MovieLens 100K directory (u.data, u.item, u.user, u.genre); "
          "defaults to $MOVIELENS_DIR");
ABSL_FLAG(std::string, model_base, "",
          "Directory of model versions; the new version is written as "
          "MODEL_BASE/<highest version + 1>/ (required)");
ABSL_FLAG(uint64_t, seed, 42,
          "Seed of the random 80/20 split, the initialisation and the "
          "training order");
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
          "Train and evaluate, but do not write a model version");
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
ABSL_FLAG(int, ivf_nprobe, movierec::IndexOptions{}.ivf_nprobe,
          "IVF cells scanned per query, saved as the index's default");

namespace movierec {
namespace {

absl::StatusOr<Dataset> LoadDataset(const std::string& data_dir,
                                    const std::string& train,
                                    const std::string& test, uint64_t seed) {
  if (train.empty() != test.empty()) {
    return absl::InvalidArgumentError(
        "--train and --test must be given together");
  }
  if (!train.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(MovieLens catalog, LoadCatalog(data_dir));
    return MakeExplicitSplit(std::move(catalog), train, test);
  }
  MOVIEREC_ASSIGN_OR_RETURN(MovieLens data, LoadMovieLens(data_dir));
  return MakeRandomSplit(std::move(data), seed);
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
  if (e.rmse) std::printf("rating model: test RMSE %.4f\n", *e.rmse);
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
  options.ivf_nprobe = absl::GetFlag(FLAGS_ivf_nprobe);
  MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
  return options;
}

// The index saved with the version: null when the kind resolves to flat,
// which the server builds at load in milliseconds.
absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildSavedIndex(
    const Model& model, const IndexOptions& options) {
  const IndexKind kind = ResolveIndexKind(options, model.num_movies());
  if (kind == IndexKind::kFlat) return std::unique_ptr<CandidateIndex>();
  spdlog::info("building the {} index of {} movies",
               DescribeIndexOptions(kind, options), model.num_movies());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(model.movie_vectors, options);
  if (index.ok()) {
    spdlog::info(
        "built {} in {:.1f} s", (*index)->Describe(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  return index;
}

// The training config of --preset, --config, --seed and --threads; a usage
// error naming the flag.
absl::StatusOr<TrainConfig> ConfigFromFlags() {
  absl::StatusOr<TrainConfig> config =
      PresetConfig(absl::GetFlag(FLAGS_preset));
  if (!config.ok()) return AsUsageError(Annotate(config.status(), "--preset"));
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
  MOVIEREC_ASSIGN_OR_RETURN(const TrainConfig config, ConfigFromFlags());
  if (config.threads > 0) omp_set_num_threads(config.threads);
  MOVIEREC_ASSIGN_OR_RETURN(const IndexOptions index_options,
                            AsUsageError(IndexOptionsFromFlags()));

  MOVIEREC_ASSIGN_OR_RETURN(
      Dataset dataset,
      Annotate(LoadDataset(data_dir, absl::GetFlag(FLAGS_train),
                           absl::GetFlag(FLAGS_test), config.seed),
               "cannot load the data"));
  if (absl::GetFlag(FLAGS_evaluate_on_validation)) {
    // Seeded apart from the trainer's own validation carve-out.
    SplitParts parts =
        RandomSplit(std::move(dataset.train), config.seed ^ 0x7e57, 0.1);
    dataset.train = std::move(parts.kept);
    dataset.test = std::move(parts.held_out);
    spdlog::info("evaluating on a validation part of train, not on test");
  }
  spdlog::info(
      "{} users, {} movies, {} train and {} test ratings; preset {}, "
      "{} threads",
      dataset.num_users(), dataset.num_movies(), dataset.train.size(),
      dataset.test.size(), config.preset, omp_get_max_threads());
  Progress progress = Progress::ForStderr();
  MOVIEREC_ASSIGN_OR_RETURN(
      const TrainOutput output,
      Annotate(TrainModel(config, dataset, &progress), "training failed"));
  PrintEvaluation(output);
  if (dry_run) return absl::OkStatus();
  MOVIEREC_ASSIGN_OR_RETURN(
      const std::unique_ptr<CandidateIndex> index,
      Annotate(BuildSavedIndex(*output.model, index_options),
               "cannot build the index"));
  MOVIEREC_ASSIGN_OR_RETURN(
      const int64_t version,
      Annotate(WriteModelVersion(model_base, *output.model,
                                 output.metrics.dump(2) + "\n", index.get()),
               "cannot write the model"));
  std::printf("wrote model version %lld to %s/%lld\n",
              static_cast<long long>(version), model_base.c_str(),
              static_cast<long long>(version));
  return absl::OkStatus();
}

}  // namespace
}  // namespace movierec

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "Trains the movierec retrieval model on MovieLens 100K, evaluates it "
      "and writes a new model version.\n\nUsage: movierec-train --data_dir DIR "
      "--model_base DIR [--seed N] [--train F --test F] [--preset tfrs] "
      "[--index_kind auto|flat|hnsw|ivf]",
      "train/train_main.cc", movierec::kBundleFormatVersion);
  absl::Status status = movierec::InitLoggingFromFlags();
  if (status.ok()) status = movierec::Run();
  if (!status.ok()) spdlog::error("{}", std::string(status.message()));
  return movierec::ExitStatus(status);
}
