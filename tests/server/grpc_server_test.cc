// End-to-end tests of an in-process MovierecServer (server/server.h) over a
// real gRPC channel: the three RPCs and their errors as a client sees them,
// grpc.health.v1.Health, server reflection, the message size limit and the
// Prometheus /metrics page. Lifecycle (reloads, shutdown, deadlines) is in
// lifecycle_test.cc.
//
// The installed gRPC (Debian 12, 1.51) ships neither the generated health
// stub nor ProtoReflectionDescriptorDatabase, so health and reflection are
// called through grpc::GenericStub with hand-encoded protobuf bytes, and the
// answers are decoded with google::protobuf::UnknownFieldSet.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

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
#include "tests/net_test_util.h"
#include "tests/server/server_fixture.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::google::protobuf::UnknownField;
using ::google::protobuf::UnknownFieldSet;
using ::movierec::test::CallDeadline;
using ::movierec::test::CheckHealth;
using ::movierec::test::HealthAnswer;
using ::movierec::test::HttpGet;
using ::movierec::test::kNotServing;
using ::movierec::test::kServing;
using ::movierec::test::MetricValue;
using ::movierec::test::RequestsSeries;
using ::movierec::test::StringField;

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

// One request and its response on the v1alpha server reflection stream.
std::string AskReflection(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
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

using GrpcServerTest = ::movierec::test::ServerFixture;

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

TEST_F(GrpcServerTest, AliveButNotReadyWithoutAModelUntilOneAppears) {
  std::filesystem::create_directories(base_);
  StartServer();
  // Liveness: the server answers, model or not.
  HealthAnswer answer = CheckHealth(channel_, "");
  ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
  EXPECT_EQ(answer.serving_status, kServing);
  // Readiness: not before a model is loaded.
  answer = CheckHealth(channel_, kRecommenderServiceName);
  ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
  EXPECT_EQ(answer.serving_status, kNotServing);
  v1::RecommendResponse response;
  EXPECT_EQ(Recommend(KnownUser(0), 5, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The poller (every 50 ms) picks up a version written now.
  WriteVersion();
  EXPECT_TRUE(test::WaitFor(
      [&] {
        return CheckHealth(channel_, kRecommenderServiceName).serving_status ==
               kServing;
      },
      absl::Seconds(10)));
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
                                           "RecommendBatch", "SearchMovies"));
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
  // Every request metric says which version answered: "none" for the
  // calls refused before one was chosen.
  EXPECT_EQ(MetricValue(page,
                        "movierec_requests_total{code=\"OK\",method="
                        "\"Recommend\",transport=\"grpc\",version=\"1\"}"),
            4.0)
      << page;
  EXPECT_EQ(MetricValue(page,
                        "movierec_requests_total{code=\"INVALID_"
                        "ARGUMENT\",method=\"Recommend\",transport="
                        "\"grpc\",version=\"none\"}"),
            2.0);
  EXPECT_EQ(MetricValue(page,
                        "movierec_fallbacks_total{method=\"Recommend\","
                        "version=\"1\"}"),
            1.0);
  EXPECT_EQ(MetricValue(page, "movierec_model_version"), 1.0);
  EXPECT_EQ(MetricValue(page, "movierec_catalogue_movies"), 40.0);
  EXPECT_EQ(MetricValue(page,
                        "movierec_model_serving{role=\"stable\",version="
                        "\"1\"}"),
            1.0);
  EXPECT_EQ(MetricValue(page, "movierec_canary_percent"), 0.0);
  EXPECT_EQ(
      MetricValue(page, "movierec_model_reloads_total{result=\"success\"}"),
      1.0);
  EXPECT_EQ(MetricValue(page,
                        "movierec_request_duration_seconds_count{method="
                        "\"Recommend\",transport=\"grpc\",version=\"1\"}"),
            4.0);
  EXPECT_EQ(MetricValue(page,
                        "movierec_request_duration_seconds_count{method="
                        "\"Recommend\",transport=\"grpc\",version="
                        "\"none\"}"),
            2.0);
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

TEST(ValidateServerOptionsTest, NamesTheFlagOfEachBadOption) {
  const auto status_with = [](void (*change)(ServerOptions*)) {
    ServerOptions options;
    options.model.model_base = "/models";
    change(&options);
    return ValidateServerOptions(options);
  };
  const absl::StatusCode kBad = absl::StatusCode::kInvalidArgument;
  ServerOptions defaults;
  defaults.model.model_base = "/models";
  EXPECT_TRUE(ValidateServerOptions(defaults).ok());
  EXPECT_TRUE(test::IsError(
      status_with([](ServerOptions* o) { o->admission.max_queue = -1; }), kBad,
      {"--max_queue", "-1"}));
  EXPECT_TRUE(test::IsError(status_with([](ServerOptions* o) {
                              o->admission.max_queue_wait =
                                  absl::ZeroDuration();
                            }),
                            kBad, {"--max_queue_wait", "> 0", "0"}));
  EXPECT_TRUE(test::IsError(status_with([](ServerOptions* o) {
                              o->memory_limit_bytes = int64_t{1} << 20;
                            }),
                            kBad, {"--memory_limit", "64Mi", "1048576"}));
  EXPECT_TRUE(test::IsError(
      status_with([](ServerOptions* o) { o->worker_threads = -2; }), kBad,
      {"--worker_threads", "-2"}));
  EXPECT_TRUE(test::IsError(
      status_with([](ServerOptions* o) { o->model.scorer.num_candidates = 0; }),
      kBad, {"--num_candidates", "1-10000"}));
  EXPECT_TRUE(test::IsError(
      status_with([](ServerOptions* o) { o->model.ivf_nprobe = -1; }), kBad,
      {"--ivf_nprobe", ">= 0", "-1"}));
  EXPECT_TRUE(test::IsError(
      status_with([](ServerOptions* o) { o->model.result_cache_bytes = -5; }),
      kBad, {"--result_cache", ">= 0", "-5"}));
}

// A known user's plain request, asked again, is answered from the version's
// result cache: counted as a hit, the same list, and no stage timed.
TEST_F(GrpcServerTest, MetricsCountResultCacheHits) {
  WriteVersion();
  StartServer(/*metrics=*/true);
  v1::RecommendResponse first;
  v1::RecommendResponse again;
  ASSERT_TRUE(Recommend(KnownUser(2), 5, &first).ok());
  ASSERT_TRUE(Recommend(KnownUser(2), 5, &again).ok());
  ASSERT_TRUE(Recommend(KnownUser(2), 5, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  const std::string page = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_EQ(MetricValue(page,
                        "movierec_result_cache_hits_total{method="
                        "\"Recommend\",version=\"1\"}"),
            2.0)
      << page;
  EXPECT_EQ(MetricValue(page,
                        "movierec_stage_duration_seconds_count{stage="
                        "\"retrieval\",version=\"1\"}"),
            1.0);
}

TEST_F(GrpcServerTest, NoResultCacheComputesEveryCall) {
  WriteVersion();
  ServerOptions options = Options(/*metrics=*/true);
  options.model.result_cache_bytes = 0;
  StartServer(options);
  v1::RecommendResponse response;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Recommend(KnownUser(2), 5, &response).ok());
  }
  const std::string page = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_EQ(MetricValue(page,
                        "movierec_result_cache_hits_total{method="
                        "\"Recommend\",version=\"1\"}"),
            0.0);
  EXPECT_EQ(MetricValue(page,
                        "movierec_stage_duration_seconds_count{stage="
                        "\"retrieval\",version=\"1\"}"),
            3.0);
}

TEST(OverloadStatusTest, IsResourceExhaustedSayingWhy) {
  const grpc::Status full =
      OverloadStatus(Refusal::kQueueFull, absl::ZeroDuration());
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(full.error_message(),
            "server overloaded: its queue is full; retry with backoff, or on "
            "another replica");
  const grpc::Status late =
      OverloadStatus(Refusal::kDeadline, absl::Milliseconds(30));
  EXPECT_EQ(late.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(late.error_message().find("30ms for a worker, past its deadline"),
            std::string::npos)
      << late.error_message();
  EXPECT_NE(OverloadStatus(Refusal::kQueueWait, absl::Milliseconds(25))
                .error_message()
                .find("queue-wait budget"),
            std::string::npos);
}

TEST(CallDispatcherTest, ACallPastItsDeadlineOnArrivalIsDeadlineExceeded) {
  ServerMetrics metrics;
  WorkerPool pool(1);
  const CallDispatcher dispatcher(nullptr, &metrics, &pool);
  for (const absl::Duration before :
       {absl::ZeroDuration(), absl::Microseconds(1), absl::Seconds(5)}) {
    CallInfo call;
    call.deadline = absl::Now() - before;
    bool worked = false;
    std::promise<absl::Status> answered;
    dispatcher.Dispatch(
        call,
        [&worked](const CallControl&, CallResult*) {
          worked = true;
          return absl::OkStatus();
        },
        [&answered](absl::Status status) { answered.set_value(status); });
    // Answered at once, on this thread, without the work or admission
    // control's RESOURCE_EXHAUSTED (a 1-microsecond deadline must not read
    // as an overloaded server).
    auto answer = answered.get_future();
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(0)),
              std::future_status::ready);
    const absl::Status status = answer.get();
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_NE(status.message().find("had passed"), absl::string_view::npos);
    EXPECT_FALSE(worked);
  }
  EXPECT_EQ(pool.queued(), 0u);
}

TEST_F(GrpcServerTest, VisitorWithRecentMoviesGetsPersonalResults) {
  WriteVersion();
  StartServer();
  v1::RecommendRequest request;
  request.add_recent_movie_ids(MovieId(2));
  request.add_recent_movie_ids(MovieId(5));
  request.set_count(6);
  v1::RecommendResponse response;
  const grpc::Status status = Call(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.fallback());
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_RECENT_MOVIES);
  ASSERT_EQ(response.movies_size(), 6);
  for (const v1::ScoredMovie& movie : response.movies()) {
    EXPECT_NE(movie.movie_id(), MovieId(2));
    EXPECT_NE(movie.movie_id(), MovieId(5));
  }

  request.set_recent_movie_ids(1, "999999");
  const grpc::Status unknown = Call(request, &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(),
              ::testing::HasSubstr("recent_movie_ids[1]: movie \"999999\""));
}

