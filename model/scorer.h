// The recommendation path over one model version: candidates from the index
// with the user's seen movies left out, then the top `count`. The server
// answers Recommend with it and the offline evaluator measures it, so what is
// measured is what is served.
//
// A Scorer is immutable and safe for concurrent use from many threads.
#ifndef MOVIEREC_MODEL_SCORER_H_
#define MOVIEREC_MODEL_SCORER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "index/candidate_index.h"
#include "model/model.h"

namespace movierec {

struct ScoredMovie {
  int32_t movie = 0;          // movie row
  float score = 0;            // what the list is ordered by
  float retrieval_score = 0;  // the retrieval model's inner product
};

class Scorer {
 public:
  // Builds the exact index over `model`'s movie vectors.
  explicit Scorer(std::shared_ptr<const Model> model);
  Scorer(std::shared_ptr<const Model> model,
         std::unique_ptr<CandidateIndex> index);

  const Model& model() const { return *model_; }
  const CandidateIndex& index() const { return *index_; }

  // The top `count` movies for user row `user`, excluding the user's seen
  // movies, best first.
  std::vector<ScoredMovie> Recommend(int user, int count) const;

  // The top `count` movies for a query vector (model().movie_vectors.cols()
  // floats), excluding `exclude` (sorted movie rows).
  std::vector<ScoredMovie> RecommendForQuery(const float* query,
                                             absl::Span<const int32_t> exclude,
                                             int count) const;

  // The `count` most popular movies (most training ratings first, then lower
  // row) not in `exclude` (sorted). Their score is the rating count.
  std::vector<ScoredMovie> Popular(int count,
                                   absl::Span<const int32_t> exclude) const;

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<CandidateIndex> index_;
  std::vector<int32_t> by_popularity_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_SCORER_H_
