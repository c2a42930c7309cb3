// The epoch loop every trainer shares: shuffle, step through batches,
// report progress, score a validation set after each epoch and stop early
// after `patience` epochs without improvement.
#ifndef MOVIEREC_TRAIN_EPOCH_LOOP_H_
#define MOVIEREC_TRAIN_EPOCH_LOOP_H_

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "train/progress.h"
#include "util/random.h"

namespace movierec {

struct StageTrainingResult {
  std::vector<EpochReport> epochs;
  // With validation: the epoch count that scored best; else all epochs.
  int best_epochs = 0;
  double best_validation = 0;
  // The validation score of what the stage improves on, where there is one
  // (the reranker: the lists in retrieval order); < 0 otherwise.
  double reference_validation = -1;
  double seconds = 0;
  double flops = 0;
};

struct EpochLoopOptions {
  std::string stage;  // progress label
  int epochs = 1;
  int batch_size = 1;
  int patience = 1;
  // Whether a higher validation score is better (NDCG) or lower (RMSE).
  bool higher_is_better = true;
  // Called after each epoch whose validation score is the best so far.
  std::function<void()> on_best;
};

// Runs the loop over `examples`. `step(batch, &flops)` trains on one batch
// and returns its summed loss; `validate()`, when set, scores the model after
// each epoch. Deterministic for a given `rng` state.
template <typename T>
StageTrainingResult RunEpochs(
    const EpochLoopOptions& options, std::vector<T> examples, Rng& rng,
    const std::function<double(absl::Span<const T>, double*)>& step,
    const std::function<double()>& validate, Progress* progress) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  StageTrainingResult result;
  result.best_epochs = options.epochs;
  const auto start = Clock::now();
  const auto total = static_cast<int64_t>(examples.size());
  progress->Begin(options.stage, options.epochs, total);
  int without_gain = 0;
  bool have_best = false;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    Shuffle(examples, rng);
    double loss = 0;
    double flops = 0;
    progress->Update(epoch, 0, 0);
    for (int64_t begin = 0; begin < total; begin += options.batch_size) {
      const int64_t size = std::min<int64_t>(options.batch_size, total - begin);
      loss += step(absl::MakeConstSpan(examples).subspan(begin, size), &flops);
      progress->Update(epoch, begin + size, loss / (begin + size));
    }
    EpochReport report;
    report.epoch = epoch;
    report.epochs = options.epochs;
    report.loss = loss / std::max<int64_t>(total, 1);
    report.seconds = seconds_since(epoch_start);
    report.examples_per_second = total / std::max(report.seconds, 1e-9);
    report.gflops_per_second = flops / 1e9 / std::max(report.seconds, 1e-9);
    result.flops += flops;
    if (validate) {
      report.validation = validate();
      report.best =
          !have_best || (options.higher_is_better
                             ? report.validation > result.best_validation
                             : report.validation < result.best_validation);
      if (report.best) {
        have_best = true;
        result.best_validation = report.validation;
        result.best_epochs = epoch;
        without_gain = 0;
        if (options.on_best) options.on_best();
      } else {
        ++without_gain;
      }
    }
    progress->EndEpoch(report);
    result.epochs.push_back(report);
    if (validate && without_gain >= options.patience) break;
  }
  progress->End();
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_EPOCH_LOOP_H_
