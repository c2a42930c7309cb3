#include "train/retention.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "model/bundle.h"
#include "util/file_util.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;

// A canonical non-negative version number ("7", not "07" or "+7"), as
// ListVersions names directories.
bool ParseVersion(absl::string_view text, int64_t* version) {
  return absl::SimpleAtoi(text, version) && *version >= 0 &&
         absl::StrCat(*version) == text;
}

absl::Status FsError(absl::string_view what, const std::string& path,
                     const std::error_code& error) {
  return absl::InternalError(
      absl::StrCat("cannot ", what, " ", path, ": ", error.message()));
}

// Removes the directory `dir`, one entry after another (calling `hook` after
// each), then the directory itself.
absl::Status RemoveTree(
    const std::string& dir,
    const std::function<void(const std::string&)>& hook = nullptr) {
  std::error_code error;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    entries.push_back(it->path());
  }
  if (error) return FsError("list", dir, error);
  for (const fs::path& entry : entries) {
    fs::remove_all(entry, error);
    if (error) return FsError("remove", entry.string(), error);
    if (hook) hook(entry.string());
  }
  fs::remove(dir, error);
  if (error) return FsError("remove", dir, error);
  return absl::OkStatus();
}

// Renames MODEL_BASE/<version> aside in one step, makes the rename durable,
// then removes it.
absl::Status RemoveVersion(const std::string& model_base, int64_t version,
                           const RetentionOptions& options) {
  const std::string dir = absl::StrCat(model_base, "/", version);
  const std::string doomed =
      absl::StrCat(model_base, "/", kRemovalPrefix, version);
  std::error_code error;
  if (fs::exists(doomed, error)) MOVIEREC_RETURN_IF_ERROR(RemoveTree(doomed));
  if (std::rename(dir.c_str(), doomed.c_str()) != 0) {
    return absl::InternalError(absl::StrCat(
        "cannot rename ", dir, " to ", doomed, ": ", std::strerror(errno)));
  }
  MOVIEREC_RETURN_IF_ERROR(SyncDirectory(model_base));
  return RemoveTree(doomed, options.after_file_removed);
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ParsePinFile(absl::string_view text,
                                                  absl::string_view name) {
  std::vector<int64_t> versions;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const size_t comment = line.find('#');
    if (comment != absl::string_view::npos) line = line.substr(0, comment);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    int64_t version = 0;
    if (!ParseVersion(line, &version)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ":", line_number, ": \"", line,
          "\" is not a version number (one per line; '#' starts a comment)"));
    }
    versions.push_back(version);
  }
  return versions;
}

absl::StatusOr<std::vector<int64_t>> ReadPinnedVersions(
    const std::string& model_base) {
  const std::string path = absl::StrCat(model_base, "/", kPinFileName);
  absl::StatusOr<std::string> text = ReadFile(path);
  if (absl::IsNotFound(text.status())) return std::vector<int64_t>();
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the pin file is unreadable: ", text.status().message()));
  }
  return ParsePinFile(*text, path);
}

absl::StatusOr<std::vector<int64_t>> ParseVersionList(absl::string_view list,
                                                      absl::string_view flag) {
  std::vector<int64_t> versions;
  if (absl::StripAsciiWhitespace(list).empty()) return versions;
  for (absl::string_view entry : absl::StrSplit(list, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    int64_t version = 0;
    if (!ParseVersion(entry, &version)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, "=", list, ": \"", entry,
                       "\" is not a version number (a comma-separated list, "
                       "e.g. 3,7)"));
    }
    versions.push_back(version);
  }
  return versions;
}

absl::Status ValidateRetention(const std::string& model_base,
                               const RetentionOptions& options) {
  if (options.keep_versions < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--keep_versions=", options.keep_versions,
                     ": must be >= 1 (the newest versions to keep)"));
  }
  std::vector<int64_t> versions;
  absl::StatusOr<std::vector<int64_t>> listed = ListVersions(model_base);
  if (listed.ok()) {
    versions = *std::move(listed);
  } else if (!absl::IsNotFound(listed.status())) {
    return listed.status();
  }
  const std::set<int64_t> present(versions.begin(), versions.end());
  for (const int64_t version : options.protect) {
    if (present.count(version) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--protect: version ", version, " is not in ", model_base,
          " (its versions: ",
          versions.empty() ? "none" : absl::StrJoin(versions, ","), ")"));
    }
  }
  return ReadPinnedVersions(model_base).status();
}

std::vector<int64_t> VersionsToRemove(const std::vector<int64_t>& versions,
                                      int keep, const std::set<int64_t>& held) {
  std::vector<int64_t> remove;
  const size_t kept_newest = keep > 0 ? static_cast<size_t>(keep) : 1;
  if (versions.size() <= kept_newest) return remove;
  for (size_t i = 0; i + kept_newest < versions.size(); ++i) {
    if (held.count(versions[i]) == 0) remove.push_back(versions[i]);
  }
  return remove;
}

absl::StatusOr<std::vector<std::string>> FinishPendingRemovals(
    const std::string& model_base) {
  std::vector<std::string> finished;
  std::error_code error;
  fs::directory_iterator it(model_base, error);
  if (error == std::errc::no_such_file_or_directory) return finished;
  std::vector<std::string> pending;
  for (fs::directory_iterator end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, kRemovalPrefix)) pending.push_back(name);
  }
  if (error) return FsError("list", model_base, error);
  for (const std::string& name : pending) {
    const std::string path = absl::StrCat(model_base, "/", name);
    if (fs::is_directory(path, error)) {
      MOVIEREC_RETURN_IF_ERROR(RemoveTree(path));
    } else {
      fs::remove(path, error);
      if (error) return FsError("remove", path, error);
    }
    finished.push_back(name);
  }
  if (!finished.empty()) MOVIEREC_RETURN_IF_ERROR(SyncDirectory(model_base));
  return finished;
}

absl::StatusOr<RetentionResult> ApplyRetention(
    const std::string& model_base, const RetentionOptions& options) {
  if (options.keep_versions < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--keep_versions=", options.keep_versions, ": must be >= 1"));
  }
  RetentionResult result;
  MOVIEREC_ASSIGN_OR_RETURN(result.finished, FinishPendingRemovals(model_base));
  MOVIEREC_ASSIGN_OR_RETURN(result.pinned, ReadPinnedVersions(model_base));
  MOVIEREC_ASSIGN_OR_RETURN(const std::vector<int64_t> versions,
                            ListVersions(model_base));
  std::set<int64_t> held(options.protect.begin(), options.protect.end());
  held.insert(result.pinned.begin(), result.pinned.end());
  result.removed = VersionsToRemove(versions, options.keep_versions, held);
  const std::set<int64_t> removed(result.removed.begin(), result.removed.end());
  for (const int64_t version : versions) {
    if (removed.count(version) == 0) result.kept.push_back(version);
  }
  for (const int64_t version : result.removed) {
    MOVIEREC_RETURN_IF_ERROR(RemoveVersion(model_base, version, options));
  }
  return result;
}

}  // namespace movierec
