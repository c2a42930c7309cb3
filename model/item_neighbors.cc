#include "model/item_neighbors.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/prefetch.h"

namespace movierec {

ItemNeighbors ItemNeighbors::Build(const UserMovies& seen, int num_movies,
                                   int k) {
  // Movies -> the users who rated them (the transpose of `seen`).
  std::vector<std::vector<int32_t>> users_of(static_cast<size_t>(num_movies));
  for (int u = 0; u < seen.num_users(); ++u) {
    for (const int32_t movie : seen.Of(u)) users_of[movie].push_back(u);
  }
  // Each movie's list on its own (so threads share nothing), then joined in
  // movie order.
  std::vector<std::vector<std::pair<float, int32_t>>> lists(
      static_cast<size_t>(num_movies));
#pragma omp parallel
  {
    std::vector<int32_t> counts(static_cast<size_t>(num_movies), 0);
    std::vector<int32_t> touched;
    // Every co-occurring movie's score, of which only k are kept: scratch
    // reused across movies, so a large catalogue's lists do not each keep
    // the capacity of all their co-occurrences.
    std::vector<std::pair<float, int32_t>> scored;
#pragma omp for schedule(dynamic, 64)
    for (int32_t i = 0; i < num_movies; ++i) {
      touched.clear();
      scored.clear();
      for (const int32_t u : users_of[i]) {
        for (const int32_t j : seen.Of(u)) {
          if (j == i) continue;
          if (counts[j]++ == 0) touched.push_back(j);
        }
      }
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
      lists[i].assign(scored.begin(), scored.begin() + keep);
      std::sort(
          lists[i].begin(), lists[i].end(),
          [](const auto& a, const auto& b) { return a.second < b.second; });
    }
  }
  ItemNeighbors result;
  result.offsets_.reserve(static_cast<size_t>(num_movies) + 1);
  for (const auto& list : lists) {
    for (const auto& [sim, j] : list) {
      result.rows_.push_back(j);
      result.sims_.push_back(sim);
    }
    result.offsets_.push_back(static_cast<int64_t>(result.rows_.size()));
  }
  return result;
}

ItemNeighbors ItemNeighbors::Transposed() const {
  const size_t movies = static_cast<size_t>(num_movies());
  ItemNeighbors result;
  result.offsets_.assign(movies + 1, 0);
  for (const int32_t j : rows_) ++result.offsets_[static_cast<size_t>(j) + 1];
  for (size_t m = 0; m < movies; ++m) {
    result.offsets_[m + 1] += result.offsets_[m];
  }
  result.rows_.resize(rows_.size());
  result.sims_.resize(sims_.size());
  std::vector<int64_t> next(result.offsets_.begin(), result.offsets_.end() - 1);
  // Lists visited in increasing order: each transposed list comes sorted.
  for (size_t i = 0; i < movies; ++i) {
    for (int64_t e = offsets_[i]; e < offsets_[i + 1]; ++e) {
      const int64_t at = next[static_cast<size_t>(rows_[e])]++;
      result.rows_[at] = static_cast<int32_t>(i);
      result.sims_[at] = sims_[e];
    }
  }
  return result;
}

absl::StatusOr<ItemNeighbors> ItemNeighbors::FromParts(
    std::vector<int64_t> offsets, std::vector<int32_t> rows,
    std::vector<float> sims, int num_movies, float max_similarity,
    bool signed_weights) {
  const auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(
        absl::StrCat("item neighbours: ", parts...));
  };
  if (offsets.size() != static_cast<size_t>(num_movies) + 1 ||
      offsets.front() != 0 || rows.size() != sims.size() ||
      offsets.back() != static_cast<int64_t>(rows.size())) {
    return invalid(offsets.size(), " offsets, ", rows.size(), " rows and ",
                   sims.size(), " similarities for ", num_movies, " movies");
  }
  for (int m = 0; m < num_movies; ++m) {
    if (offsets[m] > offsets[m + 1]) {
      return invalid("the offsets decrease at movie row ", m);
    }
  }
  for (int m = 0; m < num_movies; ++m) {
    for (int64_t i = offsets[m]; i < offsets[m + 1]; ++i) {
      if (rows[i] < 0 || rows[i] >= num_movies || rows[i] == m ||
          (i > offsets[m] && rows[i] <= rows[i - 1])) {
        return invalid("neighbour ", i - offsets[m], " of movie row ", m,
                       " is row ", rows[i],
                       ": not another movie in increasing order");
      }
      const float magnitude = signed_weights ? std::abs(sims[i]) : sims[i];
      if (!(magnitude > 0 && magnitude <= max_similarity)) {
        return invalid("similarity ", i - offsets[m], " of movie row ", m,
                       " is ", sims[i], ", outside (0, ", max_similarity, "]");
      }
    }
  }
  ItemNeighbors result;
  result.offsets_ = std::move(offsets);
  result.rows_ = std::move(rows);
  result.sims_ = std::move(sims);
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
  // The history's movies marked in a table of the calling thread, all 0
  // between calls: only the history's entries are set, and reset before
  // returning, so a call costs O(history), not O(catalogue). A float a
  // movie (1 or 0, a weight without a conversion) up to kFloatMarks movies;
  // above, a bit a movie, so that the table a call reads at random stays in
  // the caches (1,000,000 movies: 125 KB rather than 4 MB).
  constexpr int64_t kFloatMarks = 65536;
  if (num_movies <= kFloatMarks) {
    thread_local std::vector<float> in_history;
    if (in_history.size() < static_cast<size_t>(num_movies)) {
      in_history.assign(static_cast<size_t>(num_movies), 0.0f);
    }
    for (const int32_t h : history) {
      if (h >= 0 && h < num_movies) in_history[h] = 1.0f;
    }
    const float* const marks = in_history.data();
    SumAffinities(movies, history.size(), out,
                  [marks](int32_t row) { return marks[row]; });
    for (const int32_t h : history) {
      if (h >= 0 && h < num_movies) in_history[h] = 0.0f;
    }
    return;
  }
  thread_local std::vector<uint64_t> in_history;
  if (in_history.size() < static_cast<size_t>((num_movies + 63) / 64)) {
    in_history.assign(static_cast<size_t>((num_movies + 63) / 64), 0);
  }
  for (const int32_t h : history) {
    if (h >= 0 && h < num_movies) in_history[h >> 6] |= uint64_t{1} << (h & 63);
  }
  const uint64_t* const marks = in_history.data();
  SumAffinities(movies, history.size(), out, [marks](int32_t row) {
    return static_cast<float>((marks[row >> 6] >> (row & 63)) & 1);
  });
  for (const int32_t h : history) {
    if (h >= 0 && h < num_movies) in_history[h >> 6] = 0;
  }
}

