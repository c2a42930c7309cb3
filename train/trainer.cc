#include "train/trainer.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "model/ease.h"
#include "model/scorer.h"
#include "train/config_json.h"
#include "train/lambdamart.h"
#include "train/quality_gate.h"
#include "train/ranking_trainer.h"
#include "train/retrieval_trainer.h"
#include "util/status_macros.h"
#include "util/version.h"

namespace movierec {
namespace {

// Seeds derived from the run's seed, one per purpose, so that changing one
// use of randomness does not shift the others.
enum class SeedUse : uint64_t {
  kRetrievalInit = 1,
  kRetrievalTraining,
  kValidationSplit,
  kRatingInit,
  kRatingTraining,
  kRerankerInit,
  kRerankerTraining,
  kEvaluationSample,
  kRetrievalMember,
};

uint64_t DeriveSeed(uint64_t seed, SeedUse use) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(use);
}

RetrievalModel FitRetrieval(const RetrievalTraining& training,
                            const MovieLens& catalog,
                            const std::vector<Interaction>& train,
                            const std::vector<Interaction>* validation,
                            uint64_t seed, Progress* progress,
                            StageTrainingResult* result,
                            bool restore_best = false) {
  std::vector<RetrievalModel> members;
  for (int member = 0; member < training.members; ++member) {
    // The first member is seeded as a single model is.
    const uint64_t member_seed =
        member == 0 ? seed
                    : DeriveSeed(seed, SeedUse::kRetrievalMember) + member;
    RetrievalModel model(training.model, catalog);
    Rng init(DeriveSeed(member_seed, SeedUse::kRetrievalInit));
    model.InitRandom(init);
    const StageTrainingResult trained =
        TrainRetrieval(training, train, validation,
                       DeriveSeed(member_seed, SeedUse::kRetrievalTraining),
                       &model, progress, restore_best);
    // The first member's curve and epoch count stand for the stage's (the
    // others train as many epochs in a refit); the stage's time and FLOPs
    // are all the members'.
    if (member == 0) {
      *result = trained;
    } else {
      result->seconds += trained.seconds;
      result->flops += trained.flops;
    }
    members.push_back(std::move(model));
  }
  if (members.size() == 1) return std::move(members[0]);
  // The members share training.model: concatenating them cannot fail.
  return *RetrievalModel::Concatenate(members, catalog);
}

RatingModel FitRating(const RatingTraining& training, const MovieLens& catalog,
                      const std::vector<Interaction>& train,
                      const std::vector<Interaction>* validation, uint64_t seed,
                      Progress* progress, StageTrainingResult* result,
                      bool restore_best = false) {
  RatingModel model(training.model, catalog);
  Rng init(DeriveSeed(seed, SeedUse::kRatingInit));
  model.InitRandom(init);
  *result = TrainRating(training, train, validation,
                        DeriveSeed(seed, SeedUse::kRatingTraining), &model,
                        progress, restore_best);
  return model;
}

// `interactions` itself, or with max_users > 0 and more users than that,
// the interactions of max_users of its users drawn with `seed`, kept in
// *sample.
const std::vector<Interaction>& OfSampledUsers(
    const std::vector<Interaction>& interactions, int max_users, uint64_t seed,
    std::vector<Interaction>* sample) {
  if (max_users <= 0) return interactions;
  std::vector<int32_t> users;
  for (const Interaction& x : interactions) users.push_back(x.user);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  if (users.size() <= static_cast<size_t>(max_users)) return interactions;
  Rng rng(seed);
  Shuffle(users, rng);
  users.resize(static_cast<size_t>(max_users));
  const absl::flat_hash_set<int32_t> kept(users.begin(), users.end());
  sample->clear();
  for (const Interaction& x : interactions) {
    if (kept.contains(x.user)) sample->push_back(x);
  }
  return *sample;
}

// Ends `meter`'s running stage as `stage`, if there is a meter.
void EndStage(StageMeter* meter, const std::string& stage) {
  if (meter != nullptr) meter->End(stage);
}

}  // namespace

