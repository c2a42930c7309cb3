// synthetic_dataset: writes a MovieLens-shaped synthetic dataset in the
// generic format (tests/bench/synthetic_dataset.h), e.g. the 25M-interaction
// input of the trainer's scale run:
//
//   synthetic_dataset --dir /tmp/ml25m-synthetic            (ML-25M's shape)
//   synthetic_dataset --dir /tmp/ml1m-synthetic --shape ml-1m
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "tests/bench/synthetic_dataset.h"
#include "util/command_line.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, dir, "", "Output directory (created if missing)");
ABSL_FLAG(std::string, shape, "ml-25m",
          "Sizes of: ml-25m (162,541 users, 59,047 items, 25,000,095 "
          "interactions), ml-1m (6,040, 3,706, 1,000,209) or ml-100k (943, "
          "1,682, 100,000); --users/--items/--interactions override");
ABSL_FLAG(int64_t, users, 0, "Users (0: the shape's)");
ABSL_FLAG(int64_t, items, 0, "Items (0: the shape's)");
ABSL_FLAG(int64_t, interactions, 0, "Interactions (0: the shape's)");
ABSL_FLAG(uint64_t, seed, 1, "Seed");

namespace {

absl::Status Run(const std::vector<char*>& rest) {
  if (rest.size() > 1) {
    return movierec::UsageError(
        absl::StrCat("unexpected argument \"", rest[1], "\""));
  }
  const std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) return movierec::UsageError("--dir is required");
  movierec::bench::DatasetSpec spec;
  const std::string shape = absl::GetFlag(FLAGS_shape);
  if (shape == "ml-1m") {
    spec = {6040, 3706, 1000209};
  } else if (shape == "ml-100k") {
    spec = {943, 1682, 100000};
  } else if (shape != "ml-25m") {
    return movierec::UsageError(absl::StrCat(
        "--shape=", shape, " is not one of ml-25m, ml-1m, ml-100k"));
  }
  if (absl::GetFlag(FLAGS_users) != 0) spec.users = absl::GetFlag(FLAGS_users);
  if (absl::GetFlag(FLAGS_items) != 0) spec.items = absl::GetFlag(FLAGS_items);
  if (absl::GetFlag(FLAGS_interactions) != 0) {
    spec.interactions = absl::GetFlag(FLAGS_interactions);
  }
  spec.seed = absl::GetFlag(FLAGS_seed);
  if (absl::Status valid = movierec::bench::ValidateDatasetSpec(spec);
      !valid.ok()) {
    return movierec::UsageError(std::string(valid.message()));
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  const auto start = std::chrono::steady_clock::now();
  movierec::bench::DatasetStats stats;
  if (absl::Status s =
          movierec::bench::WriteSyntheticDataset(spec, dir, &stats);
      !s.ok()) {
    return s;
  }
  std::printf(
      "wrote %s: %lld interactions, %lld users, %lld of %lld items rated; "
      "most active user %lld, most rated item %lld; timestamps %lld-%lld; "
      "%.1f s\n",
      dir.c_str(), static_cast<long long>(stats.interactions),
      static_cast<long long>(stats.users),
      static_cast<long long>(stats.items_rated),
      static_cast<long long>(spec.items),
      static_cast<long long>(stats.max_user_activity),
      static_cast<long long>(stats.max_item_popularity),
      static_cast<long long>(stats.first_timestamp),
      static_cast<long long>(stats.last_timestamp),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> rest = movierec::ParseCommandLine(
      argc, argv,
      "Writes a MovieLens-shaped synthetic dataset in the generic format "
      "(interactions.csv, items.csv).\n\nUsage: synthetic_dataset --dir DIR "
      "[--shape ml-25m|ml-1m|ml-100k] [--seed N]",
      "tests/bench/synthetic_dataset_main.cc", 0);
  const absl::Status status = Run(rest);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  }
  return movierec::ExitStatus(status);
}
