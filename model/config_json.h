// JSON forms of the configuration structs, for metrics.json, the bundle's
// recorded config and the trainer's log. Missing keys keep their defaults.
#ifndef MOVIEREC_MODEL_CONFIG_JSON_H_
#define MOVIEREC_MODEL_CONFIG_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "model/train_config.h"

namespace movierec {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FeatureOptions, user_id,
                                                user_demographics, user_history,
                                                movie_id, movie_genres,
                                                movie_year)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RetrievalConfig, features,
                                                embedding_dim, movie_bias,
                                                init_scale)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AdagradOptions, learning_rate,
                                                initial_accumulator, epsilon)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RetrievalTraining, model,
                                                softmax, sampled_negatives,
                                                batch_size, epochs, optimizer,
                                                l2, patience, block_rows)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RatingConfig, features,
                                                embedding_dim, biases, dot, mlp,
                                                hidden, init_scale)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RatingTraining, enabled, model,
                                                batch_size, epochs, optimizer,
                                                l2, patience)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RerankerConfig, hidden)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RerankerTraining, enabled,
                                                model, list_size, epochs,
                                                batch_lists, optimizer, l2,
                                                rating_weighted, folds)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, preset, seed,
                                                threads, validation_fraction,
                                                retrieval, rating, reranker)

// Parses `text` as a T; InvalidArgument naming `what` when it is not valid
// JSON or a field has the wrong type.
template <typename T>
absl::StatusOr<T> ParseConfigJson(absl::string_view text,
                                  absl::string_view what) {
  try {
    return nlohmann::json::parse(text.begin(), text.end()).get<T>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not valid: ", e.what()));
  }
}

// Applies `patch` (a JSON object, RFC 7386 merge patch) to *config, e.g.
// {"retrieval": {"l2": 0.01}}. InvalidArgument, naming the key, when the
// patch is not an object, names a key the config does not have, or gives a
// value of the wrong type; *config is unchanged then.
absl::Status MergeConfigJson(absl::string_view patch, TrainConfig* config);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_CONFIG_JSON_H_
