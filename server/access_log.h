// The access log: one structured line (util/logging.h) per sampled call, on
// the spdlog logger "access", at info level whatever --log_level says
// (--access_log_sample=0 turns it off; so does SPDLOG_LEVEL=...,access=off
// when the levels come from SPDLOG_LEVEL). Fields:
//
//   transport      grpc or http
//   method         Recommend, SimilarMovies, RecommendBatch
//   code           the absl/gRPC status code's name (OK, NOT_FOUND, ...)
//   status         the gRPC status number, or the HTTP status of an HTTP call
//   latency_ms     the whole call, queueing included
//   queue_ms       the wait for a worker (null: the call never got one)
//   retrieval_ms   time in each stage, summed over a batch's requests
//   ranking_ms     (null: the stage did not run)
//   model_version  the version that answered (null: none)
//   user           a 64-bit FNV-1a hash of user_id in hex, never the id
//                  itself (null: no user id; a batch: its first request's).
//                  A pseudonym to correlate lines, not anonymisation: a
//                  small id space can be hashed in full.
//   traceparent    the W3C traceparent the client sent (gRPC metadata or
//                  HTTP header `traceparent`) when well-formed, "invalid"
//                  when malformed (never echoed), null when absent
//
// Cost: a call that is not sampled costs one thread-local random draw; no
// allocation, formatting or lock. A sampled one allocates an AccessRecord
// and formats one line.
//
// Thread-safe: Sample and Write may be called from any thread.
#ifndef MOVIEREC_SERVER_ACCESS_LOG_H_
#define MOVIEREC_SERVER_ACCESS_LOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "movierec/v1/recommender.pb.h"
#include "server/metrics.h"
#include "server/recommender.h"
#include "spdlog/logger.h"

namespace movierec {

// Whether a traceparent header value is well-formed (W3C Trace Context):
// version-traceid-parentid-flags, lowercase hex of 2-32-16-2 digits, version
// not ff, trace and parent ids not all zeros; version 00 exactly 55
// characters, a later version at least 55 with '-' after them.
bool IsValidTraceparent(absl::string_view value);

// The user id's hash as the access log writes it: 16 lowercase hex digits of
// its 64-bit FNV-1a hash.
std::string UserIdHash(absl::string_view user_id);

// What one sampled call did, filled in as it goes: by the dispatch path
// (transport, method, traceparent, queue wait) and by the method's work
// (stages, version, user).
struct AccessRecord {
  Transport transport = Transport::kGrpc;
  Method method = Method::kRecommend;
  std::string traceparent;    // as the client sent it; "" when absent
  double queue_seconds = -1;  // < 0: unknown
  double retrieval_seconds = -1;
  double ranking_seconds = -1;
  std::string model_version;
  std::string user_hash;  // "" when the call named no user

  // Adds one recommendation's stage times.
  void AddStages(const RecommendTrace& trace);
  // The user (hashed) and the version that answered.
  void Note(const movierec::v1::RecommendRequest& request,
            const movierec::v1::RecommendResponse& response);
  void Note(const movierec::v1::SimilarMoviesRequest& request,
            const movierec::v1::SimilarMoviesResponse& response);
  void Note(const movierec::v1::RecommendBatchRequest& request,
            const movierec::v1::RecommendBatchResponse& response);
};

class AccessLog {
 public:
  // `sample`: the fraction of calls logged, 0-1 (checked by
  // ValidateServerOptions). `logger`: where lines go; null: the logger
  // "access" (made on the default logger's sinks when it does not exist).
  explicit AccessLog(double sample,
                     std::shared_ptr<spdlog::logger> logger = nullptr);

  // Whether to log the next call: true for a `sample` share of calls at
  // random (always at 1, never at 0).
  bool Sample() const;

  // One line for a call that ended with `code` after `seconds`.
  void Write(const AccessRecord& record, absl::StatusCode code,
             double seconds) const;

 private:
  uint64_t threshold_ = 0;  // a draw below it is sampled
  bool all_ = false;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_ACCESS_LOG_H_
