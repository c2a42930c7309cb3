#include "server/metrics.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "util/version.h"

namespace movierec {
namespace {

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kRetrieval:
      return "retrieval";
    case Stage::kRanking:
      return "ranking";
    case Stage::kCount:
      break;
  }
  return "unknown";
}

}  // namespace

const char* MethodName(Method method) {
  switch (method) {
    case Method::kRecommend:
      return "Recommend";
    case Method::kSimilarMovies:
      return "SimilarMovies";
    case Method::kRecommendBatch:
      return "RecommendBatch";
    case Method::kCount:
      break;
  }
  return "unknown";
}

const char* TransportName(Transport transport) {
  switch (transport) {
    case Transport::kGrpc:
      return "grpc";
    case Transport::kHttp:
      return "http";
    case Transport::kCount:
      break;
  }
  return "unknown";
}

std::vector<double> ServerMetrics::LatencyBuckets() {
  return {25e-6,  50e-6,  100e-6, 200e-6, 300e-6, 500e-6, 750e-6, 1e-3,
          1.5e-3, 2e-3,   3e-3,   5e-3,   7.5e-3, 10e-3,  25e-3,  50e-3,
          100e-3, 250e-3, 500e-3, 1.0,    2.5,    5.0};
}

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& requests = prometheus::BuildCounter()
                       .Name("movierec_requests_total")
                       .Help(
                           "Calls handled, by method, gRPC status code and "
                           "transport")
                       .Register(*registry_);
  auto& latency = prometheus::BuildHistogram()
                      .Name("movierec_request_duration_seconds")
                      .Help("Time to handle a call, by method and transport")
                      .Register(*registry_);
  auto& fallbacks =
      prometheus::BuildCounter()
          .Name("movierec_fallbacks_total")
          .Help("Requests for unknown users answered with popular movies")
          .Register(*registry_);
  for (int m = 0; m < kMethods; ++m) {
    const std::string method = MethodName(static_cast<Method>(m));
    for (int t = 0; t < kTransports; ++t) {
      const std::string transport = TransportName(static_cast<Transport>(t));
      for (int c = 0; c < kCodes; ++c) {
        requests_[t][m][c] = &requests.Add(
            {{"method", method},
             {"code",
              absl::StatusCodeToString(static_cast<absl::StatusCode>(c))},
             {"transport", transport}});
      }
      latency_[t][m] = &latency.Add(
          {{"method", method}, {"transport", transport}}, LatencyBuckets());
    }
    fallbacks_[m] = &fallbacks.Add({{"method", method}});
  }
  auto& stages = prometheus::BuildHistogram()
                     .Name("movierec_stage_duration_seconds")
                     .Help("Time spent in each stage of a recommendation")
                     .Register(*registry_);
  for (int s = 0; s < kStages; ++s) {
    stages_[s] = &stages.Add({{"stage", StageName(static_cast<Stage>(s))}},
                             LatencyBuckets());
  }
  auto& reloads = prometheus::BuildCounter()
                      .Name("movierec_model_reloads_total")
                      .Help("Model version load attempts, by result")
                      .Register(*registry_);
  reload_success_ = &reloads.Add({{"result", "success"}});
  reload_failure_ = &reloads.Add({{"result", "failure"}});
  const auto gauge = [this](const char* name, const char* help) {
    return &prometheus::BuildGauge()
                .Name(name)
                .Help(help)
                .Register(*registry_)
                .Add({});
  };
  model_version_ = gauge("movierec_model_version",
                         "The serving model version; 0 when none is loaded");
  model_load_seconds_ = gauge("movierec_model_load_seconds",
                              "Seconds it took to load the serving version");
  model_loaded_time_ = gauge("movierec_model_loaded_timestamp_seconds",
                             "Unix time at which the serving version loaded");
  model_created_time_ =
      gauge("movierec_model_created_timestamp_seconds",
            "Unix time at which the trainer created the serving version");
  prometheus::BuildGauge()
      .Name("movierec_build_info")
      .Help("Always 1; the labels say which code the server was built from")
      .Register(*registry_)
      .Add({{"version", CodeVersion()}, {"revision", CodeRevision()}})
      .Set(1);
  catalogue_movies_ = gauge("movierec_catalogue_movies",
                            "Movies in the serving model's catalogue");
  in_flight_ = gauge("movierec_requests_in_flight",
                     "RPCs accepted and not yet answered (queued or running)");
  auto& refusals =
      prometheus::BuildCounter()
          .Name("movierec_admission_refusals_total")
          .Help(
              "Calls refused (RESOURCE_EXHAUSTED) or dropped (deadline "
              "passed while queued) by admission control, by reason")
          .Register(*registry_);
  for (const Refusal r :
       {Refusal::kQueueFull, Refusal::kQueueWait, Refusal::kDeadline}) {
    refusals_[static_cast<int>(r)] =
        &refusals.Add({{"reason", std::string(RefusalName(r))}});
  }
  queue_wait_ = &prometheus::BuildHistogram()
                     .Name("movierec_queue_wait_seconds")
                     .Help("Time admitted calls waited for a worker")
                     .Register(*registry_)
                     .Add({}, QueueWaitBuckets());
  queue_length_ = gauge("movierec_queue_length", "Calls waiting for a worker");
  queue_limit_ = gauge("movierec_admission_queue_limit",
                       "The length limit of the queue for workers");
  const auto counter = [this](const char* name, const char* help) {
    return &prometheus::BuildCounter()
                .Name(name)
                .Help(help)
                .Register(*registry_)
                .Add({});
  };
  trims_ = counter("movierec_memory_trims_total",
                   "Times free memory held by malloc went back to the system");
  trimmed_bytes_ = counter("movierec_memory_trimmed_bytes_total",
                           "Resident bytes malloc gave back to the system");
}

