// Tests of WorkerPool (server/worker_pool.h): every task runs, on no more
// threads than the pool has, with OpenMP at one thread, and the destructor
// drains the queue; admission control refuses what would wait too long and
// drops what waited past its deadline, running every admitted task once;
// TryRun runs a call at once on the caller's thread only in a free slot.
#include "server/worker_pool.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/time/clock.h"

namespace movierec {
namespace {

TEST(WorkerPoolTest, RunsEveryTaskBeforeItIsDestroyed) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(2);
    for (int i = 0; i < 200; ++i) pool.Submit([&done] { ++done; });
  }
  EXPECT_EQ(done.load(), 200);
}

TEST(WorkerPoolTest, RunsTasksOnItsOwnThreadsOnly) {
  constexpr int kThreads = 3;
  std::mutex mutex;
  std::condition_variable changed;
  int running = 0;
  int most = 0;
  bool release = false;
  std::set<std::thread::id> threads;
  {
    WorkerPool pool(kThreads);
    EXPECT_EQ(pool.size(), kThreads);
    for (int i = 0; i < 12; ++i) {
      pool.Submit([&] {
        std::unique_lock<std::mutex> lock(mutex);
        threads.insert(std::this_thread::get_id());
        most = std::max(most, ++running);
        changed.notify_all();
        changed.wait(lock, [&] { return release; });
        --running;
      });
    }
    // Every worker is now blocked in a task: the rest wait in the queue.
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return running == kThreads; }));
    EXPECT_EQ(pool.queued(), 12u - kThreads);
    release = true;
    changed.notify_all();
  }
  EXPECT_EQ(most, kThreads);
  EXPECT_EQ(threads.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPoolTest, WorkersUseOneOpenMpThread) {
  omp_set_num_threads(4);  // this thread's setting, not the workers'
  std::atomic<int> max_threads{-1};
  {
    WorkerPool pool(1);
    pool.Submit([&max_threads] { max_threads = omp_get_max_threads(); });
  }
  EXPECT_EQ(max_threads.load(), 1);
}

TEST(WorkerPoolTest, HasAtLeastOneThread) {
  EXPECT_EQ(WorkerPool(0).size(), 1);
  EXPECT_EQ(WorkerPool(-5).size(), 1);
}

TEST(WorkerPoolTest, AvailableCoresIsWithinTheMachine) {
  const int cores = AvailableCores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, static_cast<int>(
                       std::max(1u, std::thread::hardware_concurrency())));
}

// One worker held busy by a task until Release(), so that the queue's
// state is known exactly.
class HeldPool {
 public:
  explicit HeldPool(AdmissionOptions options) : pool_(1, options) {
    pool_.Submit([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      started_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    });
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return started_; });
  }
  ~HeldPool() { Release(); }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  WorkerPool& pool() { return pool_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;
  bool released_ = false;
  WorkerPool pool_;  // last: destroyed (drained) first
};

// Counts how each admitted task ended.
struct Ends {
  std::atomic<int> ran{0};
  std::atomic<int> dropped{0};
  WorkerPool::CallTask Task() {
    return [this](Refusal refusal, absl::Duration) {
      ++(refusal == Refusal::kNone ? ran : dropped);
    };
  }
};

TEST(WorkerPoolAdmissionTest, RefusesWhenTheQueueIsFull) {
  Ends ends;
  {
    HeldPool held({/*max_queue=*/3, absl::Seconds(100)});
    const absl::Time deadline = absl::InfiniteFuture();
    for (int i = 0; i < 3; ++i) {
      const Admission a = held.pool().TrySubmit(deadline, ends.Task());
      EXPECT_EQ(a.refusal, Refusal::kNone) << i;
      EXPECT_EQ(a.queued, static_cast<size_t>(i + 1));
      EXPECT_EQ(a.limit, 3u);
    }
    const Admission full = held.pool().TrySubmit(deadline, ends.Task());
    EXPECT_EQ(full.refusal, Refusal::kQueueFull);
    EXPECT_EQ(full.queued, 3u);
    EXPECT_EQ(held.pool().queued(), 3u);
  }
  EXPECT_EQ(ends.ran.load(), 3);  // the refused one never ran
  EXPECT_EQ(ends.dropped.load(), 0);
}

