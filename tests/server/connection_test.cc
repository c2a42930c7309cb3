// Client connections that rotate: past --max_connection_age the server sends
// a GOAWAY and the client reconnects (so that clients balancing over the
// headless Service reach replicas added since), without a failed call; and
// the connection options that ValidateServerOptions refuses, by flag name.
//
// The server tells connections apart by the call's peer address (the
// client's ephemeral port), which the test-only before_call hook hears for
// every call: a count of distinct peers is a count of connections, whatever
// the timing.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/server.h"
#include "tests/net_test_util.h"
#include "tests/server/server_fixture.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;

class ConnectionTest : public test::ServerFixture {
 protected:
  // Options whose before_call hook records each call's peer.
  ServerOptions RecordingOptions() {
    ServerOptions options = Options();
    options.before_call = [this](const CallControl&, const std::string& peer) {
      std::lock_guard<std::mutex> lock(mutex_);
      peers_.insert(peer);
    };
    return options;
  }

  int Connections() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(peers_.size());
  }

  // Calls Recommend over the fixture's one channel, one call after another,
  // for at least `at_least` and until `enough` connections were seen (or 30
  // s passed). Returns the failed calls' errors; `calls` counts them all.
  std::vector<std::string> CallContinuously(absl::Duration at_least, int enough,
                                            int* calls) {
    std::vector<std::string> failures;
    const absl::Time start = absl::Now();
    *calls = 0;
    while (absl::Now() - start < at_least ||
           (Connections() < enough &&
            absl::Now() - start < absl::Seconds(30) * test::kWaitScale)) {
      v1::RecommendResponse response;
      const grpc::Status status =
          Recommend(KnownUser(*calls % 10), 3, &response);
      if (!status.ok()) {
        failures.push_back(absl::StrCat("call ", *calls, ": ",
                                        status.error_code(), " ",
                                        status.error_message()));
      }
      ++*calls;
    }
    return failures;
  }

  std::mutex mutex_;
  std::set<std::string> peers_;
};

TEST_F(ConnectionTest, AChannelReconnectsPastTheMaxAgeWithoutAFailedCall) {
  WriteVersion();
  ServerOptions options = RecordingOptions();
  options.max_connection_age = absl::Seconds(1);
  options.max_connection_age_grace = absl::Seconds(1);
  StartServer(options);

  int calls = 0;
  const std::vector<std::string> failures =
      CallContinuously(absl::Milliseconds(3500), /*enough=*/3, &calls);
  EXPECT_THAT(failures, ::testing::IsEmpty());
  // About one connection per second of calls, each one the channel opened
  // again after the server's GOAWAY.
  EXPECT_GE(Connections(), 3) << calls << " calls";
  EXPECT_GT(calls, 100);
  EXPECT_EQ(Metric(test::RequestsSeries("Recommend", "OK")), calls);
}

TEST_F(ConnectionTest, AZeroMaxAgeKeepsTheConnection) {
  WriteVersion();
  ServerOptions options = RecordingOptions();
  options.max_connection_age = absl::ZeroDuration();  // never
  StartServer(options);

  int calls = 0;
  EXPECT_THAT(CallContinuously(absl::Milliseconds(2500), 1, &calls),
              ::testing::IsEmpty());
  EXPECT_EQ(Connections(), 1) << calls << " calls";
}

TEST_F(ConnectionTest, ACallOutlivingTheMaxAgeFinishesWithinTheGrace) {
  WriteVersion();
  ServerOptions options = Options();
  options.max_connection_age = absl::Milliseconds(200);
  options.max_connection_age_grace = absl::Seconds(10);
  // The first call takes a second, well past the age, inside the grace.
  std::mutex mutex;
  int entered = 0;
  options.before_call = [&](const CallControl&, const std::string&) {
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      first = entered++ == 0;
    }
    if (first) std::this_thread::sleep_for(std::chrono::seconds(1));
  };
  StartServer(options);
  v1::RecommendResponse response;
  const grpc::Status status = Recommend(KnownUser(0), 3, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.movies_size(), 3);
}

TEST_F(ConnectionTest, BadConnectionOptionsNameTheFlag) {
  ServerOptions options = Options();
  ASSERT_OK(ValidateServerOptions(options));
  // 0 and infinity are accepted where they mean "never" or "no limit".
  options.max_connection_age = absl::ZeroDuration();
  options.max_connection_age_grace = absl::InfiniteDuration();
  options.keepalive_time = absl::InfiniteDuration();
  options.keepalive_timeout = absl::InfiniteDuration();
  EXPECT_OK(ValidateServerOptions(options));
  options.keepalive_time = absl::ZeroDuration();
  options.max_connection_age = absl::InfiniteDuration();
  options.max_connection_age_grace = absl::ZeroDuration();
  EXPECT_OK(ValidateServerOptions(options));

  const auto refused = [this](void (*set)(ServerOptions&),
                              std::initializer_list<absl::string_view> parts) {
    ServerOptions bad = Options();
    set(bad);
    return IsError(ValidateServerOptions(bad),
                   absl::StatusCode::kInvalidArgument, parts);
  };
  EXPECT_TRUE(refused(
      [](ServerOptions& o) { o.max_connection_age = absl::Seconds(-1); },
      {"--max_connection_age must be >= 0 (0: never), got -1s"}));
  EXPECT_TRUE(refused(
      [](ServerOptions& o) {
        o.max_connection_age_grace = absl::Milliseconds(-5);
      },
      {"--max_connection_age_grace must be >= 0, got -5ms"}));
  EXPECT_TRUE(
      refused([](ServerOptions& o) { o.keepalive_time = absl::Seconds(-2); },
              {"--keepalive_time must be >= 0 (0: no pings), got -2s"}));
  EXPECT_TRUE(
      refused([](ServerOptions& o) { o.keepalive_timeout = absl::Seconds(-1); },
              {"--keepalive_timeout must be > 0, got -1s"}));
  EXPECT_TRUE(refused(
      [](ServerOptions& o) { o.keepalive_timeout = absl::ZeroDuration(); },
      {"--keepalive_timeout must be > 0, got 0"}));
  // Start refuses them too, before it listens.
  ServerOptions bad = Options();
  bad.keepalive_timeout = absl::Seconds(-1);
  EXPECT_TRUE(IsError(MovierecServer::Start(bad).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"--keepalive_timeout"}));
}

}  // namespace
}  // namespace movierec
