// movierec-loadgen's HTTP/JSON transport (--transport=http): the workload's
// requests as POSTs to the server's HTTP port (server/http_server.h), so that
// the same Recommend calls can be measured over gRPC and over HTTP.
//
// HttpCaller keeps `connections` keep-alive connections, each with a thread
// of its own that sends one call, waits for its answer and takes the next:
// for a closed loop at concurrency C, C connections give each caller its own
// (what a pool of blocking HTTP clients does). Each call carries its
// deadline as a `grpc-timeout` header. The answer's HTTP status maps back
// to the gRPC code the server mapped it from (GrpcCodeOfHttpStatus); the
// body of a 200 is not parsed, only that of an error, for its message.
//
// Thread-safe: the IssueCall may be called from any thread; every call must
// have ended before the HttpCaller is destroyed (RunLoad returns only then).
#ifndef MOVIEREC_CLIENT_LOADGEN_HTTP_H_
#define MOVIEREC_CLIENT_LOADGEN_HTTP_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/loadgen.h"
#include "client/loadgen_workload.h"

namespace movierec::loadgen {

// The gRPC code of an HTTP status as server/http_api.h maps them (Google's
// API design guide): 200 OK, 400 INVALID_ARGUMENT, 404 NOT_FOUND, 413 and
// 429 RESOURCE_EXHAUSTED, 499 CANCELLED, 501 UNIMPLEMENTED, 503
// UNAVAILABLE, 504 DEADLINE_EXCEEDED, ...; UNKNOWN for any other.
grpc::StatusCode GrpcCodeOfHttpStatus(int status);

// The HTTP path of a workload method: "/v1/recommend", "/v1/similar-movies"
// or "/v1/recommend:batch"; "" for another name.
std::string HttpPathOf(absl::string_view method);

class HttpCaller {
 public:
  // `target` is HOST:PORT of the HTTP port. InvalidArgument for a target
  // without a port, or `connections` outside 1-100000. Connections open on
  // the first call of each thread.
  static absl::StatusOr<std::unique_ptr<HttpCaller>> Create(
      const std::string& target, int connections,
      std::shared_ptr<const RequestSource> source, absl::Duration timeout);
  // Joins the threads (every call must have ended).
  ~HttpCaller();

  // Queues call `seq`; a free connection's thread sends it.
  IssueCall issue();

 private:
  HttpCaller() = default;
  void Serve();

  std::string host_;
  int port_ = 0;
  std::string path_;
  std::shared_ptr<const RequestSource> source_;
  absl::Duration timeout_;

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<uint64_t, CallDone>> calls_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace movierec::loadgen

#endif  // MOVIEREC_CLIENT_LOADGEN_HTTP_H_
