// Overload test of the movierec-server binary (issue 15, item 4): a server
// made small on purpose (one worker, and a test-only cost of kCallCost per
// call: a capacity of about 1 / kCallCost calls per second) gets an open
// loop of kOverload times that for a few seconds.
//
// It asserts what admission control promises: the calls beyond capacity are
// refused with RESOURCE_EXHAUSTED ("server overloaded"), quickly, instead of
// queueing until their deadline; the admitted ones keep near the capacity
// and wait no longer than the queue-wait budget allows; resident memory
// stays bounded; health stays SERVING throughout; and the server answers
// normally afterwards. Without admission control every call queues: none is
// refused, and the admitted ones wait until about their deadline.
//
// Robust on a loaded machine: the cost is a sleep (capacity does not depend
// on the CPU), the bounds are loose multiples of it, and the load is sent by
// the test process at a low rate.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/loadgen.h"
#include "client/loadgen_workload.h"
#include "model/bundle.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "server/server.h"
#include "tests/e2e/subprocess.h"
#include "tests/net_test_util.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using ::movierec::test::Subprocess;

constexpr char kServerBinary[] = MOVIEREC_SERVER_BIN;

constexpr absl::Duration kCallCost = absl::Milliseconds(20);
constexpr double kCapacity = 1.0 / 0.020;  // calls/s of one worker
constexpr double kOverload = 3.0;
constexpr absl::Duration kQueueWait = absl::Milliseconds(100);
constexpr absl::Duration kDeadline = absl::Seconds(2);
constexpr absl::Duration kLoad = absl::Seconds(4);

// One call's outcome and latency.
struct Outcome {
  grpc::StatusCode code;
  std::string message;
  double ms;
};

class Outcomes {
 public:
  void Add(Outcome outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    all_.push_back(std::move(outcome));
  }
  std::vector<Outcome> all() {
    std::lock_guard<std::mutex> lock(mutex_);
    return all_;
  }

 private:
  std::mutex mutex_;
  std::vector<Outcome> all_;
};

double Percentile(std::vector<double> ms, double percent) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  return loadgen::NearestRankPercentile(ms, percent);
}

