// Movies near a movie in the retrieval embedding space: the cosine similarity
// of the movie tower's vectors, searched exactly with the same index kind as
// retrieval. The bias entry of a model with movie biases is left out: it says
// how popular a movie is, not what it is like. A movie whose vector is zero
// is similar to nothing (cosine 0 with every movie).
//
// Immutable after construction; safe for concurrent use from many threads.
#ifndef MOVIEREC_MODEL_MOVIE_SIMILARITY_H_
#define MOVIEREC_MODEL_MOVIE_SIMILARITY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "index/candidate_index.h"
#include "model/model.h"

namespace movierec {

class MovieSimilarity {
 public:
  /// Indexes the normalised movie vectors of `model` (not kept).
  explicit MovieSimilarity(const Model& model);

  /// The `count` movies most similar to movie row `movie` (a valid row), most
  /// similar first, with their cosine as score; never `movie` itself nor a
  /// row of `exclude` (sorted). Fewer when fewer are eligible.
  std::vector<Candidate> Nearest(int movie, int count,
                                 absl::Span<const int32_t> exclude) const;

 private:
  RowMatrix unit_;  // one normalised vector per movie row
  std::unique_ptr<CandidateIndex> index_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_MOVIE_SIMILARITY_H_
