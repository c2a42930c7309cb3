// The LambdaMART reranker's training: gradient-boosted trees fitted by
// Debian's XGBoost (objective rank:ndcg, its histogram method) on the same
// candidate lists and raw features as the listwise reranker, converted to
// the project's TreeEnsemble (model/tree_ensemble.h) so that the server
// scores them without XGBoost.
#ifndef MOVIEREC_TRAIN_LAMBDAMART_H_
#define MOVIEREC_TRAIN_LAMBDAMART_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/reranker.h"
#include "model/tree_ensemble.h"
#include "train/epoch_loop.h"
#include "train/ranking_trainer.h"
#include "train/train_config.h"

namespace movierec {

// Fits `trees` boosting rounds of XGBoost's rank:ndcg on the lists `which`
// of `lists` (one query group each, the gains as relevance labels) and
// returns XGBoost's model as JSON. Deterministic for a given seed and
// thread count. Internal on an XGBoost failure, with its message.
absl::StatusOr<std::string> FitLambdaMartJson(
    const LambdaMartTraining& config, const std::vector<RerankList>& lists,
    absl::Span<const int32_t> which, int trees, uint64_t seed);

// The same model as a TreeEnsemble.
absl::StatusOr<TreeEnsemble> FitLambdaMart(const LambdaMartTraining& config,
                                           const std::vector<RerankList>& lists,
                                           absl::Span<const int32_t> which,
                                           int trees, uint64_t seed);

// An XGBoost model saved as JSON (XGBoosterSaveModelToBuffer) as a
// TreeEnsemble over `inputs` features. InvalidArgument when the JSON is not
// a single-output tree model or its trees are not trees
// (TreeEnsemble::FromTrees).
absl::StatusOr<TreeEnsemble> TreeEnsembleFromXgboostJson(absl::string_view json,
                                                         int inputs);

// Trains the lambdamart kind of `reranker` on `lists`: chooses the tree
// count (at most config.lambdamart.trees) by cross-validation over
// config.folds folds of the lists' users, NDCG@10 of the re-sorted lists
// after each tree as the listwise kind does after each epoch, then fits on
// every list. The result's epochs are its trees.
absl::StatusOr<StageTrainingResult> TrainLambdaMart(
    const RerankerTraining& config, const std::vector<RerankList>& lists,
    uint64_t seed, Reranker* reranker, Progress* progress);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_LAMBDAMART_H_