CandidateSources BuildSources(const SourcesTraining& config,
                              const UserMovies& seen, int num_movies) {
  CandidateSources sources;
  if (config.item) {
    if (num_movies <= kMaxEaseMovies) {
      sources.item_kind = "ease";
      sources.item_table = EaseNeighbors(seen, num_movies, config.ease_lambda,
                                         config.item_weights);
    } else {
      // As EASE^R's weights: of each movie j, its k closest movies, kept by
      // the movie they point to. (Build's lists are each movie's own k,
      // and a popular movie is among the k of most of the catalogue: read
      // by target, each of its ratings cost a call thousands of additions;
      // docs/models.md, "Candidate sources".)
      sources.item_kind = "cooccurrence";
      sources.item_table =
          ItemNeighbors::Build(seen, num_movies, config.item_weights)
              .Transposed();
    }
    sources.item_budget = config.item_budget;
  }
  if (config.popular) sources.popular_budget = config.popular_budget;
  return sources;
}

namespace {

// A model of the given stages, with `train` as every user's seen movies;
// with a ranking stage (`ranking` enabled), the candidate sources it asks
// for.
std::shared_ptr<Model> Assemble(const MovieLens& catalog,
                                const std::vector<Interaction>& train,
                                RetrievalModel retrieval,
                                std::optional<RatingModel> rating,
                                std::optional<Reranker> reranker,
                                const RerankerTraining& ranking) {
  auto model = std::make_shared<Model>();
  model->catalog = catalog;
  model->seen = UserMovies(static_cast<int>(catalog.users.size()), train);
  model->popularity =
      Popularity(static_cast<int>(catalog.movies.size()), train);
  model->user_vectors = retrieval.UserVectors(model->seen);
  model->movie_vectors = retrieval.MovieVectors(model->popularity);
  model->code_version = CodeVersion();
  model->retrieval.emplace(std::move(retrieval));
  model->rating = std::move(rating);
  model->reranker = std::move(reranker);
  model->item_neighbors = ItemNeighbors::Build(model->seen, model->num_movies(),
                                               ranking.item_neighbors);
  if (ranking.enabled) {
    model->sources =
        BuildSources(ranking.sources, model->seen, model->num_movies());
  }
  return model;
}

nlohmann::json ListJson(const ListMetrics& m) {
  return {{"recall_at_10", m.recall_at_10},
          {"ndcg_at_10", m.ndcg_at_10},
          {"hit_rate_at_10", m.hit_rate_at_10},
          {"users", m.users}};
}

nlohmann::json StageJson(const StageTrainingResult& r) {
  nlohmann::json json = {
      {"epochs", r.epochs.size()},
      {"seconds", r.seconds},
      {"gflops_per_second", r.seconds > 0 ? r.flops / 1e9 / r.seconds : 0}};
  if (!r.epochs.empty()) json["final_loss"] = r.epochs.back().loss;
  if (r.best_validation > 0) json["best_validation"] = r.best_validation;
  if (r.reference_validation >= 0) {
    json["reference_validation"] = r.reference_validation;
  }
  return json;
}

}  // namespace

nlohmann::json MetricsJson(const Evaluation& evaluation) {
  nlohmann::json metrics;
  for (const auto& [k, value] : evaluation.protocol_a) {
    metrics["protocol_a"][absl::StrCat("top_", k)] = value;
  }
  metrics["protocol_b"] = ListJson(evaluation.protocol_b);
  if (evaluation.pipeline) metrics["pipeline"] = ListJson(*evaluation.pipeline);
  if (evaluation.rmse) metrics["ranking"]["rmse"] = *evaluation.rmse;
  if (evaluation.ease) metrics["ease"] = ListJson(*evaluation.ease);
  if (const auto& cold = evaluation.cold_users) {
    nlohmann::json& json = metrics["cold_users"];
    json["test_interactions"] = cold->test_interactions;
    json["retrieval"] = ListJson(cold->retrieval);
    if (cold->pipeline) json["pipeline"] = ListJson(*cold->pipeline);
    json["popular"] = ListJson(cold->popular);
  }
  for (const VisitorEvaluation& v : evaluation.visitors) {
    nlohmann::json& json = metrics["visitor"][absl::StrCat("k", v.k)];
    json["served"] = ListJson(v.served);
    if (v.ease.users > 0) json["ease"] = ListJson(v.ease);
    json["visitors_with_fewer_movies"] = v.fewer_than_k;
  }
  return metrics;
}

