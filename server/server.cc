#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <prometheus/exposer.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// How often a client may ping an idle connection (keepalive) without being
// told off: gRPC's server default (5 minutes) answers a client that pings
// more often with GOAWAY "too_many_pings" and closes its connection.
// docs/operations.md asks clients for a keepalive time of 10 s or more,
// twice this, so that timer jitter never makes a ping early.
constexpr absl::Duration kMinClientPingInterval = absl::Seconds(5);

// A duration as a gRPC channel argument in milliseconds: rounded up (a
// positive duration never becomes 0), and INT_MAX, gRPC's "never", when it is
// infinite or longer than INT_MAX ms (24 days).
int ChannelArgMillis(absl::Duration duration) {
  if (duration >= absl::Milliseconds(INT_MAX)) return INT_MAX;
  return static_cast<int>(
      absl::ToInt64Milliseconds(absl::Ceil(duration, absl::Milliseconds(1))));
}

// 0 means "off" for the flags where gRPC has no use for 0: never.
absl::Duration ZeroIsNever(absl::Duration duration) {
  return duration == absl::ZeroDuration() ? absl::InfiniteDuration() : duration;
}

// Every second, memory malloc holds free beyond 32 MiB goes back to the
// system: after a burst, not under a steady load (see MemoryTrimmer).
constexpr absl::Duration kTrimInterval = absl::Seconds(1);
constexpr int64_t kTrimThresholdBytes = int64_t{32} << 20;

}  // namespace

