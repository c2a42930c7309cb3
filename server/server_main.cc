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
#include "server/server.h"
#include "spdlog/spdlog.h"
#include "util/command_line.h"

ABSL_FLAG(std::string, model_base, "",
          "Directory of integer-named model versions (required)");
ABSL_FLAG(std::string, listen_address, "127.0.0.1",
          "Interface for the gRPC port; 0.0.0.0 for all (the container "
          "image's default)");
ABSL_FLAG(int, port, 50051, "gRPC port; 0 picks a free port");
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
ABSL_FLAG(absl::Duration, grace_period, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish");
ABSL_FLAG(int, max_message_bytes, 1 << 20,
          "Largest request message accepted, in bytes (a larger one fails "
          "with RESOURCE_EXHAUSTED)");
ABSL_FLAG(int, worker_threads, 0,
          "Threads that run the RPCs' work (retrieval and ranking, one "
          "single-threaded FAISS search per call); 0: one per available core "
          "(the CPU affinity mask and the cgroup CPU limit)");
ABSL_FLAG(bool, testonly_hold_calls_until_shutdown, false,
          "TEST ONLY, never in production: every call waits, before its "
          "work, until SIGTERM/SIGINT arrives, so that tests can have a call "
          "in flight at shutdown");
ABSL_FLAG(int, num_candidates, 100,
          "Candidates retrieved per request before the ranking stage orders "
          "them (1-10000)");

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "Serves movie recommendations over gRPC (movierec.v1.Recommender, "
      "grpc.health.v1.Health, reflection) and Prometheus metrics at "
      "/metrics.\n\nUsage: movierec-server --model_base DIR [--port 50051] "
      "[--metrics_port 9464]\n\nBoth ports listen on loopback unless "
      "--listen_address / --metrics_address say otherwise (the container "
      "image passes 0.0.0.0).",
      "server/server_main.cc");
  // Debian's Abseil checks every absl::Mutex acquisition (gRPC locks them
  // several times per call) for lock-order cycles, a debugging aid that was
  // ~1% of a Recommend call under load (absl GraphCycles in perf).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block the shutdown signals before any thread starts, so that only the
  // sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  movierec::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen_address);
  options.port = absl::GetFlag(FLAGS_port);
  options.tls.cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.model.model_base = absl::GetFlag(FLAGS_model_base);
  options.model.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  options.model.pinned_version = absl::GetFlag(FLAGS_model_version);
  if (options.model.model_base.empty()) {
    spdlog::error("--model_base is required");
    return 2;
  }
  if (options.model.pinned_version < 0) {
    spdlog::error("--model_version must be >= 0");
    return 2;
  }
  options.model.scorer.num_candidates = absl::GetFlag(FLAGS_num_candidates);
  if (options.model.scorer.num_candidates < 1 ||
      options.model.scorer.num_candidates > 10000) {
    spdlog::error("--num_candidates must be in 1-10000, got {}",
                  options.model.scorer.num_candidates);
    return 2;
  }
  if (options.max_receive_message_bytes <= 0) {
    spdlog::error("--max_message_bytes must be positive");
    return 2;
  }
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  if (options.worker_threads < 0) {
    spdlog::error("--worker_threads must be >= 0 (0: one per core), got {}",
                  options.worker_threads);
    return 2;
  }
  const absl::Duration grace = absl::GetFlag(FLAGS_grace_period);
  if (grace < absl::ZeroDuration()) {
    spdlog::error("--grace_period must be >= 0");
    return 2;
  }
  absl::Notification shutdown_begun;
  if (absl::GetFlag(FLAGS_testonly_hold_calls_until_shutdown)) {
    spdlog::warn("test-only: every call is held until shutdown begins");
    options.before_call = [&shutdown_begun](const movierec::CallControl&) {
      spdlog::info("test-only: holding a call until shutdown begins");
      shutdown_begun.WaitForNotification();
    };
  }
  absl::StatusOr<std::unique_ptr<movierec::MovierecServer>> server =
      movierec::MovierecServer::Start(options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("listening for gRPC on {}:{}, metrics on {}:{}, {} workers, {}",
               options.listen_address, (*server)->port(),
               options.metrics_address, (*server)->metrics_port(),
               (*server)->worker_threads(),
               options.tls.client_ca.empty()
                   ? (options.tls.cert.empty() ? "plaintext" : "TLS")
                   : "mutual TLS");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received {}; shutting down with a {} grace period",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
               absl::FormatDuration(grace));
  shutdown_begun.Notify();
  (*server)->Shutdown(grace);
  spdlog::info("stopped");
  return 0;
}