template <typename Mark>
void ItemNeighbors::SumAffinities(absl::Span<const int32_t> movies,
                                  size_t history, Affinity* out,
                                  Mark in_history) const {
  const auto num_movies = static_cast<int64_t>(offsets_.size()) - 1;
  const float norm = std::sqrt(static_cast<float>(history));
  // Two lanes: with eight, the sixteen running values no longer fit in
  // registers and were spilled to the stack on every neighbour (two, four
  // and eight lanes compared side by side in serving_bench; two won).
  constexpr int kLanes = 2;
  // The neighbour lists of the movies kAhead places on are requested while
  // this one is summed (a list is two scattered rows of the table, usually
  // out of the caches under load).
  constexpr size_t kAhead = 4;
  const auto prefetch = [&](size_t i) {
    const int32_t movie = movies[i];
    if (movie < 0 || movie >= num_movies) return;
    const int64_t begin = offsets_[movie];
    const auto bytes = static_cast<size_t>(offsets_[movie + 1] - begin) * 4;
    PrefetchForRead(rows_.data() + begin, bytes);
    PrefetchForRead(sims_.data() + begin, bytes);
  };
  for (size_t i = 0; i < std::min(kAhead, movies.size()); ++i) prefetch(i);
  for (size_t i = 0; i < movies.size(); ++i) {
    if (i + kAhead < movies.size()) prefetch(i + kAhead);
    const int32_t movie = movies[i];
    Affinity affinity;
    if (movie >= 0 && movie < num_movies) {
      const int32_t* rows = rows_.data() + offsets_[movie];
      const float* sims = sims_.data() + offsets_[movie];
      const int64_t n = offsets_[movie + 1] - offsets_[movie];
      // Every neighbour's similarity times 0 or 1, in kLanes interleaved
      // sums (similarities are >= 0, so the max over them all is the max
      // over the history's): no branch to mispredict.
      float sum[kLanes] = {};
      float closest[kLanes] = {};
      int64_t j = 0;
      for (; j + kLanes <= n; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const float s = sims[j + l] * in_history(rows[j + l]);
          sum[l] += s;
          closest[l] = std::max(closest[l], s);
        }
      }
      for (int l = 0; j < n; ++j, ++l) {
        const float s = sims[j] * in_history(rows[j]);
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
}

}  // namespace movierec