nlohmann::json SplitJson(const Dataset& dataset, double validation_fraction) {
  const SplitSpec& spec = dataset.split;
  const SplitSummary summary = SummarizeSplit(dataset);
  nlohmann::json json = {
      {"kind", spec.Name()},
      {"train", summary.train},
      {"test", summary.test},
      {"test_users", summary.test_users},
      {"cold_users", summary.cold_users},
      {"cold_user_test_interactions", summary.cold_user_test_interactions},
      {"test_movies", summary.test_movies},
      {"cold_movies", summary.cold_movies},
      {"cold_movie_test_interactions", summary.cold_movie_test_interactions}};
  switch (spec.kind) {
    case SplitSpec::Kind::kRandom:
      json["test_fraction"] = spec.holdout_fraction;
      break;
    case SplitSpec::Kind::kTemporal:
      json["test_fraction"] = spec.holdout_fraction;
      json["cut_timestamp"] = summary.cut_timestamp;
      break;
    case SplitSpec::Kind::kLeaveLastN:
      json["n"] = spec.last_n;
      json["users_held_out"] = summary.users_held_out;
      json["users_all_in_train"] = summary.users_all_in_train;
      break;
    case SplitSpec::Kind::kExplicit:
      break;
  }
  if (validation_fraction > 0) {
    const SplitSpec validation = ValidationSplitOf(spec, validation_fraction);
    json["validation"] = {{"kind", validation.Name()}};
    if (validation.kind != SplitSpec::Kind::kLeaveLastN) {
      json["validation"]["fraction"] = validation_fraction;
    }
  }
  return json;
}

std::shared_ptr<const Model> PopularityModel(
    const MovieLens& catalog, const std::vector<Interaction>& train) {
  auto model = std::make_shared<Model>();
  model->catalog = catalog;
  model->seen = UserMovies(static_cast<int>(catalog.users.size()), train);
  model->popularity =
      Popularity(static_cast<int>(catalog.movies.size()), train);
  model->user_vectors = RowMatrix::Ones(model->num_users(), 1);
  model->movie_vectors.resize(model->num_movies(), 1);
  for (int m = 0; m < model->num_movies(); ++m) {
    model->movie_vectors(m, 0) = static_cast<float>(model->popularity[m]);
  }
  model->code_version = CodeVersion();
  model->config_json = R"({"preset": "popularity"})";
  return model;
}

std::shared_ptr<const Model> EaseModel(const MovieLens& catalog,
                                       const std::vector<Interaction>& train,
                                       float lambda) {
  auto model = std::const_pointer_cast<Model>(PopularityModel(catalog, train));
  const int users = model->num_users();
  const int movies = model->num_movies();
  RowMatrix x = RowMatrix::Zero(users, movies);
  for (int u = 0; u < users; ++u) {
    for (const int32_t m : model->seen.Of(u)) x(u, m) = 1;
  }
  model->user_vectors = std::move(x);
  // Row m of movie_vectors is column m of B.
  model->movie_vectors = EaseWeights(model->seen, movies, lambda).transpose();
  model->config_json =
      absl::StrCat(R"({"preset": "ease", "lambda": )", lambda, "}");
  return model;
}

Evaluation EvaluateModel(const std::shared_ptr<const Model>& model,
                         const std::vector<Interaction>& test,
                         int num_candidates) {
  Evaluation evaluation;
  evaluation.protocol_a =
      EvaluateProtocolA(model->user_vectors, model->movie_vectors, test);
  ScorerOptions options;
  options.num_candidates = num_candidates;
  const Scorer scorer(model, options);
  const auto rows = [](const std::vector<ScoredMovie>& movies) {
    std::vector<int32_t> top;
    for (const ScoredMovie& m : movies) top.push_back(m.movie);
    return top;
  };
  evaluation.protocol_b = EvaluateProtocolB(
      model->num_users(), test,
      [&](int user) { return rows(scorer.Retrieve(user, 10)); });
  if (scorer.ranks()) {
    evaluation.pipeline = EvaluateProtocolB(
        model->num_users(), test,
        [&](int user) { return rows(scorer.Recommend(user, 10)); });
  }
  if (model->rating) {
    evaluation.rmse = RatingRmse(*model->rating, model->seen, test);
  }
  std::vector<Interaction> cold_test;
  for (const Interaction& x : test) {
    if (model->seen.Of(x.user).empty()) cold_test.push_back(x);
  }
  if (!cold_test.empty()) {
    ColdUserEvaluation& cold = evaluation.cold_users.emplace();
    cold.test_interactions = static_cast<int64_t>(cold_test.size());
    cold.retrieval = EvaluateProtocolB(
        model->num_users(), cold_test,
        [&](int user) { return rows(scorer.Retrieve(user, 10)); });
    if (scorer.ranks()) {
      cold.pipeline = EvaluateProtocolB(
          model->num_users(), cold_test,
          [&](int user) { return rows(scorer.Recommend(user, 10)); });
    }
    cold.popular = EvaluateProtocolB(model->num_users(), cold_test, [&](int) {
      return rows(scorer.Popular(10, {}));
    });
  }
  return evaluation;
}

