// The lifecycle of an in-process MovierecServer under real gRPC calls: hot
// reloads under continuous load, refusal of a corrupt version, health
// transitions, graceful shutdown, deadlines, and the bound on worker threads.
//
// Nothing here synchronises by sleeping: calls are held in flight by the
// test-only before_call hook (ServerOptions) and released through condition
// variables; where the state lives in another component (gRPC refusing
// calls, the poller), the test polls that state with a deadline.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "server/server.h"
#include "tests/net_test_util.h"
#include "tests/server/server_fixture.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::CallDeadline;
using ::movierec::test::CheckHealth;
using ::movierec::test::kNotServing;
using ::movierec::test::kServing;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::RequestsSeries;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

// Holds calls in flight: the before_call hook of the server counts the calls
// that reach a worker and keeps the first `hold` of them waiting until
// Release().
class CallGate {
 public:
  explicit CallGate(int hold) : hold_(hold) {}
  // Releases held calls and waits until none is inside the hook, so that a
  // test that fails early never leaves a worker on a destroyed gate.
  ~CallGate() {
    std::unique_lock<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return inside_ == 0; });
  }

  BeforeCallHook Hook() {
    return [this](const CallControl&, const std::string&) {
      std::unique_lock<std::mutex> lock(mutex_);
      const int index = entered_++;
      ++inside_;
      changed_.notify_all();
      if (index < hold_) changed_.wait(lock, [this] { return released_; });
      --inside_;
      changed_.notify_all();
    };
  }

  // Waits until `n` calls have reached a worker; false after 10 s.
  bool WaitForEntered(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return entered_ >= n; });
  }

  int entered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return entered_;
  }

  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  const int hold_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  int inside_ = 0;
  bool released_ = false;
};

// A Recommend call on its own thread; Wait() returns its status.
class AsyncRecommend {
 public:
  AsyncRecommend(v1::Recommender::Stub* stub, const std::string& user_id,
                 std::chrono::system_clock::time_point deadline)
      : thread_([this, stub, user_id, deadline] {
          grpc::ClientContext context;
          context.set_deadline(deadline);
          v1::RecommendRequest request;
          request.set_user_id(user_id);
          status_ = stub->Recommend(&context, request, &response_);
        }) {}
  ~AsyncRecommend() {
    if (thread_.joinable()) thread_.join();
  }

  grpc::Status Wait() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  const v1::RecommendResponse& response() const { return response_; }

 private:
  grpc::Status status_;
  v1::RecommendResponse response_;
  std::thread thread_;
};

class LifecycleTest : public test::ServerFixture {};

