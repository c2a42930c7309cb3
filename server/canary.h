// Canary and A/B between two model versions held at once: the *stable*
// version and the *candidate*, which answers a share of the users.
//
// Users are split by a fixed hash of their id (CanaryBucket): bucket b in
// 0..9999 goes to the candidate when b < percent x 100. A user therefore
// gets the same version for the same percent on every replica and across
// restarts, and raising the percent only moves users from stable to
// candidate. The key of each call (RoutingBucket below): the user_id; for a
// visitor without one, its recent_movie_ids; for SimilarMovies, the movie_id;
// a batch goes by its first request.
//
// The control file MODEL_BASE/CANARY (kCanaryFileName), read by the model
// poller, changes the split with no restart (docs/operations.md, "Canary and
// A/B"):
//
//   # comments start with #; blank lines are ignored
//   percent = 10      # the candidate's share, 0-100 (2 decimals at most)
//   stable = 6        # optional: pin the stable version
//   candidate = 7     # optional: pin the candidate (else the newest)
//
// Every key is optional and appears at most once; a key the file leaves out
// takes its flag's value (--canary_percent, --stable_version).
//
// Everything here is immutable or stateless: safe from any thread.
#ifndef MOVIEREC_SERVER_CANARY_H_
#define MOVIEREC_SERVER_CANARY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "movierec/v1/recommender.pb.h"
#include "server/snapshot.h"

namespace movierec {

class VersionMetrics;  // server/metrics.h

// The control file's name in the model base.
inline constexpr char kCanaryFileName[] = "CANARY";
// Users are split into this many buckets; a percent is a count of hundredths
// (basis points) of them.
inline constexpr int kCanaryBuckets = 10000;

// The bucket (0..9999) of a routing key: the 64-bit FNV-1a hash of its
// bytes, mixed by MurmurHash3's fmix64 finalizer, modulo 10000. Fixed for
// good: changing it would move users between versions.
int CanaryBucket(absl::string_view key);

// A percent (0-100) in basis points, rounded to the nearest.
int PercentToBasisPoints(double percent);

// The bucket of each kind of call (see the file comment).
int RoutingBucket(const movierec::v1::RecommendRequest& request);
int RoutingBucket(const movierec::v1::SimilarMoviesRequest& request);
int RoutingBucket(const movierec::v1::RecommendBatchRequest& request);

// What the control file sets; a key it leaves out is unset.
struct CanaryControl {
  int percent_basis_points = -1;  // -1: unset
  int64_t stable = 0;             // 0: unset
  int64_t candidate = 0;          // 0: unset

  bool operator==(const CanaryControl& other) const {
    return percent_basis_points == other.percent_basis_points &&
           stable == other.stable && candidate == other.candidate;
  }
};

// Parses the control file's text. InvalidArgument "PATH:LINE: why" for an
// unknown key, a repeated key, a value that is no number, a percent outside
// 0-100 or with more than 2 decimals, a version < 1.
absl::StatusOr<CanaryControl> ParseCanaryControl(absl::string_view text,
                                                 absl::string_view path);

// One version the server holds: its snapshot and its request metrics (null
// in tests that have no metrics).
struct ServedVersion {
  std::shared_ptr<const Snapshot> snapshot;
  std::shared_ptr<const VersionMetrics> metrics;
};

// The versions that serve, and the split between them. Built by the
// ModelManager and swapped whole, as snapshots are. Either version may be
// missing: then the other answers every call. With neither, nothing serves.
class ServingSet {
 public:
  ServingSet() = default;
  // `candidate_basis_points`: 0-10000, the candidate's share.
  ServingSet(ServedVersion stable, ServedVersion candidate,
             int candidate_basis_points);

  // The version that answers a call of `bucket` (0..9999). Its snapshot is
  // null when nothing serves.
  const ServedVersion& Route(int bucket) const {
    return bucket < effective_basis_points_ ? candidate_ : stable_;
  }

  // Whether calls are split between two versions (otherwise Route answers
  // the same for every bucket, and callers need not hash).
  bool split() const {
    return effective_basis_points_ > 0 &&
           effective_basis_points_ < kCanaryBuckets;
  }
  // Route for a call, hashing its key only when calls are split.
  template <typename Request>
  const ServedVersion& RouteCall(const Request& request) const {
    return Route(split() ? RoutingBucket(request) : 0);
  }

  const ServedVersion& stable() const { return stable_; }
  const ServedVersion& candidate() const { return candidate_; }
  // The share asked for, and the share the candidate really gets (0 without
  // a candidate, 10000 without a stable version).
  int candidate_basis_points() const { return candidate_basis_points_; }
  int effective_basis_points() const { return effective_basis_points_; }
  // The stable snapshot, else the candidate's, else null.
  std::shared_ptr<const Snapshot> primary() const {
    return stable_.snapshot != nullptr ? stable_.snapshot : candidate_.snapshot;
  }

 private:
  ServedVersion stable_;
  ServedVersion candidate_;
  int candidate_basis_points_ = 0;
  int effective_basis_points_ = 0;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_CANARY_H_
