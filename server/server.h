// A running movierec server: the gRPC port (Recommender, grpc.health.v1.Health,
// server reflection), the HTTP/JSON port (server/http_server.h), the
// Prometheus metrics port, and the model manager that keeps the serving model
// current. main() and the in-process tests both
// start servers through this class.
//
// Health: "" (liveness) is SERVING as soon as the gRPC port listens, even
// before any model is loaded; "movierec.v1.Recommender" (readiness) is
// SERVING once a model is loaded. Both are NOT_SERVING from the start of
// Shutdown, for good. The HTTP port's /healthz and /readyz say the same
// (200 or 503).
//
// Threads: gRPC's own (its callback handlers queue work, or run one call at
// a time in a free slot: server/service.h), a WorkerPool of
// `worker_threads` that bounds and runs every RPC's work, the model poller,
// the metrics server's two, and the HTTP port's (HttpServerOptions::threads
// and its accepting thread).
//
// Thread-safe: Shutdown may be called from any thread, once.
#ifndef MOVIEREC_SERVER_SERVER_H_
#define MOVIEREC_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/access_log.h"
#include "server/http_server.h"
#include "server/memory_limit.h"
#include "server/memory_trimmer.h"
#include "server/metrics.h"
#include "server/model_manager.h"
#include "server/recommender.h"
#include "server/service.h"
#include "server/tls.h"
#include "server/worker_pool.h"

namespace prometheus {
class Exposer;
}

namespace movierec {

inline constexpr char kRecommenderServiceName[] = "movierec.v1.Recommender";
// The smallest --memory_limit accepted.
inline constexpr int64_t kMinMemoryLimitBytes = int64_t{64} << 20;

// Each field is a movierec-server flag of the same name (docs/flags.md);
// ValidateServerOptions checks them all, and errors name the flag.
struct ServerOptions {
  // Interface the gRPC and HTTP ports bind to; default loopback (the
  // container image passes 0.0.0.0).
  std::string listen_address = "127.0.0.1";
  // gRPC port; 0 picks a free one (see MovierecServer::port()).
  int port = 50051;
  // HTTP/JSON port (--http_port); -1 disables it, 0 picks a free one (see
  // MovierecServer::http_port()).
  int http_port = 8080;
  // Threads of the HTTP port (--http_threads), and the time a slow client
  // gets to send or read (--http_io_timeout).
  int http_threads = 16;
  absl::Duration http_io_timeout = absl::Seconds(10);
  // PEM files of the gRPC port's TLS (plaintext when none is given; mutual
  // TLS with a client CA). See server/tls.h.
  ServerTlsFiles tls;
  // Interface and port of /metrics; metrics_port -1 disables it, 0 picks a
  // free one.
  std::string metrics_address = "127.0.0.1";
  int metrics_port = 9464;
  // Largest request accepted, in bytes; default 1 MiB. A larger one is
  // refused by gRPC with RESOURCE_EXHAUSTED, and an HTTP body with 413.
  int max_receive_message_bytes = 1 << 20;
  // Threads that run the RPCs' work, and so the calls computed at once; 0
  // (the default): one per available core (AvailableCores()).
  int worker_threads = 0;
  // Time calls in flight get to finish on Shutdown (--grace_period); default
  // 10 s.
  absl::Duration grace_period = absl::Seconds(10);
  // The worker queue's limits (--max_queue, --max_queue_wait).
  AdmissionOptions admission;
  // Bytes of memory the server may use (--memory_limit); 0: the cgroup
  // limit, else physical memory (DetectMemoryLimit). Sizes gRPC's
  // ResourceQuota and its streams per connection (BudgetFor).
  int64_t memory_limit_bytes = 0;
  // Connection rotation (--max_connection_age, --max_connection_age_grace):
  // a client connection older than max_connection_age (gRPC adds +/-10 %
  // jitter) gets a GOAWAY, so that the client reconnects and its balancer
  // sees replicas added since; calls on it then get max_connection_age_grace
  // to finish before it is closed. Age 0 or infinite: never rotated. Grace
  // infinite: calls may run as long as they like.
  absl::Duration max_connection_age = absl::Seconds(30);
  absl::Duration max_connection_age_grace = absl::Seconds(10);
  // Server keepalive (--keepalive_time, --keepalive_timeout): after
  // keepalive_time without activity the server pings the client, and closes
  // the connection when no answer comes within keepalive_timeout. 0 or
  // infinite keepalive_time: no pings.
  absl::Duration keepalive_time = absl::Seconds(30);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  ModelManagerOptions model;
  // The share of calls the access log writes a line for
  // (--access_log_sample, 0-1; server/access_log.h); default 0: none.
  double access_log_sample = 0;
  // Where access log lines go; null (the default): the spdlog logger
  // "access", on the default logger's sinks. Tests capture lines with it.
  std::shared_ptr<spdlog::logger> access_logger;
  // Test-only: runs before each call's work, on the thread that runs it (a
  // worker, or the one that received the call: WorkerPool::TryRun), with the
  // call's peer address (see BeforeCallHook). Empty in production.
  BeforeCallHook before_call;
  // Benchmark-only: services to register beside Recommender, on the same
  // builder and port, made with the server's worker pool so that they can run
  // on the same threads (tests/bench/serving_bench serves an empty RPC this
  // way). Empty in production.
  std::function<std::vector<std::unique_ptr<grpc::Service>>(WorkerPool*)>
      extra_services;
};

// OK when every option is in range; otherwise InvalidArgument naming the
// flag (e.g. "--port 70000 is outside 0-65535"). The only place options are
// checked: MovierecServer::Start calls it, main only maps flags.
absl::Status ValidateServerOptions(const ServerOptions& options);

class MovierecServer {
 public:
  // Starts listening (liveness SERVING), then loads the newest model version
  // (readiness SERVING). The server starts even when no version loads yet
  // (readiness says NOT_SERVING and Recommend answers UNAVAILABLE) and keeps
  // polling. Errors: a bad option (ValidateServerOptions), a TLS file that
  // cannot be read, a port that cannot be bound.
  static absl::StatusOr<std::unique_ptr<MovierecServer>> Start(
      ServerOptions options);

