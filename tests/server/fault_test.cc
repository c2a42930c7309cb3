// Faults a client can cause, against an in-process MovierecServer: a client
// that cancels mid-call, calls with 1 ms deadlines, and 10,000 calls opened
// at once and then dropped. After each the server is healthy: nothing is
// left in flight, health says SERVING, and an ordinary call is answered.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/server/server_fixture.h"

namespace movierec {
namespace {

using ::movierec::test::CheckHealth;
using ::movierec::test::kServing;
using ::movierec::test::RequestsSeries;

// Calls started through the callback API, each with its own context; Wait()
// returns once every one has finished.
class Calls {
 public:
  explicit Calls(int n) : calls_(n) {}

  void Start(int i, v1::Recommender::Stub* stub,
             const v1::RecommendRequest& request,
             std::chrono::system_clock::time_point deadline) {
    Call& call = calls_[i];
    call.context.set_deadline(deadline);
    stub->async()->Recommend(&call.context, &request, &call.response,
                             [this, &call](grpc::Status status) {
                               std::lock_guard<std::mutex> lock(mutex_);
                               call.status = std::move(status);
                               ++finished_;
                               changed_.notify_all();
                             });
  }
  void Cancel(int i) { calls_[i].context.TryCancel(); }

  // False if they did not all finish within `timeout`.
  bool Wait(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] {
      return finished_ == static_cast<int>(calls_.size());
    });
  }
  // How many finished with `code`.
  int Count(grpc::StatusCode code) {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const Call& call : calls_) n += call.status.error_code() == code;
    return n;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::RecommendResponse response;
    grpc::Status status;
  };
  std::vector<Call> calls_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int finished_ = 0;
};

class FaultTest : public test::ServerFixture {
 protected:
  // Nothing left in flight, SERVING, and an ordinary call answered.
  void ExpectHealthy() {
    EXPECT_TRUE(test::WaitFor(
        [&] { return Metric("movierec_requests_in_flight") == 0.0; },
        absl::Seconds(30) * test::kWaitScale))
        << Metric("movierec_requests_in_flight") << " calls still in flight";
    // The server may still be draining the dropped calls' completions (under
    // ThreadSanitizer for many seconds, see kWaitScale): health must come
    // back, not answer at once. A health call that misses its 10 s deadline
    // is tried again.
    EXPECT_TRUE(test::WaitFor(
        [&] {
          return CheckHealth(NewChannel(), "").serving_status == kServing;
        },
        absl::Seconds(30) * test::kWaitScale))
        << "health did not return to SERVING";
    v1::RecommendResponse response;
    const grpc::Status status = Recommend(KnownUser(3), 5, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.movies_size(), 5);
  }

  v1::RecommendRequest Request(int row) const {
    v1::RecommendRequest request;
    request.set_user_id(KnownUser(row % 10));
    request.set_count(5);
    return request;
  }
};

// Holds every call that reaches a worker until its client is gone or
// Release(); counts the calls that reached one.
class Holder {
 public:
  BeforeCallHook Hook() {
    return [this](const CallControl& control, const std::string&) {
      ++entered_;
      while (!released_ && control.Check("work").ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    };
  }
  int entered() const { return entered_; }
  void Release() { released_ = true; }

 private:
  std::atomic<int> entered_{0};
  std::atomic<bool> released_{false};
};

TEST_F(FaultTest, AClientThatCancelsMidCall) {
  WriteVersion();
  Holder holder;
  ServerOptions options = Options();
  options.before_call = holder.Hook();
  StartServer(options);
  Calls calls(1);
  const v1::RecommendRequest request = Request(1);
  calls.Start(0, stub_.get(), request, test::CallDeadline());
  ASSERT_TRUE(
      test::WaitFor([&] { return holder.entered() == 1; }, absl::Seconds(10)));
  calls.Cancel(0);
  ASSERT_TRUE(calls.Wait(std::chrono::seconds(10)));
  EXPECT_EQ(calls.Count(grpc::StatusCode::CANCELLED), 1);
  // The server saw the cancellation and stopped the call.
  EXPECT_TRUE(test::WaitFor(
      [&] { return Metric(RequestsSeries("Recommend", "CANCELLED")) == 1.0; },
      absl::Seconds(10)));
  holder.Release();
  ExpectHealthy();
}

TEST_F(FaultTest, OneMillisecondDeadlines) {
  WriteVersion();
  StartServer();
  constexpr int kCalls = 1000;
  Calls calls(kCalls);
  std::vector<v1::RecommendRequest> requests;
  for (int i = 0; i < kCalls; ++i) requests.push_back(Request(i));
  for (int i = 0; i < kCalls; ++i) {
    calls.Start(
        i, stub_.get(), requests[i],
        std::chrono::system_clock::now() + std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(calls.Wait(std::chrono::seconds(60)));
  const int ok = calls.Count(grpc::StatusCode::OK);
  const int late = calls.Count(grpc::StatusCode::DEADLINE_EXCEEDED);
  // Refused by admission control: it could not start within 1 ms.
  const int refused = calls.Count(grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ok + late + refused, kCalls) << "a 1 ms call ended otherwise";
  EXPECT_GT(late + refused, 0) << "no call missed a 1 ms deadline";
  ExpectHealthy();
}

TEST_F(FaultTest, TenThousandCallsOpenedAtOnceThenDropped) {
  WriteVersion();
  Holder holder;
  ServerOptions options = Options();
  options.before_call = holder.Hook();
  // Admission control lets them all queue: this test is about many open
  // calls, not about refusing them (overload_test is).
  options.admission.max_queue = 10000;
  options.admission.max_queue_wait = absl::Minutes(10);
  options.memory_limit_bytes = int64_t{4} << 30;  // 1,024 streams a connection
  StartServer(options);
  // Ten connections (their own subchannels), 1,000 streams each: within the
  // streams a connection may open at once (BudgetFor's ceiling, 1,024).
  constexpr int kChannels = 10;
  constexpr int kCalls = 10000;
  std::vector<std::unique_ptr<v1::Recommender::Stub>> stubs;
  for (int c = 0; c < kChannels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("movierec.test.channel", c);  // distinct channels
    stubs.push_back(v1::Recommender::NewStub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                  grpc::InsecureChannelCredentials(), args)));
  }
  Calls calls(kCalls);
  const v1::RecommendRequest request = Request(2);
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(120);
  for (int i = 0; i < kCalls; ++i) {
    calls.Start(i, stubs[i % kChannels].get(), request, deadline);
  }
  // All of them open at the server at once: the workers are held.
  EXPECT_TRUE(test::WaitFor(
      [&] { return Metric("movierec_requests_in_flight") == kCalls; },
      absl::Seconds(60)))
      << Metric("movierec_requests_in_flight") << " in flight";
  for (int i = 0; i < kCalls; ++i) calls.Cancel(i);
  ASSERT_TRUE(calls.Wait(std::chrono::seconds(120)));
  EXPECT_EQ(calls.Count(grpc::StatusCode::CANCELLED), kCalls);
  stubs.clear();
  holder.Release();
  ExpectHealthy();
}

}  // namespace
}  // namespace movierec
