#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>

#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "util/status_macros.h"

namespace movierec {

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
  if (options.grace_period < absl::ZeroDuration()) {
    return bad("--grace_period must be >= 0, got ",
               absl::FormatDuration(options.grace_period));
  }
  if (options.model.poll_interval < absl::ZeroDuration()) {
    return bad("--poll_interval must be >= 0 (0: never), got ",
               absl::FormatDuration(options.model.poll_interval));
  }
  if (options.model.pinned_version < 0) {
    return bad("--model_version must be >= 0 (0: the newest), got ",
               options.model.pinned_version);
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
  server->models_ = std::make_unique<ModelManager>(
      options.model, [self](const LoadEvent& event) { self->OnLoad(event); });
  server->recommender_ = std::make_unique<Recommender>(
      [self] { return self->models_->current(); });
  server->pool_ = std::make_unique<WorkerPool>(
      options.worker_threads > 0 ? options.worker_threads : AvailableCores());
  server->service_ = std::make_unique<RecommenderService>(
      server->recommender_.get(), &server->metrics_, server->pool_.get(),
      options.before_call);

  MOVIEREC_RETURN_IF_ERROR(server->StartMetrics());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address =
      absl::StrCat(options.listen_address, ":", options.port);
  builder.AddListeningPort(address, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
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

  const absl::Status loaded = server->models_->Poll();
  if (server->models_->current() == nullptr) {
    spdlog::warn("no model serves yet ({}); polling {} every {}",
                 std::string(loaded.message()), options.model.model_base,
                 absl::FormatDuration(options.model.poll_interval));
  }
  server->models_->StartPolling();
  return server;
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
  const int64_t movies =
      event.snapshot ? event.snapshot->model().num_movies() : 0;
  metrics_.RecordReload(event.status.ok(), event.version, event.seconds,
                        movies);
  if (!event.status.ok()) {
    spdlog::error("refused model version {}: {}", event.version,
                  std::string(event.status.message()));
    return;
  }
  // Readiness before the log line, so that whoever reads "serving" finds it
  // so. (After BeginShutdown gRPC keeps every name NOT_SERVING whatever is
  // set.) A model, once loaded, is never unloaded: readiness stays.
  if (server_ != nullptr && !shutting_down_.load()) {
    grpc::HealthCheckServiceInterface* health =
        server_->GetHealthCheckService();
    health->SetServingStatus(kRecommenderServiceName, true);
  }
  spdlog::info(
      "serving model version {} ({} movies, {} users) loaded in {:.3f}s",
      event.version, movies, event.snapshot->model().num_users(),
      event.seconds);
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
  // Refuses new calls at once; returns when every call has finished: calls
  // still running at the deadline are cancelled, and the workers, which see
  // the cancellation at their next check, finish them.
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(grace));
  server_->Wait();
}

MovierecServer::~MovierecServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

}  // namespace movierec
