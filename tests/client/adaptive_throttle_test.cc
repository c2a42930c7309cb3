#include "client/adaptive_throttle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace movierec::loadgen {
namespace {

using Clock = AdaptiveThrottle::Clock;
using std::chrono::milliseconds;

ThrottleOptions Options(double k) {
  ThrottleOptions options;
  options.k = k;
  options.window = absl::Seconds(10);
  options.buckets = 10;
  return options;
}

TEST(AdaptiveThrottleTest, RejectsNothingWhileTheServerAcceptsEverything) {
  AdaptiveThrottle throttle(Options(1.1));
  const Clock::time_point t = Clock::now();
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(throttle.Admit(t));
    throttle.Record(t, /*accepted=*/true);
  }
  EXPECT_EQ(throttle.RejectProbability(t), 0);
}

TEST(AdaptiveThrottleTest, SendsAboutKTimesWhatTheServerAccepts) {
  // A server that accepts at most 1,000 calls/s (a credit of one call a
  // millisecond, a few saved up), offered 3,000/s for 20 s: the calls that
  // reach it settle near K times what it accepts, and it stays busy.
  for (const double k : {1.1, 2.0}) {
    AdaptiveThrottle throttle(Options(k));
    const Clock::time_point t0 = Clock::now();
    int64_t sent_last_10s = 0, accepted_last_10s = 0, requests_last_10s = 0;
    double credit = 0;
    for (int ms = 0; ms < 20000; ++ms) {
      const Clock::time_point now = t0 + milliseconds(ms);
      credit = std::min(credit + 1, 5.0);
      for (int i = 0; i < 3; ++i) {
        const bool sent = throttle.Admit(now);
        bool accepted = false;
        if (sent && credit >= 1) {
          accepted = true;
          credit -= 1;
        }
        if (sent) throttle.Record(now, accepted);
        if (ms >= 10000) {
          ++requests_last_10s;
          sent_last_10s += sent;
          accepted_last_10s += accepted;
        }
      }
    }
    const double sent_per_accept =
        static_cast<double>(sent_last_10s) / accepted_last_10s;
    EXPECT_NEAR(sent_per_accept, k, 0.1 * k) << "k " << k;
    EXPECT_GT(accepted_last_10s, 0.95 * 10000) << "k " << k;
    EXPECT_LT(sent_last_10s, requests_last_10s) << "k " << k;
  }
}

TEST(AdaptiveThrottleTest, ForgetsRefusalsOlderThanTheWindow) {
  AdaptiveThrottle throttle(Options(1.0));
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) {
    throttle.Admit(t0);
    throttle.Record(t0, /*accepted=*/false);
  }
  EXPECT_GT(throttle.RejectProbability(t0), 0.99);
  EXPECT_EQ(throttle.RejectProbability(t0 + std::chrono::seconds(11)), 0);
}

TEST(AdaptiveThrottleTest, ThrottledCallsEndAtOnceAsResourceExhausted) {
  auto throttle = std::make_shared<AdaptiveThrottle>(Options(1.0));
  int server_calls = 0;
  IssueCall refusing_server = [&](uint64_t, CallDone done) {
    ++server_calls;
    done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "overloaded"));
  };
  IssueCall issue = Throttled(refusing_server, throttle);
  int local = 0, remote = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    issue(i, [&](const grpc::Status& status) {
      ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      (status.error_message() == kThrottledMessage ? local : remote)++;
    });
  }
  EXPECT_EQ(remote, server_calls);
  EXPECT_EQ(local + remote, 2000);
  // Nothing is accepted, so after the first call almost all stay local.
  EXPECT_GT(local, 1900);
}

TEST(AdaptiveThrottleTest, UnavailableCountsAsARefusalADeadlineDoesNot) {
  for (const auto code :
       {grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::UNAVAILABLE}) {
    auto throttle = std::make_shared<AdaptiveThrottle>(Options(1.0));
    IssueCall issue = Throttled(
        [code](uint64_t, CallDone done) { done(grpc::Status(code, "x")); },
        throttle);
    for (uint64_t i = 0; i < 100; ++i) issue(i, [](const grpc::Status&) {});
    EXPECT_GT(throttle->RejectProbability(Clock::now()), 0.5);
  }
  for (const auto code :
       {grpc::StatusCode::NOT_FOUND, grpc::StatusCode::DEADLINE_EXCEEDED}) {
    auto throttle = std::make_shared<AdaptiveThrottle>(Options(1.0));
    IssueCall issue = Throttled(
        [code](uint64_t, CallDone done) { done(grpc::Status(code, "x")); },
        throttle);
    for (uint64_t i = 0; i < 100; ++i) issue(i, [](const grpc::Status&) {});
    EXPECT_EQ(throttle->RejectProbability(Clock::now()), 0)
        << "an answer that is not a refusal is an accept: " << code;
  }
}

TEST(AdaptiveThrottleTest, RefusesBadOptions) {
  ThrottleOptions o;
  o.k = 0.5;
  EXPECT_NE(std::string(ValidateThrottleOptions(o).message()).find("below 1"),
            std::string::npos);
  o = ThrottleOptions{};
  o.window = absl::ZeroDuration();
  EXPECT_NE(std::string(ValidateThrottleOptions(o).message()).find("window"),
            std::string::npos);
  o = ThrottleOptions{};
  o.buckets = 0;
  EXPECT_NE(std::string(ValidateThrottleOptions(o).message()).find("buckets"),
            std::string::npos);
  EXPECT_TRUE(ValidateThrottleOptions(ThrottleOptions{}).ok());
}

}  // namespace
}  // namespace movierec::loadgen
