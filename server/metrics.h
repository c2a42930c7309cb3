// The server's Prometheus metrics (prometheus-cpp), served at /metrics on the
// metrics port:
//
//   movierec_requests_total{method, code,          calls by gRPC status
//                           transport, version}
//   movierec_request_duration_seconds{method,      whole-call latency
//                                     transport,
//                                     version}
//   movierec_stage_duration_seconds{stage,         retrieval, ranking
//                                   version}
//   movierec_fallbacks_total{method, version}      unknown users answered
//                                                  with popular movies
//   movierec_result_cache_hits_total{method,       requests answered from
//                                    version}      the version's result
//                                                  cache (no stage ran)
//   movierec_model_reloads_total{result}           success, failure
//   movierec_model_version                         stable version (0: none)
//   movierec_model_load_seconds                    load time of the last
//                                                  version loaded
//   movierec_model_loaded_timestamp_seconds        when it loaded
//   movierec_catalogue_movies                      movies in the stable
//                                                  version's catalogue
//   movierec_model_serving{version, role}          share of users (0-1) of
//                                                  each version held; role
//                                                  "stable" or "candidate"
//   movierec_canary_percent                        the candidate's share
//                                                  asked for (0-100)
//   movierec_canary_control_errors_total           CANARY files refused
//   movierec_model_created_timestamp_seconds       when the trainer made the
//                                                  newest version loaded (its
//                                                  bundle's created_at; 0:
//                                                  none loaded)
//   movierec_build_info{version, revision}         1; the code version
//                                                  (util/version.h) and commit
//   movierec_requests_in_flight                    calls accepted, not ended
//   movierec_admission_refusals_total{reason}      calls refused or dropped by
//                                                  admission control
//   movierec_queue_wait_seconds                    admitted calls' wait for a
//                                                  worker
//   movierec_queue_length                          calls waiting for a worker
//   movierec_admission_queue_limit                 the queue's length limit
//   movierec_memory_trims_total                    free memory given back
//   movierec_memory_trimmed_bytes_total            to the system, and bytes
//
// `version` is the model version that answered the call (server/canary.h
// says which one does), "none" for a call that no version answered
// (malformed, refused by admission control, or before any model loaded).
// A version's series appear when it comes to serve and stay while it serves
// and until kRetainedVersions versions served after it (so that a scrape
// after a rollout still reads the old version's last counts, and a rollback
// to a recent version continues its counters); then they go.
//
// Methods: Recommend, SimilarMovies, RecommendBatch, SearchMovies. Codes: the
// names of absl::StatusCode ("OK", "INVALID_ARGUMENT", ...), for HTTP calls too
// (the code their HTTP status was mapped from). Transports: "grpc", "http"; a
// query that sums without `transport` counts both. The stage histograms
// observe each recommendation (one per request of a batch).
//
// Thread-safe: every Record* may be called from any thread.
#ifndef MOVIEREC_SERVER_METRICS_H_
#define MOVIEREC_SERVER_METRICS_H_

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/canary.h"
#include "server/worker_pool.h"

namespace movierec {

// The RPC methods the server counts.
enum class Method {
  kRecommend,
  kSimilarMovies,
  kRecommendBatch,
  kSearchMovies,
  kCount
};
const char* MethodName(Method method);

// How a call arrived: the `transport` label.
enum class Transport { kGrpc, kHttp, kCount };
const char* TransportName(Transport transport);

enum class Stage { kRetrieval, kRanking, kCount };

inline constexpr int kStatusCodes = 17;
// Versions whose series stay on /metrics after they stop serving.
inline constexpr int kRetainedVersions = 4;  // grpc::StatusCode 0 .. 16
inline constexpr int kMethods = static_cast<int>(Method::kCount);
inline constexpr int kStages = static_cast<int>(Stage::kCount);
inline constexpr int kTransports = static_cast<int>(Transport::kCount);

// The request metrics of one model version: pointers to the children,
// labelled with its version, of the request families, so that a call records
// under its version with no lookup. Made by ServerMetrics::ForVersion; its
// series leave /metrics when the last holder lets go of it.
class VersionMetrics {
 public:
  const std::string& version() const { return version_; }

 private:
  friend class ServerMetrics;
  explicit VersionMetrics(std::string version) : version_(std::move(version)) {}

