#include "client/loadgen.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/adaptive_throttle.h"
#include "nlohmann/json.hpp"
#include "util/status_macros.h"

namespace movierec::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxConcurrency = 100000;
constexpr double kMaxRate = 1e7;
// A completion that starts the next call runs that call's IssueCall; if that
// call ends inline (a fast failure), its completion would start the next,
// and so on down the stack. Past this depth the next call is handed to the
// engine's thread instead.
constexpr int kMaxInlineDepth = 8;

thread_local int inline_depth = 0;

double Milliseconds(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// What one run shares between the engine's thread and the completions.
class Run {
 public:
  Run(const LoadOptions& options, const IssueCall& issue)
      : options_(options),
        issue_(issue),
        start_(Clock::now()),
        measure_from_(start_ + absl::ToChronoNanoseconds(options.warmup)),
        end_(measure_from_ + absl::ToChronoNanoseconds(options.duration)),
        max_lag_(options.max_send_lag == absl::InfiniteDuration()
                     ? Clock::duration::max()
                     : std::chrono::duration_cast<Clock::duration>(
                           absl::ToChronoNanoseconds(options.max_send_lag))) {}

  LoadResult Closed() {
    for (int i = 0; i < options_.concurrency; ++i) Issue(Clock::now());
    // Completions start the next calls; this thread only takes over those
    // handed to it (see kMaxInlineDepth) until the end.
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait_until(lock, end_, [this] { return deferred_ > 0; });
      if (Clock::now() >= end_) break;
      while (deferred_ > 0) {
        --deferred_;
        ++in_flight_;
        lock.unlock();
        IssueCounted(Clock::now());
        lock.lock();
      }
    }
    return Finish(std::move(lock));
  }

  LoadResult Open() {
    for (int64_t i = 0;; ++i) {
      const Clock::time_point scheduled =
          start_ + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(i / options_.rate));
      if (scheduled >= end_) break;
      if (Clock::now() < scheduled) std::this_thread::sleep_until(scheduled);
      const Clock::time_point now = Clock::now();
      if (now - scheduled > max_lag_) {
        if (scheduled >= measure_from_) ++skipped_;
        continue;
      }
      if (scheduled >= measure_from_) {
        max_lag_ms_ = std::max(max_lag_ms_, Milliseconds(now - scheduled));
        last_send_ = now;
      }
      Issue(scheduled);
    }
    return Finish(std::unique_lock<std::mutex>(mutex_));
  }

 private:
  // Starts one call whose latency counts from `start`.
  void Issue(Clock::time_point start) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++in_flight_;
    }
    IssueCounted(start);
  }

  // Issue, with in_flight_ already raised.
  void IssueCounted(Clock::time_point start) {
    const uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
    const bool counted = start >= measure_from_;
    issue_(seq, [this, start, counted](const grpc::Status& status) {
      Done(start, counted, status);
    });
  }

  void Done(Clock::time_point start, bool counted, const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    const bool again =
        options_.rate == 0 && now < end_;  // closed loop: the next call
    std::unique_lock<std::mutex> lock(mutex_);
    if (counted) {
      const bool throttled =
          status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
          status.error_message() == kThrottledMessage;
      if (throttled) ++throttled_;
      samples_ms_[throttled ? "THROTTLED" : StatusCodeName(status.error_code())]
          .push_back(Milliseconds(now - start));
      if (status.ok()) {
        ++ok_;
      } else {
        const std::string code = StatusCodeName(status.error_code());
        if (++errors_[code] == 1)
          error_messages_[code] = status.error_message();
      }
    } else {
      ++warmup_calls_;
    }
    if (again) {
      if (inline_depth >= kMaxInlineDepth) {
        // The slot passes to the engine's thread.
        --in_flight_;
        ++deferred_;
        changed_.notify_all();
        return;
      }
      lock.unlock();
      ++inline_depth;
      IssueCounted(Clock::now());  // the slot passes to the next call
      --inline_depth;
      return;
    }
    // Notified under the lock: once the engine's thread sees 0 it may
    // destroy this Run, which no completion touches after unlocking.
    if (--in_flight_ == 0) changed_.notify_all();
  }

  LoadResult Finish(std::unique_lock<std::mutex> lock) {
    changed_.wait(lock, [this] { return in_flight_ == 0; });
    LoadResult result;
    result.options = options_;
    result.ok = ok_;
    result.errors = errors_;
    result.error_messages = error_messages_;
    result.warmup_calls = warmup_calls_;
    result.throttled = throttled_;
    result.skipped = skipped_;
    std::vector<double> all_ms;
    for (auto& [code, samples] : samples_ms_) {
      all_ms.insert(all_ms.end(), samples.begin(), samples.end());
      result.latency_by_status[code] = Summarize(std::move(samples));
    }
    result.sent = static_cast<int64_t>(all_ms.size());
    const double seconds = absl::ToDoubleSeconds(options_.duration);
    result.qps = result.sent / seconds;
    result.ok_qps = result.ok / seconds;
    result.max_send_lag_ms = max_lag_ms_;
    const double send_seconds = std::max(
        seconds,
        std::chrono::duration<double>(last_send_ - measure_from_).count());
    result.send_qps =
        options_.rate > 0 ? result.sent / send_seconds : result.qps;
    result.latency = Summarize(std::move(all_ms));
    return result;
  }

  const LoadOptions options_;
  const IssueCall& issue_;
  const Clock::time_point start_;
  const Clock::time_point measure_from_;
  const Clock::time_point end_;
  const Clock::duration max_lag_;
  std::atomic<uint64_t> next_seq_{0};
  double max_lag_ms_ = 0;  // engine thread only
  // Open loop: when the last counted call was really sent, and the calls
  // skipped (engine thread).
  Clock::time_point last_send_ = measure_from_;
  int64_t skipped_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t in_flight_ = 0;
  int64_t deferred_ = 0;  // closed loop: calls owed, for the engine's thread
  int64_t ok_ = 0;
  int64_t warmup_calls_ = 0;
  int64_t throttled_ = 0;
  std::map<std::string, int64_t> errors_;
  std::map<std::string, std::string> error_messages_;
  // Latencies of the counted calls by how they ended (a status code's name,
  // or THROTTLED).
  std::map<std::string, std::vector<double>> samples_ms_;
};

}  // namespace