TEST_F(LifecycleTest, ReloadsUnderContinuousLoadWithoutAFailedCall) {
  WriteVersion();
  StartServer(/*metrics=*/false);  // polls every 50 ms

  std::mutex mutex;
  std::condition_variable progress;
  int64_t newest_seen = 0;
  int calls_after_three = 0;
  int calls = 0;
  std::atomic<bool> stop{false};
  std::vector<std::string> failures;

  // Four clients, each on its own channel, call without pause: known users,
  // a visitor, similar movies. Each checks that the versions it sees never
  // go back.
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub = v1::Recommender::NewStub(NewChannel());
      int64_t last = 0;
      for (int i = 0; !stop.load(); ++i) {
        grpc::ClientContext context;
        context.set_deadline(CallDeadline());
        grpc::Status status;
        std::string version;
        if ((i + c) % 3 == 2) {
          v1::SimilarMoviesRequest request;
          request.set_movie_id(MovieId(i % 40));
          v1::SimilarMoviesResponse response;
          status = stub->SimilarMovies(&context, request, &response);
          version = response.model_version();
        } else {
          v1::RecommendRequest request;
          if ((i + c) % 3 == 0) {
            request.set_user_id(KnownUser(i % 10));
          } else {
            request.add_recent_movie_ids(MovieId(i % 40));
          }
          v1::RecommendResponse response;
          status = stub->Recommend(&context, request, &response);
          version = response.model_version();
        }
        int64_t seen = 0;
        std::lock_guard<std::mutex> lock(mutex);
        if (!status.ok() || !absl::SimpleAtoi(version, &seen) || seen < last) {
          failures.push_back(absl::StrCat("client ", c, " call ", i, ": ",
                                          status.error_message(), " version \"",
                                          version, "\" after ", last));
        }
        ++calls;
        last = seen;
        if (seen > newest_seen) newest_seen = seen;
        if (seen == 3) ++calls_after_three;
        progress.notify_all();
      }
    });
  }
  const auto wait_until = [&](const std::function<bool()>& done) {
    std::unique_lock<std::mutex> lock(mutex);
    return progress.wait_for(lock, std::chrono::seconds(20), done);
  };
  EXPECT_TRUE(wait_until([&] { return newest_seen >= 1; }));
  WriteVersion(MakeRandomModel(SmallMovieLens(10, 40, 8),
                               SmallRetrievalConfig(true), 6));
  EXPECT_TRUE(wait_until([&] { return newest_seen >= 2; }));
  WriteVersion(MakeRandomModel(SmallMovieLens(10, 40, 8),
                               SmallRetrievalConfig(false), 7));
  EXPECT_TRUE(wait_until([&] { return calls_after_three >= 50; }));
  stop = true;
  for (std::thread& client : clients) client.join();

  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_EQ(newest_seen, 3);
  EXPECT_EQ(Metric("movierec_model_reloads_total{result=\"success\"}"), 3.0);
  EXPECT_EQ(Metric("movierec_model_version"), 3.0);
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "OK")) +
                Metric(RequestsSeries("SimilarMovies", "OK")),
            calls);
}

