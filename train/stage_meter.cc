#include "train/stage_meter.h"

#include <algorithm>
#include <fstream>
#include <string>

#include "spdlog/spdlog.h"

namespace movierec {
namespace {

// The value of `field` ("VmHWM:") of /proc/self/status in bytes, or 0.
int64_t StatusKilobytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, field.size(), field) == 0) {
      return std::stoll(line.substr(field.size())) * 1024;
    }
  }
  return 0;
}

// Resets VmHWM to the current resident set; false where refused.
bool ResetPeakRss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

double Megabytes(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

}  // namespace

int64_t PeakRssBytes() { return StatusKilobytes("VmHWM:"); }

StageMeter::StageMeter() { Start(); }

void StageMeter::Start() {
  if (per_stage_peaks_ && !ResetPeakRss()) {
    per_stage_peaks_ = false;
    spdlog::info(
        "stage costs: /proc/self/clear_refs refused the peak-memory reset; "
        "each stage reports the peak since the start");
  }
  start_ = std::chrono::steady_clock::now();
}

void StageMeter::End(const std::string& stage) {
  StageCost cost;
  cost.stage = stage;
  cost.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  cost.peak_rss_bytes = PeakRssBytes();
  spdlog::info("stage {}: {:.1f} s, peak resident memory {:.0f} MB", stage,
               cost.seconds, Megabytes(cost.peak_rss_bytes));
  stages_.push_back(cost);
  Start();
}

nlohmann::json StageMeter::Json() const {
  nlohmann::json json;
  json["stages"] = nlohmann::json::array();
  double total = 0;
  int64_t peak = 0;
  for (const StageCost& cost : stages_) {
    json["stages"].push_back({{"stage", cost.stage},
                              {"seconds", cost.seconds},
                              {"peak_rss_mb", Megabytes(cost.peak_rss_bytes)}});
    total += cost.seconds;
    peak = std::max(peak, cost.peak_rss_bytes);
  }
  json["per_stage_peaks"] = per_stage_peaks_;
  json["total_seconds"] = total;
  json["peak_rss_mb"] = Megabytes(peak);
  return json;
}

}  // namespace movierec
