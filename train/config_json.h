// JSON forms of the training configuration, for metrics.json, the bundle's
// recorded config, the trainer's log and --config patches. Missing keys keep
// their defaults. The model parts' own configs are in model/model_json.h.
#ifndef MOVIEREC_TRAIN_CONFIG_JSON_H_
#define MOVIEREC_TRAIN_CONFIG_JSON_H_

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "model/model_json.h"
#include "train/train_config.h"

namespace movierec {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RetrievalTraining, model,
                                                softmax, sampled_negatives,
                                                batch_size, epochs, optimizer,
                                                l2, patience, block_rows,
                                                history_sample, members)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RatingTraining, enabled, model,
                                                batch_size, epochs, optimizer,
                                                l2, patience, history_sample)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SourcesTraining, item,
                                                item_budget, item_weights,
                                                ease_lambda, popular,
                                                popular_budget)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LambdaMartTraining, trees,
                                                max_depth, learning_rate,
                                                min_child_weight, subsample, l2)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RerankerTraining, enabled,
                                                model, list_size, epochs,
                                                batch_lists, optimizer, l2,
                                                lambdamart, rating_weighted,
                                                folds, item_neighbors, sources,
                                                visitor_lists)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, preset, seed,
                                                threads, validation_fraction,
                                                refit, evaluation_users,
                                                retrieval, rating, reranker)

// Applies `patch` (a JSON object, RFC 7386 merge patch) to *config, e.g.
// {"retrieval": {"l2": 0.01}}. InvalidArgument, naming the key, when the
// patch is not an object, names a key the config does not have, or gives a
// value of the wrong type; *config is unchanged then.
absl::Status MergeConfigJson(absl::string_view patch, TrainConfig* config);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_CONFIG_JSON_H_
