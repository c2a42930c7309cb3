// The gRPC face of movierec: movierec.v1.Recommender on the callback API,
// and CallDispatcher, the path every call takes whatever its transport (the
// HTTP/JSON face, server/http_server.h, uses it too).
//
// Each handler takes the call's DefaultReactor and hands the work to the
// WorkerPool. A short call (any but RecommendBatch) that finds a slot free
// and no call waiting runs at once on gRPC's thread and finishes the
// reactor before the handler returns (WorkerPool::TryRun), but only one
// such call at a time: gRPC's callback API runs handlers on at least two
// threads, so another one always receives the calls that arrive meanwhile
// and queues them where admission control sees them. Every other call is
// queued and returns at once; a worker runs it and finishes the reactor.
// The work first checks the call's deadline and cancellation
// (CallControl), and the Recommender checks them again between stages: a
// call whose client has gone does no further work.
//
// Handlers validate nothing themselves: they delegate to the Recommender,
// convert its absl::Status at the edge (ToGrpcStatus in
// server/grpc_status.h, the only conversion)
// and record metrics.
#ifndef MOVIEREC_SERVER_SERVICE_H_
#define MOVIEREC_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "server/access_log.h"
#include "server/arena_allocator.h"
#include "server/metrics.h"
#include "server/recommender.h"
#include "server/worker_pool.h"

namespace movierec {

// Test-only: runs before a call's work, on the thread that runs it (a
// worker, or the one that received the call), with its control and
// its peer address (grpc::ServerContext::peer(), "ipv4:127.0.0.1:PORT"): tests
// hold calls in flight with it, and tell client connections apart by the
// peer (see ServerOptions::before_call).
using BeforeCallHook =
    std::function<void(const CallControl&, const std::string& peer)>;

// RESOURCE_EXHAUSTED, "server overloaded: <why>; retry ...": the answer to a
// call admission control refused (`wait`: the wait that was expected or
// had passed). RESOURCE_EXHAUSTED rather than UNAVAILABLE: it says the
// server is out of capacity, not down, and gRPC's transparent retries and
// default retry policies leave it to the caller (docs/api.md, "Errors").
// OK for Refusal::kNone.
absl::Status OverloadError(Refusal refusal, absl::Duration wait);
// OverloadError as a grpc::Status.
grpc::Status OverloadStatus(Refusal refusal, absl::Duration wait);

// One call as the transport sees it.
struct CallInfo {
  Method method = Method::kRecommend;
  Transport transport = Transport::kGrpc;
  // InfiniteFuture: the client set none.
  absl::Time deadline = absl::InfiniteFuture();
  // Whether the client has gone (may be empty: never); called where the
  // work runs.
  std::function<bool()> cancelled;
  // The client's address, for BeforeCallHook; called where the work runs.
  std::function<std::string()> peer;
  // The work may run on the dispatching thread when it would start at once
  // (WorkerPool::TryRun); else it is always queued for a worker.
  bool inline_when_free = false;
  // The W3C traceparent the client sent ("" when none), for the access log;
  // called only for a sampled call, on the dispatching thread (may be empty).
  std::function<std::string()> traceparent;
};

// What a call's work reports besides its status.
struct CallResult {
  // The metrics of the model version that answered; null: none did (the
  // request metrics then say version="none").
  std::shared_ptr<const VersionMetrics> version;
};

// The one dispatch path of every call, gRPC or HTTP: counts it in flight,
// hands its work to the WorkerPool under admission control and its deadline
// (TrySubmit; TryRun when CallInfo::inline_when_free), runs the work with a
// CallControl, records the request metrics under the call's transport and
// the version that answered (CallResult), and hands the status to `done`,
// exactly once: on the caller's thread when admission control refuses the
// call at once or it ran inline, else on the worker. A call the access log
// samples gets an AccessRecord (CallControl::access_record) and a line.
class CallDispatcher {
 public:
  using Work = std::function<absl::Status(const CallControl&, CallResult*)>;
  using Done = std::function<void(absl::Status)>;

