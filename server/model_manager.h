// Keeps the serving models current: finds the newest integer version under
// the model base (or the pinned one), loads and validates it on the side, and
// swaps it in atomically. A version that fails to load is refused and the
// serving snapshot stays.
//
// Canary (server/canary.h): with --canary_percent > 0, --stable_version or a
// CANARY file in the model base, two versions serve at once. The candidate
// is the CANARY file's `candidate`, else the newest version that loads; the
// stable version is the file's `stable`, else --stable_version, else the
// newest version older than the candidate that loads (none: the candidate
// alone serves). Both stay loaded whatever the percent, so that promoting
// (percent 100) and rolling back (percent 0) take effect at the next poll
// with no load. Without canary, the stable version is the newest (or
// --model_version), alone, as before; --model_version ignores CANARY.
// A version that fails to load leaves its role to the version that held it.
//
// The poller reads CANARY at every poll; a malformed file is refused (the
// hooks hear why, naming its line) and the previous setting stays.
//
// current() and serving() never block on loading: they copy a shared_ptr.
// Readers keep what they took for as long as they hold it. All methods are
// thread-safe.
#ifndef MOVIEREC_SERVER_MODEL_MANAGER_H_
#define MOVIEREC_SERVER_MODEL_MANAGER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/canary.h"
#include "server/snapshot.h"

namespace movierec {

struct ModelManagerOptions {
  // Directory of integer-named model versions. Required.
  std::string model_base;
  // Serve exactly this version; 0 (the default) follows the newest.
  int64_t pinned_version = 0;
  // The candidate's share in percent (--canary_percent, 0-100); 0 (the
  // default) with no CANARY file and no stable_version: one version serves.
  double canary_percent = 0;
  // Pins the stable version (--stable_version); 0: the one before the
  // candidate.
  int64_t stable_version = 0;
  // How often the poller looks for a newer version; default 5 s.
  absl::Duration poll_interval = absl::Seconds(5);
  // How loaded versions score (candidates retrieved before ranking).
  ScorerOptions scorer;
  // IVF cells scanned per query (--ivf_nprobe), overriding the nprobe the
  // trainer saved with an IVF version; 0 (the default): the version's own.
  // Versions of other index kinds ignore it.
  int ivf_nprobe = 0;
  // Bytes each loaded version's result cache may hold (--result_cache;
  // server/result_cache.h); default 64 MiB; 0: no cache.
  int64_t result_cache_bytes = int64_t{64} << 20;
};

// What happened to one attempt to load a version.
struct LoadEvent {
  int64_t version = 0;
  absl::Status status;  // OK when the version now serves
  double seconds = 0;   // time to read, validate and index it
  std::shared_ptr<const Snapshot> snapshot;  // the new snapshot when OK
};

// What the manager tells its owner, on the polling thread. Every member may
// be empty.
struct ModelManagerHooks {
  // Every load attempt.
  std::function<void(const LoadEvent&)> loaded;
  // The CANARY file changed: OK when it now applies (or was removed), else
  // why it was refused.
  std::function<void(const absl::Status&)> control_read;
  // The serving set changed to this one (it already serves).
  std::function<void(const ServingSet&)> serving_changed;
  // The metrics of a version that comes to serve (server/metrics.h).
  std::function<std::shared_ptr<const VersionMetrics>(int64_t version)>
      version_metrics;
};

class ModelManager {
 public:
  using Listener = std::function<void(const LoadEvent&)>;

  // `listener` (may be empty) hears every load attempt, on the loading
  // thread.
  ModelManager(ModelManagerOptions options, Listener listener);
  ModelManager(ModelManagerOptions options, ModelManagerHooks hooks);
  ~ModelManager();

  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // Looks once for a version newer than the serving one (or the pinned one)
  // and loads the newest that passes validation; with a canary, also reads
  // CANARY and loads the stable and candidate versions it asks for. OK when
  // nothing was refused or a version loaded in this poll; otherwise the last
  // refusal's reason (NotFound when there is no version at all). A refused
  // version is not retried until its bundle file changes.
  absl::Status Poll();

  // Polls every poll_interval on a background thread until Stop().
  void StartPolling();
  void Stop();

  // The versions serving and their split; never null (empty before the
  // first successful load).
  std::shared_ptr<const ServingSet> serving() const {
    return std::atomic_load(&serving_);
  }
  // The stable snapshot (the only one without canary), or null before the
  // first successful load.
  std::shared_ptr<const Snapshot> current() const {
    return serving()->primary();
  }

 private:
  void PollLoop();
  // Reads MODEL_BASE/CANARY; when it changed, applies it or refuses it.
  void ReadControl();
  // The snapshot of `version`: one held, else loaded; null when it fails
  // (`error` gets the reason, unless it was refused before unchanged).
  std::shared_ptr<const Snapshot> Acquire(int64_t version, absl::Status* error);
  // Loads one version; AlreadyExists when it was refused before and has not
  // changed.
  absl::StatusOr<std::shared_ptr<const Snapshot>> TryLoad(int64_t version);
  // The first of `versions` that Acquire gets, or null.
  std::shared_ptr<const Snapshot> FirstThatLoads(
      const std::vector<int64_t>& versions, absl::Status* error);
  ServedVersion Serve(std::shared_ptr<const Snapshot> snapshot);

  const ModelManagerOptions options_;
  const ModelManagerHooks hooks_;
  std::shared_ptr<const ServingSet> serving_;  // accessed atomically only

  // Guarded by poll_mutex_: the CANARY file's text last read ("" and
  // control_ unset when there is none) and the setting in force.
  std::string control_text_;
  bool control_present_ = false;
  CanaryControl control_;

  std::mutex poll_mutex_;  // serialises Poll(); never taken by current()
  // Versions that failed, with the size and time of their bundle file, so a
  // failed version is retried only once it changes.
  absl::flat_hash_map<int64_t, std::string> failed_;
  int64_t loads_ = 0;  // successful loads so far

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_MODEL_MANAGER_H_
