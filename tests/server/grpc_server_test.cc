// End-to-end tests of an in-process MovierecServer (server/server.h) over a
// real gRPC channel: Recommend, grpc.health.v1.Health, server reflection and
// the Prometheus /metrics page.
//
// The installed gRPC (Debian 12, 1.51) ships neither the generated health
// stub nor ProtoReflectionDescriptorDatabase, so health and reflection are
// called through grpc::GenericStub with hand-encoded protobuf bytes, and the
// answers are decoded with google::protobuf::UnknownFieldSet.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "model/bundle.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "server/server.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::google::protobuf::UnknownField;
using ::google::protobuf::UnknownFieldSet;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

// grpc.health.v1.HealthCheckResponse.ServingStatus
constexpr int kServing = 1;
constexpr int kNotServing = 2;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

// A length-delimited protobuf field (a string or a message).
std::string StringField(int number, const std::string& value) {
  std::string out(1, static_cast<char>((number << 3) | 2));
  uint64_t size = value.size();
  do {
    const uint8_t byte = size & 0x7F;
    size >>= 7;
    out.push_back(static_cast<char>(size != 0 ? byte | 0x80 : byte));
  } while (size != 0);
  return out + value;
}

// The values of the length-delimited fields numbered `number` of a message.
std::vector<std::string> LengthDelimited(const std::string& message,
                                         int number) {
  UnknownFieldSet fields;
  std::vector<std::string> values;
  if (!fields.ParseFromString(message)) {
    ADD_FAILURE() << "cannot parse a protobuf message";
    return values;
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.number() == number &&
        f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      values.push_back(f.length_delimited());
    }
  }
  return values;
}

struct HealthAnswer {
  grpc::Status status;
  int serving_status = -1;
};

// grpc.health.v1.Health/Check for `service`.
HealthAnswer CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  const grpc::ByteBuffer request =
      ToBuffer(service.empty() ? "" : StringField(1, service));
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  HealthAnswer answer;
  answer.status = done.get_future().get();
  if (!answer.status.ok()) return answer;
  UnknownFieldSet fields;
  EXPECT_TRUE(fields.ParseFromString(FromBuffer(response)));
  answer.serving_status = 0;  // UNKNOWN: proto3 leaves out a zero
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1 &&
        fields.field(i).type() == UnknownField::TYPE_VARINT) {
      answer.serving_status = static_cast<int>(fields.field(i).varint());
    }
  }
  return answer;
}

