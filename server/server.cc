#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>

#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace movierec {

absl::StatusOr<std::unique_ptr<MovierecServer>> MovierecServer::Start(
    ServerOptions options) {
  if (options.model.model_base.empty()) {
    return absl::InvalidArgumentError("the model base directory is required");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("gRPC port ", options.port, " is outside 0-65535"));
  }
  if (options.metrics_port < -1 || options.metrics_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics port ", options.metrics_port, " is outside -1-65535"));
  }
  if (options.worker_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker threads ", options.worker_threads,
                     " is negative (0: one per core)"));
  }
  if (options.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max message bytes ", options.max_receive_message_bytes,
                     " is not positive"));
  }
  // Read before anything starts, so that a bad file fails the start.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
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

  if (options.metrics_port >= 0) {
    const std::string address =
        absl::StrCat(options.metrics_address, ":", options.metrics_port);
    try {
      server->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
    }
    server->exposer_->RegisterCollectable(server->metrics_.registry());
    const std::vector<int> ports = server->exposer_->GetListeningPorts();
    server->metrics_port_ = ports.empty() ? options.metrics_port : ports[0];
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address =
      absl::StrCat(options.listen_address, ":", options.port);
  builder.AddListeningPort(address, *credentials, &server->port_);
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
  grpc::HealthCheckServiceInterface* health =
      server->server_->GetHealthCheckService();
  health->SetServingStatus("", false);
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
  // Health before the log line, so that whoever reads "serving" finds it so.
  if (server_ != nullptr && !shutting_down_.load()) {
    grpc::HealthCheckServiceInterface* health =
        server_->GetHealthCheckService();
    health->SetServingStatus("", true);
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