absl::Status ValidateLoadOptions(const LoadOptions& options) {
  if (!std::isfinite(options.rate) || options.rate < 0 ||
      options.rate > kMaxRate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rate ", options.rate,
        " calls/s is not in 0-1e7 (0: closed loop, give a concurrency)"));
  }
  if (options.rate > 0 && options.concurrency != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "both a rate (", options.rate,
        " calls/s, open loop) and a concurrency (", options.concurrency,
        ", closed loop) were given; give one"));
  }
  if (options.rate == 0 &&
      (options.concurrency < 1 || options.concurrency > kMaxConcurrency)) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency ", options.concurrency,
                     " is not in 1-100000 (or give a rate for an open loop)"));
  }
  if (options.duration <= absl::ZeroDuration() ||
      options.duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration ", absl::FormatDuration(options.duration),
                     " is not a positive finite time"));
  }
  if (options.warmup < absl::ZeroDuration() ||
      options.warmup == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("warm-up ", absl::FormatDuration(options.warmup),
                     " is negative or infinite"));
  }
  if (options.max_send_lag <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max send lag ", absl::FormatDuration(options.max_send_lag),
        " is not positive"));
  }
  return absl::OkStatus();
}

double NearestRankPercentile(const std::vector<double>& sorted,
                             double percent) {
  const size_t n = sorted.size();
  // The rank in 1..n; the epsilon keeps 99.9% of 1000 at rank 999 despite
  // 0.999 * 1000 being 999.0000000000001 in binary.
  const double rank = std::ceil(percent / 100.0 * n - 1e-9);
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, n - 1)];
}

LatencySummary Summarize(std::vector<double> samples_ms) {
  LatencySummary summary;
  if (samples_ms.empty()) return summary;
  std::sort(samples_ms.begin(), samples_ms.end());
  summary.count = static_cast<int64_t>(samples_ms.size());
  summary.min_ms = samples_ms.front();
  summary.max_ms = samples_ms.back();
  double sum = 0;
  for (double s : samples_ms) sum += s;
  summary.mean_ms = sum / samples_ms.size();
  summary.p50_ms = NearestRankPercentile(samples_ms, 50);
  summary.p90_ms = NearestRankPercentile(samples_ms, 90);
  summary.p99_ms = NearestRankPercentile(samples_ms, 99);
  summary.p999_ms = NearestRankPercentile(samples_ms, 99.9);
  return summary;
}