// One request and its response on the v1alpha server reflection stream.
std::string AskReflection(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  const auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  const auto step = [&cq](intptr_t want) {
    void* tag = nullptr;
    bool ok = false;
    const bool got = cq.Next(&tag, &ok);
    EXPECT_TRUE(got);
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  const grpc::ByteBuffer request = ToBuffer(request_bytes);
  grpc::ByteBuffer response;
  grpc::Status status;
  call->StartCall(reinterpret_cast<void*>(1));
  EXPECT_TRUE(step(1));
  call->Write(request, reinterpret_cast<void*>(2));
  EXPECT_TRUE(step(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  EXPECT_TRUE(step(3));
  call->Read(&response, reinterpret_cast<void*>(4));
  const bool read = step(4);
  EXPECT_TRUE(read);
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return read ? FromBuffer(response) : "";
}

// GET `path` from 127.0.0.1:port over HTTP/1.0; the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket failed";
    return "";
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    ADD_FAILURE() << "cannot connect to metrics port " << port;
    ::close(fd);
    return response;
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (::send(fd, request.data(), request.size(), 0) !=
      static_cast<ssize_t>(request.size())) {
    ADD_FAILURE() << "cannot send the HTTP request";
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// The value of the sample `series` (name and labels, as exposed) in a
// Prometheus text page.
std::optional<double> MetricValue(const std::string& page,
                                  const std::string& series) {
  for (const absl::string_view line : absl::StrSplit(page, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) {
        return value;
      }
    }
  }
  return std::nullopt;
}

class GrpcServerTest : public ::testing::Test {
 protected:
  GrpcServerTest()
      : model_(MakeRandomModel(SmallMovieLens(10, 40, 8),
                               SmallRetrievalConfig(true), 5)),
        base_(dir_.File("models")) {}

  void WriteVersion() { ASSERT_OK(WriteModelVersion(base_, model_, "")); }

  // Starts a server on a free port over base_. With `metrics`, /metrics is
  // served on a free port too; otherwise it is off, because stopping
  // civetweb (the metrics server) waits for its 2-second poll to time out.
  void StartServer(bool metrics = false) {
    ServerOptions options;
    options.port = 0;
    options.metrics_port = metrics ? 0 : -1;
    options.model.model_base = base_;
    options.model.poll_interval = absl::Milliseconds(50);
    ASSERT_OK_AND_ASSIGN(server_, MovierecServer::Start(options));
    ASSERT_GT(server_->port(), 0);
    if (metrics) {
      ASSERT_GT(server_->metrics_port(), 0);
    }
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Recommender::NewStub(channel_);
  }

  grpc::Status Recommend(const std::string& user_id, int count,
                         v1::RecommendResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::RecommendRequest request;
    request.set_user_id(user_id);
    request.set_count(count);
    return stub_->Recommend(&context, request, response);
  }

  std::string KnownUser(int row) const {
    return absl::StrCat(model_.catalog.users[row].id);
  }

  ScopedTempDir dir_;
  Model model_;
  std::string base_;
  std::unique_ptr<MovierecServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

TEST_F(GrpcServerTest, RecommendsToKnownAndUnknownUsers) {
  WriteVersion();
  StartServer();
  v1::RecommendResponse response;
  grpc::Status status = Recommend(KnownUser(3), 7, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_FALSE(response.fallback());
  ASSERT_EQ(response.movies_size(), 7);
  for (int i = 1; i < response.movies_size(); ++i) {
    EXPECT_GE(response.movies(i - 1).score(), response.movies(i).score());
  }
  for (const v1::ScoredMovie& movie : response.movies()) {
    int32_t id = 0;
    ASSERT_TRUE(absl::SimpleAtoi(movie.movie_id(), &id));
    EXPECT_FALSE(model_.seen.Contains(3, (id - 1) / 2)) << "seen " << id;
    EXPECT_FALSE(movie.title().empty());
  }

  response.Clear();
  status = Recommend("424242", 0, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.fallback());
  EXPECT_EQ(response.movies_size(), 10);
  EXPECT_EQ(response.model_version(), "1");
}

TEST_F(GrpcServerTest, BadRequestsAreInvalidArgument) {
  WriteVersion();
  StartServer();
  v1::RecommendResponse response;
  grpc::Status status = Recommend("", 10, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("user_id"), std::string::npos)
      << status.error_message();
  status = Recommend(KnownUser(0), 101, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("count 101"), std::string::npos)
      << status.error_message();
  status = Recommend(KnownUser(0), -1, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GrpcServerTest, HealthIsServingWithAModel) {
  WriteVersion();
  StartServer();
  for (const std::string service : {"", kRecommenderServiceName}) {
    const HealthAnswer answer = CheckHealth(channel_, service);
    ASSERT_TRUE(answer.status.ok())
        << "\"" << service << "\": " << answer.status.error_message();
    EXPECT_EQ(answer.serving_status, kServing) << "\"" << service << "\"";
  }
  EXPECT_EQ(CheckHealth(channel_, "no.such.Service").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, NotServingWithoutAModelUntilOneAppears) {
  std::filesystem::create_directories(base_);
  StartServer();
  for (const std::string service : {"", kRecommenderServiceName}) {
    const HealthAnswer answer = CheckHealth(channel_, service);
    ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
    EXPECT_EQ(answer.serving_status, kNotServing) << "\"" << service << "\"";
  }
  v1::RecommendResponse response;
  EXPECT_EQ(Recommend(KnownUser(0), 5, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The poller (every 50 ms) picks up a version written now.
  WriteVersion();
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int serving = -1;
  while (std::chrono::steady_clock::now() < give_up) {
    serving = CheckHealth(channel_, kRecommenderServiceName).serving_status;
    if (serving == kServing) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(serving, kServing);
  EXPECT_EQ(CheckHealth(channel_, "").serving_status, kServing);
  const grpc::Status status = Recommend(KnownUser(0), 5, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.model_version(), "1");
}

TEST_F(GrpcServerTest, ReflectionListsTheRecommender) {
  WriteVersion();
  StartServer();
  // ServerReflectionRequest{list_services: ""} (field 7).
  const std::string answer = AskReflection(channel_, StringField(7, ""));
  // ServerReflectionResponse.list_services_response (6) .service (1) .name (1)
  std::vector<std::string> names;
  for (const std::string& list : LengthDelimited(answer, 6)) {
    for (const std::string& service : LengthDelimited(list, 1)) {
      for (const std::string& name : LengthDelimited(service, 1)) {
        names.push_back(name);
      }
    }
  }
  EXPECT_THAT(names, ::testing::Contains("movierec.v1.Recommender"));
  EXPECT_THAT(names,
              ::testing::Contains("grpc.reflection.v1alpha.ServerReflection"));
}

TEST_F(GrpcServerTest, ReflectionDescribesRecommend) {
  WriteVersion();
  StartServer();
  // ServerReflectionRequest{file_containing_symbol: ...} (field 4); the
  // answer's file_descriptor_response (4) holds FileDescriptorProtos (1).
  const std::string answer =
      AskReflection(channel_, StringField(4, "movierec.v1.Recommender"));
  bool found = false;
  for (const std::string& files : LengthDelimited(answer, 4)) {
    for (const std::string& bytes : LengthDelimited(files, 1)) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      for (const auto& service : file.service()) {
        if (file.package() != "movierec.v1" || service.name() != "Recommender")
          continue;
        std::vector<std::string> methods;
        for (const auto& method : service.method()) {
          methods.push_back(method.name());
          if (method.name() == "Recommend") {
            EXPECT_EQ(method.input_type(), ".movierec.v1.RecommendRequest");
          }
        }
        EXPECT_THAT(methods,
                    ::testing::ElementsAre("Recommend", "SimilarMovies",
                                           "RecommendBatch"));
        found = true;
      }
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(GrpcServerTest, MetricsCountRequestsByCode) {
  WriteVersion();
  StartServer(/*metrics=*/true);
  v1::RecommendResponse response;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Recommend(KnownUser(i), 5, &response).ok());
  }
  ASSERT_TRUE(Recommend("424242", 5, &response).ok());  // fallback, still OK
  EXPECT_FALSE(Recommend("", 5, &response).ok());
  EXPECT_FALSE(Recommend(KnownUser(0), 101, &response).ok());

  const std::string page = HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_NE(page.find("200"), std::string::npos) << page.substr(0, 200);
  EXPECT_EQ(MetricValue(page,
                        "movierec_requests_total{code=\"OK\",method="
                        "\"Recommend\"}"),
            4.0)
      << page;
  EXPECT_EQ(MetricValue(page,
                        "movierec_requests_total{code=\"INVALID_"
                        "ARGUMENT\",method=\"Recommend\"}"),
            2.0);
  EXPECT_EQ(MetricValue(page, "movierec_fallbacks_total{method=\"Recommend\"}"),
            1.0);
  EXPECT_EQ(MetricValue(page, "movierec_model_version"), 1.0);
  EXPECT_EQ(MetricValue(page, "movierec_catalogue_movies"), 40.0);
  EXPECT_EQ(
      MetricValue(page, "movierec_model_reloads_total{result=\"success\"}"),
      1.0);
  EXPECT_EQ(MetricValue(page,
                        "movierec_request_duration_seconds_count{method="
                        "\"Recommend\"}"),
            6.0);
}

TEST_F(GrpcServerTest, StartRejectsBadOptions) {
  ServerOptions options;
  options.port = 0;
  options.metrics_port = -1;
  EXPECT_TRUE(test::IsError(MovierecServer::Start(options).status(),
                            absl::StatusCode::kInvalidArgument,
                            {"model base"}));
  options.model.model_base = base_;
  options.port = 70000;
  EXPECT_TRUE(test::IsError(MovierecServer::Start(options).status(),
                            absl::StatusCode::kInvalidArgument,
                            {"gRPC port 70000"}));
}

}  // namespace
}  // namespace movierec
