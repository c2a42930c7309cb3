// The whole offline run: train the retrieval and ranking stages on a
// dataset, evaluate them (EVALUATION.md: protocols A and B for retrieval
// alone and for the served pipeline, RMSE of the rating model) and assemble
// the model version.
#ifndef MOVIEREC_TRAIN_TRAINER_H_
#define MOVIEREC_TRAIN_TRAINER_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "data/dataset.h"
#include "model/ease.h"
#include "model/model.h"
#include "train/epoch_loop.h"
#include "train/evaluator.h"
#include "train/progress.h"
#include "train/stage_meter.h"
#include "train/train_config.h"
#include "train/visitor_evaluation.h"

namespace movierec {

// Protocol B over the cold users only: test users with no training
// interaction (a temporal split's newcomers). `retrieval` and `pipeline` go
// through the same Scorer path as every user (ForUser: a user row with no
// history is encoded from its other features where the towers have them,
// RetrievalModel::UserVectors); `popular` is the server's answer for a user
// it cannot personalise (Scorer::Popular), the yardstick for the other two.
struct ColdUserEvaluation {
  int64_t test_interactions = 0;
  ListMetrics retrieval;
  std::optional<ListMetrics> pipeline;
  ListMetrics popular;
};

struct Evaluation {
  std::map<int, double> protocol_a;     // K -> top-K accuracy
  ListMetrics protocol_b;               // retrieval alone
  std::optional<ListMetrics> pipeline;  // retrieval -> ranking -> top 10
  std::optional<double> rmse;           // the rating model on test
  // Only when some test user has no training interaction.
  std::optional<ColdUserEvaluation> cold_users;
  // Visitors giving their K most recent training movies, served and EASE^R
  // (visitor_evaluation.h); empty when not measured.
  std::vector<VisitorEvaluation> visitors;
  // EASE^R (kVisitorEaseLambda) fitted to the same training data, protocol
  // B on the same test users: the baseline the served lists are measured
  // against; absent above kMaxEaseMovies movies.
  std::optional<ListMetrics> ease;
};

struct TrainOutput {
  std::shared_ptr<const Model> model;
  Evaluation evaluation;
  // The final runs on all of train, per stage ("retrieval", "rating",
  // "reranker"); epochs chosen on validation where there is one.
  std::map<std::string, StageTrainingResult> stages;
  nlohmann::json metrics;  // what metrics.json holds
};

// The candidate sources `config` asks for, built from `seen` (each user's
// training movies): the item-to-item source's weights are EASE^R's up to
// kMaxEaseMovies movies, co-occurrence cosines above; either way each movie
// keeps at most config.item_weights weights towards others, so that a
// history movie adds at most that many to a call.
CandidateSources BuildSources(const SourcesTraining& config,
                              const UserMovies& seen, int num_movies);

// Trains, evaluates on dataset.test (visitors too, with EASE^R at
// kVisitorEaseLambda as their reference up to kMaxEaseMovies movies) and
// builds the model. Progress goes to `progress`, and each stage's wall time
// and peak memory to `meter` when set. The OpenMP thread count must already
// be set.
absl::StatusOr<TrainOutput> TrainModel(const TrainConfig& config,
                                       const Dataset& dataset,
                                       Progress* progress,
                                       StageMeter* meter = nullptr);

// Evaluates a built model on `test` through the serving code path (Scorer),
// with `num_candidates` retrieved before ranking.
Evaluation EvaluateModel(const std::shared_ptr<const Model>& model,
                         const std::vector<Interaction>& test,
                         int num_candidates);

// The most-popular baseline as a model: 1-d vectors, the user's a constant 1
// and the movie's its training popularity, so both protocols rank by
// popularity through the same evaluator.
std::shared_ptr<const Model> PopularityModel(
    const MovieLens& catalog, const std::vector<Interaction>& train);

// EASE^R (Steck 2019), the item-item baseline of EVALUATION.md, as a model:
// B = I - P diag(1 / diag(P)) with P = (X'X + lambda I)^-1 for the binary
// user x movie matrix X of `train`; the user's vector is its row of X and the
// movie's its column of B, so score = X_u B_m. Dense in the catalogue size:
// a baseline for MovieLens-sized catalogues, not a serving model.
// Built for catalogues up to kMaxEaseMovies (model/ease.h).

std::shared_ptr<const Model> EaseModel(const MovieLens& catalog,
                                       const std::vector<Interaction>& train,
                                       float lambda);

// The evaluation part of metrics.json.
nlohmann::json MetricsJson(const Evaluation& evaluation);

// The "split" part of metrics.json: the kind and its parameters, the sizes,
// the cold users and movies (SummarizeSplit) and, with validation_fraction
// > 0, the validation split that the tuning used.
nlohmann::json SplitJson(const Dataset& dataset, double validation_fraction);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_TRAINER_H_
