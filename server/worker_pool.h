// A fixed number of threads that run the work of RPCs. gRPC's callback API
// runs handlers on gRPC's own threads, whose number the server does not
// control; the handlers only queue the work here and return, so the threads
// that retrieve and rank are exactly `threads`, however many calls arrive.
//
// Each worker sets its OpenMP thread count to 1 before running anything:
// FAISS and Eigen then search and multiply on the calling thread only, and
// with `threads` at most the number of cores no search oversubscribes them.
// Parallelism comes from concurrent calls, one per worker.
//
// Thread-safe: Submit may be called from any thread. The destructor runs
// every task already submitted, then joins the workers.
#ifndef MOVIEREC_SERVER_WORKER_POOL_H_
#define MOVIEREC_SERVER_WORKER_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace movierec {

// The cores this process may use: the CPU affinity mask, lowered to the
// cgroup v2 CPU quota (cpu.max, rounded up) when one is set, as in a
// container with a CPU limit. At least 1.
int AvailableCores();

class WorkerPool {
 public:
  // Starts `threads` workers (at least 1).
  explicit WorkerPool(int threads);
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()); }

  // Queues `task` for the next free worker.
  void Submit(std::function<void()> task);

  // Tasks waiting for a worker.
  size_t queued() const;

 private:
  void Work();

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_WORKER_POOL_H_
