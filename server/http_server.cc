#include "server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "movierec/v1/recommender.pb.h"
#include "server/demo_assets.h"
#include "server/http_api.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

namespace v1 = ::movierec::v1;

constexpr char kJson[] = "application/json";

// cpp-httplib's task queue with a bound: `threads` threads, and at most
// `max_queued` connections waiting for one. When it is full, enqueue (the
// accepting thread) waits for room, so that further connections wait in the
// kernel's listen backlog instead of in memory. shutdown runs what is queued,
// then joins the threads.
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(int threads, size_t max_queued) : max_queued_(max_queued) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }

  void enqueue(std::function<void()> task) override {
    std::unique_lock<std::mutex> lock(mutex_);
    room_.wait(lock, [this] { return tasks_.size() < max_queued_; });
    tasks_.push_back(std::move(task));
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty() || stopping_; });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      room_.notify_one();
      task();
    }
  }

  const size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

void Send(const HttpReply& reply, httplib::Response& res) {
  res.status = reply.status;
  res.set_content(reply.body, kJson);
}

// When the call must end: now plus the shorter of the `grpc-timeout`
// header and the `timeout_ms` parameter; InfiniteFuture with neither.
absl::StatusOr<absl::Time> DeadlineOf(const httplib::Request& http) {
  absl::Duration timeout = absl::InfiniteDuration();
  if (http.has_header("grpc-timeout")) {
    MOVIEREC_ASSIGN_OR_RETURN(
        timeout, ParseGrpcTimeout(http.get_header_value("grpc-timeout")));
  }
  // From the query string only: cpp-httplib also files the fields of a
  // form-encoded body (curl -d sends one by default) as parameters.
  const absl::string_view target = http.target;
  const size_t query = target.find('?');
  if (query != absl::string_view::npos) {
    for (absl::string_view field :
         absl::StrSplit(target.substr(query + 1), '&')) {
      if (!absl::ConsumePrefix(&field, "timeout_ms=")) continue;
      MOVIEREC_ASSIGN_OR_RETURN(const absl::Duration ms, ParseTimeoutMs(field));
      timeout = std::min(timeout, ms);
    }
  }
  return absl::Now() + timeout;
}

// One call: its deadline and body read, then the shared dispatch path.
HttpReply Serve(const CallDispatcher& dispatcher, CallInfo call,
                const httplib::Request& http, absl::string_view body,
                google::protobuf::Message* request,
                const google::protobuf::Message& response,
                CallDispatcher::Work work) {
  absl::StatusOr<absl::Time> deadline = DeadlineOf(http);
  absl::Status read = deadline.status();
  if (read.ok()) read = ParseJsonBody(body, request);
  if (!read.ok()) {
    dispatcher.Refuse(call, read);
    return ErrorReply(read);
  }
  call.deadline = *deadline;
  // This thread waits for the answer anyway: it may as well compute it.
  call.inline_when_free = true;
  absl::Notification done;
  absl::Status status;
  dispatcher.Dispatch(std::move(call), std::move(work),
                      [&done, &status](absl::Status result) {
                        status = std::move(result);
                        done.Notify();
                      });
  done.WaitForNotification();
  if (!status.ok()) return ErrorReply(status);
  return {200, ToJson(response)};
}

// The answer to a body past --max_message_bytes.
absl::Status BodyTooLarge(size_t max_body) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the request body is larger than ", max_body,
                   " bytes (--max_message_bytes)"));
}

