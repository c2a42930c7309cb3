// The configuration of a training run, and the named presets.
//
//   tfrs     the faithful replica of the TFRS basic-retrieval tutorial;
//   default  the configuration movierec ships (see README, "Model quality").
#ifndef MOVIEREC_MODEL_TRAIN_CONFIG_H_
#define MOVIEREC_MODEL_TRAIN_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/embedding_table.h"
#include "model/retrieval_model.h"

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
  // Early stopping: with validation_fraction > 0, that part of train is held
  // out, training stops after `patience` epochs without a better validation
  // score, and the best epoch's weights are kept.
  double validation_fraction = 0;
  int patience = 2;
  int block_rows = 128;  // see SoftmaxOptions
};

struct TrainConfig {
  std::string preset = "default";
  uint64_t seed = 42;
  // OpenMP threads for training; 0 means one per core.
  int threads = 0;
  RetrievalTraining retrieval;
};

// The configuration of preset `name`: "tfrs" or "default".
absl::StatusOr<TrainConfig> PresetConfig(absl::string_view name);

// Names of the presets PresetConfig knows.
std::vector<std::string> PresetNames();

// Checks every field's range; InvalidArgument names the first bad one.
absl::Status ValidateConfig(const TrainConfig& config);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_TRAIN_CONFIG_H_
