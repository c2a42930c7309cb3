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

}  // namespace

grpc::Status OverloadStatus(Refusal refusal, absl::Duration wait) {
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
      return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("server overloaded: ", why,
                                   "; retry with backoff, or on another "
                                   "replica"));
}

RecommenderService::RecommenderService(const Recommender* recommender,
                                       ServerMetrics* metrics, WorkerPool* pool,
                                       BeforeCallHook before_call)
    : recommender_(recommender),
      metrics_(metrics),
      pool_(pool),
      before_call_(std::move(before_call)) {
  SetMessageAllocatorFor_Recommend(&recommend_allocator_);
  SetMessageAllocatorFor_SimilarMovies(&similar_allocator_);
  SetMessageAllocatorFor_RecommendBatch(&batch_allocator_);
}

grpc::ServerUnaryReactor* RecommenderService::Dispatch(
    Method method, grpc::CallbackServerContext* context, Work work) {
  const auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  metrics_->RecordCallStarted();
  const auto finish = [this, method, reactor, start](grpc::Status status) {
    metrics_->RecordRequest(
        method, status.error_code(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    // The call (context, request, response) may be gone after this.
    reactor->Finish(std::move(status));
  };
  const absl::Time deadline = Deadline(*context);
  const Admission admission = pool_->TrySubmit(
      deadline, [this, context, deadline, finish, work = std::move(work)](
                    Refusal refusal, absl::Duration waited) {
        if (refusal != Refusal::kNone) {
          // Its deadline passed while it waited: dropped without its work.
          metrics_->RecordRefusal(refusal);
          finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                              "the deadline passed while the call waited "
                              "for a worker"));
          return;
        }
        metrics_->RecordQueueWait(absl::ToDoubleSeconds(waited));
        metrics_->RecordQueueLength(pool_->queued());
        const CallControl control(deadline,
                                  [context] { return context->IsCancelled(); });
        if (before_call_) before_call_(control, context->peer());
        finish(ToGrpcStatus(work(control)));
      });
  metrics_->RecordQueue(admission.queued, admission.limit);
  if (admission.refusal != Refusal::kNone) {
    metrics_->RecordRefusal(admission.refusal);
    finish(OverloadStatus(admission.refusal, admission.expected_wait));
  }
  return reactor;
}

void RecommenderService::RecordTrace(Method method,
                                     const RecommendTrace& trace) {
  if (trace.retrieval_seconds >= 0) {
    metrics_->RecordStage(Stage::kRetrieval, trace.retrieval_seconds);
  }
  if (trace.ranking_seconds >= 0) {
    metrics_->RecordStage(Stage::kRanking, trace.ranking_seconds);
  }
  if (trace.fallback) metrics_->RecordFallback(method);
}

grpc::ServerUnaryReactor* RecommenderService::Recommend(
    grpc::CallbackServerContext* context, const v1::RecommendRequest* request,
    v1::RecommendResponse* response) {
  return Dispatch(Method::kRecommend, context,
                  [this, request, response](const CallControl& control) {
                    RecommendTrace trace;
                    const absl::Status status = recommender_->Recommend(
                        *request, response, &trace, control);
                    RecordTrace(Method::kRecommend, trace);
                    return status;
                  });
}

grpc::ServerUnaryReactor* RecommenderService::SimilarMovies(
    grpc::CallbackServerContext* context,
    const v1::SimilarMoviesRequest* request,
    v1::SimilarMoviesResponse* response) {
  return Dispatch(Method::kSimilarMovies, context,
                  [this, request, response](const CallControl& control) {
                    return recommender_->SimilarMovies(*request, response,
                                                       control);
                  });
}

grpc::ServerUnaryReactor* RecommenderService::RecommendBatch(
    grpc::CallbackServerContext* context,
    const v1::RecommendBatchRequest* request,
    v1::RecommendBatchResponse* response) {
  return Dispatch(Method::kRecommendBatch, context,
                  [this, request, response](const CallControl& control) {
                    std::vector<RecommendTrace> traces;
                    const absl::Status status = recommender_->RecommendBatch(
                        *request, response, &traces, control);
                    for (const RecommendTrace& t : traces) {
                      RecordTrace(Method::kRecommendBatch, t);
                    }
                    return status;
                  });
}

}  // namespace movierec
