// Each known user's answer to the plain Recommend request (no recent movies,
// no filter), kept per model version once a call has computed it.
//
// For a known user the pipeline's input is fixed by the version: the user's
// row, training history and vectors. A request with neither recent movies
// nor a filter therefore always gets the same list for the same count, and
// the first call's list is the answer of every later one until the version
// is replaced (the cache lives in its Snapshot and goes with it). A request
// with recent movies, a filter or another count than the kept list's is
// computed as before and changes nothing here.
//
// Memory: one pointer per known user, and the kept lists (each its movies,
// 12 bytes apiece, and a small header) up to a byte budget; past it, lists
// are no longer kept (those calls are computed as without the cache).
//
// Thread-safe: Find and Keep may be called from any number of threads at
// once. A list, once kept, is never changed or freed before the cache.
#ifndef MOVIEREC_SERVER_RESULT_CACHE_H_
#define MOVIEREC_SERVER_RESULT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "model/scorer.h"

namespace movierec {

class ResultCache {
 public:
  // A cache for users 0 .. num_users - 1 that keeps lists while their bytes
  // (ListBytes) stay within max_bytes; max_bytes 0 keeps none.
  ResultCache(int num_users, int64_t max_bytes);
  ~ResultCache();
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  // The list kept for `user` when it was computed for `count` movies; empty
  // otherwise (also when user is out of range).
  absl::Span<const ScoredMovie> Find(int user, int count) const;
  // Keeps `movies`, the list computed for `user` and `count`, unless it is
  // empty (Find could not tell it from none), a list is already kept for
  // the user or the budget would be passed. Returns whether it was kept.
  bool Keep(int user, int count, absl::Span<const ScoredMovie> movies) const;

  // What the kept lists hold.
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  int64_t max_bytes() const { return max_bytes_; }
  // The bytes a kept list of `movies` movies costs.
  static int64_t ListBytes(size_t movies);
  // The most the cache may hold when its lists have `movies` movies: a
  // pointer and a list per user, within the budget (0 without one).
  int64_t MostBytes(size_t movies) const;

 private:
  struct List {
    int count = 0;
    std::vector<ScoredMovie> movies;
  };

  int num_users_;
  int64_t max_bytes_;
  // By user row; null: nothing kept. Set once, by compare-and-swap.
  std::unique_ptr<std::atomic<const List*>[]> lists_;
  mutable std::atomic<int64_t> bytes_{0};
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_RESULT_CACHE_H_