TEST(OverloadTest, RefusesWhatItCannotServeAndKeepsServing) {
  test::ScopedTempDir dir;
  const std::string base = dir.File("models");
  fs::create_directories(base + "/1");
  const MovieLens data = test::SmallMovieLens(200, 100, 10, 3);
  test::WriteFile(base + "/1/" + kBundleFileName,
                  EncodeBundle(test::MakeRandomModel(
                      data, test::SmallRetrievalConfig(true), 3)));

  test::ShrinkChildQuarantine();
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Subprocess> server,
      Subprocess::Start(
          {kServerBinary, "--model_base=" + base, "--port=0", "--http_port=-1",
           "--metrics_port=0", "--worker_threads=1",
           "--testonly_call_cost=" + absl::FormatDuration(kCallCost),
           "--max_queue_wait=" + absl::FormatDuration(kQueueWait)}));
  const std::optional<test::ServerPorts> ports =
      test::WaitForServerPorts(*server, absl::Seconds(60));
  ASSERT_TRUE(ports.has_value());
  const std::string target = ports->grpc_target;
  const int metrics_port = ports->metrics_port;
  const auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = v1::Recommender::NewStub(channel);
  ASSERT_TRUE(test::WaitFor(
      [&] {
        return test::CheckHealth(channel, kRecommenderServiceName)
                   .serving_status == test::kServing;
      },
      absl::Seconds(60)))
      << server->Output();
  const int64_t rss_idle = test::ResidentBytes(server->pid());

  // Health and memory, watched from another connection while the load runs.
  std::atomic<bool> load_done{false};
  std::atomic<int> health_checks{0};
  std::vector<std::string> health_problems;
  int64_t rss_peak = rss_idle;
  std::thread watcher([&] {
    const auto health_channel = grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), [] {
          grpc::ChannelArguments args;
          args.SetInt("overload_health", 1);  // a connection of its own
          return args;
        }());
    while (!load_done.load()) {
      for (const std::string& service :
           {std::string(""), std::string(kRecommenderServiceName)}) {
        const test::HealthAnswer answer =
            test::CheckHealth(health_channel, service);
        if (!answer.status.ok() || answer.serving_status != test::kServing) {
          health_problems.push_back(
              absl::StrCat("\"", service, "\": ", answer.status.error_message(),
                           " serving_status ", answer.serving_status));
        }
      }
      ++health_checks;
      rss_peak = std::max(rss_peak, test::ResidentBytes(server->pid()));
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  loadgen::Workload workload;
  ASSERT_OK(loadgen::LoadModelIds(base + "/1", &workload));
  auto source = std::make_shared<const loadgen::RequestSource>(workload);
  auto outcomes = std::make_shared<Outcomes>();
  std::shared_ptr<v1::Recommender::Stub> shared_stub = std::move(stub);
  const loadgen::IssueCall issue =
      loadgen::UnaryCaller<v1::RecommendRequest, v1::RecommendResponse>(
          [shared_stub, outcomes](uint64_t, grpc::ClientContext* context,
                                  const v1::RecommendRequest* request,
                                  v1::RecommendResponse* response,
                                  std::function<void(grpc::Status)> done) {
            const absl::Time start = absl::Now();
            shared_stub->async()->Recommend(
                context, request, response,
                [outcomes, start, done = std::move(done)](grpc::Status status) {
                  outcomes->Add(
                      {status.error_code(), status.error_message(),
                       absl::ToDoubleMilliseconds(absl::Now() - start)});
                  done(status);
                });
          },
          [source](uint64_t seq, v1::RecommendRequest* request) {
            source->Fill(seq, request);
          },
          kDeadline);
  loadgen::LoadOptions options;
  options.rate = kOverload * kCapacity;
  options.duration = kLoad;
  options.warmup = absl::ZeroDuration();
  const absl::StatusOr<loadgen::LoadResult> result =
      loadgen::RunLoad(options, issue);
  load_done = true;
  watcher.join();
  ASSERT_OK(result.status());

  std::map<grpc::StatusCode, int64_t> by_code;
  std::vector<double> ok_ms, refused_ms;
  for (const Outcome& o : outcomes->all()) {
    ++by_code[o.code];
    if (o.code == grpc::StatusCode::OK) ok_ms.push_back(o.ms);
    if (o.code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      refused_ms.push_back(o.ms);
      EXPECT_TRUE(absl::StrContains(o.message, "server overloaded"))
          << o.message;
    }
  }
  const double seconds = absl::ToDoubleSeconds(kLoad);
  std::printf(
      "overload: offered %.0f calls/s for %.0f s (capacity %.0f): %ld OK "
      "(%.1f/s, p99 %.0f ms), %ld refused (p99 %.1f ms), %zu other; RSS "
      "idle %.1f MiB, peak %.1f MiB; %d health checks\n",
      options.rate, seconds, kCapacity, static_cast<long>(ok_ms.size()),
      ok_ms.size() / seconds, Percentile(ok_ms, 99),
      static_cast<long>(refused_ms.size()), Percentile(refused_ms, 99),
      outcomes->all().size() - ok_ms.size() - refused_ms.size(),
      rss_idle / 1048576.0, rss_peak / 1048576.0, health_checks.load());

  // The calls beyond capacity are refused, as RESOURCE_EXHAUSTED, and no
  // call ends any other way (none waits until its deadline).
  for (const auto& [code, count] : by_code) {
    EXPECT_TRUE(code == grpc::StatusCode::OK ||
                code == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << count << " calls ended " << loadgen::StatusCodeName(code);
  }
  EXPECT_GT(refused_ms.size(), ok_ms.size() / 2)
      << "at " << kOverload << "x capacity most calls must be refused";
  // Goodput near capacity.
  EXPECT_GE(ok_ms.size() / seconds, 0.7 * kCapacity);
  // The admitted waited about the budget times the overload at most (the
  // calls that came while the oldest waited its budget): far below the
  // deadline, which every call reaches without admission control.
  EXPECT_LT(
      Percentile(ok_ms, 99),
      absl::ToDoubleMilliseconds(kOverload * kQueueWait + 10 * kCallCost));
  // Memory bounded: no queue of thousands of calls.
  EXPECT_LT(rss_peak - rss_idle, int64_t{64} << 20);
  // Health SERVING throughout.
  EXPECT_GT(health_checks.load(), 0);
  EXPECT_TRUE(health_problems.empty()) << health_problems.front();

  // The server says so in its metrics.
  const std::string metrics =
      test::HttpBody(test::HttpGet(metrics_port, "/metrics"));
  const std::optional<double> queue_full = test::MetricValue(
      metrics, "movierec_admission_refusals_total{reason=\"queue_full\"}");
  const std::optional<double> queue_wait = test::MetricValue(
      metrics, "movierec_admission_refusals_total{reason=\"queue_wait\"}");
  const std::optional<double> deadline = test::MetricValue(
      metrics, "movierec_admission_refusals_total{reason=\"deadline\"}");
  ASSERT_TRUE(queue_full && queue_wait && deadline) << metrics;
  EXPECT_EQ(*queue_full + *queue_wait + *deadline,
            static_cast<double>(refused_ms.size()));

  // Afterwards it answers normally, at once.
  grpc::ClientContext context;
  context.set_deadline(test::CallDeadline());
  v1::RecommendRequest request;
  request.set_user_id(workload.user_ids.front());
  request.set_count(5);
  v1::RecommendResponse response;
  const absl::Time start = absl::Now();
  const grpc::Status status =
      shared_stub->Recommend(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.movies_size(), 5);
  EXPECT_LT(absl::Now() - start, kQueueWait + 10 * kCallCost);
}

}  // namespace
}  // namespace movierec
