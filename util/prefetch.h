// Software prefetch of memory a loop will read a few iterations later.
//
// The ranking path reads, per candidate, rows scattered over tables of
// hundreds of kilobytes (neighbour lists, rating-model rows). Under load the
// caches hold gRPC's data between calls, and each such row is a miss the
// hardware prefetcher cannot foresee; asking for the next candidates' rows
// ahead of use overlaps those misses instead of paying them one by one.
#ifndef MOVIEREC_UTIL_PREFETCH_H_
#define MOVIEREC_UTIL_PREFETCH_H_

#include <cstddef>
#include <cstdint>

namespace movierec {

// Asks for the cache lines of [data, data + bytes) to be loaded for reading.
// A hint: no effect on results, none on a compiler without the builtin.
inline void PrefetchForRead(const void* data, size_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
  constexpr uintptr_t kLine = 64;
  const auto begin = reinterpret_cast<uintptr_t>(data) & ~(kLine - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(data) + bytes;
  for (uintptr_t line = begin; line < end; line += kLine) {
    __builtin_prefetch(reinterpret_cast<const void*>(line), /*rw=*/0,
                       /*locality=*/3);
  }
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace movierec

#endif  // MOVIEREC_UTIL_PREFETCH_H_
