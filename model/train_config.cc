#include "model/train_config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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
  return config;
}

TrainConfig DefaultPreset() {
  // A full softmax over the catalogue, a per-movie bias and L2.
  TrainConfig config;
  config.preset = "default";
  config.retrieval.model.embedding_dim = 64;
  config.retrieval.model.movie_bias = true;
  config.retrieval.softmax = "full";
  config.retrieval.batch_size = 1024;
  config.retrieval.epochs = 30;
  config.retrieval.l2 = 1e-3f;
  config.retrieval.validation_fraction = 0.1;
  config.retrieval.patience = 3;
  return config;
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

absl::Status ValidateConfig(const TrainConfig& config) {
  const RetrievalTraining& r = config.retrieval;
  const auto bad = [](absl::string_view field, auto value,
                      absl::string_view allowed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config field ", field, " = ", value, " is invalid: ", allowed));
  };
  if (config.threads < 0 || config.threads > 1024) {
    return bad("threads", config.threads, "must be in 0-1024");
  }
  if (r.model.embedding_dim < 1 || r.model.embedding_dim > 4096) {
    return bad("retrieval.model.embedding_dim", r.model.embedding_dim,
               "must be in 1-4096");
  }
  if (!(r.model.init_scale >= 0)) {
    return bad("retrieval.model.init_scale", r.model.init_scale,
               "must be >= 0");
  }
  if (!r.model.features.user_id && !r.model.features.user_demographics &&
      !r.model.features.user_history) {
    return bad("retrieval.model.features", "{}",
               "the user tower needs at least one feature");
  }
  if (!r.model.features.movie_id && !r.model.features.movie_genres &&
      !r.model.features.movie_year) {
    return bad("retrieval.model.features", "{}",
               "the movie tower needs at least one feature");
  }
  if (r.softmax != "in_batch" && r.softmax != "full" &&
      r.softmax != "sampled") {
    return bad("retrieval.softmax", r.softmax,
               "must be in_batch, full or sampled");
  }
  if (r.sampled_negatives < 1) {
    return bad("retrieval.sampled_negatives", r.sampled_negatives,
               "must be >= 1");
  }
  if (r.batch_size < 1)
    return bad("retrieval.batch_size", r.batch_size, ">= 1");
  if (r.epochs < 1) return bad("retrieval.epochs", r.epochs, "must be >= 1");
  if (!(r.optimizer.learning_rate > 0)) {
    return bad("retrieval.optimizer.learning_rate", r.optimizer.learning_rate,
               "must be > 0");
  }
  if (!(r.optimizer.initial_accumulator > 0)) {
    return bad("retrieval.optimizer.initial_accumulator",
               r.optimizer.initial_accumulator, "must be > 0");
  }
  if (!(r.l2 >= 0)) return bad("retrieval.l2", r.l2, "must be >= 0");
  if (!(r.validation_fraction >= 0 && r.validation_fraction < 1)) {
    return bad("retrieval.validation_fraction", r.validation_fraction,
               "must be in [0, 1)");
  }
  if (r.patience < 1) return bad("retrieval.patience", r.patience, ">= 1");
  if (r.block_rows < 1) {
    return bad("retrieval.block_rows", r.block_rows, "must be >= 1");
  }
  return absl::OkStatus();
}

}  // namespace movierec