std::vector<double> ServerMetrics::QueueWaitBuckets() {
  return {50e-6, 100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3, 5e-3,
          10e-3, 20e-3,  50e-3,  100e-3, 250e-3, 500e-3, 1.0};
}

void ServerMetrics::RecordRefusal(Refusal refusal) {
  const int r = static_cast<int>(refusal);
  if (r > 0 && r < static_cast<int>(refusals_.size())) {
    refusals_[r]->Increment();
  }
}

void ServerMetrics::RecordQueueWait(double seconds) {
  queue_wait_->Observe(seconds);
}

double ServerMetrics::refusals() const {
  double total = 0;
  for (const prometheus::Counter* c : refusals_) {
    if (c != nullptr) total += c->Value();
  }
  return total;
}

void ServerMetrics::RecordTrim(int64_t bytes) {
  trims_->Increment();
  if (bytes > 0) trimmed_bytes_->Increment(static_cast<double>(bytes));
}

void ServerMetrics::RecordQueueLength(size_t length) {
  queue_length_->Set(static_cast<double>(length));
}

void ServerMetrics::RecordQueue(size_t length, size_t limit) {
  queue_length_->Set(static_cast<double>(length));
  queue_limit_->Set(static_cast<double>(limit));
}

void ServerMetrics::RecordCallStarted() { in_flight_->Increment(); }

void ServerMetrics::RecordRequest(Transport transport, Method method,
                                  grpc::StatusCode code, double seconds) {
  const int t = static_cast<int>(transport);
  const int m = static_cast<int>(method);
  const int c = static_cast<int>(code);
  requests_[t][m][c >= 0 && c < kCodes ? c : grpc::StatusCode::UNKNOWN]
      ->Increment();
  latency_[t][m]->Observe(seconds);
  in_flight_->Decrement();
}

void ServerMetrics::RecordStage(Stage stage, double seconds) {
  stages_[static_cast<int>(stage)]->Observe(seconds);
}

void ServerMetrics::RecordFallback(Method method) {
  fallbacks_[static_cast<int>(method)]->Increment();
}

void ServerMetrics::RecordReload(bool ok, int64_t version, double seconds,
                                 int64_t catalogue_movies) {
  if (!ok) {
    reload_failure_->Increment();
    return;
  }
  reload_success_->Increment();
  model_version_->Set(static_cast<double>(version));
  model_load_seconds_->Set(seconds);
  model_loaded_time_->Set(
      std::chrono::duration<double>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  catalogue_movies_->Set(static_cast<double>(catalogue_movies));
}

void ServerMetrics::RecordModelCreated(const std::string& created_at) {
  absl::Time created;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, created_at, &created, &error)) {
    model_created_time_->Set(
        absl::ToDoubleSeconds(created - absl::UnixEpoch()));
  }
}

}  // namespace movierec
