// Retention of model versions: after a successful publish, movierec-train
// --keep_versions N removes the versions older than the newest N, except
// those protected (--protect) or pinned (the pin file, MODEL_BASE/PINNED).
//
// Removal is crash-safe. A version is first renamed to the hidden
// MODEL_BASE/.deleting-<version> in one step (and the rename fsynced), then
// its files are removed: a reader (the server lists integer-named directories
// only, model/bundle.h ListVersions) sees the whole version or none of it,
// never half. A trainer killed mid-removal leaves a .deleting-* directory,
// which the next run removes (FinishPendingRemovals) before anything else.
//
// The pin file, MODEL_BASE/PINNED, is text: one version number per line;
// '#' starts a comment that runs to the end of the line; blank lines and
// surrounding whitespace are ignored, e.g.
//   # canary: stable and candidate
//   41
//   42  # the release of 2026-12-01
// Any other line is an error naming the file and the line. A pinned version
// that does not exist is no error (it may have been pinned elsewhere first).
// A missing pin file pins nothing.
#ifndef MOVIEREC_TRAIN_RETENTION_H_
#define MOVIEREC_TRAIN_RETENTION_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

inline constexpr char kPinFileName[] = "PINNED";
inline constexpr char kRemovalPrefix[] = ".deleting-";

struct RetentionOptions {
  // The newest keep_versions versions always stay; must be >= 1.
  int keep_versions = 1;
  // Versions that stay whatever their age (--protect); each must exist.
  std::vector<int64_t> protect;
  // Test hook: called after each file of a version under removal is deleted
  // (the version already renamed to .deleting-<version>), with its path.
  std::function<void(const std::string& path)> after_file_removed;
};

// The versions of a pin file's `text`; InvalidArgument naming `name`, the
// line and its text for a line that is not a version number.
absl::StatusOr<std::vector<int64_t>> ParsePinFile(absl::string_view text,
                                                  absl::string_view name);

// The versions pinned in MODEL_BASE/PINNED: none when the file (or the model
// base) does not exist; an error naming the file when it cannot be read or
// parsed.
absl::StatusOr<std::vector<int64_t>> ReadPinnedVersions(
    const std::string& model_base);

// The comma-separated version numbers of `list` (e.g. "3,7"; "" gives none);
// InvalidArgument naming `flag` and the bad entry.
absl::StatusOr<std::vector<int64_t>> ParseVersionList(absl::string_view list,
                                                      absl::string_view flag);

// Checks before any work: keep_versions >= 1, every protected version exists
// under `model_base`, and the pin file is readable and well-formed.
// InvalidArgument naming the flag (or the pin file) otherwise.
absl::Status ValidateRetention(const std::string& model_base,
                               const RetentionOptions& options);

// Of `versions` (ascending), those to remove: all but the newest `keep` and
// those in `held`, oldest first.
std::vector<int64_t> VersionsToRemove(const std::vector<int64_t>& versions,
                                      int keep, const std::set<int64_t>& held);

// Removes what killed removals left (MODEL_BASE/.deleting-*); returns the
// names of the directories it removed. A missing model base holds none.
absl::StatusOr<std::vector<std::string>> FinishPendingRemovals(
    const std::string& model_base);

struct RetentionResult {
  std::vector<int64_t> removed;       // oldest first
  std::vector<int64_t> kept;          // ascending
  std::vector<int64_t> pinned;        // read from the pin file
  std::vector<std::string> finished;  // leftovers of killed removals
};

// Finishes pending removals, then removes the versions VersionsToRemove
// picks (protected and pinned ones held), each renamed aside first. The pin
// file is read again here, so that a pin added during training counts.
absl::StatusOr<RetentionResult> ApplyRetention(const std::string& model_base,
                                               const RetentionOptions& options);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_RETENTION_H_
