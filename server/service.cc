#include "server/service.h"

#include <chrono>
#include <string>

namespace movierec {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

RecommenderService::RecommenderService(const Recommender* recommender,
                                       ServerMetrics* metrics)
    : recommender_(recommender), metrics_(metrics) {}

grpc::ServerUnaryReactor* RecommenderService::Recommend(
    grpc::CallbackServerContext* context,
    const movierec::v1::RecommendRequest* request,
    movierec::v1::RecommendResponse* response) {
  const auto start = std::chrono::steady_clock::now();
  RecommendTrace trace;
  const grpc::Status status =
      ToGrpcStatus(recommender_->Recommend(*request, response, &trace));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  metrics_->RecordRequest(Method::kRecommend, status.error_code(), seconds);
  if (trace.retrieval_seconds >= 0) {
    metrics_->RecordStage(Stage::kRetrieval, trace.retrieval_seconds);
  }
  if (trace.ranking_seconds >= 0) {
    metrics_->RecordStage(Stage::kRanking, trace.ranking_seconds);
  }
  if (trace.fallback) metrics_->RecordFallback(Method::kRecommend);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace movierec
