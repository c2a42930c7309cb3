// EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
// 2019): the item-item model
//
//   B = argmin ||X - X B||^2 + lambda ||B||^2  subject to diag(B) = 0,
//   B = -P diag(P)^-1 off the diagonal, P = (X^T X + lambda I)^-1,
//
// X the users x movies 0/1 matrix of the training interactions. A user's
// score of movie i is the sum of B[j][i] over the movies j of their history.
// It is both a baseline the evaluator measures (train/trainer.h, EaseModel)
// and, sparsified, the item-to-item candidate source of the served pipeline
// (model/scorer.h).
#ifndef MOVIEREC_MODEL_EASE_H_
#define MOVIEREC_MODEL_EASE_H_

#include <Eigen/Core>

#include "data/dataset.h"
#include "model/item_neighbors.h"

namespace movierec {

// The largest catalogue EASE^R is solved for: B and the solve's matrices are
// dense, movies^2 entries each (4,000 movies: 128 MB of doubles, a ~10 s
// solve on 2 cores). Larger catalogues use co-occurrence neighbours.
inline constexpr int kMaxEaseMovies = 4000;

// The dense B of `seen` (num_movies <= kMaxEaseMovies, lambda > 0):
// B(j, i) is movie j's weight towards movie i, B(i, i) = 0.
Eigen::MatrixXf EaseWeights(const UserMovies& seen, int num_movies,
                            float lambda);

// The sparse EASE^R of the item source: of each movie j, the `k` weights
// B(j, i) largest in magnitude, negative ones included (they demote what
// a history makes unlikely: keeping only the positive ones, even all of
// them, cost the item source's own top 10 about 4% NDCG@10 on MovieLens
// 100K), as a table indexed by the movie they point to (ItemNeighbors, signed
// weights): movie i's entries are the movies j that kept a weight towards
// i, with B(j, i).
ItemNeighbors EaseNeighbors(const UserMovies& seen, int num_movies,
                            float lambda, int k);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_EASE_H_
