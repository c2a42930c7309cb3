#include "server/metrics.h"

#include <algorithm>
#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
    case Method::kSearchMovies:
      return "SearchMovies";
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
  requests_ = &prometheus::BuildCounter()
                   .Name("movierec_requests_total")
                   .Help(
                       "Calls handled, by method, gRPC status code, transport "
                       "and the model version that answered")
                   .Register(*registry_);
  latency_ = &prometheus::BuildHistogram()
                  .Name("movierec_request_duration_seconds")
                  .Help(
                      "Time to handle a call, by method, transport and model "
                      "version")
                  .Register(*registry_);
  fallbacks_ = &prometheus::BuildCounter()
                    .Name("movierec_fallbacks_total")
                    .Help(
                        "Requests for unknown users answered with popular "
                        "movies, by method and model version")
                    .Register(*registry_);
  cache_hits_ = &prometheus::BuildCounter()
                     .Name("movierec_result_cache_hits_total")
                     .Help(
                         "Requests answered from the model version's result "
                         "cache, by method and model version")
                     .Register(*registry_);
  stages_ = &prometheus::BuildHistogram()
                 .Name("movierec_stage_duration_seconds")
                 .Help(
                     "Time spent in each stage of a recommendation, by model "
                     "version")
                 .Register(*registry_);
  none_.reset(new VersionMetrics("none"));
  AddChildren(none_.get());
  serving_ = &prometheus::BuildGauge()
                  .Name("movierec_model_serving")
                  .Help(
                      "Share of users (0-1) each model version held answers, "
                      "by role: stable or candidate")
                  .Register(*registry_);
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
                         "The stable (with no canary: the serving) model "
                         "version; 0 when none is loaded");
  model_load_seconds_ =
      gauge("movierec_model_load_seconds",
            "Seconds it took to load the last version loaded");
  model_loaded_time_ = gauge("movierec_model_loaded_timestamp_seconds",
                             "Unix time at which the last version loaded");
  model_created_time_ =
      gauge("movierec_model_created_timestamp_seconds",
            "Unix time at which the trainer created the newest version "
            "loaded");
  prometheus::BuildGauge()
      .Name("movierec_build_info")
      .Help("Always 1; the labels say which code the server was built from")
      .Register(*registry_)
      .Add({{"version", CodeVersion()}, {"revision", CodeRevision()}})
      .Set(1);
  catalogue_movies_ = gauge("movierec_catalogue_movies",
                            "Movies in the stable model version's catalogue");
  canary_percent_ = gauge("movierec_canary_percent",
                          "The candidate version's share of users asked for "
                          "(--canary_percent or the CANARY file), 0-100");
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
  control_errors_ = counter("movierec_canary_control_errors_total",
                            "CANARY control files refused as malformed (the "
                            "previous setting stays)");
}

void ServerMetrics::AddChildren(VersionMetrics* metrics) {
  const std::string& version = metrics->version_;
  for (int m = 0; m < kMethods; ++m) {
    const std::string method = MethodName(static_cast<Method>(m));
    for (int t = 0; t < kTransports; ++t) {
      const std::string transport = TransportName(static_cast<Transport>(t));
      for (int c = 0; c < kStatusCodes; ++c) {
        metrics->requests_[t][m][c] = &requests_->Add(
            {{"method", method},
             {"code",
              absl::StatusCodeToString(static_cast<absl::StatusCode>(c))},
             {"transport", transport},
             {"version", version}});
      }
      metrics->latency_[t][m] = &latency_->Add(
          {{"method", method}, {"transport", transport}, {"version", version}},
          LatencyBuckets());
    }
    metrics->fallbacks_[m] =
        &fallbacks_->Add({{"method", method}, {"version", version}});
    metrics->cache_hits_[m] =
        &cache_hits_->Add({{"method", method}, {"version", version}});
  }
  for (int s = 0; s < kStages; ++s) {
    metrics->stages_[s] = &stages_->Add(
        {{"stage", StageName(static_cast<Stage>(s))}, {"version", version}},
        LatencyBuckets());
  }
}

std::shared_ptr<const VersionMetrics> ServerMetrics::ForVersion(
    int64_t version) {
  std::lock_guard<std::mutex> lock(versions_mutex_);
  auto it = versions_.find(version);
  if (it != versions_.end()) {
    if (std::shared_ptr<const VersionMetrics> held = it->second.handle.lock()) {
      return held;
    }
  }
  // A VersionMetrics of this version whose last holder just let go may
  // still be on its way to Release: this one takes over its children (Add
  // finds them), and Release leaves them alone.
  auto* metrics = new VersionMetrics(absl::StrCat(version));
  AddChildren(metrics);
  std::shared_ptr<const VersionMetrics> handle(
      metrics, [this](const VersionMetrics* m) {
        Release(const_cast<VersionMetrics*>(m));
      });
  versions_[version] = Held{metrics, handle};
  return handle;
}

