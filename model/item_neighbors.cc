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
  if (history.empty() || offsets_.size() <= static_cast<size_t>(movie) + 1) {
    return affinity;
  }
  const absl::Span<const int32_t> rows = neighbors(movie);
  const absl::Span<const float> sims = similarities(movie);
  // Merge the two sorted lists.
  size_t a = 0, b = 0;
  while (a < rows.size() && b < history.size()) {
    if (rows[a] < history[b]) {
      ++a;
    } else if (history[b] < rows[a]) {
      ++b;
    } else {
      affinity.sum += sims[a];
      affinity.closest = std::max(affinity.closest, sims[a]);
      ++a;
      ++b;
    }
  }
  affinity.sum /= std::sqrt(static_cast<float>(history.size()));
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
  // One byte per movie, all 0 between calls: only the history's entries are
  // set, and reset before returning, so a call costs O(history), not
  // O(catalogue).
  thread_local std::vector<uint8_t> marks;
  if (marks.size() < static_cast<size_t>(num_movies)) {
    marks.assign(static_cast<size_t>(num_movies), 0);
  }
  for (const int32_t h : history) {
    if (h >= 0 && h < num_movies) marks[h] = 1;
  }
  thread_local std::vector<int64_t> hits;
  for (size_t i = 0; i < movies.size(); ++i) {
    const int32_t movie = movies[i];
    Affinity affinity;
    if (movie >= 0 && movie < num_movies) {
      const int32_t* rows = rows_.data() + offsets_[movie];
      const float* sims = sims_.data() + offsets_[movie];
      const int64_t n = offsets_[movie + 1] - offsets_[movie];
      // First the positions of the neighbours in the history, without a
      // branch (each position is written, and kept only if marked), then
      // their sum in row order, as AffinityTo's merge adds them.
      hits.resize(static_cast<size_t>(n) + 1);
      int64_t found = 0;
      for (int64_t j = 0; j < n; ++j) {
        hits[found] = j;
        found += marks[rows[j]];
      }
      for (int64_t h = 0; h < found; ++h) {
        affinity.sum += sims[hits[h]];
        affinity.closest = std::max(affinity.closest, sims[hits[h]]);
      }
    }
    affinity.sum /= std::sqrt(static_cast<float>(history.size()));
    out[i] = affinity;
  }
  for (const int32_t h : history) {
    if (h >= 0 && h < num_movies) marks[h] = 0;
  }
}

}  // namespace movierec
