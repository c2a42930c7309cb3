// The logic behind the gRPC service, with no knowledge of gRPC: validates a
// request, takes the serving snapshot, and answers from it. Tests and
// benchmarks call it directly.
//
//   Recommend       a known user's trained vectors; an unknown user's query
//                   folded in from recent_movie_ids (Scorer::ForVisitor); with
//                   neither, the most popular movies (fallback). Filters
//                   (an allow-list too) exclude movies inside the index
//                   search, so `count` movies come back whenever that many
//                   are eligible.
//   SimilarMovies   cosine neighbours of a movie (MovieSimilarity).
//   RecommendBatch  many Recommend requests on one snapshot.
//   SearchMovies    the catalogue's titles containing a text, most rated
//                   first, and the catalogue's genre names.
//
// Errors: INVALID_ARGUMENT for a malformed request (a count out of range, an
// empty or oversized list, an empty id, an unknown genre name, a bad year
// range), NOT_FOUND for a well-formed movie id that the serving catalogue
// does not have, UNAVAILABLE before a model is loaded, DEADLINE_EXCEEDED or
// CANCELLED when the CallControl says the caller is gone. Messages name the
// field (as a path, e.g. "requests[2].filter.genres[0]") and the value.
// Validation that needs no model runs before the snapshot is taken.
//
// A known user's request with neither recent movies nor a filter is answered
// from the version's result cache when an earlier call computed it for the
// same count (server/result_cache.h); the trace says so and no stage runs.
//
// Canary (server/canary.h): each call takes the serving set at its start and
// is answered by the version its routing key sends it to; `model_version`
// says which. A batch is answered by one version, its first request's.
//
// Thread-safe: every call works on the snapshot it took at its start, to the
// end, whatever reloads happen meanwhile.
#ifndef MOVIEREC_SERVER_RECOMMENDER_H_
#define MOVIEREC_SERVER_RECOMMENDER_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "movierec/v1/recommender.pb.h"
#include "server/canary.h"
#include "server/snapshot.h"

namespace movierec {

struct AccessRecord;  // server/access_log.h

// Request limits, part of the API contract (see docs/api.md, "Errors", and
// recommender.proto).
inline constexpr int kDefaultCount = 10;
inline constexpr int kMaxCount = 100;
inline constexpr int kMaxRecentMovies = 100;
inline constexpr int kMaxFilterGenres = 32;
inline constexpr int kMaxExcludedMovies = 1000;
inline constexpr int kMaxIncludedMovies = 1000;
inline constexpr int kMaxBatchRequests = 100;
inline constexpr int kMaxReleaseYear = 9999;
inline constexpr int kMaxSearchQueryBytes = 200;
inline constexpr int kMaxSearchMovieIds = 100;

// Whether a call should go on: its deadline and whether its caller gave up.
// The Recommender checks it before any work and between stages, so that no
// work continues for a call that is over.
class CallControl {
 public:
  // Never expires, never cancelled.
  CallControl() = default;
  // `cancelled` (may be empty) answers whether the caller has gone; it must
  // be safe to call from the thread that runs the call.
  CallControl(absl::Time deadline, std::function<bool()> cancelled);

  absl::Time deadline() const { return deadline_; }

  // The access log's record of this call when it is sampled, else null
  // (server/access_log.h): the method's work notes its stages, version and
  // user there. Not owned; outlives the call's work.
  AccessRecord* access_record() const { return access_record_; }
  void set_access_record(AccessRecord* record) { access_record_ = record; }

  // OK while the call should go on; otherwise Cancelled or DeadlineExceeded,
  // naming `next`, the step that will not run.
  absl::Status Check(absl::string_view next) const;

 private:
  absl::Time deadline_ = absl::InfiniteFuture();
  std::function<bool()> cancelled_;
  AccessRecord* access_record_ = nullptr;
};

// Where one recommendation spent its time, for the metrics.
struct RecommendTrace {
  double retrieval_seconds = -1;  // < 0: the stage did not run
  double ranking_seconds = -1;
  bool fallback = false;
  bool cached = false;  // answered from the result cache: no stage ran
  // The metrics of the version that answered (null: none did, or it has
  // none).
  std::shared_ptr<const VersionMetrics> version;
};

class Recommender {
 public:
  // `snapshot` returns the serving snapshot, or null when none is loaded.
  using SnapshotSource = std::function<std::shared_ptr<const Snapshot>()>;
  // `serving` returns the versions serving (never null).
  using ServingSource = std::function<std::shared_ptr<const ServingSet>()>;

  // One version, no metrics (tests, benchmarks).
  explicit Recommender(SnapshotSource snapshot);
  explicit Recommender(ServingSource serving);

  // Fills `response` for `request` (see the file comment for the errors).
  // `trace`, when not null, receives the stage timings.
  absl::Status Recommend(const movierec::v1::RecommendRequest& request,
                         movierec::v1::RecommendResponse* response,
                         RecommendTrace* trace = nullptr,
                         const CallControl& control = CallControl()) const;

  // `answered_by`, when not null, receives the metrics of the version that
  // answered (as RecommendTrace::version).
  absl::Status SimilarMovies(
      const movierec::v1::SimilarMoviesRequest& request,
      movierec::v1::SimilarMoviesResponse* response,
      const CallControl& control = CallControl(),
      std::shared_ptr<const VersionMetrics>* answered_by = nullptr) const;

  // All requests are validated before any is answered; an invalid one fails
  // the whole call, its index in the message. `traces`, when not null,
  // receives one trace per request answered.
  absl::Status RecommendBatch(
      const movierec::v1::RecommendBatchRequest& request,
      movierec::v1::RecommendBatchResponse* response,
      std::vector<RecommendTrace>* traces = nullptr,
      const CallControl& control = CallControl(),
      std::shared_ptr<const VersionMetrics>* answered_by = nullptr) const;

  // Searches the stable version's catalogue (the candidate's when it serves
  // alone): a search is not a recommendation, so it is not split.
  absl::Status SearchMovies(
      const movierec::v1::SearchMoviesRequest& request,
      movierec::v1::SearchMoviesResponse* response,
      const CallControl& control = CallControl(),
      std::shared_ptr<const VersionMetrics>* answered_by = nullptr) const;

 private:
  ServingSource serving_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_RECOMMENDER_H_
