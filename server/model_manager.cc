#include "server/model_manager.h"

#include <omp.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
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

int64_t VersionOf(const std::shared_ptr<const Snapshot>& snapshot) {
  return snapshot != nullptr ? snapshot->version() : 0;
}

}  // namespace

ModelManager::ModelManager(ModelManagerOptions options, Listener listener)
    : ModelManager(
          std::move(options),
          ModelManagerHooks{std::move(listener), nullptr, nullptr, nullptr}) {}

ModelManager::ModelManager(ModelManagerOptions options, ModelManagerHooks hooks)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      serving_(std::make_shared<const ServingSet>()) {}

ModelManager::~ModelManager() { Stop(); }

void ModelManager::ReadControl() {
  const std::string path =
      absl::StrCat(options_.model_base, "/", kCanaryFileName);
  std::ifstream file(path);
  const bool present = file.is_open();
  std::string text;
  if (present) {
    std::ostringstream contents;
    contents << file.rdbuf();
    text = contents.str();
  }
  if (present == control_present_ && text == control_text_) return;
  control_text_ = text;
  absl::Status status;
  if (!present) {
    control_present_ = false;
    control_ = CanaryControl();
  } else {
    absl::StatusOr<CanaryControl> parsed = ParseCanaryControl(text, path);
    if (parsed.ok()) {
      control_present_ = true;
      control_ = *parsed;
    } else {
      // The text is remembered, so that the refusal is reported once; the
      // setting in force stays.
      status = parsed.status();
    }
  }
  if (hooks_.control_read) hooks_.control_read(status);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> ModelManager::TryLoad(
    int64_t version) {
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
      Snapshot::Load(options_.model_base, version, options_.scorer,
                     options_.ivf_nprobe, options_.result_cache_bytes);
  event.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (loaded.ok()) {
    failed_.erase(version);
    ++loads_;
    event.snapshot = *loaded;
  } else {
    failed_[version] = stamp;
    event.status = loaded.status();
  }
  if (hooks_.loaded) hooks_.loaded(event);
  return loaded;
}

std::shared_ptr<const Snapshot> ModelManager::Acquire(int64_t version,
                                                      absl::Status* error) {
  const std::shared_ptr<const ServingSet> serving = this->serving();
  for (const ServedVersion* held :
       {&serving->stable(), &serving->candidate()}) {
    if (VersionOf(held->snapshot) == version) return held->snapshot;
  }
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = TryLoad(version);
  if (loaded.ok()) return *std::move(loaded);
  if (!absl::IsAlreadyExists(loaded.status())) *error = loaded.status();
  return nullptr;
}

std::shared_ptr<const Snapshot> ModelManager::FirstThatLoads(
    const std::vector<int64_t>& versions, absl::Status* error) {
  for (const int64_t version : versions) {
    std::shared_ptr<const Snapshot> snapshot = Acquire(version, error);
    if (snapshot != nullptr) return snapshot;
  }
  return nullptr;
}

ServedVersion ModelManager::Serve(std::shared_ptr<const Snapshot> snapshot) {
  ServedVersion served;
  if (snapshot != nullptr && hooks_.version_metrics) {
    served.metrics = hooks_.version_metrics(snapshot->version());
  }
  served.snapshot = std::move(snapshot);
  return served;
}

absl::Status ModelManager::Poll() {
  std::lock_guard<std::mutex> lock(poll_mutex_);
  const bool pinned = options_.pinned_version > 0;
  if (!pinned) ReadControl();
  const std::shared_ptr<const ServingSet> serving = this->serving();
  const int64_t held_stable = VersionOf(serving->stable().snapshot);
  const int64_t held_candidate = VersionOf(serving->candidate().snapshot);

  // The versions to choose from, newest first: those on disk, and those
  // held (still served even if their directory went), so that an automatic
  // choice never goes back past a version that serves.
  std::vector<int64_t> versions;
  if (pinned) {
    versions.push_back(options_.pinned_version);
  } else {
    MOVIEREC_ASSIGN_OR_RETURN(versions, ListVersions(options_.model_base));
    if (versions.empty() && serving->primary() == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no model version (integer-named directory) in ",
                       options_.model_base));
    }
    for (const int64_t held : {held_stable, held_candidate}) {
      if (held > 0) versions.push_back(held);
    }
  }
  std::sort(versions.rbegin(), versions.rend());
  versions.erase(std::unique(versions.begin(), versions.end()), versions.end());

  const int64_t loads_before = loads_;
  const bool canary =
      !pinned && (control_present_ || options_.canary_percent > 0 ||
                  options_.stable_version > 0);
  absl::Status last_error;
  // The candidate (without canary: the one version that serves).
  const int64_t candidate_pin = canary ? control_.candidate : 0;
  std::shared_ptr<const Snapshot> candidate =
      candidate_pin > 0 ? Acquire(candidate_pin, &last_error)
                        : FirstThatLoads(versions, &last_error);
  if (candidate == nullptr) {
    // Refused: the version that had the role keeps it.
    candidate = canary ? serving->candidate().snapshot : serving->primary();
    if (candidate == nullptr && canary) candidate = serving->primary();
  }
  std::shared_ptr<const Snapshot> stable;
  int basis_points = 0;
  if (canary) {
    const int64_t stable_pin =
        control_.stable > 0 ? control_.stable : options_.stable_version;
    if (stable_pin > 0) {
      stable = stable_pin == VersionOf(candidate)
                   ? candidate
                   : Acquire(stable_pin, &last_error);
    } else {
      std::vector<int64_t> older;
      for (const int64_t v : versions) {
        if (v < VersionOf(candidate)) older.push_back(v);
      }
      stable = FirstThatLoads(older, &last_error);
    }
    if (stable == nullptr) stable = serving->stable().snapshot;
    if (stable == nullptr || stable == candidate) {
      // One version: it serves as the stable one.
      stable = candidate;
      candidate = nullptr;
    }
    basis_points = control_.percent_basis_points >= 0
                       ? control_.percent_basis_points
                       : PercentToBasisPoints(options_.canary_percent);
  } else {
    stable = std::move(candidate);
    candidate = nullptr;
  }

  if (stable != serving->stable().snapshot ||
      candidate != serving->candidate().snapshot ||
      basis_points != serving->candidate_basis_points()) {
    auto next = std::make_shared<const ServingSet>(
        Serve(std::move(stable)), Serve(std::move(candidate)), basis_points);
    std::atomic_store(&serving_, std::shared_ptr<const ServingSet>(next));
    if (hooks_.serving_changed) hooks_.serving_changed(*next);
  }
  // A refusal matters when nothing newer loaded in its place.
  return loads_ > loads_before ? absl::OkStatus() : last_error;
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
