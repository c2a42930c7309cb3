#include "train/train_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

TrainConfig TfrsPreset() {
  // The TFRS basic-retrieval tutorial: 32-d user and movie id embeddings,
  // in-batch softmax, Adagrad(0.1), batch 8192, 3 epochs.
  TrainConfig config;
  config.preset = "tfrs";
  config.retrieval.model.embedding_dim = 32;
  config.retrieval.softmax = "in_batch";
  config.retrieval.batch_size = 8192;
  config.retrieval.epochs = 3;
  // The TFRS basic-ranking tutorial: 32-d id embeddings, concatenated, Dense
  // 256 ReLU, Dense 64 ReLU, Dense 1; MSE, Adagrad(0.1), batch 8192, 3 epochs.
  // The served list is sorted by predicted rating, as the tutorial does.
  config.rating.model.embedding_dim = 32;
  config.rating.model.mlp = true;
  config.rating.model.hidden = {256, 64};
  config.rating.batch_size = 8192;
  config.rating.epochs = 3;
  return config;
}

TrainConfig DefaultPreset() {
  // Retrieval: a full softmax over the catalogue, a per-movie bias, L2, and
  // feature towers (user: id, demographics, history, and the attributes of
  // data that has them; movie: id, genres, release year). Chosen on the
  // validation part of the seed-42 train split (docs/models.md, "Choosing
  // hyper-parameters").
  TrainConfig config;
  config.preset = "default";
  config.retrieval.model.features = {true, true, true, true, true, true, true};
  config.retrieval.model.embedding_dim = 32;
  config.retrieval.model.movie_bias = true;
  config.retrieval.softmax = "full";
  config.retrieval.batch_size = 1024;
  config.retrieval.epochs = 30;
  config.retrieval.l2 = 0.03f;
  config.retrieval.patience = 3;
  config.retrieval.members = 3;
  config.validation_fraction = 0.1;
  // Rating model: SVD++-like towers with features, biases and a dot product.
  config.rating.model.features = {true, true, true, true, true, true, true};
  config.rating.model.embedding_dim = 32;
  config.rating.model.biases = true;
  config.rating.model.dot = true;
  config.rating.model.mlp = false;
  config.rating.batch_size = 256;
  config.rating.epochs = 60;
  config.rating.optimizer.learning_rate = 0.1f;
  config.rating.l2 = 0.04f;
  config.rating.patience = 3;
  config.reranker.enabled = true;
  return config;
}

absl::Status CheckAdagrad(absl::string_view stage,
                          const AdagradOptions& optimizer) {
  const auto positive = [&](absl::string_view field,
                            float value) -> absl::Status {
    if (value > 0 && std::isfinite(value)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("config field ", stage, ".optimizer.", field, " = ", value,
                     " is invalid: must be a positive number"));
  };
  MOVIEREC_RETURN_IF_ERROR(positive("learning_rate", optimizer.learning_rate));
  MOVIEREC_RETURN_IF_ERROR(
      positive("initial_accumulator", optimizer.initial_accumulator));
  return positive("epsilon", optimizer.epsilon);
}

}  // namespace

std::vector<std::string> PresetNames() { return {"default", "tfrs"}; }

absl::StatusOr<TrainConfig> PresetConfig(absl::string_view name) {
  if (name == "tfrs") return TfrsPreset();
  if (name == "default") return DefaultPreset();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown preset \"", name,
                   "\"; known presets: ", absl::StrJoin(PresetNames(), ", ")));
}

std::vector<std::string> AdaptToScale(const DataScale& scale,
                                      TrainConfig* config) {
  std::vector<std::string> changes;
  if (config->preset != "default") return changes;
  if (scale.movies > kFullSoftmaxMaxMovies &&
      config->retrieval.softmax == "full") {
    // One retrieval member, too: a call's index scan costs in proportion to
    // the served vectors' dimensions, members times embedding_dim.
    config->retrieval.softmax = "sampled";
    config->retrieval.members = 1;
    changes.push_back(absl::StrCat(
        scale.movies, " movies (> ", kFullSoftmaxMaxMovies,
        "): retrieval.softmax = sampled, with ",
        config->retrieval.sampled_negatives,
        " negatives drawn by popularity, instead of a full softmax; "
        "retrieval.members = 1, so that the index scans vectors of ",
        config->retrieval.model.embedding_dim, " dimensions"));
  }
  if (scale.train_interactions > kLargeDataInteractions) {
    // One epoch of 20M interactions takes minutes, and a validation part
    // of 5% is a million of them: a few epochs, the validation fits kept
    // as the final stages, long histories sampled, and the figures over a
    // sample of users.
    config->validation_fraction = 0.05;
    config->refit = false;
    config->evaluation_users = 20'000;
    config->retrieval.epochs = 3;
    config->retrieval.patience = 1;
    config->retrieval.history_sample = 32;
    config->retrieval.members = 1;
    config->rating.epochs = 3;
    config->rating.patience = 1;
    config->rating.history_sample = 32;
    config->rating.batch_size = 1024;
    changes.push_back(absl::StrCat(
        scale.train_interactions, " training interactions (> ",
        kLargeDataInteractions,
        "): validation_fraction = 0.05, refit = false (the validation fits, "
        "at their best epochs, are the final stages), evaluation_users = "
        "20000, at most 3 epochs of retrieval and rating (patience 1), "
        "one retrieval member, rating.batch_size = 1024, history_sample = "
        "32"));
  }
  return changes;
}

