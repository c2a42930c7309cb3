// Item-to-item neighbours from co-occurrence: for every movie, the movies
// most often rated by the same users, by cosine similarity of their rating
// sets. A feature of the reranker: how strongly a candidate is tied to what
// the user already watched (the signal item-item models such as EASE use).
//
// The same CSR table also holds the item-to-item candidate source's EASE^R
// weights (model/ease.h: signed, any magnitude), which only the Scorer's
// own accumulation reads.
//
// Immutable after Build; safe to share between threads.
#ifndef MOVIEREC_MODEL_ITEM_NEIGHBORS_H_
#define MOVIEREC_MODEL_ITEM_NEIGHBORS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/dataset.h"

namespace movierec {

class ItemNeighbors {
 public:
  ItemNeighbors() = default;

  // The `k` nearest neighbours of each of `num_movies` movies, with
  //   sim(i, j) = |users of i and j| / sqrt(|users of i| |users of j|),
  // counted over `seen` (each user's movies). Cost: the sum over users of
  // their movie count squared.
  // Movies are independent: the work is split over OpenMP threads, and the
  // result does not depend on their number.
  static ItemNeighbors Build(const UserMovies& seen, int num_movies, int k);

  // A table read back from a model version (the parts below): every list
  // is checked, so a corrupt table is refused with InvalidArgument naming
  // the first bad entry, never served. Similarities must lie in
  // (0, max_similarity] (cosines: (0, 1]), or with `signed_weights` their
  // magnitudes must (EASE^R weights, model/ease.h: any finite value but 0).
  static absl::StatusOr<ItemNeighbors> FromParts(std::vector<int64_t> offsets,
                                                 std::vector<int32_t> rows,
                                                 std::vector<float> sims,
                                                 int num_movies,
                                                 float max_similarity = 1.0f,
                                                 bool signed_weights = false);

  // The table indexed the other way: movie j's list holds the movies whose
  // lists hold j, with the same similarities, sorted by row. The item
  // source reads its table by the movie a weight points to
  // (CandidateSources::item_table): transposed, each movie's own k
  // neighbours are its weights, so that a movie in a history adds at most
  // k of them to a call.
  ItemNeighbors Transposed() const;

  // The whole table in CSR form: the neighbours of movie m are
  // rows()[offsets()[m] .. offsets()[m + 1]), with all_similarities() beside.
  int num_movies() const { return static_cast<int>(offsets_.size()) - 1; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<int32_t>& rows() const { return rows_; }
  const std::vector<float>& all_similarities() const { return sims_; }

  // How `movie` is tied to `history` (sorted movie rows): the sum over j in
  // history of sim(movie, j) divided by sqrt(|history|), and the largest
  // sim(movie, j); both 0 for an empty history.
  struct Affinity {
    float sum = 0;
    float closest = 0;
  };
  Affinity AffinityTo(int32_t movie, absl::Span<const int32_t> history) const;

  // AffinityTo(movies[i], history) into out[i] (movies.size() entries), for
  // a whole list: the history is marked once in a table of the calling
  // thread, and each movie's neighbours are weighted by it without branches
  // (a merge of two sorted lists per movie, with its unpredictable branches,
  // stood out in a Recommend profile).
  void AffinitiesTo(absl::Span<const int32_t> movies,
                    absl::Span<const int32_t> history, Affinity* out) const;

  // The neighbours of `movie`, sorted by row, and their similarities.
  absl::Span<const int32_t> neighbors(int32_t movie) const {
    return absl::MakeConstSpan(rows_.data() + offsets_[movie],
                               rows_.data() + offsets_[movie + 1]);
  }
  absl::Span<const float> similarities(int32_t movie) const {
    return absl::MakeConstSpan(sims_.data() + offsets_[movie],
                               sims_.data() + offsets_[movie + 1]);
  }

 private:
  // AffinitiesTo's sums, the history marked by in_history(row) (1 or 0).
  template <typename Mark>
  void SumAffinities(absl::Span<const int32_t> movies, size_t history,
                     Affinity* out, Mark in_history) const;

  std::vector<int64_t> offsets_ = {0};
  std::vector<int32_t> rows_;
  std::vector<float> sims_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_ITEM_NEIGHBORS_H_
