// The access log (server/access_log.h): traceparent validation, the user
// hash, sampling, and the lines a real server writes for gRPC and HTTP calls.
#include "server/access_log.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
// <httplib.h> includes <resolv.h>, whose macro `_res` breaks the Eigen
// headers included below (a parameter of that name).
#undef _res
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "spdlog/sinks/ostream_sink.h"
#include "tests/server/server_fixture.h"
#include "util/logging.h"

namespace movierec {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTraceparent[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, AcceptsWellFormedValues) {
  EXPECT_TRUE(IsValidTraceparent(kTraceparent));
  // A later version may append fields after a dash.
  EXPECT_TRUE(IsValidTraceparent(
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later"));
}

TEST(TraceparentTest, RefusesMalformedValues) {
  for (const char* bad : {
           "",
           "garbage",
           // Uppercase hex.
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
           // All-zero trace id, all-zero parent id.
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
           // Version ff; version 00 with more after it.
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
           // Short trace id; wrong separators.
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
       }) {
    EXPECT_FALSE(IsValidTraceparent(bad)) << bad;
  }
}

TEST(UserIdHashTest, IsFnv1a64InHex) {
  EXPECT_EQ(UserIdHash(""), "cbf29ce484222325");
  EXPECT_EQ(UserIdHash("a"), "af63dc4c8601ec8c");
  EXPECT_NE(UserIdHash("1"), UserIdHash("2"));
}

TEST(AccessLogSampleTest, SamplesTheGivenShare) {
  std::ostringstream out;  // never written: Sample only
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("sample_test", sink);
  const AccessLog none(0, logger);
  const AccessLog all(1, logger);
  const AccessLog quarter(0.25, logger);
  int sampled = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    ASSERT_FALSE(none.Sample());
    ASSERT_TRUE(all.Sample());
    sampled += quarter.Sample() ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(sampled) / kDraws, 0.25, 0.02);
}

class AccessLogServerTest : public test::ServerFixture {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitLogging({LogFormat::kJson, "info"}).ok());
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    logger_ = std::make_shared<spdlog::logger>("access", sink);
    logger_->set_formatter(MakeJsonFormatter());
    WriteVersion();
  }
  void TearDown() override {
    server_.reset();
    ASSERT_TRUE(InitLogging(LogOptions{}).ok());
  }

  void Start(double sample) {
    ServerOptions options = Options();
    options.http_port = 0;
    options.access_log_sample = sample;
    options.access_logger = logger_;
    StartServer(std::move(options));
  }

  // The access lines so far, parsed.
  std::vector<nlohmann::json> Lines() {
    logger_->flush();
    std::vector<nlohmann::json> lines;
    for (const absl::string_view line :
         absl::StrSplit(out_.str(), '\n', absl::SkipEmpty())) {
      lines.push_back(nlohmann::json::parse(line));
    }
    return lines;
  }

  grpc::Status RecommendWithTrace(const std::string& user,
                                  const std::string& traceparent) {
    v1::RecommendRequest request;
    request.set_user_id(user);
    v1::RecommendResponse response;
    grpc::ClientContext context;
    context.set_deadline(test::CallDeadline());
    if (!traceparent.empty()) context.AddMetadata("traceparent", traceparent);
    return stub_->Recommend(&context, request, &response);
  }

