// What movierec-loadgen sends: which method, and the requests, drawn from a
// model's users and movies (or id ranges) with a share of users the model
// does not know. Those carry recent_movie_ids, so the server folds them in
// (see recommender.proto) instead of looking their vectors up.
//
// Requests are a pure function of (seed, call number), so runs repeat and the
// completions of any thread may build them without a lock.
#ifndef MOVIEREC_CLIENT_LOADGEN_WORKLOAD_H_
#define MOVIEREC_CLIENT_LOADGEN_WORKLOAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/loadgen.h"
#include "movierec/v1/recommender.grpc.pb.h"

namespace movierec::loadgen {

inline constexpr char kRecommend[] = "Recommend";
inline constexpr char kSimilarMovies[] = "SimilarMovies";
inline constexpr char kRecommendBatch[] = "RecommendBatch";

struct Workload {
  // Recommend, SimilarMovies or RecommendBatch.
  std::string method = kRecommend;
  // Known users, drawn uniformly (Recommend, RecommendBatch).
  std::vector<std::string> user_ids;
  // Movies: the recent movies of unknown users; SimilarMovies' queries.
  std::vector<std::string> movie_ids;
  // Fraction of requests, in [0, 1], for users the model does not know
  // ("loadgen-unknown-<n>"), with `recent_movies` recent movies each.
  double unknown_user_share = 0;
  int recent_movies = 5;
  // Movies asked for per request (1-100).
  int count = 10;
  // RecommendBatch: requests per batch (1-100).
  int batch_size = 10;
  uint64_t seed = 1;
};

// InvalidArgument naming the field and value: an unknown method, no user ids
// when known users are wanted, no movie ids when unknown users or
// SimilarMovies need them, a share outside [0, 1], a count, batch size or
// recent-movie count outside 1-100.
absl::Status ValidateWorkload(const Workload& workload);

// Ids "FIRST-LAST" (inclusive, e.g. "1-943") as strings; `what` names the
// flag in errors. InvalidArgument for anything else, or LAST < FIRST, or
// more than 10 million ids.
absl::StatusOr<std::vector<std::string>> ParseIdRange(absl::string_view what,
                                                      absl::string_view range);

// InvalidArgument unless 1 <= channels <= 64 and the per-call timeout is
// positive and finite.
absl::Status ValidateConnection(int channels, absl::Duration timeout);

// Sets workload->user_ids and movie_ids to the users and movies of the model
// version in `version_dir` (MODEL_BASE/<version>/), read by ReadModelCatalog
// (the catalogue alone: the vectors and tables are not decoded), whose
// errors it returns.
absl::Status LoadModelIds(const std::string& version_dir, Workload* workload);

// Builds the requests of a (validated) workload. Thread-safe.
class RequestSource {
 public:
  explicit RequestSource(Workload workload);

  void Fill(uint64_t seq, movierec::v1::RecommendRequest* request) const;
  void Fill(uint64_t seq, movierec::v1::SimilarMoviesRequest* request) const;
  void Fill(uint64_t seq, movierec::v1::RecommendBatchRequest* request) const;

  const Workload& workload() const { return workload_; }

 private:
  // A uniform 64-bit value for (seed, seq, stream).
  uint64_t Draw(uint64_t seq, uint64_t stream) const;
  void FillOne(uint64_t seq, uint64_t stream,
               movierec::v1::RecommendRequest* request) const;

  Workload workload_;
};

// An IssueCall for the workload's method; call n goes to stubs[n % size]
// (one per channel, so several connections can carry the load).
IssueCall WorkloadCaller(
    std::shared_ptr<const RequestSource> source,
    std::vector<std::shared_ptr<movierec::v1::Recommender::Stub>> stubs,
    absl::Duration timeout);

}  // namespace movierec::loadgen

#endif  // MOVIEREC_CLIENT_LOADGEN_WORKLOAD_H_
