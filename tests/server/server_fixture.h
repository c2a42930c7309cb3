// The fixture of the tests that start an in-process MovierecServer
// (server/server.h) over a model base in a temporary directory and call it
// through a real gRPC channel.
#ifndef MOVIEREC_TESTS_SERVER_SERVER_FIXTURE_H_
#define MOVIEREC_TESTS_SERVER_SERVER_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "server/server.h"
#include "tests/net_test_util.h"
#include "tests/test_util.h"

namespace movierec::test {

class ServerFixture : public ::testing::Test {
 protected:
  ServerFixture()
      : model_(MakeRandomModel(SmallMovieLens(10, 40, 8),
                               SmallRetrievalConfig(true), 5)),
        base_(dir_.File("models")) {}

  void WriteVersion() { WriteVersion(model_); }
  void WriteVersion(const Model& model) {
    ASSERT_OK(WriteModelVersion(base_, model, "").status());
  }

  // Options of a server on a free port over base_, polling every 50 ms.
  // With `metrics`, /metrics is served on a free port too; otherwise it is
  // off, because stopping civetweb (the metrics server) waits for its
  // 2-second poll to time out.
  ServerOptions Options(bool metrics = false) const {
    ServerOptions options;
    options.port = 0;
    options.metrics_port = metrics ? 0 : -1;
    options.http_port = -1;  // tests/server/http_test.cc turns it on
    options.worker_threads = 2;
    // These servers test behaviour, not admission: under ThreadSanitizer on
    // a busy 2-core machine a call can wait a quarter of a second for a
    // worker, which the default 50 ms queue-wait budget would refuse. The
    // admission tests set their own budget.
    options.admission.max_queue_wait = absl::Minutes(1);
    options.model.model_base = base_;
    options.model.poll_interval = absl::Milliseconds(50);
    return options;
  }

  void StartServer(bool metrics = false) { StartServer(Options(metrics)); }
  void StartServer(ServerOptions options) {
    ASSERT_OK_AND_ASSIGN(server_, MovierecServer::Start(std::move(options)));
    ASSERT_GT(server_->port(), 0);
    channel_ = NewChannel();
    stub_ = v1::Recommender::NewStub(channel_);
  }

  std::shared_ptr<grpc::Channel> NewChannel() const {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                               grpc::InsecureChannelCredentials());
  }

  grpc::Status Recommend(const std::string& user_id, int count,
                         v1::RecommendResponse* response) {
    v1::RecommendRequest request;
    request.set_user_id(user_id);
    request.set_count(count);
    return Call(request, response);
  }
  grpc::Status Call(const v1::RecommendRequest& request,
                    v1::RecommendResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    return stub_->Recommend(&context, request, response);
  }

  std::string KnownUser(int row) const {
    return absl::StrCat(model_.catalog.users[row].id);
  }
  std::string MovieId(int row) const {
    return absl::StrCat(model_.catalog.movies[row].id);
  }

  // The server's metrics in the Prometheus text format, read in-process.
  std::string MetricsPage() const {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(
        out, server_->metrics().registry()->Collect());
    return out.str();
  }
  // The sample `series`; a request metric's `series` without its version
  // label sums over every version (MetricValueAnyVersion). -1 when none.
  double Metric(const std::string& series) const {
    const std::string page = MetricsPage();
    std::optional<double> value = MetricValue(page, series);
    if (!value) value = MetricValueAnyVersion(page, series);
    return value.value_or(-1);
  }

  ScopedTempDir dir_;
  Model model_;
  std::string base_;
  std::unique_ptr<MovierecServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

// The Prometheus series of a request counter: method, gRPC code name and
// transport ("grpc", "http"), without its version label (ServerFixture::Metric
// sums over versions).
inline std::string RequestsSeries(const std::string& method,
                                  const std::string& code,
                                  const std::string& transport = "grpc") {
  return absl::StrCat("movierec_requests_total{code=\"", code, "\",method=\"",
                      method, "\",transport=\"", transport, "\"}");
}

}  // namespace movierec::test

#endif  // MOVIEREC_TESTS_SERVER_SERVER_FIXTURE_H_