absl::Status ValidateServerOptions(const ServerOptions& options) {
  const auto bad = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  };
  if (options.model.model_base.empty()) {
    return bad("--model_base is required: the model base directory");
  }
  if (options.port < 0 || options.port > 65535) {
    return bad("gRPC port ", options.port, " (--port) is outside 0-65535");
  }
  if (options.http_port < -1 || options.http_port > 65535) {
    return bad("HTTP port ", options.http_port,
               " (--http_port) is outside -1-65535");
  }
  if (options.http_threads < 1) {
    return bad("--http_threads must be >= 1, got ", options.http_threads);
  }
  if (options.http_io_timeout < absl::Seconds(1)) {
    return bad("--http_io_timeout must be at least 1s, got ",
               absl::FormatDuration(options.http_io_timeout));
  }
  if (options.metrics_port < -1 || options.metrics_port > 65535) {
    return bad("metrics port ", options.metrics_port,
               " (--metrics_port) is outside -1-65535");
  }
  if (options.worker_threads < 0) {
    return bad("--worker_threads must be >= 0 (0: one per core), got ",
               options.worker_threads);
  }
  if (options.max_receive_message_bytes <= 0) {
    return bad("--max_message_bytes must be positive, got ",
               options.max_receive_message_bytes);
  }
  if (options.admission.max_queue < 0) {
    return bad("--max_queue must be >= 0 (0: derived), got ",
               options.admission.max_queue);
  }
  if (options.admission.max_queue_wait <= absl::ZeroDuration()) {
    return bad("--max_queue_wait must be > 0, got ",
               absl::FormatDuration(options.admission.max_queue_wait));
  }
  if (options.memory_limit_bytes != 0 &&
      options.memory_limit_bytes < kMinMemoryLimitBytes) {
    return bad("--memory_limit must be at least 64Mi (0: detected), got ",
               options.memory_limit_bytes, " bytes");
  }
  if (options.grace_period < absl::ZeroDuration()) {
    return bad("--grace_period must be >= 0, got ",
               absl::FormatDuration(options.grace_period));
  }
  if (options.max_connection_age < absl::ZeroDuration()) {
    return bad("--max_connection_age must be >= 0 (0: never), got ",
               absl::FormatDuration(options.max_connection_age));
  }
  if (options.max_connection_age_grace < absl::ZeroDuration()) {
    return bad("--max_connection_age_grace must be >= 0, got ",
               absl::FormatDuration(options.max_connection_age_grace));
  }
  if (options.keepalive_time < absl::ZeroDuration()) {
    return bad("--keepalive_time must be >= 0 (0: no pings), got ",
               absl::FormatDuration(options.keepalive_time));
  }
  if (options.keepalive_timeout <= absl::ZeroDuration()) {
    return bad("--keepalive_timeout must be > 0, got ",
               absl::FormatDuration(options.keepalive_timeout));
  }
  if (options.model.poll_interval < absl::ZeroDuration()) {
    return bad("--poll_interval must be >= 0 (0: never), got ",
               absl::FormatDuration(options.model.poll_interval));
  }
  if (options.model.pinned_version < 0) {
    return bad("--model_version must be >= 0 (0: the newest), got ",
               options.model.pinned_version);
  }
  const double percent = options.model.canary_percent;
  if (!(percent >= 0 && percent <= 100) ||
      std::abs(percent * 100 - std::round(percent * 100)) > 1e-6) {
    return bad(
        "--canary_percent must be in 0-100 with at most 2 decimals, "
        "got ",
        percent);
  }
  if (options.model.stable_version < 0) {
    return bad(
        "--stable_version must be >= 0 (0: the one before the "
        "candidate), got ",
        options.model.stable_version);
  }
  if (options.model.pinned_version > 0 &&
      (percent > 0 || options.model.stable_version > 0)) {
    return bad(
        "--model_version serves one version: it cannot be combined "
        "with --canary_percent or --stable_version");
  }
  if (!(options.access_log_sample >= 0 && options.access_log_sample <= 1)) {
    return bad("--access_log_sample must be a fraction in 0-1, got ",
               options.access_log_sample);
  }
  if (options.model.ivf_nprobe < 0) {
    return bad("--ivf_nprobe must be >= 0 (0: the version's own), got ",
               options.model.ivf_nprobe);
  }
  if (options.model.result_cache_bytes < 0) {
    return bad("--result_cache must be >= 0 (0: no cache), got ",
               options.model.result_cache_bytes, " bytes");
  }
  const int candidates = options.model.scorer.num_candidates;
  if (candidates < 1 || candidates > kMaxNumCandidates) {
    return bad("--num_candidates must be in 1-", kMaxNumCandidates, ", got ",
               candidates);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MovierecServer>> MovierecServer::Start(
    ServerOptions options) {
  MOVIEREC_RETURN_IF_ERROR(ValidateServerOptions(options));
  // Read before anything starts, so that a bad file fails the start.
  MOVIEREC_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ServerCredentials> credentials,
      ServerCredentials(options.tls));
  std::unique_ptr<MovierecServer> server(new MovierecServer());
  server->options_ = options;
  MovierecServer* self = server.get();
  ModelManagerHooks hooks;
  hooks.loaded = [self](const LoadEvent& event) { self->OnLoad(event); };
  hooks.control_read = [self](const absl::Status& status) {
    self->OnControlRead(status);
  };
  hooks.serving_changed = [self](const ServingSet& serving) {
    self->OnServing(serving);
  };
  hooks.version_metrics = [self](int64_t version) {
    return self->metrics_.ForVersion(version);
  };
  server->models_ = std::make_unique<ModelManager>(options.model, hooks);
  server->recommender_ = std::make_unique<Recommender>(
      Recommender::ServingSource([self] { return self->models_->serving(); }));
  server->pool_ = std::make_unique<WorkerPool>(
      options.worker_threads > 0 ? options.worker_threads : AvailableCores(),
      options.admission);
  server->memory_limit_bytes_ = options.memory_limit_bytes > 0
                                    ? options.memory_limit_bytes
                                    : DetectMemoryLimit();
  server->memory_budget_ =
      BudgetFor(server->memory_limit_bytes_, options.max_receive_message_bytes);
  server->grpc_quota_bytes_ = server->memory_budget_.grpc_quota_bytes;
  if (options.access_log_sample > 0) {
    server->access_log_ = std::make_unique<AccessLog>(options.access_log_sample,
                                                      options.access_logger);
  }
  server->dispatcher_ = std::make_unique<CallDispatcher>(
      server->recommender_.get(), &server->metrics_, server->pool_.get(),
      options.before_call, server->access_log_.get());
  server->service_ =
      std::make_unique<RecommenderService>(server->dispatcher_.get());

  MOVIEREC_RETURN_IF_ERROR(server->StartMetrics());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address =
      absl::StrCat(options.listen_address, ":", options.port);
  builder.AddListeningPort(address, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // gRPC's buffers and calls within their share of the memory limit: under
  // pressure gRPC refuses new streams instead of growing.
  // (Resized once models load: OnServing.)
  server->quota_ = std::make_unique<grpc::ResourceQuota>("movierec-server");
  server->quota_->Resize(
      static_cast<size_t>(server->memory_budget_.grpc_quota_bytes));
  builder.SetResourceQuota(*server->quota_);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             server->memory_budget_.max_concurrent_streams);
  // Connection rotation: a client balancing over the headless Service
  // (round_robin) connects to the replicas its DNS answer names, and
  // resolves again only when a connection drops. The GOAWAY at the age makes
  // it reconnect, re-resolve and so spread onto replicas added since; its
  // calls meanwhile go on over its other connections, or wait for the new
  // one (gRPC retries a call the GOAWAY refused transparently).
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      ChannelArgMillis(ZeroIsNever(options.max_connection_age)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
      ChannelArgMillis(options.max_connection_age_grace));
  // Keepalive: finds connections whose client went away without closing
  // them (a node lost, a NAT entry expired), idle ones too.
  builder.AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      ChannelArgMillis(ZeroIsNever(options.keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             ChannelArgMillis(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // gRPC otherwise sends at most two pings (its default) while no data
  // flows, so keepalive would stop on idle connections.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Clients' own keepalive pings, idle connections included, are welcome
  // every kMinClientPingInterval.
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      ChannelArgMillis(kMinClientPingInterval));
  builder.RegisterService(server->service_.get());
  if (options.extra_services) {
    server->extra_services_ = options.extra_services(server->pool_.get());
    for (const auto& service : server->extra_services_) {
      builder.RegisterService(service.get());
    }
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", address));
  }
  // Liveness: the process is up and answers, model or not, so that a server
  // waiting for the trainer's first version is not restarted. Readiness
  // waits for a model (OnLoad).
  grpc::HealthCheckServiceInterface* health =
      server->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kRecommenderServiceName, false);
  MOVIEREC_RETURN_IF_ERROR(server->StartHttp());

  const absl::Status loaded = server->models_->Poll();
  if (server->models_->current() == nullptr) {
    spdlog::warn("no model serves yet ({}); polling {} every {}",
                 std::string(loaded.message()), options.model.model_base,
                 absl::FormatDuration(options.model.poll_interval));
  }
  server->models_->StartPolling();
  // Overloaded: calls were refused since the last tick.
  server->trimmer_ = std::make_unique<MemoryTrimmer>(
      kTrimInterval, kTrimThresholdBytes,
      [self, refusals = self->metrics_.refusals()]() mutable {
        const double now = self->metrics_.refusals();
        return std::exchange(refusals, now) != now;
      },
      [self](int64_t released) { self->metrics_.RecordTrim(released); });
  return server;
}

absl::Status MovierecServer::StartHttp() {
  if (options_.http_port < 0) return absl::OkStatus();
  HttpServerOptions http;
  http.address = options_.listen_address;
  http.port = options_.http_port;
  http.max_body_bytes = static_cast<size_t>(options_.max_receive_message_bytes);
  http.threads = options_.http_threads;
  http.max_queued_connections = 4 * options_.http_threads;
  http.io_timeout = options_.http_io_timeout;
  // As gRPC's health: live until shutdown begins, ready while a model is
  // loaded too.
  MOVIEREC_ASSIGN_OR_RETURN(
      http_,
      HttpServer::Start(
          http, dispatcher_.get(), [this] { return !shutting_down_; },
          [this] { return !shutting_down_ && models_->current() != nullptr; }));
  return absl::OkStatus();
}

absl::Status MovierecServer::StartMetrics() {
  if (options_.metrics_port < 0) return absl::OkStatus();
  const std::string address =
      absl::StrCat(options_.metrics_address, ":", options_.metrics_port);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(metrics_.registry());
  const std::vector<int> ports = exposer_->GetListeningPorts();
  metrics_port_ = ports.empty() ? options_.metrics_port : ports[0];
  return absl::OkStatus();
}

void MovierecServer::OnLoad(const LoadEvent& event) {
  metrics_.RecordReload(event.status.ok(), event.seconds);
  if (event.status.ok()) {
    metrics_.RecordModelCreated(event.snapshot->model().created_at);
  }
  if (!event.status.ok()) {
    spdlog::error("refused model version {}: {}", event.version,
                  std::string(event.status.message()));
    return;
  }
  spdlog::info("loaded model version {} ({} movies, {} users) in {:.3f}s",
               event.version, event.snapshot->model().num_movies(),
               event.snapshot->model().num_users(), event.seconds);
}

void MovierecServer::OnControlRead(const absl::Status& status) {
  if (status.ok()) {
    spdlog::info("canary control file {}/{} read", options_.model.model_base,
                 kCanaryFileName);
    return;
  }
  metrics_.RecordControlError();
  spdlog::error(
      "refused the canary control file, the previous setting stays: {}",
      std::string(status.message()));
}

void MovierecServer::OnServing(const ServingSet& serving) {
  metrics_.RecordServing(serving);
  std::vector<int64_t> held;
  for (const ServedVersion* v : {&serving.stable(), &serving.candidate()}) {
    if (v->snapshot != nullptr) held.push_back(v->snapshot->model_bytes());
  }
  const int64_t reserved = ModelReserveBytes(held);
  const int64_t quota = GrpcQuotaFor(memory_limit_bytes_, reserved);
  if (quota_ != nullptr && quota != grpc_quota_bytes_.exchange(quota)) {
    quota_->Resize(static_cast<size_t>(quota));
  }
  if (reserved > memory_limit_bytes_ / 2) {
    spdlog::warn(
        "the model versions held need about {} MiB of the {} MiB memory "
        "limit (--memory_limit); gRPC keeps {} MiB",
        reserved >> 20, memory_limit_bytes_ >> 20, quota >> 20);
  }
  // Readiness before the log line, so that whoever reads "serving" finds it
  // so. (After BeginShutdown gRPC keeps every name NOT_SERVING whatever is
  // set.) A model, once loaded, is never unloaded: readiness stays.
  if (serving.primary() != nullptr && server_ != nullptr &&
      !shutting_down_.load()) {
    server_->GetHealthCheckService()->SetServingStatus(kRecommenderServiceName,
                                                       true);
  }
  if (serving.candidate().snapshot == nullptr) {
    const std::shared_ptr<const Snapshot> primary = serving.primary();
    if (primary == nullptr) {
      spdlog::info("serving model version none");
    } else {
      spdlog::info("serving model version {} ({} movies, index {})",
                   primary->version_string(), primary->model().num_movies(),
                   primary->scorer().index().Describe());
    }
    return;
  }
  spdlog::info(
      "serving stable version {} and candidate version {} to {:.2f}% of users",
      serving.stable().snapshot ? serving.stable().snapshot->version_string()
                                : std::string("none"),
      serving.candidate().snapshot->version_string(),
      serving.effective_basis_points() / 100.0);
}

void MovierecServer::BeginShutdown() {
  if (shutting_down_.exchange(true)) return;
  models_->Stop();
  // Health first, so that load balancers stop sending before the port closes.
  // gRPC's Shutdown turns every name NOT_SERVING ("" and the Recommender)
  // and ignores any later SetServingStatus.
  server_->GetHealthCheckService()->Shutdown();
}

void MovierecServer::Shutdown(absl::Duration grace) {
  if (shut_down_.exchange(true)) return;
  BeginShutdown();
  // HTTP stops accepting at once; its calls in flight get the same grace.
  if (http_ != nullptr) http_->BeginShutdown(absl::Now() + grace);
  // Refuses new calls at once; returns when every call has finished: calls
  // still running at the deadline are cancelled, and the workers, which see
  // the cancellation at their next check, finish them.
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(grace));
  server_->Wait();
  if (http_ != nullptr) http_->Wait();
}

MovierecServer::~MovierecServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

}  // namespace movierec
