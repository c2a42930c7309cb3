#include "server/result_cache.h"

#include <algorithm>

namespace movierec {

ResultCache::ResultCache(int num_users, int64_t max_bytes)
    : num_users_(max_bytes > 0 ? std::max(num_users, 0) : 0),
      max_bytes_(std::max<int64_t>(max_bytes, 0)),
      lists_(new std::atomic<const List*>[static_cast<size_t>(num_users_)]) {
  for (int u = 0; u < num_users_; ++u) {
    lists_[u].store(nullptr, std::memory_order_relaxed);
  }
}

ResultCache::~ResultCache() {
  for (int u = 0; u < num_users_; ++u) {
    delete lists_[u].load(std::memory_order_relaxed);
  }
}

int64_t ResultCache::ListBytes(size_t movies) {
  return static_cast<int64_t>(sizeof(List) + movies * sizeof(ScoredMovie));
}

int64_t ResultCache::MostBytes(size_t movies) const {
  return std::min(max_bytes_, static_cast<int64_t>(num_users_) *
                                  (static_cast<int64_t>(sizeof(void*)) +
                                   ListBytes(movies)));
}

absl::Span<const ScoredMovie> ResultCache::Find(int user, int count) const {
  if (user < 0 || user >= num_users_) return {};
  const List* list = lists_[user].load(std::memory_order_acquire);
  if (list == nullptr || list->count != count) return {};
  return list->movies;
}

bool ResultCache::Keep(int user, int count,
                       absl::Span<const ScoredMovie> movies) const {
  if (user < 0 || user >= num_users_ || movies.empty()) return false;
  if (lists_[user].load(std::memory_order_relaxed) != nullptr) return false;
  const int64_t cost = ListBytes(movies.size());
  if (bytes_.fetch_add(cost, std::memory_order_relaxed) + cost > max_bytes_) {
    bytes_.fetch_sub(cost, std::memory_order_relaxed);
    return false;
  }
  auto list = std::make_unique<List>();
  list->count = count;
  list->movies.assign(movies.begin(), movies.end());
  const List* expected = nullptr;
  if (!lists_[user].compare_exchange_strong(expected, list.get(),
                                            std::memory_order_release,
                                            std::memory_order_relaxed)) {
    // Another call kept the user's list first.
    bytes_.fetch_sub(cost, std::memory_order_relaxed);
    return false;
  }
  list.release();
  return true;
}

}  // namespace movierec
