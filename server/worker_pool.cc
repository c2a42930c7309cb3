#include "server/worker_pool.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace movierec {

int AvailableCores() {
  int cores = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) {
    cores = static_cast<int>(std::thread::hardware_concurrency());
  }
  // "max 100000" (no limit) or "<quota> <period>" in microseconds.
  std::ifstream cpu_max("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  double microseconds = 0;
  if (cpu_max >> quota >> period && period > 0 &&
      absl::SimpleAtod(quota, &microseconds) && microseconds > 0) {
    const double limit = std::ceil(microseconds / period);
    if (limit < cores) cores = static_cast<int>(limit);
  }
  return std::max(cores, 1);
}

absl::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "none";
    case Refusal::kQueueFull:
      return "queue_full";
    case Refusal::kQueueWait:
      return "queue_wait";
    case Refusal::kDeadline:
      return "deadline";
  }
  return "unknown";
}

WorkerPool::WorkerPool(int threads, AdmissionOptions admission)
    : admission_(admission) {
  const int n = std::max(threads, 1);
  workers_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void WorkerPool::Submit(std::function<void()> task) {
  // A call that is never refused: no deadline. Queued with the time it came,
  // like any call, so that it counts in the oldest call's wait.
  const absl::Time now = absl::Now();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(
        Entry{[task = std::move(task)](Refusal, absl::Duration) { task(); },
              now, absl::InfiniteFuture()});
    queued_.store(tasks_.size(), std::memory_order_relaxed);
    wake = CanStartLocked();
  }
  if (wake) ready_.notify_one();
}

size_t WorkerPool::QueueLimitLocked() const {
  if (admission_.max_queue > 0) {
    return static_cast<size_t>(admission_.max_queue);
  }
  return static_cast<size_t>(kQueuePerWorker) * workers_.size();
}

size_t WorkerPool::queue_limit() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return QueueLimitLocked();
}

Admission WorkerPool::AdmitLocked(absl::Time now, absl::Time deadline,
                                  CallTask& task, bool* wake) {
  Admission admission;
  const size_t queued = tasks_.size();
  admission.limit = QueueLimitLocked();
  admission.queued = queued;
  const int workers = static_cast<int>(workers_.size());
  // Calls ahead of this one that no free worker will take at once, each
  // taking the recent service time on one of the workers.
  const int64_t ahead = static_cast<int64_t>(queued) + busy_ - (workers - 1);
  admission.expected_wait =
      ahead > 0 ? service_time_ * ahead / workers : absl::ZeroDuration();
  const absl::Duration oldest_wait =
      queued > 0 ? now - tasks_.front().enqueued : absl::ZeroDuration();
  if (queued >= admission.limit) {
    admission.refusal = Refusal::kQueueFull;
  } else if (oldest_wait > admission_.max_queue_wait) {
    // The workers are not keeping up: calls already wait too long.
    admission.refusal = Refusal::kQueueWait;
    admission.expected_wait = std::max(admission.expected_wait, oldest_wait);
  } else if (admission.expected_wait > admission_.max_queue_wait) {
    // This call would be the one to wait too long: the queue ahead of it
    // is longer than the workers clear within the budget.
    admission.refusal = Refusal::kQueueWait;
  } else if (now + admission.expected_wait >= deadline) {
    admission.refusal = Refusal::kDeadline;
  } else {
    tasks_.push_back(Entry{std::move(task), now, deadline});
    admission.queued = queued + 1;
    queued_.store(tasks_.size(), std::memory_order_relaxed);
    // No worker is woken while every slot is taken (a call running inline
    // holds one): it would find none free and sleep again, having taken the
    // core from the call that runs. The slot's release wakes one instead.
    *wake = CanStartLocked();
  }
  return admission;
}

Admission WorkerPool::TrySubmit(absl::Time deadline, CallTask task) {
  const absl::Time now = absl::Now();
  bool wake = false;
  Admission admission;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    admission = AdmitLocked(now, deadline, task, &wake);
  }
  if (wake) ready_.notify_one();
  return admission;
}

Admission WorkerPool::TryRun(absl::Time deadline, CallTask task) {
  const absl::Time start = absl::Now();
  bool wake = false;
  Admission admission;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!tasks_.empty() || busy_ >= static_cast<int>(workers_.size()) ||
        start >= deadline || stopping_) {
      admission = AdmitLocked(start, deadline, task, &wake);
    } else {
      ++busy_;
      admission.limit = QueueLimitLocked();
      admission.ran_inline = true;
    }
  }
  if (!admission.ran_inline) {
    if (wake) ready_.notify_one();
    return admission;
  }
  // One OpenMP thread, as on the workers (the setting is per thread); the
  // caller's own is given back.
  const int omp_threads = omp_get_max_threads();
  if (omp_threads != 1) omp_set_num_threads(1);
  task(Refusal::kNone, absl::ZeroDuration());
  if (omp_threads != 1) omp_set_num_threads(omp_threads);
  const absl::Duration took = absl::Now() - start;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    RecordServiceTime(took);
    --busy_;
    wake = !tasks_.empty();
  }
  // A call queued while this one held the last slot: a worker takes it.
  if (wake) ready_.notify_one();
  return admission;
}

void WorkerPool::RecordServiceTime(absl::Duration took) {
  // Fast up, slow down: a slower service time (the first calls, a larger
  // model, a loaded machine) is followed within a few calls, so that a call
  // the queue ahead would hold past its budget or deadline is not admitted
  // on a stale, low estimate; a faster one over about the last 32 calls.
  // One call counts as at most twice the estimate, so it moves it by at most
  // a quarter: a few outliers (a page fault, a model load beside the
  // workers) do not make the pool refuse a queue it would clear in time,
  // while a real slowdown is followed within a dozen calls.
  if (took > service_time_) {
    service_time_ += (std::min(took, 2 * service_time_) - service_time_) / 4;
  } else {
    service_time_ += (took - service_time_) / 32;
  }
}

void WorkerPool::Work() {
  // OpenMP's thread count is per thread: this one runs its searches alone.
  omp_set_num_threads(1);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // A queued call starts only in a free slot: calls run inline hold
    // theirs (TryRun).
    ready_.wait(lock, [this] {
      return CanStartLocked() || (stopping_ && tasks_.empty());
    });
    if (tasks_.empty()) {
      // Stopping, and nothing left to run. A worker that waited for a slot
      // while this one took the last call must see it too.
      ready_.notify_all();
      return;
    }
    Entry entry = std::move(tasks_.front());
    tasks_.pop_front();
    queued_.store(tasks_.size(), std::memory_order_relaxed);
    ++busy_;
    lock.unlock();
    const absl::Time start = absl::Now();
    const absl::Duration waited = start - entry.enqueued;
    if (start >= entry.deadline) {
      // Its caller has given up: dropped without its work.
      entry.call(Refusal::kDeadline, waited);
      lock.lock();
    } else {
      entry.call(Refusal::kNone, waited);
      const absl::Duration took = absl::Now() - start;
      lock.lock();
      RecordServiceTime(took);
    }
    --busy_;
  }
}

}  // namespace movierec
