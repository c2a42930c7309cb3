// Keeps the serving model current: finds the newest integer version under the
// model base (or the pinned one), loads and validates it on the side, and
// swaps it in atomically. A version that fails to load is refused and the
// serving snapshot stays.
//
// current() never blocks on loading: it copies a shared_ptr. Readers keep the
// snapshot they took for as long as they hold it. All methods are thread-safe.
#ifndef MOVIEREC_SERVER_MODEL_MANAGER_H_
#define MOVIEREC_SERVER_MODEL_MANAGER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/snapshot.h"

namespace movierec {

struct ModelManagerOptions {
  // Directory of integer-named model versions. Required.
  std::string model_base;
  // Serve exactly this version; 0 (the default) follows the newest.
  int64_t pinned_version = 0;
  // How often the poller looks for a newer version; default 5 s.
  absl::Duration poll_interval = absl::Seconds(5);
  // How loaded versions score (candidates retrieved before ranking).
  ScorerOptions scorer;
};

// What happened to one attempt to load a version.
struct LoadEvent {
  int64_t version = 0;
  absl::Status status;  // OK when the version now serves
  double seconds = 0;   // time to read, validate and index it
  std::shared_ptr<const Snapshot> snapshot;  // the new snapshot when OK
};

class ModelManager {
 public:
  using Listener = std::function<void(const LoadEvent&)>;

  // `listener` (may be empty) hears every load attempt, on the loading
  // thread.
  ModelManager(ModelManagerOptions options, Listener listener);
  ~ModelManager();

  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // Looks once for a version newer than the serving one (or the pinned one)
  // and loads the newest that passes validation. OK when the serving version
  // is the newest or a newer one now serves; otherwise the last refusal's
  // reason (NotFound when there is no version at all). A refused version is
  // not retried until its bundle file changes.
  absl::Status Poll();

  // Polls every poll_interval on a background thread until Stop().
  void StartPolling();
  void Stop();

  // The serving snapshot, or null before the first successful load.
  std::shared_ptr<const Snapshot> current() const {
    return std::atomic_load(&current_);
  }

 private:
  void PollLoop();
  // Loads one version and swaps it in; AlreadyExists when it was refused
  // before and has not changed.
  absl::Status TryLoad(int64_t version);

  const ModelManagerOptions options_;
  const Listener listener_;
  std::shared_ptr<const Snapshot> current_;  // accessed atomically only

  std::mutex poll_mutex_;  // serialises Poll(); never taken by current()
  // Versions that failed, with the size and time of their bundle file, so a
  // failed version is retried only once it changes.
  absl::flat_hash_map<int64_t, std::string> failed_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_MODEL_MANAGER_H_