  std::string version_;
  std::array<
      std::array<std::array<prometheus::Counter*, kStatusCodes>, kMethods>,
      kTransports>
      requests_{};
  std::array<std::array<prometheus::Histogram*, kMethods>, kTransports>
      latency_{};
  std::array<prometheus::Histogram*, kStages> stages_{};
  std::array<prometheus::Counter*, kMethods> fallbacks_{};
  std::array<prometheus::Counter*, kMethods> cache_hits_{};
};

class ServerMetrics {
 public:
  ServerMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // A call was accepted (in flight until RecordRequest).
  void RecordCallStarted();
  // The metrics of `version` (created, or shared with those already
  // held). Takes a lock: call it when a version comes to serve, not per call.
  std::shared_ptr<const VersionMetrics> ForVersion(int64_t version);

  // A call ended with `code` after `seconds` (queueing included), answered
  // by `version` (null: by none).
  void RecordRequest(const VersionMetrics* version, Transport transport,
                     Method method, grpc::StatusCode code, double seconds);
  void RecordStage(const VersionMetrics* version, Stage stage, double seconds);
  void RecordFallback(const VersionMetrics* version, Method method);
  void RecordCacheHit(const VersionMetrics* version, Method method);
  // The versions now serving, and their shares.
  void RecordServing(const ServingSet& serving);
  // The CANARY file was refused.
  void RecordControlError();
  // A call admission control refused (RefusalName(refusal) is the label).
  void RecordRefusal(Refusal refusal);
  // An admitted call waited `seconds` for a worker.
  void RecordQueueWait(double seconds);
  // The queue after a call was queued or refused.
  void RecordQueue(size_t length, size_t limit);
  // The queue's length when a worker took a call from it.
  void RecordQueueLength(size_t length);
  // Calls refused or dropped by admission control so far, all reasons.
  double refusals() const;
  // malloc_trim gave `bytes` back to the system.
  void RecordTrim(int64_t bytes);
  // A load attempt: on success also its load time.
  void RecordReload(bool ok, double seconds);
  // A version's creation time, its bundle's created_at (RFC 3339): the gauge
  // keeps the newest; one that does not parse leaves it as it was.
  void RecordModelCreated(const std::string& created_at);

  // The latency bucket bounds (seconds): fine below a millisecond.
  static std::vector<double> LatencyBuckets();
  // The queue-wait bucket bounds (seconds), 50 us to 1 s.
  static std::vector<double> QueueWaitBuckets();

 private:
  // Adds (or finds) the children of `metrics` labelled with its version.
  void AddChildren(VersionMetrics* metrics);
  // The deleter of ForVersion's metrics: removes their series unless a
  // newer VersionMetrics of the same version took them over.
  void Release(VersionMetrics* metrics);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  prometheus::Family<prometheus::Histogram>* stages_ = nullptr;
  prometheus::Family<prometheus::Counter>* fallbacks_ = nullptr;
  prometheus::Family<prometheus::Counter>* cache_hits_ = nullptr;
  prometheus::Family<prometheus::Gauge>* serving_ = nullptr;
  // Calls no version answered (version="none").
  std::unique_ptr<VersionMetrics> none_;

  std::mutex versions_mutex_;  // guards versions_ and serving_children_
  struct Held {
    const VersionMetrics* metrics;
    std::weak_ptr<const VersionMetrics> handle;
  };
  absl::flat_hash_map<int64_t, Held> versions_;
  std::vector<prometheus::Gauge*> serving_children_;
  // The metrics of the versions that served most recently, newest first
  // (at most kRetainedVersions + 2): kept so their series stay.
  std::vector<std::shared_ptr<const VersionMetrics>> recent_;
  prometheus::Gauge* canary_percent_ = nullptr;
  prometheus::Counter* control_errors_ = nullptr;
  prometheus::Counter* reload_success_ = nullptr;
  prometheus::Counter* reload_failure_ = nullptr;
  prometheus::Gauge* model_version_ = nullptr;
  prometheus::Gauge* model_load_seconds_ = nullptr;
  prometheus::Gauge* model_loaded_time_ = nullptr;
  prometheus::Gauge* model_created_time_ = nullptr;
  prometheus::Gauge* catalogue_movies_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  std::array<prometheus::Counter*, 4> refusals_{};  // by Refusal
  prometheus::Histogram* queue_wait_ = nullptr;
  prometheus::Gauge* queue_length_ = nullptr;
  prometheus::Gauge* queue_limit_ = nullptr;
  prometheus::Counter* trims_ = nullptr;
  prometheus::Counter* trimmed_bytes_ = nullptr;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_METRICS_H_
