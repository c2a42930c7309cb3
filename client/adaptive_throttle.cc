#include "client/adaptive_throttle.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace movierec::loadgen {

absl::Status ValidateThrottleOptions(const ThrottleOptions& options) {
  if (!std::isfinite(options.k) || options.k < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "throttle k ", options.k,
        " is below 1 (a client must send at least what the server accepts)"));
  }
  if (options.window <= absl::ZeroDuration() ||
      options.window == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("throttle window ", absl::FormatDuration(options.window),
                     " is not a positive finite time"));
  }
  if (options.buckets < 1 || options.buckets > 10000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "throttle buckets ", options.buckets, " is not in 1-10000"));
  }
  return absl::OkStatus();
}

AdaptiveThrottle::AdaptiveThrottle(const ThrottleOptions& options)
    : k_(options.k),
      slice_(std::max<Clock::duration>(
          Clock::duration(1),
          std::chrono::duration_cast<Clock::duration>(
              absl::ToChronoNanoseconds(options.window / options.buckets)))),
      buckets_(options.buckets),
      random_(static_cast<std::minstd_rand::result_type>(options.seed)) {}

AdaptiveThrottle::Bucket& AdaptiveThrottle::Current(Clock::time_point now) {
  const int64_t slice = (now - epoch_) / slice_;
  Bucket& bucket = buckets_[static_cast<size_t>(
      ((slice % static_cast<int64_t>(buckets_.size())) + buckets_.size()) %
      buckets_.size())];
  if (bucket.slice != slice) bucket = Bucket{slice, 0, 0};
  return bucket;
}

double AdaptiveThrottle::ProbabilityLocked(Clock::time_point now) {
  const int64_t newest = (now - epoch_) / slice_;
  const int64_t oldest = newest - static_cast<int64_t>(buckets_.size()) + 1;
  int64_t requests = 0;
  int64_t accepts = 0;
  for (const Bucket& b : buckets_) {
    if (b.slice < oldest || b.slice > newest) continue;
    requests += b.requests;
    accepts += b.accepts;
  }
  return std::max(0.0, (static_cast<double>(requests) - k_ * accepts) /
                           (static_cast<double>(requests) + 1));
}

bool AdaptiveThrottle::Admit(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double p = ProbabilityLocked(now);
  ++Current(now).requests;
  if (p <= 0) return true;
  return std::uniform_real_distribution<double>(0, 1)(random_) >= p;
}

void AdaptiveThrottle::Record(Clock::time_point now, bool accepted) {
  if (!accepted) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ++Current(now).accepts;
}

double AdaptiveThrottle::RejectProbability(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  return ProbabilityLocked(now);
}

IssueCall Throttled(IssueCall issue,
                    std::shared_ptr<AdaptiveThrottle> throttle) {
  return [issue = std::move(issue), throttle = std::move(throttle)](
             uint64_t seq, CallDone done) {
    if (!throttle->Admit(AdaptiveThrottle::Clock::now())) {
      done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        std::string(kThrottledMessage)));
      return;
    }
    issue(seq, [throttle, done = std::move(done)](const grpc::Status& status) {
      const grpc::StatusCode code = status.error_code();
      throttle->Record(AdaptiveThrottle::Clock::now(),
                       code != grpc::StatusCode::RESOURCE_EXHAUSTED &&
                           code != grpc::StatusCode::UNAVAILABLE);
      done(status);
    });
  };
}

}  // namespace movierec::loadgen