TEST(WorkerPoolAdmissionTest, RefusesWhileTheOldestCallWaitedPastTheBudget) {
  Ends ends;
  HeldPool held({/*max_queue=*/100, absl::Milliseconds(20)});
  EXPECT_EQ(held.pool().TrySubmit(absl::InfiniteFuture(), ends.Task()).refusal,
            Refusal::kNone);
  absl::SleepFor(absl::Milliseconds(40));
  EXPECT_EQ(held.pool().TrySubmit(absl::InfiniteFuture(), ends.Task()).refusal,
            Refusal::kQueueWait);
}

TEST(WorkerPoolAdmissionTest, RefusesACallThatCouldNotStartBeforeItsDeadline) {
  Ends ends;
  HeldPool held({/*max_queue=*/100, absl::Seconds(100)});
  // The worker is busy: a call must wait about a service time (1 ms before
  // any was measured), so one due sooner cannot start in time.
  const Admission a =
      held.pool().TrySubmit(absl::Now() + absl::Microseconds(100), ends.Task());
  EXPECT_EQ(a.refusal, Refusal::kDeadline);
  EXPECT_GT(a.expected_wait, absl::ZeroDuration());
  const Admission b =
      held.pool().TrySubmit(absl::Now() - absl::Seconds(1), ends.Task());
  EXPECT_EQ(b.refusal, Refusal::kDeadline);
  EXPECT_EQ(held.pool().queued(), 0u);
}

TEST(WorkerPoolAdmissionTest, AnIdleWorkerAdmitsAnyDeadlineNotYetPassed) {
  Ends ends;
  {
    WorkerPool pool(1, {0, absl::Milliseconds(1)});
    const Admission a =
        pool.TrySubmit(absl::Now() + absl::Seconds(10), ends.Task());
    EXPECT_EQ(a.refusal, Refusal::kNone);
    EXPECT_EQ(a.expected_wait, absl::ZeroDuration());
  }
  EXPECT_EQ(ends.ran.load(), 1);
}

TEST(WorkerPoolAdmissionTest, DropsACallWhoseDeadlinePassedWhileItWaited) {
  Ends ends;
  {
    HeldPool held({/*max_queue=*/100, absl::Seconds(100)});
    // Admitted (the expected wait is short), then held past its deadline.
    EXPECT_EQ(held.pool()
                  .TrySubmit(absl::Now() + absl::Milliseconds(30), ends.Task())
                  .refusal,
              Refusal::kNone);
    absl::SleepFor(absl::Milliseconds(60));
    held.Release();
  }
  EXPECT_EQ(ends.ran.load(), 0);
  EXPECT_EQ(ends.dropped.load(), 1);
}

TEST(WorkerPoolAdmissionTest, DefaultLimitIsPerWorker) {
  EXPECT_EQ(WorkerPool(2, {0, absl::Milliseconds(50)}).queue_limit(), 512u);
  EXPECT_EQ(WorkerPool(2, {7, absl::Milliseconds(50)}).queue_limit(), 7u);
}

TEST(WorkerPoolAdmissionTest, SlowCallsAloneRefuseNothingWhileNoneWaitsLong) {
  // Calls much slower than the first estimate (1 ms), a few queued at a
  // time: the queue's wait stays within the budget, so none is refused.
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1, {0, absl::Milliseconds(200)});
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(pool.TrySubmit(absl::InfiniteFuture(),
                               [&ran](Refusal refusal, absl::Duration) {
                                 EXPECT_EQ(refusal, Refusal::kNone);
                                 absl::SleepFor(absl::Milliseconds(10));
                                 ++ran;
                               })
                    .refusal,
                Refusal::kNone)
          << i;
    }
  }
  EXPECT_EQ(ran.load(), 8);
}

