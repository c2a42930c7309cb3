// Gives memory that malloc holds free back to the system, after a burst.
//
// What held the server's memory after a burst (issue 15): the calls of the
// burst, allocated on gRPC's and the workers' threads, are freed into
// glibc's per-thread arenas, which return pages to the system only from
// the top of the main heap. Admission control bounds how much a burst
// allocates; this returns what it freed. Every `interval` it reads how many
// bytes malloc holds free (mallinfo2) and, above `threshold`, calls
// malloc_trim(0), which releases the free pages of every arena. Under a
// steady load the free bytes stay below the threshold (freed memory is
// reused at once), and during overload it waits, so it trims after a
// burst, not on every tick.
#ifndef MOVIEREC_SERVER_MEMORY_TRIMMER_H_
#define MOVIEREC_SERVER_MEMORY_TRIMMER_H_

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace movierec {

// Bytes malloc holds free (not returned to the system), over all arenas.
int64_t MallocFreeBytes();

// This process's resident memory (RSS), in bytes; 0 if unreadable.
int64_t ResidentBytes();

// malloc_trim(0); returns the drop in resident memory it made.
int64_t TrimMalloc();

class MemoryTrimmer {
 public:
  // `busy()` says whether the server is still overloaded (then trimming
  // would give back pages that are needed again at once, at the cost of
  // the CPU it lacks): no trim on that tick. `on_trim(released_bytes)` runs
  // after each trim (for metrics). Either may be empty.
  MemoryTrimmer(absl::Duration interval, int64_t threshold_bytes,
                std::function<bool()> busy,
                std::function<void(int64_t)> on_trim);
  // Stops the thread.
  ~MemoryTrimmer();

  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_MEMORY_TRIMMER_H_
