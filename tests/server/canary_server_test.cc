// Canary and A/B in a running MovierecServer (server/canary.h): users split
// between the stable and the candidate version over real gRPC calls, each
// response naming its version, the version label on /metrics, the CANARY
// file as a hot change (and a malformed one refused), and promotion and
// rollback under continuous load with no failed call.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/canary.h"
#include "server/server.h"
#include "tests/net_test_util.h"
#include "tests/server/server_fixture.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::CallDeadline;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::MetricValue;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

class CanaryServerTest : public test::ServerFixture {
 protected:
  void WriteTwoVersions() {
    WriteVersion();
    WriteVersion(MakeRandomModel(SmallMovieLens(10, 40, 8),
                                 SmallRetrievalConfig(true), 6));
  }
  void WriteControl(const std::string& text) {
    const std::string staging = dir_.File("CANARY.tmp");
    test::WriteFile(staging, text);
    std::filesystem::rename(staging, base_ + "/" + kCanaryFileName);
  }
  // The version that answers `user_id` now.
  std::string VersionFor(const std::string& user_id) {
    v1::RecommendResponse response;
    const grpc::Status status = Recommend(user_id, 3, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.model_version();
  }
  // A user id of a bucket below (or, with `below` false, at or above)
  // `basis_points`.
  static std::string UserOfBucket(int basis_points, bool below) {
    for (int i = 0;; ++i) {
      const std::string id = absl::StrCat("user", i);
      if ((CanaryBucket(id) < basis_points) == below) return id;
    }
  }
};

TEST(CanaryOptionsTest, BadCanaryFlagsAreRefusedNamingTheFlag) {
  const auto status_with = [](double percent, int64_t stable, int64_t pinned) {
    ServerOptions options;
    options.model.model_base = "/models";
    options.model.canary_percent = percent;
    options.model.stable_version = stable;
    options.model.pinned_version = pinned;
    return ValidateServerOptions(options);
  };
  const absl::StatusCode kBad = absl::StatusCode::kInvalidArgument;
  EXPECT_OK(status_with(12.5, 3, 0));
  EXPECT_OK(status_with(100, 0, 0));
  EXPECT_TRUE(test::IsError(status_with(100.5, 0, 0), kBad,
                            {"--canary_percent", "0-100", "100.5"}));
  EXPECT_TRUE(test::IsError(status_with(-1, 0, 0), kBad, {"--canary_percent"}));
  EXPECT_TRUE(test::IsError(status_with(1.234, 0, 0), kBad,
                            {"--canary_percent", "2 decimals"}));
  EXPECT_TRUE(
      test::IsError(status_with(0, -1, 0), kBad, {"--stable_version", "-1"}));
  EXPECT_TRUE(test::IsError(status_with(10, 0, 4), kBad,
                            {"--model_version", "--canary_percent"}));
  EXPECT_TRUE(test::IsError(status_with(0, 2, 4), kBad,
                            {"--model_version", "--stable_version"}));
}

TEST_F(CanaryServerTest, SplitsUsersByHashAndLabelsMetricsByVersion) {
  WriteTwoVersions();
  ServerOptions options = Options(/*metrics=*/true);
  options.model.canary_percent = 30;
  options.memory_limit_bytes = int64_t{64} << 20;
  StartServer(options);
  // gRPC's quota leaves room for both versions and one loading beside them.
  const std::shared_ptr<const ServingSet> serving = server_->models().serving();
  const int64_t reserved =
      ModelReserveBytes({serving->stable().snapshot->model_bytes(),
                         serving->candidate().snapshot->model_bytes()});
  EXPECT_GT(reserved, 0);
  EXPECT_EQ(server_->grpc_quota_bytes(),
            GrpcQuotaFor(int64_t{64} << 20, reserved));
  EXPECT_LT(server_->grpc_quota_bytes(),
            server_->memory_budget().grpc_quota_bytes);

  std::map<std::string, int> answered;
  for (int i = 0; i < 300; ++i) {
    const std::string user = i < 10 ? KnownUser(i) : absl::StrCat("u", i);
    const std::string version = VersionFor(user);
    EXPECT_EQ(version, CanaryBucket(user) < 3000 ? "2" : "1") << user;
    EXPECT_EQ(VersionFor(user), version) << user << " is not sticky";
    ++answered[version];
  }
  ASSERT_GT(answered["2"], 0);
  ASSERT_GT(answered["1"], 0);

  const std::string page = test::HttpGet(server_->metrics_port(), "/metrics");
  for (const auto& [version, calls] : answered) {
    EXPECT_EQ(MetricValue(page, absl::StrCat("movierec_requests_total{code="
                                             "\"OK\",method=\"Recommend\","
                                             "transport=\"grpc\",version=\"",
                                             version, "\"}")),
              2.0 * calls)
        << page;
    EXPECT_EQ(
        MetricValue(page, absl::StrCat("movierec_request_duration_seconds_"
                                       "count{method=\"Recommend\",transport="
                                       "\"grpc\",version=\"",
                                       version, "\"}")),
        2.0 * calls);
    // Unknown users fall back, under the version that answered them.
    EXPECT_GT(MetricValue(page, absl::StrCat("movierec_fallbacks_total{method="
                                             "\"Recommend\",version=\"",
                                             version, "\"}"))
                  .value_or(0),
              0);
  }
  EXPECT_EQ(MetricValue(
                page, "movierec_model_serving{role=\"stable\",version=\"1\"}"),
            0.7);
  EXPECT_EQ(MetricValue(page,
                        "movierec_model_serving{role=\"candidate\",version="
                        "\"2\"}"),
            0.3);
  EXPECT_EQ(MetricValue(page, "movierec_canary_percent"), 30.0);
  EXPECT_EQ(MetricValue(page, "movierec_model_version"), 1.0);
  EXPECT_THAT(
      page, ::testing::HasSubstr("movierec_stage_duration_seconds_count{stage="
                                 "\"retrieval\",version=\"2\"}"));
}

TEST_F(CanaryServerTest, ControlFileHotChangesAndAMalformedOneIsRefused) {
  WriteTwoVersions();
  ServerOptions options = Options();
  options.model.poll_interval = absl::ZeroDuration();  // the test polls
  StartServer(options);
  const std::string low = UserOfBucket(1000, /*below=*/true);
  const std::string high = UserOfBucket(5000, /*below=*/false);
  EXPECT_EQ(VersionFor(low), "2");
  EXPECT_EQ(VersionFor(high), "2");

  WriteControl("# canary of 2\nstable = 1\npercent = 10\n");
  ASSERT_OK(server_->models().Poll());
  EXPECT_EQ(VersionFor(low), "2");
  EXPECT_EQ(VersionFor(high), "1");
  EXPECT_EQ(Metric("movierec_canary_percent"), 10.0);

  WriteControl("stable = 1\npercent = 10%\n");
  ASSERT_OK(server_->models().Poll());
  EXPECT_EQ(Metric("movierec_canary_control_errors_total"), 1.0);
  EXPECT_EQ(Metric("movierec_canary_percent"), 10.0);
  EXPECT_EQ(VersionFor(low), "2");
  EXPECT_EQ(VersionFor(high), "1");

  // Promoted: 2 alone. Version 1 is no longer held, but its request series
  // stay (kRetainedVersions), so a scrape still reads its last counts.
  WriteControl("stable = 2\n");
  ASSERT_OK(server_->models().Poll());
  EXPECT_EQ(VersionFor(high), "2");
  EXPECT_EQ(Metric("movierec_model_serving{role=\"stable\",version=\"2\"}"),
            1.0);
  EXPECT_EQ(Metric("movierec_model_serving{role=\"stable\",version=\"1\"}"),
            -1.0);
  EXPECT_EQ(Metric("movierec_requests_total{code=\"OK\",method=\"Recommend\","
                   "transport=\"grpc\",version=\"1\"}"),
            2.0);
}

TEST_F(CanaryServerTest, PromotionAndRollbackUnderLoadWithNoFailedCall) {
  WriteTwoVersions();
  WriteControl("stable = 1\npercent = 10\n");
  StartServer();  // polls every 50 ms

  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::map<std::string, int> versions;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub = v1::Recommender::NewStub(NewChannel());
      for (int i = 0; !stop.load(); ++i) {
        grpc::ClientContext context;
        context.set_deadline(CallDeadline());
        grpc::Status status;
        std::string version;
        if (i % 4 == 3) {
          v1::SimilarMoviesRequest request;
          request.set_movie_id(MovieId(i % 40));
          v1::SimilarMoviesResponse response;
          status = stub->SimilarMovies(&context, request, &response);
          version = response.model_version();
        } else {
          v1::RecommendRequest request;
          if (i % 4 == 2) {
            request.add_recent_movie_ids(MovieId(i % 40));
          } else {
            request.set_user_id(absl::StrCat("user", c, "-", i % 97));
          }
          v1::RecommendResponse response;
          status = stub->Recommend(&context, request, &response);
          version = response.model_version();
        }
        std::lock_guard<std::mutex> lock(mutex);
        if (!status.ok() || (version != "1" && version != "2")) {
          failures.push_back(absl::StrCat("client ", c, " call ", i, ": ",
                                          status.error_message(), " version \"",
                                          version, "\""));
        }
        ++versions[version];
      }
    });
  }
  const auto calls_now = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return versions["1"] + versions["2"];
  };
  const auto under_load = [&](const std::string& user,
                              const std::string& version) {
    EXPECT_TRUE(test::WaitFor([&] { return VersionFor(user) == version; },
                              absl::Seconds(20)))
        << user << " never got version " << version;
    const int before = calls_now();
    EXPECT_TRUE(test::WaitFor([&] { return calls_now() >= before + 100; },
                              absl::Seconds(20)));
  };
  const std::string low = UserOfBucket(1000, /*below=*/true);
  const std::string high = UserOfBucket(1000, /*below=*/false);
  under_load(low, "2");
  under_load(high, "1");
  WriteControl("stable = 1\npercent = 100\n");  // promote
  under_load(high, "2");
  WriteControl("stable = 1\npercent = 0\n");  // roll back
  under_load(low, "1");
  WriteControl("stable = 2\n");  // the candidate becomes stable
  under_load(high, "2");
  under_load(low, "2");
  stop = true;
  for (std::thread& client : clients) client.join();

  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GT(versions["1"], 0);
  EXPECT_GT(versions["2"], 0);
  EXPECT_EQ(Metric("movierec_model_reloads_total{result=\"failure\"}"), 0.0);
  // Each version loaded once: promotion and rollback reloaded nothing.
  EXPECT_EQ(Metric("movierec_model_reloads_total{result=\"success\"}"), 2.0);
}

}  // namespace
}  // namespace movierec
