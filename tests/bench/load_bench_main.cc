// load_bench: start-up time and resident memory of one model version, as the
// server loads it (Snapshot::Load: ReadModelVersion, LoadVersionIndex, the
// Snapshot's lookups and caches), in a fresh process. Prints one JSON object:
//
//   {"version_dir": ..., "movies": ..., "users": ..., "dim": ...,
//    "index": "hnsw(...)", "bundle_MB": ..., "index_MB": ...,
//    "read_model_s": ..., "load_index_s": ..., "snapshot_s": ...,
//    "total_s": ..., "rss_before_MB": ..., "rss_after_MB": ...,
//    "hwm_MB": ...}
//
// RSS and its peak (VmRSS, VmHWM) come from /proc/self/status. Run it several
// times and take medians (run_benchmarks.sh does); the first run after
// writing a version reads from the page cache like every later one.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "model/version_index.h"
#include "server/snapshot.h"

ABSL_FLAG(std::string, model_base, "", "Directory of model versions");
ABSL_FLAG(int64_t, version, 0, "Version to load; 0: the highest");

namespace movierec::bench {
namespace {

namespace fs = std::filesystem;

// A field of /proc/self/status in MB ("VmRSS", "VmHWM"); -1 if absent.
double StatusMegabytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stod(line.substr(field.size() + 1)) / 1024.0;  // kB
    }
  }
  return -1;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

int Run() {
  const std::string model_base = absl::GetFlag(FLAGS_model_base);
  int64_t version = absl::GetFlag(FLAGS_version);
  if (version == 0) {
    absl::StatusOr<std::vector<int64_t>> versions = ListVersions(model_base);
    if (!versions.ok() || versions->empty()) {
      std::fprintf(stderr, "no model version under \"%s\"\n",
                   model_base.c_str());
      return 2;
    }
    version = versions->back();
  }
  const std::string dir = absl::StrCat(model_base, "/", version);
  const double rss_before = StatusMegabytes("VmRSS");

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Model> model = ReadModelVersion(dir);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  const double read_model = Since(start);
  auto phase = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      LoadVersionIndex(dir, *model);
  if (!index.ok()) {
    std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
    return 1;
  }
  const double load_index = Since(phase);
  const std::string description = (*index)->Describe();
  phase = std::chrono::steady_clock::now();
  auto shared = std::make_shared<const Model>(*std::move(model));
  const Snapshot snapshot(version, shared, *std::move(index));
  const double snapshot_s = Since(phase);
  const double total = Since(start);

  const double bundle_mb =
      static_cast<double>(fs::file_size(dir + "/" + kBundleFileName)) / 1e6;
  const double index_mb =
      shared->saved_index
          ? static_cast<double>(shared->saved_index->file.size_bytes) / 1e6
          : 0.0;
  std::printf(
      "{\"version_dir\": \"%s\", \"movies\": %d, \"users\": %d, \"dim\": "
      "%d, \"index\": \"%s\", \"bundle_MB\": %.1f, \"index_MB\": %.1f, "
      "\"read_model_s\": %.3f, \"load_index_s\": %.3f, \"snapshot_s\": %.3f, "
      "\"total_s\": %.3f, \"rss_before_MB\": %.1f, \"rss_after_MB\": %.1f, "
      "\"hwm_MB\": %.1f}\n",
      dir.c_str(), snapshot.model().num_movies(), snapshot.model().num_users(),
      static_cast<int>(snapshot.model().movie_vectors.cols()),
      description.c_str(), bundle_mb, index_mb, read_model, load_index,
      snapshot_s, total, rss_before, StatusMegabytes("VmRSS"),
      StatusMegabytes("VmHWM"));
  return 0;
}

}  // namespace
}  // namespace movierec::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return movierec::bench::Run();
}
