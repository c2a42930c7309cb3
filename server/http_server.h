// The HTTP/JSON face of movierec, beside gRPC (cpp-httplib):
//
//   POST /v1/recommend            RecommendRequest -> RecommendResponse
//   POST /v1/similar-movies       SimilarMoviesRequest -> ...Response
//   POST /v1/recommend:batch      RecommendBatchRequest -> ...Response
//   POST /v1/search-movies        SearchMoviesRequest -> ...Response
//   GET  /                        the demo page (server/demo/, its files
//                                 at /index.html, /demo.js, /demo.css)
//   GET  /healthz                 liveness: 200 while the server serves
//   GET  /readyz                  readiness: 200 while a model is loaded
//
// Bodies are JSON in the canonical mapping (server/http_api.h). Calls take
// the gRPC calls' path (CallDispatcher): the same Recommender, the same
// WorkerPool with admission control, deadlines from a `grpc-timeout` header
// ("100m") or a `timeout_ms` query parameter, the same metrics under
// transport="http". Errors are {"code", "message"} with the HTTP status of
// HttpStatusFor; an unknown path is 404, a known one with another method
// 405, a body past max_body_bytes 413.
//
// Threads: a fixed pool of `threads` that read, parse and wait for the
// workers (one connection each while it is open), fed by the accepting
// thread through a queue of at most `max_queued_connections`: past that the
// accepting thread waits, and new connections wait in the kernel's listen
// backlog.
//
// Thread-safe: BeginShutdown and Wait may be called from any thread.
#ifndef MOVIEREC_SERVER_HTTP_SERVER_H_
#define MOVIEREC_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/service.h"

namespace httplib {
class Server;
}

namespace movierec {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  // 0 picks a free port (see HttpServer::port()).
  int port = 8080;
  // Largest request body accepted (--max_message_bytes); larger: 413.
  size_t max_body_bytes = 1 << 20;
  // Threads that serve connections (--http_threads), at least 1.
  int threads = 16;
  // Accepted connections waiting for a thread, at most.
  int max_queued_connections = 64;
  // A client that sends or reads nothing for this long mid-request is
  // dropped (--http_io_timeout); whole seconds, at least 1.
  absl::Duration io_timeout = absl::Seconds(10);
  // An idle keep-alive connection is closed after this, and after this many
  // requests.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  int keep_alive_max_requests = 100;
};

class HttpServer {
 public:
  // `live` and `ready` answer /healthz and /readyz; `dispatcher` must
  // outlive the server. Errors: a port that cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, const CallDispatcher* dispatcher,
      std::function<bool()> live, std::function<bool()> ready);

  int port() const { return port_; }

  // Stops accepting connections at once; requests in flight go on, their
  // work cancelled at `cancel_at` (their deadlines still hold); an idle
  // keep-alive connection ends within keep_alive_timeout. Returns at once.
  // The first call sets `cancel_at`.
  void BeginShutdown(absl::Time cancel_at);
  // Waits until every request has ended (after BeginShutdown).
  void Wait();
  // BeginShutdown(now), then Wait.
  ~HttpServer();

 private:
  HttpServer() = default;
  void Route();
  // Whether calls in flight are to stop (past cancel_at).
  bool Cancelled() const;

  HttpServerOptions options_;
  const CallDispatcher* dispatcher_ = nullptr;
  std::function<bool()> live_;
  std::function<bool()> ready_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int port_ = 0;
  // When calls in flight are cancelled, as Unix nanoseconds (max: never).
  std::atomic<int64_t> cancel_at_ns_{INT64_MAX};
  std::atomic<bool> stopping_{false};
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_HTTP_SERVER_H_
