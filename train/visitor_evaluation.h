// Visitor quality (EVALUATION.md, "Visitors"): every user with test ratings
// comes back as a visitor who gives no user id, only their K most recent
// training movies as recent_movie_ids, and the ten movies the service
// answers are scored with protocol B against the user's test movies.
//
// The list is what the server answers such a request (Scorer::Recommend on
// Scorer::ForVisitor): it leaves out the K movies given, not the user's other
// training movies, which the service does not know of and which count as
// misses. The reference is EASE^R scoring the same K movies, with the same
// K movies left out.
#ifndef MOVIEREC_TRAIN_VISITOR_EVALUATION_H_
#define MOVIEREC_TRAIN_VISITOR_EVALUATION_H_

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "model/scorer.h"
#include "train/evaluator.h"

namespace movierec {

// The movies a visitor gives, K, of EVALUATION.md.
inline constexpr int kVisitorKs[] = {5, 20, 100};

// EASE^R's L2 weight as the reference (EVALUATION.md).
inline constexpr float kVisitorEaseLambda = 500.0f;

// For every user row in [0, num_users): the user's `k` (>= 1) most recent
// movies in `train` as movie rows, most recent first. Ties of timestamp go
// to the lower movie row; a movie rated more than once counts once, at its
// latest timestamp. A user with fewer than `k` movies gives all of them, one
// with none gives none.
std::vector<std::vector<int32_t>> RecentMovies(
    int num_users, const std::vector<Interaction>& train, int k);

// One K's protocol-B figures over the users with test ratings.
struct VisitorEvaluation {
  int k = 0;
  ListMetrics served;  // the served pipeline
  ListMetrics ease;    // the reference; users == 0 when not measured
  // Visitors (users with test ratings) with fewer than k training movies,
  // who gave all they had.
  int fewer_than_k = 0;
};

// The visitors' top 10 through `served` (the served pipeline, as for a
// request with recent_movie_ids and no user id) and, when `ease` is not
// null, through EASE^R (a Scorer over EaseModel, trainer.h: a visitor's
// query is the indicator vector of their movies), for each K in kVisitorKs.
// `train` gives the visitors' movies (with timestamps), `test` the movies
// they are scored against. A user with test ratings but no training movies
// gives nothing, and gets what the server answers an empty request: the
// most popular movies (from both).
std::vector<VisitorEvaluation> EvaluateVisitors(
    const Scorer& served, const Scorer* ease,
    const std::vector<Interaction>& train,
    const std::vector<Interaction>& test);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_VISITOR_EVALUATION_H_