TEST(WorkerPoolAdmissionTest, RefusesACallTheQueueAheadWouldHoldPastTheBudget) {
  // One worker whose calls take 10 ms (up to 17 on a loaded machine), a
  // 35 ms budget: once the service time is measured, a call with four
  // calls ahead (40 ms or more) is refused at once, before anything in the
  // queue has waited long.
  WorkerPool pool(1, {/*max_queue=*/100, absl::Milliseconds(35)});
  const auto slow = [](Refusal refusal, absl::Duration) {
    if (refusal == Refusal::kNone) absl::SleepFor(absl::Milliseconds(10));
  };
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(pool.TrySubmit(absl::InfiniteFuture(), slow).refusal,
              Refusal::kNone);
    absl::SleepFor(absl::Milliseconds(15));  // each ends before the next
  }
  Refusal last = Refusal::kNone;
  int admitted = 0;
  for (int i = 0; i < 6 && last == Refusal::kNone; ++i) {
    const Admission a = pool.TrySubmit(absl::InfiniteFuture(), slow);
    last = a.refusal;
    if (last == Refusal::kNone) ++admitted;
    if (last == Refusal::kQueueWait) {
      EXPECT_GT(a.expected_wait, absl::Milliseconds(35));
    }
  }
  EXPECT_EQ(last, Refusal::kQueueWait);
  // The running call and two or three queued.
  EXPECT_GE(admitted, 3);
  EXPECT_LE(admitted, 4);
}

TEST(WorkerPoolAdmissionTest, AFewOutliersBarelyMoveTheServiceTimeEstimate) {
  // Calls of about 1 ms, then one of 300 ms (a page fault storm, a model
  // load beside the worker): the estimate at most doubles, so a queue of
  // ten short calls is still admitted under a 50 ms budget.
  WorkerPool pool(1, {/*max_queue=*/100, absl::Milliseconds(50)});
  const auto run_for = [](absl::Duration d) {
    return [d](Refusal refusal, absl::Duration) {
      if (refusal == Refusal::kNone) absl::SleepFor(d);
    };
  };
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(
        pool.TrySubmit(absl::InfiniteFuture(), run_for(absl::Milliseconds(1)))
            .refusal,
        Refusal::kNone);
    absl::SleepFor(absl::Milliseconds(3));
  }
  ASSERT_EQ(
      pool.TrySubmit(absl::InfiniteFuture(), run_for(absl::Milliseconds(300)))
          .refusal,
      Refusal::kNone);
  absl::SleepFor(absl::Milliseconds(350));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(
        pool.TrySubmit(absl::InfiniteFuture(), run_for(absl::Milliseconds(1)))
            .refusal,
        Refusal::kNone)
        << i;
  }
}