namespace {

// What training on a validation part of train decides: each stage's epoch
// count, and the reranker, trained on candidate lists of models that never
// saw the validation part. The test set never informs a choice.
struct Tuned {
  RetrievalTraining retrieval;
  RatingTraining rating;
  std::optional<Reranker> reranker;
  // Without config.refit: the validation fits, the final stages.
  std::optional<RetrievalModel> retrieval_model;
  std::optional<RatingModel> rating_model;
};

absl::StatusOr<Tuned> TuneOnValidation(const TrainConfig& config,
                                       const Dataset& dataset,
                                       Progress* progress, StageMeter* meter,
                                       TrainOutput* output) {
  Tuned tuned{config.retrieval, config.rating, std::nullopt, std::nullopt,
              std::nullopt};
  const MovieLens& catalog = dataset.catalog;
  // The validation part is held out as the test part was (a temporal split's
  // validation is the latest part of train), so choices face the same kind
  // of held-out data.
  const SplitParts parts =
      SplitBy(dataset.train,
              ValidationSplitOf(dataset.split, config.validation_fraction),
              DeriveSeed(config.seed, SeedUse::kValidationSplit));
  std::vector<Interaction> sample;
  const std::vector<Interaction>& held_out = OfSampledUsers(
      parts.held_out, config.evaluation_users,
      DeriveSeed(config.seed, SeedUse::kEvaluationSample), &sample);
  StageTrainingResult tuning;
  RetrievalModel fit_retrieval =
      FitRetrieval(tuned.retrieval, catalog, parts.kept, &held_out, config.seed,
                   progress, &tuning, !config.refit);
  tuned.retrieval.epochs = tuning.best_epochs;
  if (!config.refit) {
    tuned.retrieval_model = fit_retrieval;
    output->stages["retrieval"] = tuning;
  }
  EndStage(meter, "retrieval, validation fit");
  std::optional<RatingModel> fit_rating;
  if (tuned.rating.enabled) {
    fit_rating = FitRating(tuned.rating, catalog, parts.kept, &held_out,
                           config.seed, progress, &tuning, !config.refit);
    tuned.rating.epochs = tuning.best_epochs;
    if (!config.refit) {
      tuned.rating_model = *fit_rating;
      output->stages["rating"] = tuning;
    }
    EndStage(meter, "rating, validation fit");
  }
  if (!config.reranker.enabled) return tuned;
  ScorerOptions options;
  options.num_candidates = config.reranker.list_size;
  const Scorer fit_scorer(
      Assemble(catalog, parts.kept, std::move(fit_retrieval),
               std::move(fit_rating), std::nullopt, config.reranker),
      options);
  std::vector<RerankList> lists =
      BuildRerankLists(fit_scorer, held_out, config.reranker.list_size,
                       config.reranker.rating_weighted);
  for (const int k : config.reranker.visitor_lists) {
    std::vector<RerankList> visitors = BuildVisitorRerankLists(
        fit_scorer, held_out,
        RecentMovies(fit_scorer.model().num_users(), parts.kept, k),
        config.reranker.list_size, config.reranker.rating_weighted);
    lists.insert(lists.end(), std::make_move_iterator(visitors.begin()),
                 std::make_move_iterator(visitors.end()));
  }
  EndStage(meter, "reranker lists");
  tuned.reranker.emplace(config.reranker.model);
  const uint64_t seed = DeriveSeed(config.seed, SeedUse::kRerankerTraining);
  if (tuned.reranker->is_trees()) {
    MOVIEREC_ASSIGN_OR_RETURN(output->stages["reranker"],
                              TrainLambdaMart(config.reranker, lists, seed,
                                              &*tuned.reranker, progress));
  } else {
    Rng init(DeriveSeed(config.seed, SeedUse::kRerankerInit));
    tuned.reranker->InitRandom(init);
    output->stages["reranker"] =
        TrainReranker(config.reranker, lists, seed, &*tuned.reranker, progress);
  }
  EndStage(meter, "reranker training");
  return tuned;
}

// EASE^R fitted to dataset.train, and the visitors' figures of `model`, on
// `test`: protocol B of EASE^R's lists into evaluation->ease, and the
// visitors through the served pipeline and through EASE^R into
// evaluation->visitors.
void EvaluateAgainstEase(const std::shared_ptr<const Model>& model,
                         const Dataset& dataset,
                         const std::vector<Interaction>& test,
                         const TrainConfig& config, Evaluation* evaluation) {
  if (test.empty()) return;
  ScorerOptions options;
  options.num_candidates = config.reranker.list_size;
  const Scorer served(model, options);
  std::optional<Scorer> ease;
  if (model->num_movies() <= kMaxEaseMovies) {
    ease.emplace(EaseModel(dataset.catalog, dataset.train, kVisitorEaseLambda));
    evaluation->ease = EvaluateProtocolB(model->num_users(), test, [&](int u) {
      std::vector<int32_t> top;
      for (const ScoredMovie& m : ease->Retrieve(u, 10)) top.push_back(m.movie);
      return top;
    });
  }
  evaluation->visitors =
      EvaluateVisitors(served, ease ? &*ease : nullptr, dataset.train, test);
}

// metrics.json: the evaluation, each stage's training curve, the data's
// size and fingerprint (what the quality gate compares), the config and the
// code version.
nlohmann::json MetricsOf(const TrainOutput& output, const TrainConfig& config,
                         const Dataset& dataset) {
  nlohmann::json metrics = MetricsJson(output.evaluation);
  for (const auto& [stage, result] : output.stages) {
    metrics["training"][stage] = StageJson(result);
  }
  metrics["data"] = {{"train_ratings", dataset.train.size()},
                     {"test_ratings", dataset.test.size()},
                     {"fingerprint", EvaluationDataFingerprint(dataset)}};
  metrics["split"] = SplitJson(dataset, config.validation_fraction);
  metrics["config"] = nlohmann::json(config);
  metrics["code_version"] = CodeVersion();
  return metrics;
}

}  // namespace

