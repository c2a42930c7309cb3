// Wall time and peak resident memory of each stage of a training run, for
// the log and the scale benchmark (tests/bench, "Training at scale").
//
// The peak is the process's high-water mark (VmHWM), reset at the start of
// each stage through /proc/self/clear_refs, so each stage reports its own
// peak. Where the reset is refused, each stage reports the peak since the
// process started (`per_stage_peaks()` is then false).
#ifndef MOVIEREC_TRAIN_STAGE_METER_H_
#define MOVIEREC_TRAIN_STAGE_METER_H_

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace movierec {

struct StageCost {
  std::string stage;
  double seconds = 0;
  int64_t peak_rss_bytes = 0;
};

class StageMeter {
 public:
  // Starts the first stage.
  StageMeter();

  // Ends the running stage as `stage`, logs its cost and starts the next.
  void End(const std::string& stage);

  const std::vector<StageCost>& stages() const { return stages_; }
  bool per_stage_peaks() const { return per_stage_peaks_; }
  // {"stages": [{"stage", "seconds", "peak_rss_mb"}...], "per_stage_peaks",
  //  "total_seconds", "peak_rss_mb"}.
  nlohmann::json Json() const;

 private:
  void Start();

  std::chrono::steady_clock::time_point start_;
  std::vector<StageCost> stages_;
  bool per_stage_peaks_ = true;
};

// The process's peak resident set (VmHWM) in bytes; 0 where
// /proc/self/status cannot be read.
int64_t PeakRssBytes();

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_STAGE_METER_H_
