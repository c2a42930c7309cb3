// The whole offline run: train the retrieval stage on a dataset, evaluate it
// (protocols A and B of EVALUATION.md) and assemble the model version.
#ifndef MOVIEREC_MODEL_TRAINER_H_
#define MOVIEREC_MODEL_TRAINER_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "model/dataset.h"
#include "model/evaluator.h"
#include "model/model.h"
#include "model/progress.h"
#include "model/retrieval_trainer.h"
#include "model/train_config.h"

namespace movierec {

struct Evaluation {
  std::map<int, double> protocol_a;  // K -> top-K accuracy
  ListMetrics protocol_b;            // retrieval alone
};

struct TrainOutput {
  std::shared_ptr<const Model> model;
  Evaluation evaluation;
  RetrievalTrainingResult retrieval;  // the final (full-train) run
  int tuned_epochs = 0;               // chosen on validation, or configured
  nlohmann::json metrics;             // what metrics.json holds
};

// Trains, evaluates on dataset.test and builds the model. Progress goes to
// `progress`. The OpenMP thread count must already be set.
absl::StatusOr<TrainOutput> TrainModel(const TrainConfig& config,
                                       const Dataset& dataset,
                                       Progress* progress);

// Evaluates a built model on `test` with the serving code path.
Evaluation EvaluateModel(const std::shared_ptr<const Model>& model,
                         const std::vector<Interaction>& test);

// The metrics.json document.
nlohmann::json MetricsJson(const Evaluation& evaluation);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_TRAINER_H_
