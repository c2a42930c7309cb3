#include "model/item_neighbors.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace movierec {

ItemNeighbors ItemNeighbors::Build(const UserMovies& seen, int num_movies,
                                   int k) {
  // Movies -> the users who rated them (the transpose of `seen`).
  std::vector<std::vector<int32_t>> users_of(static_cast<size_t>(num_movies));
  for (int u = 0; u < seen.num_users(); ++u) {
    for (const int32_t movie : seen.Of(u)) users_of[movie].push_back(u);
  }
  ItemNeighbors result;
  result.offsets_.reserve(static_cast<size_t>(num_movies) + 1);
  std::vector<int32_t> counts(static_cast<size_t>(num_movies), 0);
  std::vector<int32_t> touched;
  std::vector<std::pair<float, int32_t>> scored;
  for (int32_t i = 0; i < num_movies; ++i) {
    touched.clear();
    for (const int32_t u : users_of[i]) {
      for (const int32_t j : seen.Of(u)) {
        if (j == i) continue;
        if (counts[j]++ == 0) touched.push_back(j);
      }
    }
    scored.clear();
    for (const int32_t j : touched) {
      const double norm = std::sqrt(static_cast<double>(users_of[i].size()) *
                                    static_cast<double>(users_of[j].size()));
      scored.emplace_back(static_cast<float>(counts[j] / norm), j);
      counts[j] = 0;
    }
    // Highest similarity first, lower row on ties: deterministic.
    const size_t keep = std::min(scored.size(), static_cast<size_t>(k));
    std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first
                                                  : a.second < b.second;
                      });
    scored.resize(keep);
    std::sort(scored.begin(), scored.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    for (const auto& [sim, j] : scored) {
      result.rows_.push_back(j);
      result.sims_.push_back(sim);
    }
    result.offsets_.push_back(static_cast<int64_t>(result.rows_.size()));
  }
  return result;
}

ItemNeighbors::Affinity ItemNeighbors::AffinityTo(
    int32_t movie, absl::Span<const int32_t> history) const {
  Affinity affinity;
  AffinitiesTo({movie}, history, &affinity);
  return affinity;
}

void ItemNeighbors::AffinitiesTo(absl::Span<const int32_t> movies,
                                 absl::Span<const int32_t> history,
                                 Affinity* out) const {
  const auto num_movies = static_cast<int64_t>(offsets_.size()) - 1;
  if (history.empty() || num_movies <= 0) {
    std::fill(out, out + movies.size(), Affinity());
    return;
  }
  // 1 for the history's movies, 0 for the others, all 0 between calls: only
  // the history's entries are set, and reset before returning, so a call
  // costs O(history), not O(catalogue).
  thread_local std::vector<float> in_history;
  if (in_history.size() < static_cast<size_t>(num_movies)) {
    in_history.assign(static_cast<size_t>(num_movies), 0.0f);
  }
  for (const int32_t h : history) {
    if (h >= 0 && h < num_movies) in_history[h] = 1.0f;
  }
  const float norm = std::sqrt(static_cast<float>(history.size()));
  constexpr int kLanes = 8;
  for (size_t i = 0; i < movies.size(); ++i) {
    const int32_t movie = movies[i];
    Affinity affinity;
    if (movie >= 0 && movie < num_movies) {
      const int32_t* rows = rows_.data() + offsets_[movie];
      const float* sims = sims_.data() + offsets_[movie];
      const int64_t n = offsets_[movie + 1] - offsets_[movie];
      // Every neighbour's similarity times 0 or 1, in kLanes independent
      // sums (similarities are >= 0, so the max over them all is the max
      // over the history's): no branch, and no chain of dependent adds.
      float sum[kLanes] = {};
      float closest[kLanes] = {};
      int64_t j = 0;
      for (; j + kLanes <= n; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const float s = sims[j + l] * in_history[rows[j + l]];
          sum[l] += s;
          closest[l] = std::max(closest[l], s);
        }
      }
      for (int l = 0; j < n; ++j, ++l) {
        const float s = sims[j] * in_history[rows[j]];
        sum[l] += s;
        closest[l] = std::max(closest[l], s);
      }
      for (int l = 0; l < kLanes; ++l) {
        affinity.sum += sum[l];
        affinity.closest = std::max(affinity.closest, closest[l]);
      }
      affinity.sum /= norm;
    }
    out[i] = affinity;
  }
  for (const int32_t h : history) {
    if (h >= 0 && h < num_movies) in_history[h] = 0.0f;
  }
}

}  // namespace movierec