absl::StatusOr<TrainOutput> TrainModel(const TrainConfig& config,
                                       const Dataset& dataset,
                                       Progress* progress, StageMeter* meter) {
  MOVIEREC_RETURN_IF_ERROR(ValidateConfig(config));
  if (dataset.train.empty()) {
    return absl::InvalidArgumentError("the training set is empty");
  }
  TrainOutput output;
  Tuned tuned{config.retrieval, config.rating, std::nullopt, std::nullopt,
              std::nullopt};
  if (config.validation_fraction > 0) {
    MOVIEREC_ASSIGN_OR_RETURN(
        tuned, TuneOnValidation(config, dataset, progress, meter, &output));
  }
  // Every stage refit on all of train for its chosen epochs, unless the
  // validation fits are final (config.refit).
  const MovieLens& catalog = dataset.catalog;
  std::optional<RetrievalModel> retrieval = std::move(tuned.retrieval_model);
  if (!retrieval) {
    retrieval =
        FitRetrieval(tuned.retrieval, catalog, dataset.train, nullptr,
                     config.seed, progress, &output.stages["retrieval"]);
    EndStage(meter, "retrieval, refit");
  }
  std::optional<RatingModel> rating = std::move(tuned.rating_model);
  if (tuned.rating.enabled && !rating) {
    rating = FitRating(tuned.rating, catalog, dataset.train, nullptr,
                       config.seed, progress, &output.stages["rating"]);
    EndStage(meter, "rating, refit");
  }
  std::shared_ptr<Model> model =
      Assemble(catalog, dataset.train, std::move(*retrieval), std::move(rating),
               std::move(tuned.reranker), config.reranker);
  model->config_json = nlohmann::json(config).dump();
  output.model = model;
  EndStage(meter, "assemble");
  std::vector<Interaction> sample;
  const std::vector<Interaction>& test = OfSampledUsers(
      dataset.test, config.evaluation_users,
      DeriveSeed(config.seed, SeedUse::kEvaluationSample), &sample);
  output.evaluation =
      EvaluateModel(output.model, test, config.reranker.list_size);
  EndStage(meter, "evaluation");
  EvaluateAgainstEase(output.model, dataset, test, config, &output.evaluation);
  EndStage(meter, "visitor evaluation");
  output.metrics = MetricsOf(output, config, dataset);
  return output;
}

}  // namespace movierec
