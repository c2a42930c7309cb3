// The gRPC face of movierec: movierec.v1.Recommender on the callback API.
// Handlers validate nothing themselves: they delegate to Recommender, convert
// its absl::Status at the edge (ToGrpcStatus) and record metrics.
#ifndef MOVIEREC_SERVER_SERVICE_H_
#define MOVIEREC_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "server/metrics.h"
#include "server/recommender.h"

namespace movierec {

// The one place where absl::Status becomes grpc::Status.
grpc::Status ToGrpcStatus(const absl::Status& status);

class RecommenderService final
    : public movierec::v1::Recommender::CallbackService {
 public:
  // Neither pointer is owned; both must outlive the service.
  RecommenderService(const Recommender* recommender, ServerMetrics* metrics);

  grpc::ServerUnaryReactor* Recommend(
      grpc::CallbackServerContext* context,
      const movierec::v1::RecommendRequest* request,
      movierec::v1::RecommendResponse* response) override;

 private:
  const Recommender* recommender_;
  ServerMetrics* metrics_;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_SERVICE_H_