  // No pointer is owned; all must outlive the dispatcher. `access_log` may
  // be null (no access log).
  CallDispatcher(const Recommender* recommender, ServerMetrics* metrics,
                 WorkerPool* pool, BeforeCallHook before_call = nullptr,
                 const AccessLog* access_log = nullptr);

  void Dispatch(CallInfo call, Work work, Done done) const;
  // A call that ended with `status` before it could be dispatched (the
  // transport could not read its request): counted in the request metrics.
  void Refuse(const CallInfo& call, const absl::Status& status) const;

  // The work of each method: the Recommender's call, and its stage metrics.
  // The messages must outlive the work.
  Work RecommendWork(const movierec::v1::RecommendRequest* request,
                     movierec::v1::RecommendResponse* response) const;
  Work SimilarMoviesWork(const movierec::v1::SimilarMoviesRequest* request,
                         movierec::v1::SimilarMoviesResponse* response) const;
  Work RecommendBatchWork(const movierec::v1::RecommendBatchRequest* request,
                          movierec::v1::RecommendBatchResponse* response) const;
  Work SearchMoviesWork(const movierec::v1::SearchMoviesRequest* request,
                        movierec::v1::SearchMoviesResponse* response) const;

 private:
  void RecordTrace(Method method, const RecommendTrace& trace) const;
  // A new record of `call` when the access log samples it, else null.
  std::shared_ptr<AccessRecord> SampleAccess(const CallInfo& call) const;

  const Recommender* recommender_;
  ServerMetrics* metrics_;
  WorkerPool* pool_;
  BeforeCallHook before_call_;
  const AccessLog* access_log_;
};

class RecommenderService final
    : public movierec::v1::Recommender::CallbackService {
 public:
  // `dispatcher` must outlive the service, and its pool must run every task
  // submitted to it (the server stops the pool after gRPC).
  explicit RecommenderService(const CallDispatcher* dispatcher);

  grpc::ServerUnaryReactor* Recommend(
      grpc::CallbackServerContext* context,
      const movierec::v1::RecommendRequest* request,
      movierec::v1::RecommendResponse* response) override;

  grpc::ServerUnaryReactor* SimilarMovies(
      grpc::CallbackServerContext* context,
      const movierec::v1::SimilarMoviesRequest* request,
      movierec::v1::SimilarMoviesResponse* response) override;

  grpc::ServerUnaryReactor* RecommendBatch(
      grpc::CallbackServerContext* context,
      const movierec::v1::RecommendBatchRequest* request,
      movierec::v1::RecommendBatchResponse* response) override;

  grpc::ServerUnaryReactor* SearchMovies(
      grpc::CallbackServerContext* context,
      const movierec::v1::SearchMoviesRequest* request,
      movierec::v1::SearchMoviesResponse* response) override;

 private:
  // Dispatches `work`; the call finishes with its status.
  grpc::ServerUnaryReactor* Dispatch(Method method,
                                     grpc::CallbackServerContext* context,
                                     CallDispatcher::Work work);

  const CallDispatcher* dispatcher_;
  // Whether one of gRPC's threads is dispatching a call that may run on it
  // (see the top of this file): one at a time.
  std::atomic<bool> inline_taken_{false};
  // Each call's messages on one arena (server/arena_allocator.h).
  ArenaMessageAllocator<movierec::v1::RecommendRequest,
                        movierec::v1::RecommendResponse>
      recommend_allocator_;
  ArenaMessageAllocator<movierec::v1::SimilarMoviesRequest,
                        movierec::v1::SimilarMoviesResponse>
      similar_allocator_;
  ArenaMessageAllocator<movierec::v1::RecommendBatchRequest,
                        movierec::v1::RecommendBatchResponse>
      batch_allocator_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_SERVICE_H_