// The handler of a method: `make_work` is the CallDispatcher's *Work. It
// reads the body itself (a content reader), so that cpp-httplib leaves a
// form-encoded body (curl -d's default type) alone: it would parse it as
// form fields, and refuse one past 8 KiB.
template <typename Request, typename Response>
httplib::Server::HandlerWithContentReader CallHandler(
    Method method, const CallDispatcher* dispatcher,
    CallDispatcher::Work (CallDispatcher::*make_work)(const Request*, Response*)
        const,
    std::function<bool()> cancelled, size_t max_body) {
  return [=](const httplib::Request& http, httplib::Response& res,
             const httplib::ContentReader& content) {
    CallInfo call;
    call.method = method;
    call.transport = Transport::kHttp;
    call.traceparent = [&http] { return http.get_header_value("traceparent"); };
    std::string body;
    // cpp-httplib reads multipart bodies only into multipart receivers.
    const bool read = !http.is_multipart_form_data() &&
                      content([&body](const char* data, size_t length) {
                        body.append(data, length);
                        return true;
                      });
    if (!read) {
      const bool too_large = res.status == 413;
      const absl::Status status =
          too_large ? BodyTooLarge(max_body)
                    : absl::InvalidArgumentError(
                          "the request body cannot be read (cut short, or "
                          "multipart: send JSON)");
      dispatcher->Refuse(call, status);
      HttpReply reply = ErrorReply(status);
      if (too_large) reply.status = 413;
      Send(reply, res);
      res.set_header("Connection", "close");
      return;
    }
    Request request;
    Response response;
    call.cancelled = cancelled;
    call.peer = [&http] {
      return absl::StrCat("http:", http.remote_addr, ":", http.remote_port);
    };
    Send(Serve(*dispatcher, std::move(call), http, body, &request, response,
               (dispatcher->*make_work)(&request, &response)),
         res);
  };
}

// 200 {"status": "SERVING"} while `serving()`, else 503 NOT_SERVING (the
// gRPC health service's names).
httplib::Server::Handler HealthHandler(std::function<bool()> serving) {
  return [serving = std::move(serving)](const httplib::Request&,
                                        httplib::Response& res) {
    const bool ok = serving();
    Send({ok ? 200 : 503, ok ? "{\"status\": \"SERVING\"}\n"
                             : "{\"status\": \"NOT_SERVING\"}\n"},
         res);
  };
}

// A file of the demo page. The page loads nothing from elsewhere, and the
// Content-Security-Policy holds it to that.
httplib::Server::Handler AssetHandler(const DemoAsset& asset) {
  return [&asset](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(asset.body.data(), asset.body.size(), asset.content_type);
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-cache");
  };
}

// 405 for a known path asked with another method.
httplib::Server::Handler NotAllowed(std::string allow) {
  return [allow = std::move(allow)](const httplib::Request& http,
                                    httplib::Response& res) {
    HttpReply reply = ErrorReply(absl::UnimplementedError(absl::StrCat(
        http.method, " is not allowed on ", http.path, " (", allow, " is)")));
    reply.status = 405;
    Send(reply, res);
    res.set_header("Allow", allow);
  };
}

// The host as getaddrinfo takes it: "[::]" -> "::".
std::string BareHost(const std::string& address) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    return address.substr(1, address.size() - 2);
  }
  return address;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, const CallDispatcher* dispatcher,
    std::function<bool()> live, std::function<bool()> ready) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->dispatcher_ = dispatcher;
  server->live_ = std::move(live);
  server->ready_ = std::move(ready);
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  http.set_payload_max_length(options.max_body_bytes);
  // An answer's headers and body are written apart: without TCP_NODELAY,
  // Nagle's algorithm holds the body back until the client's (delayed) ACK
  // of the headers, tens of milliseconds a call on a keep-alive connection.
  http.set_tcp_nodelay(true);
  const time_t io_seconds = std::max<time_t>(
      1,
      absl::ToInt64Seconds(absl::Ceil(options.io_timeout, absl::Seconds(1))));
  http.set_read_timeout(io_seconds, 0);
  http.set_write_timeout(io_seconds, 0);
  http.set_keep_alive_max_count(
      static_cast<size_t>(std::max(1, options.keep_alive_max_requests)));
  http.set_keep_alive_timeout(
      std::max<time_t>(1, absl::ToInt64Seconds(absl::Ceil(
                              options.keep_alive_timeout, absl::Seconds(1)))));
  const int threads = std::max(1, options.threads);
  const size_t queued =
      static_cast<size_t>(std::max(1, options.max_queued_connections));
  http.new_task_queue = [threads, queued] {
    return new BoundedTaskQueue(threads, queued);
  };
  server->Route();

  const std::string host = BareHost(options.address);
  if (options.port == 0) {
    server->port_ = http.bind_to_any_port(host);
  } else {
    server->port_ = http.bind_to_port(host, options.port) ? options.port : -1;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for HTTP on ", options.address, ":", options.port));
  }
  server->listener_ = std::thread([&http] { http.listen_after_bind(); });
  // stop() does nothing before the accepting loop runs: wait for it.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!http.is_running() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return server;
}

