// The Recommend logic behind the gRPC service, with no knowledge of gRPC:
// validates a request, takes the serving snapshot, and answers from it.
// Tests and benchmarks call it directly.
//
// Thread-safe: every call works on the snapshot it took at its start.
#ifndef MOVIEREC_SERVER_RECOMMENDER_H_
#define MOVIEREC_SERVER_RECOMMENDER_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "movierec/v1/recommender.pb.h"
#include "server/snapshot.h"

namespace movierec {

// Request limits, part of the API contract (see README, "API").
inline constexpr int kDefaultCount = 10;
inline constexpr int kMaxCount = 100;

// Where a request spent its time, for the metrics.
struct RecommendTrace {
  double retrieval_seconds = -1;  // < 0: the stage did not run
  double ranking_seconds = -1;
  bool fallback = false;
};

class Recommender {
 public:
  // `snapshot` returns the serving snapshot, or null when none is loaded.
  using SnapshotSource = std::function<std::shared_ptr<const Snapshot>()>;

  explicit Recommender(SnapshotSource snapshot);

  // Fills `response` for `request`. InvalidArgument for an empty user_id or a
  // count outside 0-100; Unavailable when no model is loaded. An unknown
  // user gets the most popular movies and fallback = true.
  // `trace`, when not null, receives the stage timings.
  absl::Status Recommend(const movierec::v1::RecommendRequest& request,
                         movierec::v1::RecommendResponse* response,
                         RecommendTrace* trace = nullptr) const;

 private:
  SnapshotSource snapshot_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_RECOMMENDER_H_
