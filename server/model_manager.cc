#include "server/model_manager.h"

#include <omp.h>
#include <sys/stat.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// Identifies the state of a version's bundle file: size and modification time.
std::string FileStamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return absl::StrCat(st.st_size, "@", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
}

}  // namespace

ModelManager::ModelManager(ModelManagerOptions options, Listener listener)
    : options_(std::move(options)), listener_(std::move(listener)) {}

ModelManager::~ModelManager() { Stop(); }

absl::Status ModelManager::Poll() {
  std::lock_guard<std::mutex> lock(poll_mutex_);
  const std::shared_ptr<const Snapshot> serving = current();
  const int64_t serving_version = serving ? serving->version() : 0;
  std::vector<int64_t> candidates;
  if (options_.pinned_version > 0) {
    candidates.push_back(options_.pinned_version);
  } else {
    MOVIEREC_ASSIGN_OR_RETURN(candidates, ListVersions(options_.model_base));
    if (candidates.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no model version (integer-named directory) in ",
                       options_.model_base));
    }
  }
  // Newest first: if the newest is refused, an older one newer than the
  // serving version (or any, when nothing serves yet) may still load.
  absl::Status last_error;
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    const int64_t version = *it;
    if (version == serving_version) return last_error;
    if (serving != nullptr && version < serving_version &&
        options_.pinned_version == 0) {
      break;
    }
    const absl::Status status = TryLoad(version);
    if (status.ok()) return absl::OkStatus();
    if (!absl::IsAlreadyExists(status)) last_error = status;
  }
  return last_error;
}

absl::Status ModelManager::TryLoad(int64_t version) {
  const std::string dir = absl::StrCat(options_.model_base, "/", version);
  const std::string stamp = FileStamp(absl::StrCat(dir, "/", kBundleFileName));
  const auto failed = failed_.find(version);
  if (failed != failed_.end() && failed->second == stamp) {
    return absl::AlreadyExistsError(
        absl::StrCat("version ", version, " was refused and has not changed"));
  }
  LoadEvent event;
  event.version = version;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded =
      Snapshot::Load(options_.model_base, version, options_.scorer);
  event.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (loaded.ok()) {
    failed_.erase(version);
    event.snapshot = *loaded;
    std::atomic_store(&current_, *std::move(loaded));
  } else {
    failed_[version] = stamp;
    event.status = loaded.status();
  }
  if (listener_) listener_(event);
  return event.status;
}

void ModelManager::StartPolling() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (poller_.joinable() || options_.poll_interval <= absl::ZeroDuration()) {
    return;
  }
  stopping_ = false;
  poller_ = std::thread([this] { PollLoop(); });
}

void ModelManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

void ModelManager::PollLoop() {
  // Background loads run on this one core so that they never take cores
  // from the workers serving calls (OpenMP's thread count is per thread).
  omp_set_num_threads(1);
  const auto interval = absl::ToChronoMilliseconds(options_.poll_interval);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(stop_mutex_);
      if (stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
        return;
      }
    }
    // Errors reach the listener; a missing base is retried next time.
    Poll().IgnoreError();
  }
}

}  // namespace movierec
