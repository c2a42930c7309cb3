// JSON forms of the model configuration structs (towers, rating model,
// reranker, optimiser), for the config each model part records in the
// bundle. Missing keys keep their defaults. The training configuration's
// JSON (train/config_json.h) builds on these.
#ifndef MOVIEREC_MODEL_MODEL_JSON_H_
#define MOVIEREC_MODEL_MODEL_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "data/features.h"
#include "model/adagrad.h"
#include "model/rating_model.h"
#include "model/reranker.h"
#include "model/retrieval_model.h"

namespace movierec {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FeatureOptions, user_id,
                                                user_demographics, user_history,
                                                movie_id, movie_genres,
                                                movie_year, user_attributes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RetrievalConfig, features,
                                                embedding_dim, movie_bias,
                                                init_scale)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AdagradOptions, learning_rate,
                                                initial_accumulator, epsilon)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RatingConfig, features,
                                                embedding_dim, biases, dot, mlp,
                                                hidden, init_scale)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RerankerConfig, kind, hidden)

// The JSON a tower stage (RetrievalConfig, RatingConfig) records in its
// ParameterSet: features.user_attributes is left out when off, so that a
// stage without attributes is written byte for byte as before the option
// existed (and reads back the same: missing keys keep their defaults).
template <typename StageConfig>
std::string StageConfigJson(const StageConfig& config) {
  nlohmann::json json = config;
  if (!config.features.user_attributes) {
    json["features"].erase("user_attributes");
  }
  return json.dump();
}

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

}  // namespace movierec

#endif  // MOVIEREC_MODEL_MODEL_JSON_H_