  ~MovierecServer();

  int port() const { return port_; }
  // -1 when the HTTP port is disabled.
  int http_port() const { return http_ ? http_->port() : -1; }
  int metrics_port() const { return metrics_port_; }
  int worker_threads() const { return pool_->size(); }
  // The memory limit in force and its shares (see ServerOptions).
  int64_t memory_limit_bytes() const { return memory_limit_bytes_; }
  const MemoryBudget& memory_budget() const { return memory_budget_; }
  // gRPC's quota now: memory_budget()'s until a model loads, then what the
  // versions held leave (GrpcQuotaFor).
  int64_t grpc_quota_bytes() const { return grpc_quota_bytes_.load(); }
  const ServerMetrics& metrics() const { return metrics_; }
  ModelManager& models() { return *models_; }

  // The first step of Shutdown: health goes NOT_SERVING for good and the
  // model poller stops; calls are still accepted. Idempotent.
  void BeginShutdown();

  // BeginShutdown, then new calls are refused and calls in flight get
  // `grace` to finish before they are cancelled. Returns when all ended.
  void Shutdown(absl::Duration grace);
  // Shutdown with the options' grace period.
  void Shutdown() { Shutdown(options_.grace_period); }

 private:
  MovierecServer() = default;
  // Serves /metrics on the options' metrics port, unless it is -1.
  absl::Status StartMetrics();
  // Serves HTTP/JSON on the options' HTTP port, unless it is -1.
  absl::Status StartHttp();
  void OnLoad(const LoadEvent& event);
  // The versions serving changed: gauges, readiness, the memory budget.
  void OnServing(const ServingSet& serving);
  void OnControlRead(const absl::Status& status);

  ServerOptions options_;
  ServerMetrics metrics_;
  std::unique_ptr<ModelManager> models_;
  std::unique_ptr<Recommender> recommender_;
  // Declared before server_: destroyed after it, once no call can need them.
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<AccessLog> access_log_;  // null: no access log
  std::unique_ptr<CallDispatcher> dispatcher_;
  std::unique_ptr<RecommenderService> service_;
  std::vector<std::unique_ptr<grpc::Service>> extra_services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  // Returns what malloc holds free after a burst (server/memory_trimmer.h).
  std::unique_ptr<MemoryTrimmer> trimmer_;
  int port_ = 0;
  int metrics_port_ = -1;
  int64_t memory_limit_bytes_ = 0;
  MemoryBudget memory_budget_;
  std::unique_ptr<grpc::ResourceQuota> quota_;
  std::atomic<int64_t> grpc_quota_bytes_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> shut_down_{false};
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_SERVER_H_
