// The engine of movierec-loadgen: drives any asynchronous call at a given
// load and measures it, as ghz does for gRPC services.
//
//   closed loop  `concurrency` calls always in flight: each completion starts
//                the next. Measures the most the server does at that
//                concurrency; latency runs from each call's actual send.
//   open loop    `rate` calls per second on a fixed schedule, whether or not
//                earlier calls have finished. Latency runs from each call's
//                *scheduled* send time, so a server (or a client) that falls
//                behind shows up as queueing in the latency instead of being
//                hidden by sending less ("coordinated omission").
//
// The engine knows nothing of movierec: an IssueCall starts one call and
// reports its end. UnaryCaller makes one for a unary method of gRPC's
// callback API, so one thread (the engine's) and gRPC's own few drive
// thousands of calls per second.
//
// Counting: calls whose (scheduled) start falls in the warm-up are sent but
// not counted; every call started after it is counted once it ends, and
// RunLoad returns only when every call it started has ended. So sent == ok +
// the sum of errors in every result.
#ifndef MOVIEREC_CLIENT_LOADGEN_H_
#define MOVIEREC_CLIENT_LOADGEN_H_

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace movierec::loadgen {

// Reports how one call ended. Callable from any thread, exactly once.
using CallDone = std::function<void(const grpc::Status&)>;
// Starts call number `seq` (0, 1, ...) and returns without waiting for it;
// `done` must run exactly once when the call ends, even when it fails at
// once, and may run on any thread, including inside IssueCall itself. The
// call must end by itself (a deadline), or RunLoad never returns.
using IssueCall = std::function<void(uint64_t seq, CallDone done)>;

struct LoadOptions {
  // Closed loop: calls kept in flight. Used when `rate` is 0; then >= 1.
  int concurrency = 0;
  // Open loop: calls per second, issued on schedule. 0: closed loop.
  double rate = 0;
  // The measured time, after the warm-up (> 0).
  absl::Duration duration = absl::Seconds(10);
  // Time at the start whose calls are not counted (>= 0): connections,
  // caches and the server's threads settle.
  absl::Duration warmup = absl::Seconds(1);
  // Open loop: a call the engine could not send within this time of its
  // scheduled send is skipped (counted in `skipped`, never sent) instead of
  // being sent late. When the client itself is short of CPU, it then offers
  // what it can at the scheduled times, and the latencies hold at most this
  // much of its own lag. Infinite (the default): every call is sent, however
  // late. > 0.
  absl::Duration max_send_lag = absl::InfiniteDuration();
};

// InvalidArgument naming the option and its value: neither or both of
// concurrency and rate, a concurrency < 1 or > 100000, a rate that is
// negative, not finite or > 10 million, a duration <= 0, a negative warm-up,
// a max_send_lag <= 0.
absl::Status ValidateLoadOptions(const LoadOptions& options);

// Latency statistics in milliseconds; all 0 when count is 0.
struct LatencySummary {
  int64_t count = 0;
  double min_ms = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// The nearest-rank percentile of `sorted` (ascending, not empty): the
// smallest sample that at least `percent`% of the samples are <= to, i.e.
// sorted[ceil(percent / 100 * n) - 1] (sorted[0] for percent 0). It is always
// a measured value, never an interpolation. `percent` in [0, 100].
double NearestRankPercentile(const std::vector<double>& sorted, double percent);

// Sorts `samples_ms` and summarises them.
LatencySummary Summarize(std::vector<double> samples_ms);

struct LoadResult {
  LoadOptions options;
  // Counted calls (see the file comment) and how they ended.
  int64_t sent = 0;
  int64_t ok = 0;
  // By gRPC status code name ("UNAVAILABLE"); only codes that occurred.
  std::map<std::string, int64_t> errors;
  // The first message seen for each error code, to tell why.
  std::map<std::string, std::string> error_messages;
  // Counted calls a client-side throttle (client/adaptive_throttle.h)
  // rejected without sending them: in errors["RESOURCE_EXHAUSTED"] with the
  // server's refusals, as the caller sees them, but apart in
  // latency_by_status (as "THROTTLED").
  int64_t throttled = 0;
  // Calls sent during the warm-up, not counted.
  int64_t warmup_calls = 0;
  // Open loop: calls of the measured time not sent because the engine was
  // more than `options.max_send_lag` behind their schedule; not in `sent`.
  int64_t skipped = 0;
  // Counted calls per second of the measured duration, all outcomes; and
  // those that succeeded.
  double qps = 0;
  double ok_qps = 0;
  // Of every counted call, errors included (an error is an answer too; a
  // run with errors says so in `errors`).
  LatencySummary latency;
  // The same by how the calls ended ("OK", "RESOURCE_EXHAUSTED", ...); only
  // outcomes that occurred. A server that sheds load answers its refusals
  // fast and its admitted calls slowly: `latency` mixes the two. Calls a
  // client-side throttle rejected are under "THROTTLED", not under
  // "RESOURCE_EXHAUSTED" (the server's refusals).
  std::map<std::string, LatencySummary> latency_by_status;
  // Open loop: how late the engine's thread sent calls after their
  // scheduled time, at worst (ms). Large values mean the client itself
  // could not keep the rate; the latencies include that lag.
  double max_send_lag_ms = 0;
  // The rate the engine really sent at: counted calls over the time from
  // the end of the warm-up to the actual send of the last one (at least the
  // duration). Below `options.rate` when the engine fell behind its
  // schedule and did not catch up (a client short of CPU). Closed loop: qps.
  double send_qps = 0;

  int64_t error_count() const;
};

// Runs `issue` at the load of `options` (validated first) and returns what
// it measured.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options,
                                   const IssueCall& issue);

// The gRPC name of a status code: "OK", "UNAVAILABLE", ...
std::string StatusCodeName(grpc::StatusCode code);

// A human-readable report of `result`, ending in a newline.
std::string FormatResult(const LoadResult& result);
// The same as a JSON object (see docs/flags.md, "movierec-loadgen").
std::string ResultJson(const LoadResult& result);

// Starts call number `seq` of a unary method on gRPC's callback API:
// `context`, `request` and `response` live until `on_done` runs. E.g.
//   [stub](uint64_t, auto* c, auto* q, auto* r, auto on_done) {
//     stub->async()->Recommend(c, q, r, std::move(on_done));
//   }
template <typename Request, typename Response>
using AsyncUnaryMethod =
    std::function<void(uint64_t seq, grpc::ClientContext*, const Request*,
                       Response*, std::function<void(grpc::Status)>)>;

namespace internal {

// One call's state for UnaryCaller: its context, and its request and response
// on an arena whose first block is part of it.
template <typename Request, typename Response>
struct ArenaCall {
  static constexpr size_t kFirstBlockBytes = 8192;
  static google::protobuf::ArenaOptions Options(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kFirstBlockBytes;
    return options;
  }

  grpc::ClientContext context;
  // Declared before the arena, which is built on it.
  alignas(std::max_align_t) char first_block[kFirstBlockBytes];
  google::protobuf::Arena arena{Options(first_block)};
  Request* request = google::protobuf::Arena::CreateMessage<Request>(&arena);
  Response* response = google::protobuf::Arena::CreateMessage<Response>(&arena);
};

}  // namespace internal

// An IssueCall that fills a fresh Request with `make_request(seq, &request)`
// and calls `method` with a deadline `timeout` after the send. The request,
// response and context of each call are freed when it ends. Request and
// response live on a protobuf Arena whose first block is part of the call's
// state, so parsing a response of a dozen messages and some forty strings
// costs the load generator no allocation of its own (the server does the
// same, server/arena_allocator.h): what the client spends per call is
// gRPC's, not the measurement's.
template <typename Request, typename Response>
IssueCall UnaryCaller(AsyncUnaryMethod<Request, Response> method,
                      std::function<void(uint64_t, Request*)> make_request,
                      absl::Duration timeout) {
  const auto deadline_after = absl::ToChronoNanoseconds(timeout);
  return [method = std::move(method), make_request = std::move(make_request),
          deadline_after](uint64_t seq, CallDone done) {
    auto* call = new internal::ArenaCall<Request, Response>;
    make_request(seq, call->request);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               deadline_after);
    method(seq, &call->context, call->request, call->response,
           [call, done = std::move(done)](grpc::Status status) {
             delete call;
             done(status);
           });
  };
}

}  // namespace movierec::loadgen

#endif  // MOVIEREC_CLIENT_LOADGEN_H_
