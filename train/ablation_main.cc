// movierec-ablation: the ablation table of docs/models.md ("Ablation"). Trains
// the most-popular baseline, the tfrs preset and each step from the TFRS
// replica to the default configuration on the seed-42 split and on seeds 1, 2,
// 3, and prints protocol-A top-100, recall@10 and NDCG@10 of the top 10 each
// one serves, measured by the project's own evaluator.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "model/format_version.h"
#include "spdlog/spdlog.h"
#include "train/config_json.h"
#include "train/trainer.h"
#include "util/command_line.h"
#include "util/file_util.h"
#include "util/log_flags.h"
#include "util/status_macros.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, data_dir, "",
          "MovieLens 100K directory; defaults to $MOVIELENS_DIR");
ABSL_FLAG(std::vector<std::string>, seeds,
          std::vector<std::string>({"42", "1", "2", "3"}),
          "Split seeds: the first is the headline, the rest are averaged");
ABSL_FLAG(int, threads, 0, "Training threads; 0 means one per core");
ABSL_FLAG(std::string, output, "", "Also write the markdown table here");
ABSL_FLAG(bool, evaluate_on_validation, false,
          "For tuning: evaluate on a validation part of each split's training "
          "ratings (as movierec-train --evaluate_on_validation does)");
ABSL_FLAG(std::string, only, "",
          "Run only the steps whose name contains this text");

namespace movierec {
namespace {

// One row of the table: a preset with a patch, or the popularity baseline.
struct Step {
  std::string name;
  std::string preset;  // "popularity", "ease" or a training preset
  std::string patch;   // merged over a training preset
};

// Each step adds one thing to the one before, ending at the default; the
// last row swaps the default's listwise reranker for the alternative.
std::vector<Step> Steps() {
  const std::string no_ranking =
      R"("rating": {"enabled": false}, "reranker": {"enabled": false})";
  // The rows before the retrieval members train one.
  const std::string one_member = R"("members": 1)";
  const std::string ids_only =
      R"("features": {"user_history": false, "user_demographics": false,
                      "user_attributes": false, "movie_genres": false,
                      "movie_year": false})";
  return {
      {"most popular movies", "popularity", ""},
      {"EASE^R (lambda = 500), measured here", "ease", ""},
      {"`tfrs` preset (TFRS tutorial replica)", "tfrs",
       R"({"rating": {"enabled": false}})"},
      {"full softmax over the catalogue, id embeddings", "default",
       absl::StrCat(R"({"retrieval": {"l2": 0, )", one_member,
                    R"(, "model": {"movie_bias": false, )", ids_only, "}}, ",
                    no_ranking, "}")},
      {"+ per-movie bias", "default",
       absl::StrCat(R"({"retrieval": {"l2": 0, )", one_member,
                    R"(, "model": {)", ids_only, "}}, ", no_ranking, "}")},
      {"+ L2 regularisation", "default",
       absl::StrCat(R"({"retrieval": {)", one_member, R"(, "model": {)",
                    ids_only, "}}, ", no_ranking, "}")},
      {"+ feature towers (history, demographics, genres, year)", "default",
       absl::StrCat(R"({"retrieval": {)", one_member, "}, ", no_ranking, "}")},
      {"+ three retrieval members (seeded apart, served as one model)",
       "default", absl::StrCat("{", no_ranking, "}")},
      {"+ ranking stage (rating model, reranker), retrieval's candidates",
       "default",
       R"({"reranker": {"sources": {"item": false, "popular": false}}})"},
      {"+ item-to-item source (EASE^R weights: candidates, features)",
       "default", R"({"reranker": {"sources": {"popular": false}}})"},
      {"+ popularity source = `default` preset", "default", ""},
      {"instead: LambdaMART reranker (XGBoost rank:ndcg trees)", "default",
       R"({"reranker": {"model": {"kind": "lambdamart"}}})"},
  };
}

struct Measured {
  double top_100 = 0;
  double recall = 0;
  double ndcg = 0;
};

absl::StatusOr<Measured> Measure(const Step& step, const MovieLens& data,
                                 uint64_t seed) {
  MOVIEREC_ASSIGN_OR_RETURN(Dataset dataset, MakeRandomSplit(data, seed));
  if (absl::GetFlag(FLAGS_evaluate_on_validation)) {
    SplitParts parts =
        RandomSplit(std::move(dataset.train), seed ^ 0x7e57, 0.1);
    dataset.train = std::move(parts.kept);
    dataset.test = std::move(parts.held_out);
  }
  Evaluation evaluation;
  if (step.preset == "popularity") {
    evaluation = EvaluateModel(PopularityModel(dataset.catalog, dataset.train),
                               dataset.test, 100);
  } else if (step.preset == "ease") {
    evaluation = EvaluateModel(
        EaseModel(dataset.catalog, dataset.train, 500.0f), dataset.test, 100);
  } else {
    MOVIEREC_ASSIGN_OR_RETURN(TrainConfig config, PresetConfig(step.preset));
    if (!step.patch.empty()) {
      MOVIEREC_RETURN_IF_ERROR(MergeConfigJson(step.patch, &config));
    }
    config.seed = seed;
    Progress silent = Progress::Silent();
    MOVIEREC_ASSIGN_OR_RETURN(TrainOutput output,
                              TrainModel(config, dataset, &silent));
    evaluation = std::move(output.evaluation);
  }
  // The list the user is served: the pipeline's when there is a ranking
  // stage, retrieval's otherwise.
  const ListMetrics& served =
      evaluation.pipeline ? *evaluation.pipeline : evaluation.protocol_b;
  return Measured{evaluation.protocol_a[100], served.recall_at_10,
                  served.ndcg_at_10};
}

