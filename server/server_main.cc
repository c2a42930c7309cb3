// movierec-server: serves movierec.v1.Recommender from the newest model
// version under --model_base, with health checking, reflection and
// Prometheus metrics. SIGTERM or SIGINT shuts it down gracefully (exit 0):
// health goes NOT_SERVING, new calls are refused, calls in flight get
// --grace_period to finish.
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "model/format_version.h"
#include "server/server.h"
#include "spdlog/spdlog.h"
#include "util/blas.h"
#include "util/command_line.h"
#include "util/log_flags.h"
#include "util/status_macros.h"
#include "util/status_util.h"
#include "util/version.h"

ABSL_FLAG(std::string, model_base, "",
          "Directory of integer-named model versions (required)");
ABSL_FLAG(std::string, listen_address, "127.0.0.1",
          "Interface for the gRPC and HTTP ports; 0.0.0.0 for all (the "
          "container image's default)");
ABSL_FLAG(int, port, 50051, "gRPC port; 0 picks a free port");
ABSL_FLAG(int, http_port, 8080,
          "HTTP/JSON port (POST /v1/recommend, /v1/similar-movies, "
          "/v1/recommend:batch, /v1/search-movies; GET /healthz, /readyz, "
          "and the demo page at /); -1 disables it, 0 picks a free port");
ABSL_FLAG(int, http_threads, 16,
          "Threads that serve HTTP connections (one each while it is open); "
          "more connections wait");
ABSL_FLAG(absl::Duration, http_io_timeout, absl::Seconds(10),
          "An HTTP client that sends or reads nothing for this long "
          "mid-request is dropped (whole seconds, at least 1s)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the gRPC port; with --tls_key it serves "
          "TLS only (plaintext otherwise)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle for mutual TLS: a client must present a certificate "
          "signed by it (needs --tls_cert and --tls_key)");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1",
          "Interface for the Prometheus /metrics port");
ABSL_FLAG(int, metrics_port, 9464,
          "Prometheus /metrics port; -1 disables it, 0 picks a free port");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(5),
          "How often to look for a newer model version; 0 disables polling");
ABSL_FLAG(int64_t, model_version, 0,
          "Serve exactly this version instead of the newest; 0 follows the "
          "newest");
ABSL_FLAG(double, canary_percent, 0,
          "Share of users (0-100, 2 decimals at most) answered by the "
          "candidate version (the newest) instead of the stable one (the one "
          "before it, or --stable_version); users are split by a hash of "
          "their id. 0 with no --stable_version and no MODEL_BASE/CANARY "
          "file: one version serves. MODEL_BASE/CANARY overrides it with no "
          "restart (docs/operations.md, \"Canary and A/B\")");
ABSL_FLAG(int64_t, stable_version, 0,
          "Pins the stable version of a canary (see --canary_percent); 0: "
          "the newest version older than the candidate. MODEL_BASE/CANARY's "
          "stable= overrides it");
ABSL_FLAG(absl::Duration, grace_period, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Seconds(30),
          "A client connection older than this (+/-10% jitter) is told to "
          "reconnect (GOAWAY), so that clients balancing over the headless "
          "Service spread onto new replicas; 0 or inf: never");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Seconds(10),
          "Time calls on a connection past --max_connection_age get to finish "
          "before it is closed; inf: no limit");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Seconds(30),
          "After this long without activity on a connection, the server "
          "pings the client; 0 or inf: no pings");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(10),
          "A connection whose client does not answer a keepalive ping within "
          "this is closed (> 0)");
ABSL_FLAG(int, max_message_bytes, 1 << 20,
          "Largest request message accepted, in bytes (a larger one fails "
          "with RESOURCE_EXHAUSTED)");
ABSL_FLAG(int, worker_threads, 0,
          "Threads that run the RPCs' work (retrieval and ranking, one "
          "single-threaded FAISS search per call), and so the calls computed "
          "at once; 0: one per available core (the CPU affinity mask and the "
          "cgroup CPU limit)");
ABSL_FLAG(bool, testonly_hold_calls_until_shutdown, false,
          "TEST ONLY, never in production: every call waits, before its "
          "work, until SIGTERM/SIGINT arrives, so that tests can have a call "
          "in flight at shutdown");
ABSL_FLAG(int, max_queue, 0,
          "Calls that may wait for a worker; more are refused at once with "
          "RESOURCE_EXHAUSTED. 0: 256 per worker");
ABSL_FLAG(absl::Duration, max_queue_wait, absl::Milliseconds(50),
          "The queue-wait budget: while the oldest call waiting for a worker "
          "has waited longer, or when the calls ahead would hold a new one "
          "longer, new calls are refused with RESOURCE_EXHAUSTED (as is one "
          "that could not start before its deadline)");
ABSL_FLAG(movierec::ByteSize, memory_limit, movierec::ByteSize{},
          "Memory the server may use (e.g. 1Gi, 512Mi); sizes gRPC's "
          "resource quota (half) and its concurrent streams per connection. "
          "Default: the cgroup memory limit, else physical memory");
ABSL_FLAG(absl::Duration, testonly_call_cost, absl::ZeroDuration(),
          "TEST ONLY, never in production: every call sleeps this long on "
          "its worker before its work, so that tests can make capacity "
          "small");
ABSL_FLAG(double, access_log_sample, 0,
          "Share of calls (0-1) that get an access log line (logger "
          "\"access\": method, status, latencies, model version, hashed "
          "user, traceparent); 0: no access log, 1: every call");
ABSL_FLAG(int, ivf_nprobe, 0,
          "IVF cells scanned per query, overriding the nprobe the trainer "
          "chose and saved with an IVF version (recall against latency); 0: "
          "the version's own");