namespace {

// InvalidArgument naming a config field, its value and what it must be.
template <typename Value>
absl::Status BadField(absl::string_view field, const Value& value,
                      absl::string_view allowed) {
  return absl::InvalidArgumentError(absl::StrCat(
      "config field ", field, " = ", value, " is invalid: ", allowed));
}

absl::Status CheckHidden(absl::string_view field,
                         const std::vector<int>& hidden) {
  for (const int width : hidden) {
    if (width < 1 || width > 65536) {
      return BadField(field, width, "widths must be in 1-65536");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRetrieval(const RetrievalTraining& r) {
  if (r.model.embedding_dim < 1 || r.model.embedding_dim > 4096) {
    return BadField("retrieval.model.embedding_dim", r.model.embedding_dim,
                    "must be in 1-4096");
  }
  if (!(r.model.init_scale >= 0)) {
    return BadField("retrieval.model.init_scale", r.model.init_scale,
                    "must be >= 0");
  }
  if (!r.model.features.user_id && !r.model.features.user_demographics &&
      !r.model.features.user_history && !r.model.features.user_attributes) {
    return BadField("retrieval.model.features", "{}",
                    "the user tower needs at least one feature");
  }
  if (!r.model.features.movie_id && !r.model.features.movie_genres &&
      !r.model.features.movie_year) {
    return BadField("retrieval.model.features", "{}",
                    "the movie tower needs at least one feature");
  }
  if (r.softmax != "in_batch" && r.softmax != "full" &&
      r.softmax != "sampled") {
    return BadField("retrieval.softmax", r.softmax,
                    "must be in_batch, full or sampled");
  }
  if (r.sampled_negatives < 1) {
    return BadField("retrieval.sampled_negatives", r.sampled_negatives,
                    "must be >= 1");
  }
  if (r.batch_size < 1)
    return BadField("retrieval.batch_size", r.batch_size, ">= 1");
  if (r.epochs < 1)
    return BadField("retrieval.epochs", r.epochs, "must be >= 1");
  MOVIEREC_RETURN_IF_ERROR(CheckAdagrad("retrieval", r.optimizer));
  if (!(r.l2 >= 0)) return BadField("retrieval.l2", r.l2, "must be >= 0");
  if (r.history_sample < 0) {
    return BadField("retrieval.history_sample", r.history_sample,
                    "must be >= 0");
  }
  if (r.members < 1 || r.members > kMaxRetrievalMembers) {
    return BadField("retrieval.members", r.members,
                    absl::StrCat("must be in 1-", kMaxRetrievalMembers));
  }
  if (r.model.embedding_dim * r.members > 4096) {
    return BadField("retrieval.members", r.members,
                    absl::StrCat("the served vectors would have ",
                                 r.model.embedding_dim * r.members,
                                 " dimensions (members * embedding_dim), "
                                 "more than 4096"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRating(const RatingTraining& g) {
  if (!g.enabled) return absl::OkStatus();
  if (g.model.embedding_dim < 1 || g.model.embedding_dim > 4096) {
    return BadField("rating.model.embedding_dim", g.model.embedding_dim,
                    "must be in 1-4096");
  }
  if (!g.model.biases && !g.model.dot && !g.model.mlp) {
    return BadField("rating.model", "{}", "needs biases, dot or mlp");
  }
  MOVIEREC_RETURN_IF_ERROR(CheckHidden("rating.model.hidden", g.model.hidden));
  if (g.batch_size < 1)
    return BadField("rating.batch_size", g.batch_size, ">= 1");
  if (g.epochs < 1) return BadField("rating.epochs", g.epochs, "must be >= 1");
  MOVIEREC_RETURN_IF_ERROR(CheckAdagrad("rating", g.optimizer));
  if (!(g.model.init_scale >= 0)) {
    return BadField("rating.model.init_scale", g.model.init_scale,
                    "must be >= 0");
  }
  if (!(g.l2 >= 0)) return BadField("rating.l2", g.l2, "must be >= 0");
  if (g.patience < 1) return BadField("rating.patience", g.patience, ">= 1");
  if (g.history_sample < 0) {
    return BadField("rating.history_sample", g.history_sample, "must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateLambdaMart(const LambdaMartTraining& m) {
  if (m.trees < 1 || m.trees > 10000) {
    return BadField("reranker.lambdamart.trees", m.trees, "must be in 1-10000");
  }
  if (m.max_depth < 1 || m.max_depth > 16) {
    return BadField("reranker.lambdamart.max_depth", m.max_depth,
                    "must be in 1-16");
  }
  if (!(m.learning_rate > 0 && m.learning_rate <= 1)) {
    return BadField("reranker.lambdamart.learning_rate", m.learning_rate,
                    "must be in (0, 1]");
  }
  if (!(m.min_child_weight >= 0) || !std::isfinite(m.min_child_weight)) {
    return BadField("reranker.lambdamart.min_child_weight", m.min_child_weight,
                    "must be >= 0");
  }
  if (!(m.subsample > 0 && m.subsample <= 1)) {
    return BadField("reranker.lambdamart.subsample", m.subsample,
                    "must be in (0, 1]");
  }
  if (!(m.l2 >= 0) || !std::isfinite(m.l2)) {
    return BadField("reranker.lambdamart.l2", m.l2, "must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateReranker(const RerankerTraining& k,
                              double validation_fraction) {
  // Every model version holds the neighbour table, reranker or not.
  if (k.item_neighbors < 1) {
    return BadField("reranker.item_neighbors", k.item_neighbors,
                    "must be >= 1");
  }
  if (!k.enabled) return absl::OkStatus();
  if (validation_fraction <= 0) {
    return BadField("reranker.enabled", "true",
                    "the reranker trains on the validation part: set "
                    "validation_fraction > 0");
  }
  if (k.list_size < 1)
    return BadField("reranker.list_size", k.list_size, ">= 1");
  if (k.epochs < 1) return BadField("reranker.epochs", k.epochs, ">= 1");
  if (k.folds < 2) return BadField("reranker.folds", k.folds, "must be >= 2");
  if (k.batch_lists < 1) {
    return BadField("reranker.batch_lists", k.batch_lists, "must be >= 1");
  }
  MOVIEREC_RETURN_IF_ERROR(CheckAdagrad("reranker", k.optimizer));
  if (!(k.l2 >= 0)) return BadField("reranker.l2", k.l2, "must be >= 0");
  const SourcesTraining& s = k.sources;
  if (s.item_budget < 0 || s.item_budget > kMaxNumCandidates) {
    return BadField("reranker.sources.item_budget", s.item_budget,
                    absl::StrCat("must be in 0-", kMaxNumCandidates));
  }
  if (s.popular_budget < 0 || s.popular_budget > kMaxNumCandidates) {
    return BadField("reranker.sources.popular_budget", s.popular_budget,
                    absl::StrCat("must be in 0-", kMaxNumCandidates));
  }
  for (const int given : k.visitor_lists) {
    if (given < 1) {
      return BadField("reranker.visitor_lists", given, "each must be >= 1");
    }
  }
  if (s.item_weights < 1) {
    return BadField("reranker.sources.item_weights", s.item_weights,
                    "must be >= 1");
  }
  if (!(s.ease_lambda > 0) || !std::isfinite(s.ease_lambda)) {
    return BadField("reranker.sources.ease_lambda", s.ease_lambda,
                    "must be > 0");
  }
  if (k.model.kind == kLambdaMartReranker) {
    if (!k.model.hidden.empty()) {
      return BadField("reranker.model.hidden", "[...]",
                      "a lambdamart reranker has no hidden layers");
    }
    return ValidateLambdaMart(k.lambdamart);
  }
  if (k.model.kind != kListwiseReranker) {
    return BadField("reranker.model.kind", k.model.kind,
                    "must be \"listwise\" or \"lambdamart\"");
  }
  return CheckHidden("reranker.model.hidden", k.model.hidden);
}

}  // namespace

absl::Status ValidateConfig(const TrainConfig& config) {
  if (config.threads < 0 || config.threads > 1024) {
    return BadField("threads", config.threads, "must be in 0-1024");
  }
  MOVIEREC_RETURN_IF_ERROR(ValidateRetrieval(config.retrieval));
  if (!(config.validation_fraction >= 0 && config.validation_fraction < 1)) {
    return BadField("validation_fraction", config.validation_fraction,
                    "must be in [0, 1)");
  }
  if (config.evaluation_users < 0) {
    return BadField("evaluation_users", config.evaluation_users,
                    "must be >= 0");
  }
  if (!config.refit && config.validation_fraction <= 0) {
    return BadField("refit", "false",
                    "the final stages are then the validation fits: set "
                    "validation_fraction > 0");
  }
  if (config.retrieval.patience < 1) {
    return BadField("retrieval.patience", config.retrieval.patience, ">= 1");
  }
  MOVIEREC_RETURN_IF_ERROR(ValidateRating(config.rating));
  MOVIEREC_RETURN_IF_ERROR(
      ValidateReranker(config.reranker, config.validation_fraction));
  if (config.retrieval.block_rows < 1) {
    return BadField("retrieval.block_rows", config.retrieval.block_rows,
                    "must be >= 1");
  }
  return absl::OkStatus();
}

}  // namespace movierec
