#include "server/memory_trimmer.h"

#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <utility>

namespace movierec {

int64_t MallocFreeBytes() {
  const struct mallinfo2 info = mallinfo2();
  // fordblks: free chunks in the arenas; fsmblks: free fastbin chunks.
  return static_cast<int64_t>(info.fordblks + info.fsmblks);
}

int64_t ResidentBytes() {
  // statm: size, resident, ... in pages.
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * sysconf(_SC_PAGESIZE);
}

int64_t TrimMalloc() {
  const int64_t before = ResidentBytes();
  malloc_trim(0);
  return before - ResidentBytes();
}

MemoryTrimmer::MemoryTrimmer(absl::Duration interval, int64_t threshold_bytes,
                             std::function<bool()> busy,
                             std::function<void(int64_t)> on_trim)
    : thread_([this, interval, threshold_bytes, busy = std::move(busy),
               on_trim = std::move(on_trim)] {
        while (!stop_.WaitForNotificationWithTimeout(interval)) {
          if (busy && busy()) continue;
          if (MallocFreeBytes() < threshold_bytes) continue;
          const int64_t released = TrimMalloc();
          if (on_trim) on_trim(released);
        }
      }) {}

MemoryTrimmer::~MemoryTrimmer() {
  stop_.Notify();
  thread_.join();
}

}  // namespace movierec