int64_t LoadResult::error_count() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options,
                                   const IssueCall& issue) {
  MOVIEREC_RETURN_IF_ERROR(ValidateLoadOptions(options));
  Run run(options, issue);
  return options.rate > 0 ? run.Open() : run.Closed();
}

std::string StatusCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  if (i >= 0 && i < static_cast<int>(std::size(kNames))) return kNames[i];
  return absl::StrCat("CODE_", i);
}

std::string FormatResult(const LoadResult& r) {
  std::string out;
  if (r.options.rate > 0) {
    absl::StrAppendFormat(&out, "open loop at %.1f calls/s", r.options.rate);
  } else {
    absl::StrAppendFormat(&out, "closed loop, %d in flight",
                          r.options.concurrency);
  }
  absl::StrAppendFormat(&out, ", %s measured after %s warm-up\n",
                        absl::FormatDuration(r.options.duration),
                        absl::FormatDuration(r.options.warmup));
  absl::StrAppendFormat(&out,
                        "calls:   %d sent, %d ok, %d errors (%d warm-up "
                        "calls not counted)\n",
                        r.sent, r.ok, r.error_count(), r.warmup_calls);
  absl::StrAppendFormat(&out, "qps:     %.1f (ok: %.1f)\n", r.qps, r.ok_qps);
  const LatencySummary& l = r.latency;
  absl::StrAppendFormat(&out,
                        "latency: min %.3f  mean %.3f  p50 %.3f  p90 %.3f  "
                        "p99 %.3f  p99.9 %.3f  max %.3f ms\n",
                        l.min_ms, l.mean_ms, l.p50_ms, l.p90_ms, l.p99_ms,
                        l.p999_ms, l.max_ms);
  if (r.error_count() > 0) {
    for (const auto& [code, s] : r.latency_by_status) {
      absl::StrAppendFormat(&out,
                            "  %s: %d calls, p50 %.3f  p99 %.3f  max %.3f ms\n",
                            code, s.count, s.p50_ms, s.p99_ms, s.max_ms);
    }
  }
  if (r.options.rate > 0) {
    absl::StrAppendFormat(&out,
                          "send lag: max %.3f ms behind schedule; %.1f "
                          "calls/s really sent, %d skipped\n",
                          r.max_send_lag_ms, r.send_qps, r.skipped);
  }
  if (r.throttled > 0) {
    absl::StrAppendFormat(&out,
                          "throttled: %d calls rejected by the client's own "
                          "adaptive throttle, never sent\n",
                          r.throttled);
  }
  for (const auto& [code, count] : r.errors) {
    absl::StrAppendFormat(&out, "errors:  %s x%d (first: %s)\n", code, count,
                          r.error_messages.at(code));
  }
  return out;
}

namespace {

nlohmann::json LatencyJson(const LatencySummary& l) {
  return {{"count", l.count},   {"min", l.min_ms}, {"mean", l.mean_ms},
          {"p50", l.p50_ms},    {"p90", l.p90_ms}, {"p99", l.p99_ms},
          {"p99.9", l.p999_ms}, {"max", l.max_ms}};
}

}  // namespace

std::string ResultJson(const LoadResult& r) {
  nlohmann::json j;
  j["mode"] = r.options.rate > 0 ? "open" : "closed";
  j["concurrency"] = r.options.concurrency;
  j["rate"] = r.options.rate;
  j["duration_seconds"] = absl::ToDoubleSeconds(r.options.duration);
  j["warmup_seconds"] = absl::ToDoubleSeconds(r.options.warmup);
  j["sent"] = r.sent;
  j["ok"] = r.ok;
  j["error_count"] = r.error_count();
  j["errors"] = r.errors;
  j["error_messages"] = r.error_messages;
  j["warmup_calls"] = r.warmup_calls;
  j["throttled"] = r.throttled;
  j["qps"] = r.qps;
  j["ok_qps"] = r.ok_qps;
  j["max_send_lag_ms"] = r.max_send_lag_ms;
  j["send_qps"] = r.send_qps;
  j["skipped"] = r.skipped;
  j["latency_ms"] = LatencyJson(r.latency);
  j["latency_ms_by_status"] = nlohmann::json::object();
  for (const auto& [code, s] : r.latency_by_status) {
    j["latency_ms_by_status"][code] = LatencyJson(s);
  }
  return j.dump(2);
}

}  // namespace movierec::loadgen