TEST_F(LifecycleTest, CorruptVersionIsRefusedWhileTheOldOneServes) {
  WriteVersion();
  ServerOptions options = Options();
  options.model.poll_interval = absl::ZeroDuration();  // the test polls
  StartServer(options);

  // Version 2 with one payload byte flipped, renamed into place whole.
  const std::string staging = dir_.File("staging");
  ASSERT_OK(WriteModelVersion(staging, model_, "").status());
  std::string bytes = test::ReadFileOrFail(staging + "/1/model.bin");
  bytes[bytes.size() / 2] ^= 0x01;
  test::WriteFile(staging + "/1/model.bin", bytes);
  std::filesystem::rename(staging + "/1", base_ + "/2");

  EXPECT_TRUE(test::IsError(server_->models().Poll(),
                            absl::StatusCode::kInvalidArgument,
                            {"checksum mismatch", "2/model.bin"}));
  EXPECT_EQ(server_->models().current()->version(), 1);
  v1::RecommendResponse response;
  const grpc::Status status = Recommend(KnownUser(0), 3, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(CheckHealth(channel_, "").serving_status, kServing);
  EXPECT_EQ(Metric("movierec_model_reloads_total{result=\"failure\"}"), 1.0);
  EXPECT_EQ(Metric("movierec_model_version"), 1.0);

  // The refused version is not retried while unchanged; a good version 3
  // then serves.
  EXPECT_OK(server_->models().Poll());
  EXPECT_EQ(Metric("movierec_model_reloads_total{result=\"failure\"}"), 1.0);
  WriteVersion();
  EXPECT_OK(server_->models().Poll());
  ASSERT_TRUE(Recommend(KnownUser(0), 3, &response).ok());
  EXPECT_EQ(response.model_version(), "3");
}

TEST_F(LifecycleTest, HealthGoesServingThenNotServingAtShutdown) {
  // An empty model base, as on a fresh volume before the trainer Job ran:
  // the server starts, alive but not ready.
  std::filesystem::create_directories(base_);
  StartServer();  // polls every 50 ms
  EXPECT_EQ(CheckHealth(channel_, "").serving_status, kServing);
  EXPECT_EQ(CheckHealth(channel_, kRecommenderServiceName).serving_status,
            kNotServing);
  v1::RecommendResponse response;
  const grpc::Status unavailable = Recommend(KnownUser(0), 3, &response);
  EXPECT_EQ(unavailable.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(unavailable.error_message(),
              ::testing::HasSubstr("no model is loaded yet"));

  // The poller picks up the first version: ready.
  WriteVersion();
  EXPECT_TRUE(test::WaitFor(
      [&] {
        return CheckHealth(channel_, kRecommenderServiceName).serving_status ==
               kServing;
      },
      absl::Seconds(10)));
  EXPECT_EQ(CheckHealth(channel_, "").serving_status, kServing);
  ASSERT_TRUE(Recommend(KnownUser(0), 3, &response).ok());

  server_->BeginShutdown();
  for (const std::string service : {"", kRecommenderServiceName}) {
    EXPECT_EQ(CheckHealth(channel_, service).serving_status, kNotServing)
        << "\"" << service << "\"";
  }
  // Not serving for good: a version loaded now does not bring it back.
  WriteVersion();
  ASSERT_OK(server_->models().Poll());
  for (const std::string service : {"", kRecommenderServiceName}) {
    EXPECT_EQ(CheckHealth(channel_, service).serving_status, kNotServing)
        << "\"" << service << "\"";
  }
  server_->Shutdown(absl::Seconds(5));
}

TEST_F(LifecycleTest, ShutdownLetsACallInFlightFinishAndRefusesNewOnes) {
  WriteVersion();
  CallGate gate(/*hold=*/1);
  ServerOptions options = Options();
  options.before_call = gate.Hook();
  StartServer(options);

  AsyncRecommend held(stub_.get(), KnownUser(2), CallDeadline());
  ASSERT_TRUE(gate.WaitForEntered(1));
  std::thread shutdown([this] { server_->Shutdown(absl::Seconds(30)); });

  // New calls are refused once gRPC has begun its shutdown; until then they
  // pass the gate (only the first call is held).
  EXPECT_TRUE(test::WaitFor(
      [&] {
        v1::RecommendResponse response;
        return Recommend(KnownUser(0), 1, &response).error_code() ==
               grpc::StatusCode::UNAVAILABLE;
      },
      absl::Seconds(10)));
  gate.Release();
  const grpc::Status status = held.Wait();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(held.response().movies_size(), kDefaultCount);
  EXPECT_EQ(held.response().model_version(), "1");
  shutdown.join();
  EXPECT_EQ(Metric("movierec_requests_in_flight"), 0.0);
}

TEST_F(LifecycleTest, ShutdownCancelsCallsThatOutliveTheGracePeriod) {
  WriteVersion();
  // The held call waits until the server cancels it.
  ServerOptions options = Options();
  std::atomic<int> entered{0};
  options.before_call = [&entered](const CallControl& control,
                                   const std::string&) {
    ++entered;
    while (control.Check("work").ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  StartServer(options);
  AsyncRecommend held(stub_.get(), KnownUser(2), CallDeadline());
  ASSERT_TRUE(
      test::WaitFor([&] { return entered.load() == 1; }, absl::Seconds(10)));
  server_->Shutdown(absl::Milliseconds(100));
  EXPECT_FALSE(held.Wait().ok());
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "CANCELLED")), 1.0);
  EXPECT_EQ(
      Metric("movierec_stage_duration_seconds_count{stage=\"retrieval\"}"),
      0.0);
}

TEST_F(LifecycleTest, ACallWhoseDeadlinePassedDoesNoWork) {
  WriteVersion();
  ServerOptions options = Options();
  std::atomic<int> entered{0};
  // Holds the call until the server sees it is over (deadline or the
  // client's cancellation), as a slow queue would.
  options.before_call = [&entered](const CallControl& control,
                                   const std::string&) {
    ++entered;
    while (control.Check("work").ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  StartServer(options);
  AsyncRecommend late(
      stub_.get(), KnownUser(2),
      std::chrono::system_clock::now() + std::chrono::seconds(1));
  EXPECT_EQ(late.Wait().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(test::WaitFor(
      [&] {
        return Metric(RequestsSeries("Recommend", "DEADLINE_EXCEEDED")) +
                   Metric(RequestsSeries("Recommend", "CANCELLED")) ==
               1.0;
      },
      absl::Seconds(10)));
  EXPECT_EQ(entered.load(), 1);
  EXPECT_EQ(
      Metric("movierec_stage_duration_seconds_count{stage=\"retrieval\"}"),
      0.0);
}

TEST_F(LifecycleTest, WorkerThreadsBoundTheCallsRunningAtOnce) {
  WriteVersion();
  CallGate gate(/*hold=*/1);
  ServerOptions options = Options();
  options.worker_threads = 1;
  options.before_call = gate.Hook();
  StartServer(options);
  EXPECT_EQ(server_->worker_threads(), 1);

  AsyncRecommend first(stub_.get(), KnownUser(1), CallDeadline());
  ASSERT_TRUE(gate.WaitForEntered(1));
  AsyncRecommend second(stub_.get(), KnownUser(2), CallDeadline());
  // Both calls are accepted, but the only worker is busy with the first.
  ASSERT_TRUE(test::WaitFor(
      [&] { return Metric("movierec_requests_in_flight") == 2.0; },
      absl::Seconds(10)));
  EXPECT_EQ(gate.entered(), 1);
  gate.Release();
  EXPECT_TRUE(first.Wait().ok());
  EXPECT_TRUE(second.Wait().ok());
  EXPECT_EQ(gate.entered(), 2);
}

TEST_F(LifecycleTest, CallsHeldInEverySlotLeaveGrpcReceivingAndRefusing) {
  // Two slots, both held: one call may run on a gRPC thread (the first
  // finds a slot free), the other on a worker. gRPC must still receive the
  // calls that follow and admission control see them: the third is queued,
  // the fourth refused at once as the queue is full.
  WriteVersion();
  CallGate gate(/*hold=*/2);
  ServerOptions options = Options();
  options.worker_threads = 2;
  options.admission.max_queue = 1;
  options.before_call = gate.Hook();
  StartServer(options);

  AsyncRecommend first(stub_.get(), KnownUser(1), CallDeadline());
  ASSERT_TRUE(gate.WaitForEntered(1));
  AsyncRecommend second(stub_.get(), KnownUser(2), CallDeadline());
  ASSERT_TRUE(gate.WaitForEntered(2));
  AsyncRecommend third(stub_.get(), KnownUser(3), CallDeadline());
  ASSERT_TRUE(test::WaitFor(
      [&] { return Metric("movierec_requests_in_flight") == 3.0; },
      absl::Seconds(10)));
  v1::RecommendResponse response;
  const grpc::Status fourth = Recommend(KnownUser(4), 1, &response);
  EXPECT_EQ(fourth.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << fourth.error_message();
  EXPECT_EQ(gate.entered(), 2);
  gate.Release();
  for (AsyncRecommend* call : {&first, &second, &third}) {
    const grpc::Status status = call->Wait();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(gate.entered(), 3);
}

TEST_F(LifecycleTest, PinnedVersionServesAndNewerOnesAreIgnored) {
  WriteVersion();
  WriteVersion();
  ServerOptions options = Options();
  options.model.pinned_version = 1;
  StartServer(options);
  WriteVersion();
  ASSERT_OK(server_->models().Poll());
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(KnownUser(0), 2, &response).ok());
  EXPECT_EQ(response.model_version(), "1");
}

}  // namespace
}  // namespace movierec
