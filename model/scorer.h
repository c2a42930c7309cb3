// The recommendation path over one model version, shared by the server and
// the offline evaluator so that what is measured is what is served:
//
//   retrieval: the user's vector -> index top N, seen movies left out;
//   ranking:   each candidate scored by the reranker (or, without one, by
//              the predicted rating), the list re-sorted, the top `count`.
//
// A Scorer is immutable and safe for concurrent use from many threads.
#ifndef MOVIEREC_MODEL_SCORER_H_
#define MOVIEREC_MODEL_SCORER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "index/candidate_index.h"
#include "model/item_neighbors.h"
#include "model/model.h"

namespace movierec {

struct ScoredMovie {
  int32_t movie = 0;          // movie row
  float score = 0;            // what the list is ordered by
  float retrieval_score = 0;  // the retrieval model's inner product
};

struct ScorerOptions {
  // Candidates retrieved before ranking (the server's --num_candidates).
  int num_candidates = 100;
};

// Where a call spent its time; a stage that did not run stays < 0.
struct StageTimes {
  double retrieval_seconds = -1;
  double ranking_seconds = -1;
};

class Scorer {
 public:
  // Neighbours kept per movie for the item-affinity feature.
  static constexpr int kItemNeighbors = 100;

  // Builds the exact index over `model`'s movie vectors.
  explicit Scorer(std::shared_ptr<const Model> model,
                  ScorerOptions options = {});
  Scorer(std::shared_ptr<const Model> model,
         std::unique_ptr<CandidateIndex> index, ScorerOptions options = {});

  const Model& model() const { return *model_; }
  const CandidateIndex& index() const { return *index_; }
  const ScorerOptions& options() const { return options_; }
  // Whether Recommend ranks (the model has a ranking stage).
  bool ranks() const { return model_->rating || model_->reranker; }

  // The served pipeline for user row `user`: the top `count` movies the user
  // has not seen, best first.
  std::vector<ScoredMovie> Recommend(int user, int count,
                                     StageTimes* times = nullptr) const;

  // Retrieval alone: the top `count` unseen movies by retrieval score.
  std::vector<ScoredMovie> Retrieve(int user, int count) const;

  // The top `count` movies by retrieval score for a query vector
  // (model().movie_vectors.cols() floats), excluding `exclude` (sorted rows).
  std::vector<Candidate> RetrieveForQuery(const float* query,
                                          absl::Span<const int32_t> exclude,
                                          int count) const;

  // The reranker's raw features (reranker.h) of `candidates`, retrieved for
  // `user` in this order, as rows of *features.
  void CandidateFeatures(int user, absl::Span<const Candidate> candidates,
                         RowMatrix* features) const;

  // The `count` most popular movies (most training ratings first, then lower
  // row) not in `exclude` (sorted). Their score is the rating count.
  std::vector<ScoredMovie> Popular(int count,
                                   absl::Span<const int32_t> exclude) const;

 private:
  // Ranks `candidates` of `user` and keeps the best `count`.
  std::vector<ScoredMovie> Rank(int user,
                                const std::vector<Candidate>& candidates,
                                int count) const;

  std::shared_ptr<const Model> model_;
  std::unique_ptr<CandidateIndex> index_;
  ScorerOptions options_;
  std::vector<int32_t> by_popularity_;
  // Serving caches of the ranking stage.
  RowMatrix rating_users_;   // rating-model user vectors
  RowMatrix rating_movies_;  // rating-model movie vectors
  RowMatrix genre_profile_;  // [users, genres]: share of seen movies per genre
  ItemNeighbors neighbors_;  // co-occurrence neighbours of the seen movies
  std::vector<float> user_year_;  // mean release year of each user's movies
  float log_mean_popularity_ = 0;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_SCORER_H_
