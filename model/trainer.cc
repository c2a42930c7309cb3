#include "model/trainer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "model/config_json.h"
#include "model/scorer.h"
#include "model/status_macros.h"

#ifndef MOVIEREC_GIT_VERSION
#define MOVIEREC_GIT_VERSION "unknown"
#endif

namespace movierec {
namespace {

// Seeds derived from the run's seed, one per purpose, so that changing one
// use of randomness does not shift the others.
enum class SeedUse : uint64_t { kInit = 1, kValidationSplit, kTraining };

uint64_t DeriveSeed(uint64_t seed, SeedUse use) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(use);
}

// Trains a freshly initialised model on `train` for `training.epochs` epochs.
RetrievalModel FitRetrieval(const RetrievalTraining& training,
                            const MovieLens& catalog,
                            const std::vector<Interaction>& train,
                            const std::vector<Interaction>* validation,
                            uint64_t seed, Progress* progress,
                            RetrievalTrainingResult* result) {
  RetrievalModel model(training.model, catalog);
  Rng init(DeriveSeed(seed, SeedUse::kInit));
  model.InitRandom(init);
  *result =
      TrainRetrieval(training, train, validation,
                     DeriveSeed(seed, SeedUse::kTraining), &model, progress);
  return model;
}

}  // namespace

nlohmann::json MetricsJson(const Evaluation& evaluation) {
  nlohmann::json metrics;
  for (const auto& [k, value] : evaluation.protocol_a) {
    metrics["protocol_a"][absl::StrCat("top_", k)] = value;
  }
  const ListMetrics& b = evaluation.protocol_b;
  metrics["protocol_b"] = {{"recall_at_10", b.recall_at_10},
                           {"ndcg_at_10", b.ndcg_at_10},
                           {"hit_rate_at_10", b.hit_rate_at_10},
                           {"users", b.users}};
  return metrics;
}

Evaluation EvaluateModel(const std::shared_ptr<const Model>& model,
                         const std::vector<Interaction>& test) {
  Evaluation evaluation;
  evaluation.protocol_a =
      EvaluateProtocolA(model->user_vectors, model->movie_vectors, test);
  const Scorer scorer(model);
  evaluation.protocol_b =
      EvaluateProtocolB(model->num_users(), test, [&](int user) {
        std::vector<int32_t> top;
        for (const ScoredMovie& m : scorer.Recommend(user, 10)) {
          top.push_back(m.movie);
        }
        return top;
      });
  return evaluation;
}

absl::StatusOr<TrainOutput> TrainModel(const TrainConfig& config,
                                       const Dataset& dataset,
                                       Progress* progress) {
  MOVIEREC_RETURN_IF_ERROR(ValidateConfig(config));
  if (dataset.train.empty()) {
    return absl::InvalidArgumentError("the training set is empty");
  }
  TrainOutput output;
  RetrievalTraining training = config.retrieval;
  output.tuned_epochs = training.epochs;
  if (training.validation_fraction > 0) {
    // Choose the epoch count on a validation part of train, then retrain on
    // all of train: the test set never informs a choice.
    SplitParts parts = RandomSplit(
        dataset.train, DeriveSeed(config.seed, SeedUse::kValidationSplit),
        training.validation_fraction);
    RetrievalTrainingResult tuning;
    FitRetrieval(training, dataset.catalog, parts.kept, &parts.held_out,
                 config.seed, progress, &tuning);
    output.tuned_epochs = tuning.best_epochs;
    training.epochs = tuning.best_epochs;
  }
  RetrievalModel retrieval =
      FitRetrieval(training, dataset.catalog, dataset.train, nullptr,
                   config.seed, progress, &output.retrieval);

  auto model = std::make_shared<Model>();
  model->catalog = dataset.catalog;
  model->seen = UserMovies(dataset.num_users(), dataset.train);
  model->user_vectors = retrieval.UserVectors(model->seen);
  model->movie_vectors = retrieval.MovieVectors();
  model->popularity = Popularity(dataset.num_movies(), dataset.train);
  model->code_version = MOVIEREC_GIT_VERSION;
  model->config_json = nlohmann::json(config).dump();
  model->retrieval.emplace(std::move(retrieval));
  output.model = model;

  output.evaluation = EvaluateModel(output.model, dataset.test);
  output.metrics = MetricsJson(output.evaluation);
  const RetrievalTrainingResult& r = output.retrieval;
  output.metrics["training"]["retrieval"] = {
      {"epochs", output.tuned_epochs},
      {"seconds", r.seconds},
      {"gflops_per_second", r.seconds > 0 ? r.flops / 1e9 / r.seconds : 0},
  };
  output.metrics["data"] = {{"train_ratings", dataset.train.size()},
                            {"test_ratings", dataset.test.size()}};
  output.metrics["config"] = nlohmann::json(config);
  return output;
}

}  // namespace movierec