TEST_F(GrpcServerTest, FiltersReachTheServer) {
  WriteVersion();
  StartServer();
  v1::RecommendRequest request;
  request.set_user_id(KnownUser(1));
  request.set_count(3);
  request.mutable_filter()->add_genres("Comedy");
  v1::RecommendResponse response;
  grpc::Status status = Call(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.movies_size(), 3);
  for (const v1::ScoredMovie& movie : response.movies()) {
    EXPECT_THAT(movie.genres(), ::testing::Contains("Comedy"))
        << movie.movie_id();
  }
  request.mutable_filter()->set_genres(0, "Horror");
  status = Call(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("unknown genre \"Horror\""));
}

TEST_F(GrpcServerTest, SimilarMoviesAndItsErrors) {
  WriteVersion();
  StartServer();
  v1::SimilarMoviesRequest request;
  request.set_movie_id(MovieId(4));
  request.set_count(5);
  v1::SimilarMoviesResponse response;
  {
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    const grpc::Status status =
        stub_->SimilarMovies(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(response.model_version(), "1");
  ASSERT_EQ(response.movies_size(), 5);
  for (const v1::ScoredMovie& movie : response.movies()) {
    EXPECT_NE(movie.movie_id(), MovieId(4));
  }
  const auto call = [&](const std::string& movie_id, int count) {
    v1::SimilarMoviesRequest bad;
    bad.set_movie_id(movie_id);
    bad.set_count(count);
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    return stub_->SimilarMovies(&context, bad, &response);
  };
  grpc::Status status = call("2", 5);  // movie ids are odd
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("movie_id"));
  status = call("", 5);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("movie_id is empty"));
  status = call(MovieId(0), 101);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("count 101"));
}

