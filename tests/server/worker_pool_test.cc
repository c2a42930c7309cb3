// Tests of WorkerPool (server/worker_pool.h): every task runs, on no more
// threads than the pool has, with OpenMP at one thread, and the destructor
// drains the queue.
#include "server/worker_pool.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

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

}  // namespace
}  // namespace movierec
