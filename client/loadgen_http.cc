#include "client/loadgen_http.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
// <httplib.h> includes <resolv.h>, whose macro `_res` breaks other headers.
#undef _res

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace movierec::loadgen {
namespace {

namespace v1 = ::movierec::v1;

// The request of call `seq` in the canonical JSON mapping.
template <typename Request>
std::string JsonRequest(const RequestSource& source, uint64_t seq) {
  Request request;
  source.Fill(seq, &request);
  std::string json;
  // Cannot fail for a message without Any fields.
  (void)google::protobuf::util::MessageToJsonString(request, &json);
  return json;
}

}  // namespace

grpc::StatusCode GrpcCodeOfHttpStatus(int status) {
  switch (status) {
    case 200:
      return grpc::StatusCode::OK;
    case 400:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::NOT_FOUND;
    case 409:
      return grpc::StatusCode::ABORTED;
    case 413:
    case 429:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 499:
      return grpc::StatusCode::CANCELLED;
    case 500:
      return grpc::StatusCode::INTERNAL;
    case 501:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 503:
      return grpc::StatusCode::UNAVAILABLE;
    case 504:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}

std::string HttpPathOf(absl::string_view method) {
  if (method == kRecommend) return "/v1/recommend";
  if (method == kSimilarMovies) return "/v1/similar-movies";
  if (method == kRecommendBatch) return "/v1/recommend:batch";
  return "";
}

absl::StatusOr<std::unique_ptr<HttpCaller>> HttpCaller::Create(
    const std::string& target, int connections,
    std::shared_ptr<const RequestSource> source, absl::Duration timeout) {
  const size_t colon = target.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(target.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target \"", target, "\" is not HOST:PORT (the HTTP port)"));
  }
  if (connections < 1 || connections > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP connections ", connections, " is not in 1-100000"));
  }
  std::unique_ptr<HttpCaller> caller(new HttpCaller());
  caller->host_ = target.substr(0, colon);
  // "[::1]" -> "::1".
  if (caller->host_.size() >= 2 && caller->host_.front() == '[' &&
      caller->host_.back() == ']') {
    caller->host_ = caller->host_.substr(1, caller->host_.size() - 2);
  }
  caller->port_ = port;
  caller->path_ = HttpPathOf(source->workload().method);
  if (caller->path_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "method \"", source->workload().method, "\" has no HTTP path"));
  }
  caller->source_ = std::move(source);
  caller->timeout_ = timeout;
  for (int i = 0; i < connections; ++i) {
    caller->threads_.emplace_back([raw = caller.get()] { raw->Serve(); });
  }
  return caller;
}

HttpCaller::~HttpCaller() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

IssueCall HttpCaller::issue() {
  return [this](uint64_t seq, CallDone done) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      calls_.emplace_back(seq, std::move(done));
    }
    ready_.notify_one();
  };
}

void HttpCaller::Serve() {
  httplib::Client client(host_, port_);
  client.set_keep_alive(true);
  // cpp-httplib writes a request's headers and body apart: without
  // TCP_NODELAY, Nagle's algorithm holds the body back for the server's
  // delayed ACK (tens of ms a call), as curl and browsers never do.
  client.set_tcp_nodelay(true);
  const auto micros = absl::ToInt64Microseconds(timeout_);
  client.set_connection_timeout(micros / 1000000, micros % 1000000);
  client.set_read_timeout(micros / 1000000, micros % 1000000);
  client.set_write_timeout(micros / 1000000, micros % 1000000);
  const httplib::Headers headers = {
      {"grpc-timeout",
       absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout_)),
                    "m")}};
  const std::string& method = source_->workload().method;
  for (;;) {
    std::pair<uint64_t, CallDone> call;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !calls_.empty(); });
      if (calls_.empty()) return;
      call = std::move(calls_.front());
      calls_.pop_front();
    }
    const std::string body =
        method == kSimilarMovies
            ? JsonRequest<v1::SimilarMoviesRequest>(*source_, call.first)
        : method == kRecommendBatch
            ? JsonRequest<v1::RecommendBatchRequest>(*source_, call.first)
            : JsonRequest<v1::RecommendRequest>(*source_, call.first);
    const httplib::Result result =
        client.Post(path_, headers, body, "application/json");
    if (!result) {
      const httplib::Error error = result.error();
      call.second(grpc::Status(
          error == httplib::Error::Read || error == httplib::Error::Write
              ? grpc::StatusCode::DEADLINE_EXCEEDED
              : grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("HTTP: ", httplib::to_string(error))));
      continue;
    }
    const grpc::StatusCode code = GrpcCodeOfHttpStatus(result->status);
    call.second(code == grpc::StatusCode::OK
                    ? grpc::Status::OK
                    : grpc::Status(code, absl::StrCat("HTTP ", result->status,
                                                      ": ", result->body)));
  }
}

}  // namespace movierec::loadgen
