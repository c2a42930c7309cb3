// Training progress on a stream (stderr): on a terminal, a live bar redrawn
// in place; otherwise plain lines, one per epoch and at most one every
// `line_interval_seconds` within an epoch, so logs stay readable.
//
// Not thread-safe: call from the training thread.
#ifndef MOVIEREC_TRAIN_PROGRESS_H_
#define MOVIEREC_TRAIN_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace movierec {

struct EpochReport {
  int epoch = 0;       // 1-based
  int epochs = 0;      // planned epochs
  double loss = 0;     // mean training loss per example
  double seconds = 0;  // wall time of the epoch
  double examples_per_second = 0;
  double gflops_per_second = 0;
  double validation = -1;  // validation score, or < 0 when not measured
  bool best = false;       // the best validation score so far
};

class Progress {
 public:
  // `out` is usually stderr; `interactive` whether to draw a live bar.
  Progress(std::FILE* out, bool interactive);
  // A Progress for stderr, interactive when stderr is a terminal.
  static Progress ForStderr();
  // Reports nothing.
  static Progress Silent();

  // Starts a stage of `epochs` epochs of `examples` examples each.
  void Begin(const std::string& stage, int epochs, int64_t examples);
  // Within epoch `epoch` (1-based), `done` examples so far with mean loss
  // `loss`.
  void Update(int epoch, int64_t done, double loss);
  void EndEpoch(const EpochReport& report);
  // Ends the stage (finishes the bar's line).
  void End();

 private:
  using Clock = std::chrono::steady_clock;
  double SecondsLeft(int epoch, int64_t done) const;

  std::FILE* out_;
  bool interactive_;
  std::string stage_;
  int epochs_ = 0;
  int64_t examples_ = 0;
  Clock::time_point stage_start_;
  Clock::time_point epoch_start_;
  Clock::time_point last_print_;
  bool bar_open_ = false;
};

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_PROGRESS_H_
