// The server's Prometheus metrics (prometheus-cpp), served at /metrics on the
// metrics port:
//
//   movierec_requests_total{method, code,          calls by gRPC status
//                           transport}
//   movierec_request_duration_seconds{method,      whole-call latency
//                                     transport}
//   movierec_stage_duration_seconds{stage}         retrieval, ranking
//   movierec_fallbacks_total{method}               unknown users answered
//                                                  with popular movies
//   movierec_model_reloads_total{result}           success, failure
//   movierec_model_version                         serving version (0: none)
//   movierec_model_load_seconds                    load time of that version
//   movierec_model_loaded_timestamp_seconds        when it was swapped in
//   movierec_model_created_timestamp_seconds       when the trainer made it
//                                                  (its bundle's created_at;
//                                                  0: none loaded)
//   movierec_build_info{version, revision}         1; the code version
//                                                  (util/version.h) and commit
//   movierec_catalogue_movies                      movies in the catalogue
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
// Methods: Recommend, SimilarMovies, RecommendBatch. Codes: the names of
// absl::StatusCode ("OK", "INVALID_ARGUMENT", ...), for HTTP calls too (the
// code their HTTP status was mapped from). Transports: "grpc", "http"; a
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
#include <string>
#include <vector>

#include "server/worker_pool.h"

namespace movierec {

// The RPC methods the server counts.
enum class Method { kRecommend, kSimilarMovies, kRecommendBatch, kCount };
const char* MethodName(Method method);

// How a call arrived: the `transport` label.
enum class Transport { kGrpc, kHttp, kCount };
const char* TransportName(Transport transport);

enum class Stage { kRetrieval, kRanking, kCount };

class ServerMetrics {
 public:
  ServerMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // A call was accepted (in flight until RecordRequest).
  void RecordCallStarted();
  // A call ended with `code` after `seconds` (queueing included).
  void RecordRequest(Transport transport, Method method, grpc::StatusCode code,
                     double seconds);
  void RecordStage(Stage stage, double seconds);
  void RecordFallback(Method method);
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
  // A load attempt: on success also the serving version's gauges.
  void RecordReload(bool ok, int64_t version, double seconds,
                    int64_t catalogue_movies);
  // The serving version's creation time, its bundle's created_at (RFC 3339);
  // one that does not parse leaves the gauge as it was.
  void RecordModelCreated(const std::string& created_at);

  // The latency bucket bounds (seconds): fine below a millisecond.
  static std::vector<double> LatencyBuckets();
  // The queue-wait bucket bounds (seconds), 50 us to 1 s.
  static std::vector<double> QueueWaitBuckets();

 private:
  static constexpr int kCodes = 17;  // grpc::StatusCode 0 .. 16
  static constexpr int kMethods = static_cast<int>(Method::kCount);
  static constexpr int kStages = static_cast<int>(Stage::kCount);
  static constexpr int kTransports = static_cast<int>(Transport::kCount);

  std::shared_ptr<prometheus::Registry> registry_;
  std::array<std::array<std::array<prometheus::Counter*, kCodes>, kMethods>,
             kTransports>
      requests_{};
  std::array<std::array<prometheus::Histogram*, kMethods>, kTransports>
      latency_{};
  std::array<prometheus::Histogram*, kStages> stages_{};
  std::array<prometheus::Counter*, kMethods> fallbacks_{};
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