TEST_F(GrpcServerTest, RecommendBatchAndItsErrors) {
  WriteVersion();
  StartServer();
  v1::RecommendBatchRequest request;
  for (int i = 0; i < 3; ++i) {
    v1::RecommendRequest* one = request.add_requests();
    one->set_user_id(KnownUser(i));
    one->set_count(4);
  }
  request.add_requests()->set_user_id("424242");
  v1::RecommendBatchResponse response;
  {
    grpc::ClientContext context;
    context.set_deadline(CallDeadline());
    const grpc::Status status =
        stub_->RecommendBatch(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(response.model_version(), "1");
  ASSERT_EQ(response.responses_size(), 4);
  for (int i = 0; i < 3; ++i) {
    v1::RecommendResponse single;
    ASSERT_TRUE(Recommend(KnownUser(i), 4, &single).ok());
    ASSERT_EQ(response.responses(i).movies_size(), 4);
    for (int k = 0; k < 4; ++k) {
      EXPECT_EQ(response.responses(i).movies(k).movie_id(),
                single.movies(k).movie_id());
    }
  }
  EXPECT_TRUE(response.responses(3).fallback());

  request.mutable_requests(2)->set_count(-3);
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
  const grpc::Status status =
      stub_->RecommendBatch(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("requests[2].count -3"));
}

TEST_F(GrpcServerTest, RequestsOverTheMessageLimitAreRefused) {
  WriteVersion();
  ServerOptions options = Options();
  options.max_receive_message_bytes = 2048;
  StartServer(options);
  v1::RecommendRequest request;
  request.set_user_id(KnownUser(0));
  v1::RecommendResponse response;
  ASSERT_TRUE(Call(request, &response).ok());
  request.set_user_id(std::string(4096, '7'));
  const grpc::Status status = Call(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
}

// A Recommend call with hand-made request bytes: its status, and the
// response when it succeeded.
grpc::Status RawRecommend(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& request_bytes,
                          v1::RecommendResponse* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
  const grpc::ByteBuffer request = ToBuffer(request_bytes);
  grpc::ByteBuffer answer;
  std::promise<grpc::Status> done;
  // gRPC keeps a pointer to the method name for the whole call.
  static const std::string* const kMethod =
      new std::string("/movierec.v1.Recommender/Recommend");
  stub.UnaryCall(&context, *kMethod, grpc::StubOptions(), &request, &answer,
                 [&done](grpc::Status status) { done.set_value(status); });
  const grpc::Status status = done.get_future().get();
  if (status.ok()) {
    EXPECT_TRUE(response->ParseFromString(FromBuffer(answer)));
  }
  return status;
}

// Fields this server does not know (a newer client's) are skipped, as
// protobuf does; a string field that is not UTF-8 makes the request
// unparseable, and gRPC refuses it before the handler runs. The code is
// UNIMPLEMENTED: Debian's gRPC 1.51 answers a callback-API request it cannot
// deserialize as if the method were unknown. Either way the server keeps
// answering.
TEST_F(GrpcServerTest, UnknownFieldsAreIgnoredAndInvalidUtf8IsRefused) {
  WriteVersion();
  StartServer();
  v1::RecommendRequest request;
  request.set_user_id(KnownUser(1));
  request.set_count(4);
  v1::RecommendResponse expected;
  ASSERT_TRUE(Call(request, &expected).ok());

  // Field 99 as a varint, field 100 as bytes, field 5 (unused) as fixed32.
  const std::string unknown = request.SerializeAsString() +
                              std::string("\x98\x06\x07", 3) +
                              std::string(
                                  "\xa2\x06\x03"
                                  "abc",
                                  6) +
                              std::string("\x2d\x01\x02\x03\x04", 5);
  v1::RecommendResponse response;
  grpc::Status status = RawRecommend(channel_, unknown, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  ASSERT_EQ(response.movies_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(response.movies(i).movie_id(), expected.movies(i).movie_id());
  }

  // user_id (field 1) and a recent movie id (field 3) holding bytes that are
  // not UTF-8: a lone continuation byte, a truncated sequence, an overlong
  // encoding.
  for (const std::string& bad : {std::string("\x80"), std::string("1\xe2\x82"),
                                 std::string("\xc0\xaf")}) {
    for (const char tag : {'\x0a', '\x1a'}) {
      const std::string bytes = std::string(1, tag) +
                                static_cast<char>(bad.size()) + bad +
                                std::string("\x10\x03", 2);
      status = RawRecommend(channel_, bytes, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED)
          << status.error_code() << " " << status.error_message();
    }
  }
  // Bytes that are no protobuf message at all: a truncated field.
  status = RawRecommend(channel_,
                        std::string("\x0a\x10"
                                    "ab",
                                    4),
                        &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // None of them reached the service.
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "OK")), 2.0);

  ASSERT_TRUE(Call(request, &response).ok());
  EXPECT_EQ(response.movies_size(), 4);
}

TEST_F(GrpcServerTest, MetricsCountEveryMethod) {
  WriteVersion();
  StartServer();
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(KnownUser(0), 5, &response).ok());
  {
    v1::SimilarMoviesRequest request;
    request.set_movie_id(MovieId(0));
    v1::SimilarMoviesResponse similar;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->SimilarMovies(&context, request, &similar).ok());
  }
  {
    v1::RecommendBatchRequest request;
    request.add_requests()->set_user_id(KnownUser(1));
    request.add_requests()->set_user_id("424242");
    v1::RecommendBatchResponse batch;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->RecommendBatch(&context, request, &batch).ok());
    grpc::ClientContext empty_context;
    EXPECT_FALSE(stub_->RecommendBatch(&empty_context, {}, &batch).ok());
  }
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "OK")), 1.0);
  EXPECT_EQ(Metric(RequestsSeries("SimilarMovies", "OK")), 1.0);
  EXPECT_EQ(Metric(RequestsSeries("RecommendBatch", "OK")), 1.0);
  EXPECT_EQ(Metric(RequestsSeries("RecommendBatch", "INVALID_ARGUMENT")), 1.0);
  EXPECT_EQ(Metric("movierec_fallbacks_total{method=\"RecommendBatch\"}"), 1.0);
  // One retrieval per recommendation: one for Recommend, two for the batch.
  EXPECT_EQ(
      Metric("movierec_stage_duration_seconds_count{stage=\"retrieval\"}"),
      2.0);
  EXPECT_EQ(Metric("movierec_requests_in_flight"), 0.0);
}

}  // namespace
}  // namespace movierec