void HttpServer::Route() {
  httplib::Server& http = *server_;
  const auto cancelled = [this] { return Cancelled(); };
  const size_t max_body = options_.max_body_bytes;
  const struct {
    const char* path;
    httplib::Server::HandlerWithContentReader handler;
  } calls[] = {
      {"/v1/recommend",
       CallHandler(Method::kRecommend, dispatcher_,
                   &CallDispatcher::RecommendWork, cancelled, max_body)},
      {"/v1/similar-movies",
       CallHandler(Method::kSimilarMovies, dispatcher_,
                   &CallDispatcher::SimilarMoviesWork, cancelled, max_body)},
      {"/v1/recommend:batch",
       CallHandler(Method::kRecommendBatch, dispatcher_,
                   &CallDispatcher::RecommendBatchWork, cancelled, max_body)},
      {"/v1/search-movies",
       CallHandler(Method::kSearchMovies, dispatcher_,
                   &CallDispatcher::SearchMoviesWork, cancelled, max_body)},
  };
  for (const auto& call : calls) {
    http.Post(call.path, call.handler);
    http.Get(call.path, NotAllowed("POST"));
    http.Put(call.path, NotAllowed("POST"));
    http.Patch(call.path, NotAllowed("POST"));
    http.Delete(call.path, NotAllowed("POST"));
    http.Options(call.path, NotAllowed("POST"));
  }
  const struct {
    const char* path;
    std::function<bool()> serving;
  } probes[] = {{"/healthz", live_}, {"/readyz", ready_}};
  for (const auto& probe : probes) {
    http.Get(probe.path, HealthHandler(probe.serving));
    http.Post(probe.path, NotAllowed("GET"));
    http.Put(probe.path, NotAllowed("GET"));
    http.Patch(probe.path, NotAllowed("GET"));
    http.Delete(probe.path, NotAllowed("GET"));
    http.Options(probe.path, NotAllowed("GET"));
  }
  for (const DemoAsset& asset : DemoAssets()) {
    const bool index = absl::string_view(asset.path) == "/index.html";
    for (const char* path : {asset.path, index ? "/" : nullptr}) {
      if (path == nullptr) continue;
      http.Get(path, AssetHandler(asset));
      http.Post(path, NotAllowed("GET"));
      http.Put(path, NotAllowed("GET"));
      http.Patch(path, NotAllowed("GET"));
      http.Delete(path, NotAllowed("GET"));
      http.Options(path, NotAllowed("GET"));
    }
  }
  // What cpp-httplib answers itself (no such path, a body too large, a
  // request it cannot read) gets a JSON body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        absl::Status status;
        switch (res.status) {
          case 404:
            status = absl::NotFoundError(
                absl::StrCat("no such path: ", req.path,
                             " (POST /v1/recommend, /v1/similar-movies, "
                             "/v1/recommend:batch, /v1/search-movies; GET /, "
                             "/healthz, /readyz)"));
            break;
          case 413:
            status = BodyTooLarge(max_body);
            break;
          default:
            status = absl::InvalidArgumentError(
                absl::StrCat("the HTTP request cannot be served (HTTP status ",
                             res.status, ")"));
        }
        res.set_content(ErrorReply(status).body, kJson);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

bool HttpServer::Cancelled() const {
  return absl::GetCurrentTimeNanos() >= cancel_at_ns_.load();
}

void HttpServer::BeginShutdown(absl::Time cancel_at) {
  if (stopping_.exchange(true)) return;
  cancel_at_ns_.store(cancel_at == absl::InfiniteFuture()
                          ? INT64_MAX
                          : absl::ToUnixNanos(cancel_at));
  server_->stop();
}

void HttpServer::Wait() {
  if (listener_.joinable()) listener_.join();
}

HttpServer::~HttpServer() {
  BeginShutdown(absl::Now());
  Wait();
}

}  // namespace movierec