// A gate that tasks block on until it opens, counting those blocked.
class Gate {
 public:
  void Pass() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  // Waits (up to 10 s) until `n` tasks are blocked.
  bool AwaitWaiting(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return waiting_ == n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

// Counts the calls running at once, the most seen, and those done.
struct Concurrency {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::atomic<int> ran{0};
  void Enter() {
    const int now = ++running;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
  }
  void Leave() {
    --running;
    ++ran;
  }
};

TEST(WorkerPoolTryRunTest, RunsAtOnceOnTheCallingThreadWhenASlotIsFree) {
  omp_set_num_threads(4);
  WorkerPool pool(2);
  std::thread::id ran_on;
  int omp_threads = -1;
  Refusal refusal = Refusal::kQueueFull;
  absl::Duration waited = absl::Seconds(1);
  const Admission a =
      pool.TryRun(absl::InfiniteFuture(), [&](Refusal r, absl::Duration w) {
        ran_on = std::this_thread::get_id();
        omp_threads = omp_get_max_threads();
        refusal = r;
        waited = w;
      });
  // Done before TryRun returned, here, as a worker would have run it.
  EXPECT_TRUE(a.ran_inline);
  EXPECT_EQ(a.refusal, Refusal::kNone);
  EXPECT_EQ(a.queued, 0u);
  EXPECT_EQ(a.limit, pool.queue_limit());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(omp_threads, 1);
  EXPECT_EQ(omp_get_max_threads(), 4);  // the caller's setting is back
  EXPECT_EQ(refusal, Refusal::kNone);
  EXPECT_EQ(waited, absl::ZeroDuration());
}

TEST(WorkerPoolTryRunTest, QueuesWhenEverySlotIsTaken) {
  Ends ends;
  {
    HeldPool held({/*max_queue=*/100, absl::Seconds(100)});
    const Admission a = held.pool().TryRun(absl::InfiniteFuture(), ends.Task());
    EXPECT_FALSE(a.ran_inline);
    EXPECT_EQ(a.refusal, Refusal::kNone);
    EXPECT_EQ(a.queued, 1u);
    EXPECT_EQ(ends.ran.load(), 0);  // waiting for the held worker
  }
  EXPECT_EQ(ends.ran.load(), 1);
}

TEST(WorkerPoolTryRunTest, QueuesBehindACallAlreadyWaiting) {
  // The slot is free again but a call waits: it goes first, on a worker.
  Ends ends;
  {
    HeldPool held({/*max_queue=*/100, absl::Seconds(100)});
    ASSERT_EQ(held.pool().TrySubmit(absl::InfiniteFuture(), ends.Task()).queued,
              1u);
    const Admission a = held.pool().TryRun(absl::InfiniteFuture(), ends.Task());
    EXPECT_FALSE(a.ran_inline);
    EXPECT_EQ(a.queued, 2u);
  }
  EXPECT_EQ(ends.ran.load(), 2);
}

TEST(WorkerPoolTryRunTest, RefusesADeadlineAlreadyPassedWithoutRunningIt) {
  Ends ends;
  WorkerPool pool(1);
  const Admission a =
      pool.TryRun(absl::Now() - absl::Milliseconds(1), ends.Task());
  EXPECT_FALSE(a.ran_inline);
  EXPECT_EQ(a.refusal, Refusal::kDeadline);
  EXPECT_EQ(ends.ran.load() + ends.dropped.load(), 0);
}

TEST(WorkerPoolTryRunTest, ACallRunInlineHoldsItsSlotFromTheWorkers) {
  // One worker, its slot taken by a call running inline on another thread:
  // calls queued meanwhile wait for that call, then the worker runs them.
  constexpr int kQueued = 5;
  Gate gate;
  Concurrency calls;
  const auto counted = [&](bool block) {
    return [&, block](Refusal refusal, absl::Duration) {
      ASSERT_EQ(refusal, Refusal::kNone);
      calls.Enter();
      if (block) gate.Pass();
      calls.Leave();
    };
  };
  {
    WorkerPool pool(1);
    std::thread caller([&] {
      EXPECT_TRUE(pool.TryRun(absl::InfiniteFuture(), counted(/*block=*/true))
                      .ran_inline);
    });
    ASSERT_TRUE(gate.AwaitWaiting(1));
    for (int i = 0; i < kQueued; ++i) {
      const Admission a =
          pool.TryRun(absl::InfiniteFuture(), counted(/*block=*/false));
      EXPECT_FALSE(a.ran_inline) << i;
      EXPECT_EQ(a.refusal, Refusal::kNone) << i;
    }
    // The worker is free, but the slot is not: nothing queued has started.
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(calls.ran.load(), 0);
    EXPECT_EQ(pool.queued(), static_cast<size_t>(kQueued));
    gate.Open();
    caller.join();
  }
  EXPECT_EQ(calls.ran.load(), kQueued + 1);
  EXPECT_EQ(calls.most.load(), 1);
}

TEST(WorkerPoolTryRunTest, CallsAtOnceStayWithinTheSlotsHoweverTheyCome) {
  // Six threads bring calls, half by TryRun, to a pool of two: never
  // more than two run at once, and every one runs exactly once.
  constexpr int kWorkers = 2;
  constexpr int kCallers = 6;
  constexpr int kCalls = 200;
  Concurrency calls;
  const WorkerPool::CallTask task = [&](Refusal refusal, absl::Duration) {
    ASSERT_EQ(refusal, Refusal::kNone);
    calls.Enter();
    absl::SleepFor(absl::Microseconds(200));
    calls.Leave();
  };
  {
    WorkerPool pool(kWorkers,
                    {/*max_queue=*/kCallers * kCalls, absl::Seconds(100)});
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&, c] {
        for (int i = 0; i < kCalls; ++i) {
          const Admission a =
              (i + c) % 2 == 0 ? pool.TryRun(absl::InfiniteFuture(), task)
                               : pool.TrySubmit(absl::InfiniteFuture(), task);
          EXPECT_EQ(a.refusal, Refusal::kNone);
        }
      });
    }
    for (std::thread& caller : callers) caller.join();
  }
  EXPECT_EQ(calls.ran.load(), kCallers * kCalls);
  EXPECT_LE(calls.most.load(), kWorkers);
}

TEST(WorkerPoolAdmissionTest, RefusalNames) {
  EXPECT_EQ(RefusalName(Refusal::kQueueFull), "queue_full");
  EXPECT_EQ(RefusalName(Refusal::kQueueWait), "queue_wait");
  EXPECT_EQ(RefusalName(Refusal::kDeadline), "deadline");
}

}  // namespace
}  // namespace movierec
