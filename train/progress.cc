#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace movierec {
namespace {

constexpr double kLineIntervalSeconds = 10;

std::string FormatSeconds(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%dh%02dm", s / 3600, s % 3600 / 60);
  } else if (s >= 60) {
    std::snprintf(buffer, sizeof(buffer), "%dm%02ds", s / 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%ds", s);
  }
  return buffer;
}

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

Progress::Progress(std::FILE* out, bool interactive)
    : out_(out), interactive_(interactive) {}

Progress Progress::ForStderr() { return Progress(stderr, isatty(2) == 1); }

Progress Progress::Silent() { return Progress(nullptr, false); }

void Progress::Begin(const std::string& stage, int epochs, int64_t examples) {
  stage_ = stage;
  epochs_ = epochs;
  examples_ = std::max<int64_t>(examples, 1);
  stage_start_ = epoch_start_ = last_print_ = Clock::now();
}

double Progress::SecondsLeft(int epoch, int64_t done) const {
  const double total = static_cast<double>(epochs_) * examples_;
  const double finished = static_cast<double>(epoch - 1) * examples_ + done;
  if (finished <= 0) return 0;
  return Since(stage_start_) * (total - finished) / finished;
}

void Progress::Update(int epoch, int64_t done, double loss) {
  if (out_ == nullptr) return;
  if (epoch != 0 && done == 0) epoch_start_ = Clock::now();
  const double elapsed = Since(epoch_start_);
  const double rate = elapsed > 0 ? done / elapsed : 0;
  if (interactive_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / examples_);
    std::fprintf(out_,
                 "\r%s epoch %d/%d [%-*s] %3d%% loss %.4f %.0f ex/s, %s left ",
                 stage_.c_str(), epoch, epochs_, kWidth,
                 std::string(static_cast<size_t>(filled), '=').c_str(),
                 static_cast<int>(100 * done / examples_), loss, rate,
                 FormatSeconds(SecondsLeft(epoch, done)).c_str());
    std::fflush(out_);
    bar_open_ = true;
  } else if (Since(last_print_) >= kLineIntervalSeconds) {
    std::fprintf(out_,
                 "%s epoch %d/%d: %lld/%lld examples, loss %.4f, %.0f ex/s, "
                 "%s left\n",
                 stage_.c_str(), epoch, epochs_, static_cast<long long>(done),
                 static_cast<long long>(examples_), loss, rate,
                 FormatSeconds(SecondsLeft(epoch, done)).c_str());
    last_print_ = Clock::now();
  }
}

void Progress::EndEpoch(const EpochReport& r) {
  if (out_ == nullptr) return;
  if (bar_open_) std::fputc('\r', out_);
  std::fprintf(out_,
               "%s epoch %d/%d: loss %.4f, %.1fs, %.0f ex/s, %.1f GFLOP/s",
               stage_.c_str(), r.epoch, r.epochs, r.loss, r.seconds,
               r.examples_per_second, r.gflops_per_second);
  if (r.validation >= 0) {
    std::fprintf(out_, ", validation %.4f%s", r.validation,
                 r.best ? " (best)" : "");
  }
  std::fprintf(out_, ", %s left%s\n",
               FormatSeconds(SecondsLeft(r.epoch + 1, 0)).c_str(),
               interactive_ ? "                    " : "");
  std::fflush(out_);
  bar_open_ = false;
  last_print_ = Clock::now();
}

void Progress::End() {
  if (out_ != nullptr && bar_open_) std::fputc('\n', out_);
  bar_open_ = false;
}

}  // namespace movierec
