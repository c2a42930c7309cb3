#include "server/service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"

namespace movierec {
namespace {

namespace v1 = ::movierec::v1;

// The call's deadline; InfiniteFuture when the client set none.
absl::Time Deadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// The client's `traceparent` metadata ("" when none).
std::string Traceparent(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("traceparent");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

absl::Status OverloadError(Refusal refusal, absl::Duration wait) {
  std::string why;
  switch (refusal) {
    case Refusal::kQueueFull:
      why = "its queue is full";
      break;
    case Refusal::kQueueWait:
      why = absl::StrCat("calls wait ", absl::FormatDuration(wait),
                         " for a worker, past the queue-wait budget");
      break;
    case Refusal::kDeadline:
      why = absl::StrCat("the call would wait ", absl::FormatDuration(wait),
                         " for a worker, past its deadline");
      break;
    case Refusal::kNone:
      return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("server overloaded: ", why,
                   "; retry with backoff, or on another replica"));
}

grpc::Status OverloadStatus(Refusal refusal, absl::Duration wait) {
  return ToGrpcStatus(OverloadError(refusal, wait));
}

CallDispatcher::CallDispatcher(const Recommender* recommender,
                               ServerMetrics* metrics, WorkerPool* pool,
                               BeforeCallHook before_call,
                               const AccessLog* access_log)
    : recommender_(recommender),
      metrics_(metrics),
      pool_(pool),
      before_call_(std::move(before_call)),
      access_log_(access_log) {}

std::shared_ptr<AccessRecord> CallDispatcher::SampleAccess(
    const CallInfo& call) const {
  if (access_log_ == nullptr || !access_log_->Sample()) return nullptr;
  auto record = std::make_shared<AccessRecord>();
  record->transport = call.transport;
  record->method = call.method;
  if (call.traceparent) record->traceparent = call.traceparent();
  return record;
}

void CallDispatcher::Dispatch(CallInfo call, Work work, Done done) const {
  const auto start = std::chrono::steady_clock::now();
  metrics_->RecordCallStarted();
  std::shared_ptr<AccessRecord> record = SampleAccess(call);
  const auto finish = [this, transport = call.transport, method = call.method,
                       start, record, done = std::move(done)](
                          absl::Status status, const CallResult& result) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    metrics_->RecordRequest(result.version.get(), transport, method,
                            static_cast<grpc::StatusCode>(status.code()),
                            seconds);
    if (record) access_log_->Write(*record, status.code(), seconds);
    // The call (its messages) may be gone after this.
    done(std::move(status));
  };
  const absl::Time deadline = call.deadline;
  if (deadline <= absl::Now()) {
    // Over before it arrived (a deadline of microseconds, or a clock ahead
    // of ours): the caller's own deadline, not our capacity, ended it, so
    // it is answered as such rather than as an admission refusal.
    finish(absl::DeadlineExceededError(
               "the call's deadline had passed when it reached the server"),
           CallResult());
    return;
  }
  const bool inline_when_free = call.inline_when_free;
  WorkerPool::CallTask task = [this, call = std::move(call), finish,
                               work = std::move(work), record = record.get()](
                                  Refusal refusal, absl::Duration waited) {
    if (refusal != Refusal::kNone) {
      // Its deadline passed while it waited: dropped without its work.
      metrics_->RecordRefusal(refusal);
      finish(absl::DeadlineExceededError(
                 "the deadline passed while the call waited for a worker"),
             CallResult());
      return;
    }
    metrics_->RecordQueueWait(absl::ToDoubleSeconds(waited));
    metrics_->RecordQueueLength(pool_->queued());
    CallControl control(call.deadline, call.cancelled);
    if (record != nullptr) {
      record->queue_seconds = absl::ToDoubleSeconds(waited);
      control.set_access_record(record);
    }
    if (before_call_) {
      before_call_(control, call.peer ? call.peer() : std::string());
    }
    CallResult result;
    absl::Status status = work(control, &result);
    finish(std::move(status), result);
  };
  const Admission admission = inline_when_free
                                  ? pool_->TryRun(deadline, std::move(task))
                                  : pool_->TrySubmit(deadline, std::move(task));
  metrics_->RecordQueue(admission.queued, admission.limit);
  if (admission.refusal != Refusal::kNone) {
    metrics_->RecordRefusal(admission.refusal);
    finish(OverloadError(admission.refusal, admission.expected_wait),
           CallResult());
  }
}

void CallDispatcher::Refuse(const CallInfo& call,
                            const absl::Status& status) const {
  metrics_->RecordCallStarted();
  metrics_->RecordRequest(nullptr, call.transport, call.method,
                          static_cast<grpc::StatusCode>(status.code()), 0);
  if (const auto record = SampleAccess(call)) {
    access_log_->Write(*record, status.code(), 0);
  }
}

void CallDispatcher::RecordTrace(Method method,
                                 const RecommendTrace& trace) const {
  const VersionMetrics* version = trace.version.get();
  if (trace.retrieval_seconds >= 0) {
    metrics_->RecordStage(version, Stage::kRetrieval, trace.retrieval_seconds);
  }
  if (trace.ranking_seconds >= 0) {
    metrics_->RecordStage(version, Stage::kRanking, trace.ranking_seconds);
  }
  if (trace.fallback) metrics_->RecordFallback(version, method);
  if (trace.cached) metrics_->RecordCacheHit(version, method);
}

CallDispatcher::Work CallDispatcher::RecommendWork(
    const v1::RecommendRequest* request,
    v1::RecommendResponse* response) const {
  return [this, request, response](const CallControl& control,
                                   CallResult* result) {
    RecommendTrace trace;
    const absl::Status status =
        recommender_->Recommend(*request, response, &trace, control);
    RecordTrace(Method::kRecommend, trace);
    if (AccessRecord* record = control.access_record()) {
      record->AddStages(trace);
      record->Note(*request, *response);
    }
    result->version = std::move(trace.version);
    return status;
  };
}

CallDispatcher::Work CallDispatcher::SimilarMoviesWork(
    const v1::SimilarMoviesRequest* request,
    v1::SimilarMoviesResponse* response) const {
  return [this, request, response](const CallControl& control,
                                   CallResult* result) {
    const absl::Status status = recommender_->SimilarMovies(
        *request, response, control, &result->version);
    if (AccessRecord* record = control.access_record()) {
      record->Note(*request, *response);
    }
    return status;
  };
}

CallDispatcher::Work CallDispatcher::RecommendBatchWork(
    const v1::RecommendBatchRequest* request,
    v1::RecommendBatchResponse* response) const {
  return [this, request, response](const CallControl& control,
                                   CallResult* result) {
    std::vector<RecommendTrace> traces;
    const absl::Status status = recommender_->RecommendBatch(
        *request, response, &traces, control, &result->version);
    AccessRecord* record = control.access_record();
    for (const RecommendTrace& t : traces) {
      RecordTrace(Method::kRecommendBatch, t);
      if (record != nullptr) record->AddStages(t);
    }
    if (record != nullptr) record->Note(*request, *response);
    return status;
  };
}

CallDispatcher::Work CallDispatcher::SearchMoviesWork(
    const v1::SearchMoviesRequest* request,
    v1::SearchMoviesResponse* response) const {
  return [this, request, response](const CallControl& control,
                                   CallResult* result) {
    return recommender_->SearchMovies(*request, response, control,
                                      &result->version);
  };
}

RecommenderService::RecommenderService(const CallDispatcher* dispatcher)
    : dispatcher_(dispatcher) {
  SetMessageAllocatorFor_Recommend(&recommend_allocator_);
  SetMessageAllocatorFor_SimilarMovies(&similar_allocator_);
  SetMessageAllocatorFor_RecommendBatch(&batch_allocator_);
}

grpc::ServerUnaryReactor* RecommenderService::Dispatch(
    Method method, grpc::CallbackServerContext* context,
    CallDispatcher::Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallInfo call;
  call.method = method;
  call.transport = Transport::kGrpc;
  call.deadline = Deadline(*context);
  call.cancelled = [context] { return context->IsCancelled(); };
  call.peer = [context] { return context->peer(); };
  call.traceparent = [context] { return Traceparent(*context); };
  // A batch's milliseconds would hold gRPC's thread, and the hand-off is
  // nothing beside them.
  bool taken = false;
  call.inline_when_free = method != Method::kRecommendBatch &&
                          inline_taken_.compare_exchange_strong(
                              taken, true, std::memory_order_acquire);
  const bool release = call.inline_when_free;
  dispatcher_->Dispatch(std::move(call), std::move(work),
                        [reactor](absl::Status status) {
                          reactor->Finish(ToGrpcStatus(status));
                        });
  if (release) inline_taken_.store(false, std::memory_order_release);
  return reactor;
}

grpc::ServerUnaryReactor* RecommenderService::Recommend(
    grpc::CallbackServerContext* context, const v1::RecommendRequest* request,
    v1::RecommendResponse* response) {
  return Dispatch(Method::kRecommend, context,
                  dispatcher_->RecommendWork(request, response));
}

grpc::ServerUnaryReactor* RecommenderService::SimilarMovies(
    grpc::CallbackServerContext* context,
    const v1::SimilarMoviesRequest* request,
    v1::SimilarMoviesResponse* response) {
  return Dispatch(Method::kSimilarMovies, context,
                  dispatcher_->SimilarMoviesWork(request, response));
}

grpc::ServerUnaryReactor* RecommenderService::RecommendBatch(
    grpc::CallbackServerContext* context,
    const v1::RecommendBatchRequest* request,
    v1::RecommendBatchResponse* response) {
  return Dispatch(Method::kRecommendBatch, context,
                  dispatcher_->RecommendBatchWork(request, response));
}

grpc::ServerUnaryReactor* RecommenderService::SearchMovies(
    grpc::CallbackServerContext* context,
    const v1::SearchMoviesRequest* request,
    v1::SearchMoviesResponse* response) {
  return Dispatch(Method::kSearchMovies, context,
                  dispatcher_->SearchMoviesWork(request, response));
}

}  // namespace movierec