// The --seeds flag; a usage error for a malformed or empty list.
absl::StatusOr<std::vector<uint64_t>> SeedsFromFlags() {
  std::vector<uint64_t> seeds;
  for (const std::string& text : absl::GetFlag(FLAGS_seeds)) {
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(text, &seed)) {
      return UsageError(absl::StrCat("--seeds: \"", text,
                                     "\" is not a non-negative integer"));
    }
    seeds.push_back(seed);
  }
  if (seeds.empty()) return UsageError("--seeds must name at least one seed");
  return seeds;
}

// The table's header: columns for the first seed, then for the mean of the
// others when there are others.
std::string TableHeader(const std::vector<uint64_t>& seeds) {
  const std::string first = absl::StrCat(" (seed ", seeds[0], ")");
  const std::string rest =
      absl::StrCat(" (mean of seeds ",
                   absl::StrJoin(seeds.begin() + 1, seeds.end(), ", "), ")");
  const bool averaged = seeds.size() > 1;
  return absl::StrCat(
      "| step | A top-100", first, " | recall@10", first, " | NDCG@10", first,
      " |",
      averaged ? absl::StrCat(" A top-100", rest, " | recall@10", rest,
                              " | NDCG@10", rest, " |")
               : "",
      "\n|---|---|---|---|", averaged ? "---|---|---|" : "", "\n");
}

// One row of the table: `step` measured on every seed.
absl::StatusOr<std::string> TableRow(const Step& step, const MovieLens& data,
                                     const std::vector<uint64_t>& seeds) {
  std::vector<Measured> runs;
  for (const uint64_t seed : seeds) {
    spdlog::info("{}: seed {}", step.name, seed);
    MOVIEREC_ASSIGN_OR_RETURN(Measured measured,
                              Annotate(Measure(step, data, seed), step.name));
    // Each seed's own figures, for tables per seed.
    spdlog::info(
        "{}: seed {}: A top-100 {:.4f}, recall@10 {:.4f}, NDCG@10 {:.4f}",
        step.name, seed, measured.top_100, measured.recall, measured.ndcg);
    runs.push_back(measured);
  }
  std::string row =
      absl::StrFormat("| %s | %.3f | %.3f | %.3f |", step.name, runs[0].top_100,
                      runs[0].recall, runs[0].ndcg);
  if (runs.size() > 1) {
    Measured mean;
    for (size_t i = 1; i < runs.size(); ++i) {
      mean.top_100 += runs[i].top_100 / (runs.size() - 1);
      mean.recall += runs[i].recall / (runs.size() - 1);
      mean.ndcg += runs[i].ndcg / (runs.size() - 1);
    }
    absl::StrAppendFormat(&row, " %.3f | %.3f | %.3f |", mean.top_100,
                          mean.recall, mean.ndcg);
  }
  return row + "\n";
}

absl::Status Run() {
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty() && std::getenv("MOVIELENS_DIR") != nullptr) {
    data_dir = std::getenv("MOVIELENS_DIR");
  }
  if (data_dir.empty()) {
    return UsageError("no data: pass --data_dir or set MOVIELENS_DIR");
  }
  MOVIEREC_ASSIGN_OR_RETURN(const std::vector<uint64_t> seeds,
                            SeedsFromFlags());
  if (absl::GetFlag(FLAGS_threads) > 0) {
    omp_set_num_threads(absl::GetFlag(FLAGS_threads));
  }
  MOVIEREC_ASSIGN_OR_RETURN(
      const MovieLens data,
      Annotate(LoadMovieLens(data_dir), "cannot load the data"));
  std::string table = TableHeader(seeds);
  std::printf("%s", table.c_str());
  for (const Step& step : Steps()) {
    if (step.name.find(absl::GetFlag(FLAGS_only)) == std::string::npos) {
      continue;
    }
    MOVIEREC_ASSIGN_OR_RETURN(const std::string row,
                              TableRow(step, data, seeds));
    std::printf("%s", row.c_str());
    std::fflush(stdout);
    table += row;
  }
  if (const std::string output = absl::GetFlag(FLAGS_output); !output.empty()) {
    MOVIEREC_RETURN_IF_ERROR(WriteFileDurably(output, table));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace movierec

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "Measures the ablation table of docs/models.md (Ablation): the "
      "popularity baseline, the tfrs preset and each step to the default "
      "configuration.\n\n"
      "Usage: movierec-ablation --data_dir DIR [--seeds 42,1,2,3]",
      "train/ablation_main.cc", movierec::kBundleFormatVersion);
  absl::Status status = movierec::InitLoggingFromFlags();
  if (status.ok()) status = movierec::Run();
  if (!status.ok()) spdlog::error("{}", std::string(status.message()));
  return movierec::ExitStatus(status);
}
