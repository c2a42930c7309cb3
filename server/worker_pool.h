// A fixed number of threads that run the work of RPCs, and as many slots:
// the calls that retrieve and rank at once are at most `threads`, however
// many arrive. gRPC's callback API runs handlers on gRPC's own threads,
// whose number the server does not control; the handlers queue the work
// here, or run it at once in a free slot (TryRun, below).
//
// Each worker sets its OpenMP thread count to 1 before running anything:
// FAISS and Eigen then search and multiply on the calling thread only, and
// with `threads` at most the number of cores no search oversubscribes them.
// Parallelism comes from concurrent calls, one per worker.
//
// A short call need not change threads at all (TryRun): when a worker slot
// is free and no call waits, it runs at once on the thread that brought it
// (gRPC's or cpp-httplib's), which saves the hand-off: a wake-up and a
// context switch each way, which on a virtual machine cost more than
// Recommend's own work (tests/bench/serving_results.md, "The worker
// hand-off"). It takes a slot all the same: calls running at once, inline
// or on the workers, are at most `threads`, and the workers take a queued
// call only while a slot is free.
//
// Admission control (TrySubmit): the queue in front of the workers is
// bounded by its length and by how long its oldest call has waited, and a
// call that could not start before its deadline is refused at once, so that
// under overload the workers spend their time on calls whose callers still
// wait, and memory holds at most a queue's worth of calls.
//
// Thread-safe: Submit and TrySubmit may be called from any thread. The
// destructor runs every task already submitted, then joins the workers.
#ifndef MOVIEREC_SERVER_WORKER_POOL_H_
#define MOVIEREC_SERVER_WORKER_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace movierec {

// Why a call was not run.
enum class Refusal {
  kNone,       // admitted (and run)
  kQueueFull,  // the queue is at its length limit
  kQueueWait,  // the oldest queued call has waited past the budget, or
               // this one would
  kDeadline,   // it could not start before its deadline, or its deadline
               // passed while it waited
};
// "queue_full", "queue_wait", "deadline" ("none" for kNone): the label of
// movierec_admission_refusals_total.
absl::string_view RefusalName(Refusal refusal);

struct AdmissionOptions {
  // Calls waiting for a worker, at most (--max_queue). 0 (the default):
  // kQueuePerWorker per worker. A bound on memory; the wait budget below is
  // what bounds the wait.
  int max_queue = 0;
  // The queue-wait budget (--max_queue_wait): a new call is refused while
  // the oldest queued call has waited longer (the workers are not keeping
  // up), or when the queue ahead of it would hold it longer (the calls
  // ahead at the workers' recent service time; see RecordServiceTime for
  // why a moment's slow calls barely move that estimate). So an admitted
  // call waits about this long at most: set it to the latency its callers
  // can afford beyond a call's own time.
  absl::Duration max_queue_wait = absl::Milliseconds(50);
};

// What TrySubmit decided, with the queue as it left it.
struct Admission {
  Refusal refusal = Refusal::kNone;
  size_t queued = 0;  // calls waiting after this one was queued or refused
  size_t limit = 0;   // the queue length limit at the time
  // The wait this call was expected to have (its refusal's reason when
  // kDeadline or kQueueWait).
  absl::Duration expected_wait;
  // TryRun ran the call on the calling thread (it is done).
  bool ran_inline = false;
};

// The cores this process may use: the CPU affinity mask, lowered to the
// cgroup v2 CPU quota (cpu.max, rounded up) when one is set, as in a
// container with a CPU limit. At least 1.
int AvailableCores();

class WorkerPool {
 public:
  // Starts `threads` workers (at least 1).
  explicit WorkerPool(int threads, AdmissionOptions admission = {});
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()); }

  // Queues `task` for the next free worker, without admission control.
  void Submit(std::function<void()> task);

  // A call's work: run with (Refusal::kNone, how long it waited) by a
  // worker, or with kDeadline when its deadline passed while it waited (it
  // is then dropped without its work). Either way it runs exactly once.
  using CallTask = std::function<void(Refusal, absl::Duration waited)>;

  // Queues `task` unless admission control refuses it: the queue is full;
  // the oldest queued call has waited past the budget, or the wait this
  // call can expect (the queue ahead of it at the workers' recent service
  // time) is past the budget; or that wait reaches past `deadline`. A
  // refused `task` is not run and not kept: the caller answers the call
  // itself, at once.
  Admission TrySubmit(absl::Time deadline, CallTask task);

  // As TrySubmit, but a call that would start at once (a slot is free, no
  // call waits, its deadline has not passed) runs here, on the calling
  // thread, with OpenMP at one thread, before TryRun returns; its
  // Admission then says ran_inline. The caller must be able to spare its
  // thread for the call's time.
  Admission TryRun(absl::Time deadline, CallTask task);

  // Tasks waiting for a worker (lock-free; a moment's value).
  size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  // The queue length limit (see AdmissionOptions::max_queue).
  size_t queue_limit() const;

 private:
  struct Entry {
    CallTask call;
    absl::Time enqueued;
    absl::Time deadline;
  };

  void Work();
  // Whether a worker may take the queue's front now (mutex_ held).
  bool CanStartLocked() const {
    return !tasks_.empty() && busy_ < static_cast<int>(workers_.size());
  }
  size_t QueueLimitLocked() const;
  // TrySubmit's decision with mutex_ held: queues `task` (moved from only
  // then) or says why not; `wake`: a worker should be woken for it.
  Admission AdmitLocked(absl::Time now, absl::Time deadline, CallTask& task,
                        bool* wake);
  // Smooths the service time of admitted calls into service_time_.
  void RecordServiceTime(absl::Duration took);

  // The default queue length per worker: room for a burst of calls from
  // many clients, while the wait budget keeps the queue's wait short.
  static constexpr int kQueuePerWorker = 256;

  const AdmissionOptions admission_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Entry> tasks_;
  // tasks_.size(), for readers that take no lock.
  std::atomic<size_t> queued_{0};
  // Slots taken: calls running, on the workers or inline (guarded by
  // mutex_). At most workers_.size().
  int busy_ = 0;
  // Exponentially weighted mean time an admitted call takes on a worker
  // (guarded by mutex_); starts at 1 ms until calls have been measured.
  absl::Duration service_time_ = absl::Milliseconds(1);
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_WORKER_POOL_H_
