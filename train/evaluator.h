// Offline evaluation exactly as ../shared/EVALUATION.md defines it.
//
// Protocol A (TFRS "factorized top-K"): for every test rating (u, m), rank =
// the number of movies scoring strictly higher than m for u; top-K accuracy is
// the share of test ratings with rank < K. Seen movies are not excluded.
//
// Protocol B (the ten movies a user is shown): for every user with a test
// rating, R = the top 10 with the user's training movies left out, T = the
// user's test movies; Recall@10 = |R n T| / |T|, NDCG@10 with binary gains
// and IDCG over min(|T|, 10) hits, HitRate@10 = [R n T non-empty]; the mean
// over users.
#ifndef MOVIEREC_TRAIN_EVALUATOR_H_
#define MOVIEREC_TRAIN_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "absl/types/span.h"
#include "data/dataset.h"
#include "util/eigen_types.h"

namespace movierec {

inline constexpr int kProtocolAKs[] = {1, 5, 10, 50, 100};

// K -> top-K accuracy over `test`, for K in kProtocolAKs.
std::map<int, double> EvaluateProtocolA(const RowMatrix& user_vectors,
                                        const RowMatrix& movie_vectors,
                                        const std::vector<Interaction>& test);

struct ListMetrics {
  double recall_at_10 = 0;
  double ndcg_at_10 = 0;
  double hit_rate_at_10 = 0;
  int users = 0;  // users with at least one test rating
};

// The metrics of one user's list `recommended` (movie rows, best first,
// cut at 10) against `relevant` (sorted, distinct, non-empty).
ListMetrics UserListMetrics(absl::Span<const int32_t> recommended,
                            absl::Span<const int32_t> relevant);

// Protocol B: calls `top10(user)` for every user row with test ratings (from
// several threads at once, so it must be thread-safe) and averages.
ListMetrics EvaluateProtocolB(
    int num_users, const std::vector<Interaction>& test,
    const std::function<std::vector<int32_t>(int user)>& top10);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_EVALUATOR_H_