ABSL_FLAG(movierec::ByteSize, result_cache, movierec::ByteSize{64 << 20},
          "Memory per model version for its result cache: each known user's "
          "answer to a request with neither recent movies nor a filter, kept "
          "once computed and reused until the version is replaced (about "
          "160 bytes a user at count 10); 0: no cache");
ABSL_FLAG(int, num_candidates, 100,
          "Candidates retrieved per request before the ranking stage orders "
          "them (1-10000)");

namespace movierec {
namespace {

// The server's options, as the flags give them (checked by
// ValidateServerOptions when the server starts).
ServerOptions OptionsFromFlags() {
  ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen_address);
  options.port = absl::GetFlag(FLAGS_port);
  options.http_port = absl::GetFlag(FLAGS_http_port);
  options.http_threads = absl::GetFlag(FLAGS_http_threads);
  options.http_io_timeout = absl::GetFlag(FLAGS_http_io_timeout);
  options.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  options.grace_period = absl::GetFlag(FLAGS_grace_period);
  options.admission.max_queue = absl::GetFlag(FLAGS_max_queue);
  options.admission.max_queue_wait = absl::GetFlag(FLAGS_max_queue_wait);
  options.memory_limit_bytes = absl::GetFlag(FLAGS_memory_limit).bytes;
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace =
      absl::GetFlag(FLAGS_max_connection_age_grace);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.model.model_base = absl::GetFlag(FLAGS_model_base);
  options.model.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  options.model.pinned_version = absl::GetFlag(FLAGS_model_version);
  options.model.canary_percent = absl::GetFlag(FLAGS_canary_percent);
  options.model.stable_version = absl::GetFlag(FLAGS_stable_version);
  options.model.scorer.num_candidates = absl::GetFlag(FLAGS_num_candidates);
  options.model.ivf_nprobe = absl::GetFlag(FLAGS_ivf_nprobe);
  options.model.result_cache_bytes = absl::GetFlag(FLAGS_result_cache).bytes;
  options.access_log_sample = absl::GetFlag(FLAGS_access_log_sample);
  return options;
}

// Serves until SIGTERM or SIGINT (which `signals`, blocked in every thread,
// holds for sigwait), then shuts down gracefully.
absl::Status Run(const sigset_t& signals) {
  ServerOptions options = OptionsFromFlags();
  MOVIEREC_RETURN_IF_ERROR(AsUsageError(ValidateServerOptions(options)));
  // One BLAS thread: each worker runs its calls' searches on its own core
  // (one thread per worker), and OpenBLAS's pool, one thread per core by
  // default, would compete with the workers for those cores. Set before
  // any model loads (their index builds call BLAS too).
  SetBlasThreads(1);
  absl::Notification shutdown_begun;
  if (absl::GetFlag(FLAGS_testonly_hold_calls_until_shutdown)) {
    spdlog::warn("test-only: every call is held until shutdown begins");
    options.before_call = [&shutdown_begun](const CallControl&,
                                            const std::string&) {
      spdlog::info("test-only: holding a call until shutdown begins");
      shutdown_begun.WaitForNotification();
    };
  }
  if (const absl::Duration cost = absl::GetFlag(FLAGS_testonly_call_cost);
      cost > absl::ZeroDuration()) {
    spdlog::warn("test-only: every call costs {} more",
                 absl::FormatDuration(cost));
    options.before_call = [cost](const CallControl&, const std::string&) {
      absl::SleepFor(cost);
    };
  }
  MOVIEREC_ASSIGN_OR_RETURN(
      const std::unique_ptr<MovierecServer> server,
      Annotate(MovierecServer::Start(options), "cannot start"));
  spdlog::info("movierec-server {} ({})", CodeVersion(), CodeRevision());
  spdlog::info("BLAS: {}", BlasDescription(LoadedBlas()));
  spdlog::info(
      "listening for gRPC on {}:{}, metrics on {}:{}, HTTP on {}:{}, {} "
      "workers, memory limit {} MiB ({} MiB for gRPC, {} streams a "
      "connection), {}",
      options.listen_address, server->port(), options.metrics_address,
      server->metrics_port(), options.listen_address, server->http_port(),
      server->worker_threads(), server->memory_limit_bytes() >> 20,
      server->memory_budget().grpc_quota_bytes >> 20,
      server->memory_budget().max_concurrent_streams,
      options.tls.client_ca.empty()
          ? (options.tls.cert.empty() ? "plaintext" : "TLS")
          : "mutual TLS");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received {}; shutting down with a {} grace period",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
               absl::FormatDuration(options.grace_period));
  shutdown_begun.Notify();
  server->Shutdown();
  spdlog::info("stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace movierec

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "Serves movie recommendations over gRPC (movierec.v1.Recommender, "
      "grpc.health.v1.Health, reflection) and HTTP/JSON, and Prometheus "
      "metrics at /metrics.\n\nUsage: movierec-server --model_base DIR "
      "[--port 50051] [--http_port 8080] [--metrics_port 9464]\n\nThe "
      "ports listen on loopback unless --listen_address / --metrics_address "
      "say otherwise (the container image passes 0.0.0.0).",
      "server/server_main.cc", movierec::kBundleFormatVersion);
  // Debian's Abseil checks every absl::Mutex acquisition (gRPC locks them
  // several times per call) for lock-order cycles, a debugging aid that
  // costs every call (absl GraphCycles in perf).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block the shutdown signals before any thread starts, so that only the
  // sigwait in Run receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::Status status = movierec::InitLoggingFromFlags();
  if (status.ok()) status = movierec::Run(signals);
  if (!status.ok()) spdlog::error("{}", std::string(status.message()));
  return movierec::ExitStatus(status);
}