void ServerMetrics::Release(VersionMetrics* metrics) {
  std::unique_ptr<VersionMetrics> owned(metrics);
  std::lock_guard<std::mutex> lock(versions_mutex_);
  int64_t version = 0;
  (void)absl::SimpleAtoi(metrics->version_, &version);
  const auto it = versions_.find(version);
  if (it == versions_.end() || it->second.metrics != metrics) return;
  versions_.erase(it);
  for (auto& by_method : metrics->requests_) {
    for (auto& by_code : by_method) {
      for (prometheus::Counter* counter : by_code) requests_->Remove(counter);
    }
  }
  for (auto& by_method : metrics->latency_) {
    for (prometheus::Histogram* histogram : by_method) {
      latency_->Remove(histogram);
    }
  }
  for (prometheus::Counter* counter : metrics->fallbacks_) {
    fallbacks_->Remove(counter);
  }
  for (prometheus::Counter* counter : metrics->cache_hits_) {
    cache_hits_->Remove(counter);
  }
  for (prometheus::Histogram* histogram : metrics->stages_) {
    stages_->Remove(histogram);
  }
}

void ServerMetrics::RecordServing(const ServingSet& serving) {
  std::vector<std::shared_ptr<const VersionMetrics>> dropped;
  std::lock_guard<std::mutex> lock(versions_mutex_);
  for (prometheus::Gauge* gauge : serving_children_) serving_->Remove(gauge);
  serving_children_.clear();
  const double candidate_share =
      serving.effective_basis_points() / static_cast<double>(kCanaryBuckets);
  const auto add = [this](const ServedVersion& served, const char* role,
                          double share) {
    if (served.snapshot == nullptr) return;
    prometheus::Gauge* gauge = &serving_->Add(
        {{"version", served.snapshot->version_string()}, {"role", role}});
    gauge->Set(share);
    serving_children_.push_back(gauge);
  };
  add(serving.stable(), "stable", 1 - candidate_share);
  add(serving.candidate(), "candidate", candidate_share);
  // The versions serving first, then those that served before them.
  std::vector<std::shared_ptr<const VersionMetrics>> recent;
  for (const ServedVersion* v : {&serving.candidate(), &serving.stable()}) {
    if (v->metrics != nullptr) recent.push_back(v->metrics);
  }
  const size_t serving_count = recent.size();
  for (std::shared_ptr<const VersionMetrics>& old : recent_) {
    if (recent.size() >= serving_count + kRetainedVersions) break;
    if (std::find(recent.begin(), recent.end(), old) == recent.end()) {
      recent.push_back(std::move(old));
    }
  }
  // Those dropped here are released after the lock (Release takes it).
  recent.swap(recent_);
  dropped = std::move(recent);
  canary_percent_->Set(serving.candidate_basis_points() / 100.0);
  const std::shared_ptr<const Snapshot> primary = serving.primary();
  model_version_->Set(primary ? static_cast<double>(primary->version()) : 0.0);
  catalogue_movies_->Set(
      primary ? static_cast<double>(primary->model().num_movies()) : 0.0);
}

void ServerMetrics::RecordControlError() { control_errors_->Increment(); }

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

void ServerMetrics::RecordRequest(const VersionMetrics* version,
                                  Transport transport, Method method,
                                  grpc::StatusCode code, double seconds) {
  const VersionMetrics& v = version != nullptr ? *version : *none_;
  const int t = static_cast<int>(transport);
  const int m = static_cast<int>(method);
  const int c = static_cast<int>(code);
  v.requests_[t][m][c >= 0 && c < kStatusCodes ? c : grpc::StatusCode::UNKNOWN]
      ->Increment();
  v.latency_[t][m]->Observe(seconds);
  in_flight_->Decrement();
}

void ServerMetrics::RecordStage(const VersionMetrics* version, Stage stage,
                                double seconds) {
  const VersionMetrics& v = version != nullptr ? *version : *none_;
  v.stages_[static_cast<int>(stage)]->Observe(seconds);
}

void ServerMetrics::RecordFallback(const VersionMetrics* version,
                                   Method method) {
  const VersionMetrics& v = version != nullptr ? *version : *none_;
  v.fallbacks_[static_cast<int>(method)]->Increment();
}

void ServerMetrics::RecordCacheHit(const VersionMetrics* version,
                                   Method method) {
  const VersionMetrics& v = version != nullptr ? *version : *none_;
  v.cache_hits_[static_cast<int>(method)]->Increment();
}

void ServerMetrics::RecordReload(bool ok, double seconds) {
  if (!ok) {
    reload_failure_->Increment();
    return;
  }
  reload_success_->Increment();
  model_load_seconds_->Set(seconds);
  model_loaded_time_->Set(
      std::chrono::duration<double>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

void ServerMetrics::RecordModelCreated(const std::string& created_at) {
  absl::Time created;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, created_at, &created, &error)) {
    // The newest: a canary's stable version, loaded after the candidate,
    // is older than what the trainer last made.
    const double seconds = absl::ToDoubleSeconds(created - absl::UnixEpoch());
    if (seconds > model_created_time_->Value()) {
      model_created_time_->Set(seconds);
    }
  }
}

}  // namespace movierec
