// Client-side adaptive throttling (Google SRE book, "Handling Overload"):
// a caller that sees its server refuse calls sheds some of its own load
// before sending, at the cost of almost nothing, instead of making the
// server refuse it.
//
// Why a server's refusals are not enough: a refused gRPC call still costs the
// server what gRPC spends on any call (reading the request, HTTP/2 frames, the
// status), which for movierec on MovieLens is ~60-70% of a served call
// (docs/operations.md, "What admission control cannot do"). Offered 1.5x its
// capacity, a server that refuses the excess spends most of its core on
// refusing. The throttle keeps the calls that reach the server near K times
// the calls it accepts:
//
//   reject locally with probability max(0, (requests - K * accepts) /
//                                          (requests + 1))
//
// over a sliding window, where `requests` counts every call the application
// asked for (locally rejected ones too) and `accepts` the calls the server
// did not refuse as overloaded. While the server accepts everything,
// requests <= K * accepts and nothing is rejected; K = 2 (the SRE book's)
// lets the server see twice what it accepts, a lower K (>= 1) sheds more
// aggressively and wastes less of the server's CPU on refusals.
#ifndef MOVIEREC_CLIENT_ADAPTIVE_THROTTLE_H_
#define MOVIEREC_CLIENT_ADAPTIVE_THROTTLE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/loadgen.h"

namespace movierec::loadgen {

// The message of a call the throttle rejected (RESOURCE_EXHAUSTED, as the
// server's refusals); the load generator counts those apart.
inline constexpr absl::string_view kThrottledMessage =
    "throttled by the client: the server refused too many recent calls as "
    "overloaded (client-side adaptive throttling)";

struct ThrottleOptions {
  // Calls sent per call accepted, at most (>= 1).
  double k = 2;
  // The sliding window the counts cover (> 0), kept in `buckets` slices.
  absl::Duration window = absl::Seconds(2);
  int buckets = 20;
  uint64_t seed = 1;
};

// InvalidArgument naming the option: k < 1 or not finite, a window <= 0 or
// infinite, buckets outside 1-10000.
absl::Status ValidateThrottleOptions(const ThrottleOptions& options);

// Thread-safe.
class AdaptiveThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AdaptiveThrottle(const ThrottleOptions& options);

  // Counts a request the application makes at `now`; false when it is to be
  // rejected locally (never sent).
  bool Admit(Clock::time_point now);
  // Records how a sent call ended: `accepted` unless the server refused it
  // as overloaded.
  void Record(Clock::time_point now, bool accepted);
  // The current probability of a local rejection.
  double RejectProbability(Clock::time_point now);

 private:
  struct Bucket {
    int64_t slice = -1;  // which window slice the counts belong to
    int64_t requests = 0;
    int64_t accepts = 0;
  };
  // The bucket of `now`'s slice, cleared if it held an older slice.
  Bucket& Current(Clock::time_point now);
  double ProbabilityLocked(Clock::time_point now);

  const double k_;
  const Clock::duration slice_;
  const Clock::time_point epoch_ = Clock::now();
  std::mutex mutex_;
  std::vector<Bucket> buckets_;
  std::minstd_rand random_;
};

// `issue`, throttled: a call the throttle rejects ends at once with
// RESOURCE_EXHAUSTED and kThrottledMessage, without being sent; the others
// are sent and their outcome recorded. A refusal is a RESOURCE_EXHAUSTED or
// UNAVAILABLE answer (the server said no, or is not there); any other
// answer, DEADLINE_EXCEEDED included, is an accept. Counting timeouts as
// refusals would collapse the accepts after one burst that outlived its
// deadlines, and with K near 1 the throttle then lets the load back only
// slowly: the calls sent can grow by at most a factor K per window.
IssueCall Throttled(IssueCall issue,
                    std::shared_ptr<AdaptiveThrottle> throttle);

}  // namespace movierec::loadgen

#endif  // MOVIEREC_CLIENT_ADAPTIVE_THROTTLE_H_