  httplib::Result Post(const std::string& path, const std::string& body,
                       const httplib::Headers& headers = {}) {
    httplib::Client client("127.0.0.1", server_->http_port());
    client.set_read_timeout(10, 0);
    return client.Post(path.c_str(), headers, body, "application/json");
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
};

void ExpectAllFields(const nlohmann::json& line) {
  for (const char* key :
       {"ts", "level", "logger", "msg", "transport", "method", "code", "status",
        "latency_ms", "queue_ms", "retrieval_ms", "ranking_ms", "model_version",
        "user", "traceparent"}) {
    EXPECT_TRUE(line.contains(key)) << key << " missing: " << line.dump();
  }
  EXPECT_EQ(line["logger"], "access");
  EXPECT_EQ(line["msg"], "access");
  EXPECT_EQ(line["level"], "info");
}

TEST_F(AccessLogServerTest, EveryCallGetsALineAtSampleOne) {
  Start(1);
  const std::string secret = "secret-user-98765";
  const std::string known = KnownUser(2);
  ASSERT_TRUE(RecommendWithTrace(known, kTraceparent).ok());
  ASSERT_TRUE(RecommendWithTrace(secret, "00-not-a-traceparent").ok());
  ASSERT_TRUE(RecommendWithTrace(known, "").ok());
  httplib::Result http =
      Post("/v1/recommend", "{\"userId\": \"" + known + "\"}",
           {{"traceparent", kTraceparent}});
  ASSERT_TRUE(http);
  ASSERT_EQ(http->status, 200);
  http = Post("/v1/similar-movies", "{\"movieId\": \"" + MovieId(1) + "\"}");
  ASSERT_TRUE(http);
  ASSERT_EQ(http->status, 200);
  http = Post("/v1/recommend", "{\"count\": 1000}");  // invalid
  ASSERT_TRUE(http);
  ASSERT_EQ(http->status, 400);

  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_EQ(lines.size(), 6u) << out_.str();
  for (const auto& line : lines) ExpectAllFields(line);
  EXPECT_THAT(out_.str(), Not(HasSubstr(secret)));

  EXPECT_EQ(lines[0]["transport"], "grpc");
  EXPECT_EQ(lines[0]["method"], "Recommend");
  EXPECT_EQ(lines[0]["code"], "OK");
  EXPECT_EQ(lines[0]["status"], 0);
  EXPECT_EQ(lines[0]["model_version"], "1");
  EXPECT_EQ(lines[0]["user"], UserIdHash(known));
  EXPECT_EQ(lines[0]["traceparent"], kTraceparent);
  EXPECT_GT(lines[0]["latency_ms"].get<double>(), 0);
  EXPECT_GE(lines[0]["queue_ms"].get<double>(), 0);
  EXPECT_GE(lines[0]["retrieval_ms"].get<double>(), 0);

  EXPECT_EQ(lines[1]["user"], UserIdHash(secret));
  EXPECT_EQ(lines[1]["traceparent"], "invalid");
  EXPECT_TRUE(lines[1]["retrieval_ms"].is_null());  // fallback: no stages
  EXPECT_TRUE(lines[2]["traceparent"].is_null());

  EXPECT_EQ(lines[3]["transport"], "http");
  EXPECT_EQ(lines[3]["status"], 200);
  EXPECT_EQ(lines[3]["traceparent"], kTraceparent);
  EXPECT_EQ(lines[3]["user"], UserIdHash(known));

  EXPECT_EQ(lines[4]["method"], "SimilarMovies");
  EXPECT_TRUE(lines[4]["user"].is_null());
  EXPECT_EQ(lines[4]["model_version"], "1");

  EXPECT_EQ(lines[5]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(lines[5]["status"], 400);
  EXPECT_TRUE(lines[5]["model_version"].is_null());
}

TEST_F(AccessLogServerTest, BatchSumsItsStages) {
  Start(1);
  v1::RecommendBatchRequest request;
  request.add_requests()->set_user_id(KnownUser(0));
  request.add_requests()->set_user_id(KnownUser(1));
  v1::RecommendBatchResponse response;
  grpc::ClientContext context;
  context.set_deadline(test::CallDeadline());
  ASSERT_TRUE(stub_->RecommendBatch(&context, request, &response).ok());
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  ExpectAllFields(lines[0]);
  EXPECT_EQ(lines[0]["method"], "RecommendBatch");
  EXPECT_EQ(lines[0]["user"], UserIdHash(KnownUser(0)));
  EXPECT_GE(lines[0]["retrieval_ms"].get<double>(), 0);
}

TEST_F(AccessLogServerTest, NoLinesAtSampleZero) {
  Start(0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(RecommendWithTrace(KnownUser(1), kTraceparent).ok());
  }
  EXPECT_TRUE(Lines().empty()) << out_.str();
}

TEST_F(AccessLogServerTest, SampleOutsideZeroToOneIsRefused) {
  ServerOptions options = Options();
  options.access_log_sample = 2;
  const absl::Status status = ValidateServerOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--access_log_sample"));
  options.access_log_sample = -0.5;
  EXPECT_FALSE(ValidateServerOptions(options).ok());
}

TEST_F(AccessLogServerTest, BuildInfoIsExported) {
  Start(0);
  EXPECT_THAT(MetricsPage(), HasSubstr("movierec_build_info{"));
  EXPECT_GT(Metric("movierec_model_created_timestamp_seconds"), 1e9);
}

}  // namespace
}  // namespace movierec
