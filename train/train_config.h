// The configuration of a training run, and the named presets.
//
//   tfrs     the faithful replica of the TFRS basic-retrieval tutorial;
//   default  the configuration movierec ships (see docs/models.md, "Quality").
#ifndef MOVIEREC_TRAIN_TRAIN_CONFIG_H_
#define MOVIEREC_TRAIN_TRAIN_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/adagrad.h"
#include "model/rating_model.h"
#include "model/reranker.h"
#include "model/retrieval_model.h"
#include "model/scorer.h"

namespace movierec {

struct RetrievalTraining {
  RetrievalConfig model;
  // "in_batch": the batch's own movies are the candidates (TFRS);
  // "full": every catalogue movie is a candidate;
  // "sampled": the batch's movies plus `sampled_negatives` movies drawn by
  //            popularity, with the log-Q correction.
  std::string softmax = "in_batch";
  int sampled_negatives = 1024;
  int batch_size = 8192;
  int epochs = 3;
  AdagradOptions optimizer;
  float l2 = 0;  // L2 penalty per bag entry and example
  // With a validation part (TrainConfig::validation_fraction), training
  // stops after `patience` epochs without a better validation NDCG@10.
  int patience = 2;
  int block_rows = 128;  // see SoftmaxOptions
  // > 0: each example's user bag holds at most this many of the user's
  // history movies, drawn at random (Featurizer::SampledUserBag); the
  // towers still encode the whole history when serving. 0: all of it.
  int history_sample = 0;
  // How many independently seeded models are trained and served as one:
  // their towers side by side, so that a pair's score is the sum of the
  // members' scores (RetrievalModel::Concatenate). 1: a single model.
  int members = 1;
};

// The rating model: mean squared error on the star rating.
struct RatingTraining {
  bool enabled = true;
  RatingConfig model;
  int batch_size = 8192;
  int epochs = 3;
  AdagradOptions optimizer;
  float l2 = 0;            // per bag entry and example, and on the MLP kernels
  int patience = 2;        // epochs without a better validation RMSE
  int history_sample = 0;  // as RetrievalTraining::history_sample
};

// The candidate sources merged with retrieval's for the reranker
// (model/scorer.h), saved in the version. A source adds at most its budget
// of candidates; its features are there whether or not it adds any.
struct SourcesTraining {
  // Item-to-item: EASE^R (model/ease.h) up to kMaxEaseMovies movies, above
  // that co-occurrence neighbours (model/item_neighbors.h).
  bool item = true;
  int item_budget = 50;
  int item_weights = 100;   // weights kept per movie
  float ease_lambda = 500;  // EASE^R's L2 penalty
  // Popularity: the most-rated movies the user has not seen.
  bool popular = true;
  int popular_budget = 10;
};

// The lambdamart reranker's boosting (XGBoost's parameters of the same
// names in brackets; train/lambdamart.h).
struct LambdaMartTraining {
  // Chosen on validation (docs/models.md, "The reranker's model"): the
  // best of five settings; deeper trees fit the lists' noise.
  int trees = 300;              // at most [num_boost_round]
  int max_depth = 3;            // [max_depth]
  float learning_rate = 0.05f;  // [eta]
  float min_child_weight = 5;   // [min_child_weight]
  float subsample = 0.8f;       // rows per tree [subsample]
  float l2 = 1;                 // on leaf values [lambda]
};

// The reranker, trained on the candidate lists of the validation part (so
// it needs validation_fraction > 0): listwise (model.kind "listwise") or
// by LambdaMART ("lambdamart").
struct RerankerTraining {
  bool enabled = false;
  RerankerConfig model;
  int list_size = 100;  // candidates per user, as the server retrieves
  // The listwise kind's optimisation.
  int epochs = 40;       // at most
  int batch_lists = 32;  // lists per optimiser step
  AdagradOptions optimizer = {0.1f, 0.1f, 1e-7f};
  float l2 = 0;
  LambdaMartTraining lambdamart;
  // Positives weigh their star rating instead of 1.
  bool rating_weighted = false;
  // The epoch count is chosen by cross-validation over this many folds of
  // the lists' users.
  int folds = 4;
  // Co-occurrence neighbours kept per movie for the item-affinity features
  // (model/item_neighbors.h), saved in the version; chosen on validation
  // (docs/models.md, "Item neighbours").
  int item_neighbors = Scorer::kItemNeighbors;
  SourcesTraining sources;
  // Besides each validation user's list, one per K here as a visitor who
  // gives their K most recent movies (the server's recent_movie_ids
  // requests), so that the reranker learns how features weaken with a short
  // history.
  std::vector<int> visitor_lists;
};

struct TrainConfig {
  std::string preset = "default";
  uint64_t seed = 42;
  // OpenMP threads for training; 0 means one per core.
  int threads = 0;
  // With validation_fraction > 0, that part of train is held out to choose
  // epoch counts (early stopping) and to train the reranker; every stage is
  // then retrained on all of train for its chosen epochs.
  double validation_fraction = 0;
  // With a validation part: whether every stage is retrained on all of train
  // for its chosen epochs (true), or the validation fits, each at its best
  // epoch, are the final stages (false: half the training, at the price of
  // the validation part's interactions, for data where that part is large).
  bool refit = true;
  // > 0: the test and validation figures are computed over a seeded sample
  // of this many of their users (and the reranker's lists drawn from as
  // many validation users); 0: over all of them.
  int evaluation_users = 0;
  RetrievalTraining retrieval;
  RatingTraining rating;
  RerankerTraining reranker;
};

// The configuration of preset `name`: "tfrs" or "default".
absl::StatusOr<TrainConfig> PresetConfig(absl::string_view name);

// The size of the data a run trains on.
struct DataScale {
  int64_t train_interactions = 0;
  int movies = 0;
};

// The most retrieval members (RetrievalTraining::members) a config may ask
// for.
inline constexpr int kMaxRetrievalMembers = 16;

// Above this many movies the default preset's retrieval samples its
// softmax's negatives: a full softmax costs each example the whole catalogue.
inline constexpr int kFullSoftmaxMaxMovies = 10'000;
// Above this many training interactions the default preset trains for data
// where one epoch is most of the budget (docs/models.md, "At scale").
inline constexpr int64_t kLargeDataInteractions = 5'000'000;

// The default preset adapted to the data's scale: the changes it made, each
// a line for the log (none for other presets or small data). Applied before
// --config, which can undo any of them.
std::vector<std::string> AdaptToScale(const DataScale& scale,
                                      TrainConfig* config);

// Names of the presets PresetConfig knows.
std::vector<std::string> PresetNames();

// Checks every field's range; InvalidArgument names the first bad one.
absl::Status ValidateConfig(const TrainConfig& config);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_TRAIN_CONFIG_H_
