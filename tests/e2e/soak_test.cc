// Soak test of the movierec-server binary (issue 8, load and faults): the
// load generator's engine (client/loadgen.h) keeps Recommend calls in flight
// for MOVIEREC_SOAK_SECONDS (default 25) while new model versions appear
// under --model_base: a good one, then a corrupt one (a flipped payload byte
// or a truncated model.bin, alternately), then a good one, and so on.
//
// It asserts what a reload must never cost: no failed call; every good
// version answers calls (model_version in the responses); every corrupt one
// is refused (the server's log and movierec_model_reloads_total); and the
// resident memory after the last reload is within a stated bound of the
// memory after the first reloads, a bound far smaller than what keeping the
// old versions would add, so a version that is never freed fails it. It
// prints the figures (calls, errors, QPS, RSS, versions).
//
// Robust on a loaded machine: each version is published only once the
// server has acted on the previous one (its log line), so none is skipped by
// the poller, and every good one serves for at least a second; calls have
// generous deadlines (30 s); nothing asserts a duration or a rate.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/loadgen.h"
#include "client/loadgen_workload.h"
#include "model/bundle.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "tests/e2e/subprocess.h"
#include "tests/net_test_util.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using ::movierec::test::Subprocess;

constexpr char kServerBinary[] = MOVIEREC_SERVER_BIN;

// The catalogue of every version: large enough that a version kept in memory
// is megabytes (so a leak of old versions shows), small enough to load in a
// fraction of a second.
constexpr int kUsers = 20000;
constexpr int kMovies = 1000;
constexpr int kRatingsPerUser = 20;
constexpr int kEmbeddingDim = 32;
// Good versions loaded before the baseline RSS is taken: the allocator's
// arenas, gRPC's and the workers' buffers have reached their working size.
constexpr int kWarmupVersions = 2;
// Good versions needed after the baseline for the memory bound to mean
// something.
constexpr int kMeasuredVersions = 3;
// Allowed RSS growth from the baseline to the end, besides one version's
// footprint (memory the allocator keeps after a swap frees the old one).
constexpr int64_t kRssSlackBytes = int64_t{24} << 20;

absl::Duration SoakDuration() {
  const char* env = std::getenv("MOVIEREC_SOAK_SECONDS");
  int seconds = 25;
  if (env != nullptr && *env != '\0' && !absl::SimpleAtoi(env, &seconds)) {
    ADD_FAILURE() << "MOVIEREC_SOAK_SECONDS=\"" << env
                  << "\" is not a whole number of seconds";
  }
  return absl::Seconds(seconds);
}

double Mib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// Publishes whole versions the way movierec-train does: written under a name
// that is no version, then renamed to MODEL_BASE/<version>.
class Publisher {
 public:
  Publisher(std::string base, std::string good_bytes)
      : base_(std::move(base)), good_(std::move(good_bytes)) {}

  int64_t next() const { return next_; }

  // The next version with model.bin = `bytes`; returns its number.
  int64_t Publish(const std::string& bytes) {
    const std::string staging = absl::StrCat(base_, "/.staging-", next_);
    fs::create_directories(staging);
    test::WriteFile(staging + "/" + kBundleFileName, bytes);
    test::WriteFile(staging + "/" + kMetricsFileName, "{}\n");
    fs::rename(staging, absl::StrCat(base_, "/", next_));
    return next_++;
  }
  int64_t PublishGood() { return Publish(good_); }
  // Alternately a flipped payload byte (checksum mismatch) and a model.bin
  // cut short (truncated).
  int64_t PublishCorrupt() {
    std::string bytes = good_;
    if (corrupt_count_++ % 2 == 0) {
      bytes[bytes.size() * 2 / 3] ^= 0x10;
    } else {
      bytes.resize(bytes.size() - bytes.size() / 3);
    }
    return Publish(bytes);
  }

 private:
  std::string base_;
  std::string good_;
  int64_t next_ = 1;
  int corrupt_count_ = 0;
};

// The model versions named by successful responses, and how many there were.
class VersionTally {
 public:
  void Record(const std::string& version) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[version];
  }
  std::map<std::string, int64_t> counts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int64_t> counts_;
};

TEST(SoakTest, ReloadsUnderLoadLoseNoCallAndFreeOldVersions) {
  const absl::Duration duration = SoakDuration();
  test::ScopedTempDir dir;
  const std::string base = dir.File("models");
  fs::create_directories(base);

  RetrievalConfig config = test::SmallRetrievalConfig(true);
  config.embedding_dim = kEmbeddingDim;
  const MovieLens data =
      test::SmallMovieLens(kUsers, kMovies, kRatingsPerUser, 7);
  const std::string good_bytes =
      EncodeBundle(test::MakeRandomModel(data, config, 3));
  Publisher publisher(base, good_bytes);
  std::vector<int64_t> good;
  std::vector<int64_t> corrupt;

  test::ShrinkChildQuarantine();
  // --worker_threads=2: the machine's cores; the test's own client takes
  // its share too.
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Subprocess> server,
      Subprocess::Start({kServerBinary, "--model_base=" + base, "--port=0",
                         "--http_port=-1", "--metrics_port=0",
                         "--poll_interval=200ms", "--worker_threads=2",
                         "--grace_period=30s",
                         // About reloads, not admission control: a budget
                         // no sanitizer build's queue reaches.
                         "--max_queue_wait=30s"}));
  const std::optional<test::ServerPorts> ports =
      test::WaitForServerPorts(*server, absl::Seconds(60));
  ASSERT_TRUE(ports.has_value());
  const std::string target = ports->grpc_target;
  const int metrics_port = ports->metrics_port;
  // A version's footprint: the RSS it adds to a server that has none.
  const int64_t rss_empty = test::ResidentBytes(server->pid());
  good.push_back(publisher.PublishGood());
  ASSERT_TRUE(server->WaitForLine("serving model version 1 ", absl::Seconds(60))
                  .has_value())
      << server->Output();
  const int64_t rss_start = test::ResidentBytes(server->pid());
  const int64_t version_footprint = rss_start - rss_empty;

  // The load: Recommend for the model's users and, for a fifth of the calls,
  // unknown users with recent movies; 32 calls always in flight over 2
  // connections.
  loadgen::Workload workload;
  ASSERT_OK(loadgen::LoadModelIds(absl::StrCat(base, "/1"), &workload));
  workload.unknown_user_share = 0.2;
  auto source = std::make_shared<const loadgen::RequestSource>(workload);
  std::vector<std::shared_ptr<v1::Recommender::Stub>> stubs;
  for (int i = 0; i < 2; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("soak_channel", i);  // distinct channels, distinct connections
    stubs.push_back(v1::Recommender::NewStub(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args)));
  }
  auto tally = std::make_shared<VersionTally>();
  const loadgen::IssueCall issue =
      loadgen::UnaryCaller<v1::RecommendRequest, v1::RecommendResponse>(
          [stubs, tally](uint64_t seq, grpc::ClientContext* context,
                         const v1::RecommendRequest* request,
                         v1::RecommendResponse* response,
                         std::function<void(grpc::Status)> done) {
            stubs[seq % stubs.size()]->async()->Recommend(
                context, request, response,
                [tally, response, done = std::move(done)](grpc::Status status) {
                  if (status.ok()) tally->Record(response->model_version());
                  done(status);
                });
          },
          [source](uint64_t seq, v1::RecommendRequest* request) {
            source->Fill(seq, request);
          },
          absl::Seconds(30));
  loadgen::LoadOptions options;
  options.concurrency = 32;
  options.duration = duration;
  options.warmup = absl::Seconds(1);
  // After the measured run, the load goes on in one-second runs (counted
  // too) until the last version has served for a second: however slow the
  // machine, every good version meets calls.
  absl::StatusOr<loadgen::LoadResult> result;
  int64_t tail_sent = 0, tail_ok = 0, tail_errors = 0;
  std::atomic<bool> publishing_done{false};
  const absl::Time load_start = absl::Now();
  std::thread load([&] {
    result = loadgen::RunLoad(options, issue);
    loadgen::LoadOptions tail = options;
    tail.duration = absl::Seconds(1);
    tail.warmup = absl::ZeroDuration();
    while (result.ok() && !publishing_done.load()) {
      absl::StatusOr<loadgen::LoadResult> more = loadgen::RunLoad(tail, issue);
      if (!more.ok()) {
        result = more.status();
        break;
      }
      tail_sent += more->sent;
      tail_ok += more->ok;
      tail_errors += more->error_count();
    }
  });

  // Publishes while the load runs, leaving its last seconds to the last good
  // version: good every ~2 s, a corrupt one in between. Each waits for the
  // server's verdict on the previous one.
  const absl::Time publish_until =
      load_start + options.warmup + duration - absl::Seconds(3);
  int64_t rss_baseline = -1;
  bool verdicts_arrived = true;
  // On a machine so loaded that the time runs out first, publishing goes on
  // (the load's tail with it) until there are enough versions to measure.
  const auto enough_versions = [&] {
    return good.size() >= kWarmupVersions + kMeasuredVersions &&
           good.size() > corrupt.size();
  };
  while (verdicts_arrived &&
         (absl::Now() < publish_until || !enough_versions())) {
    const bool make_good = corrupt.size() >= good.size();
    // A second for the serving version to answer calls, a moment before a
    // corrupt one.
    absl::SleepFor(make_good ? absl::Seconds(1) : absl::Milliseconds(300));
    const int64_t version =
        make_good ? publisher.PublishGood() : publisher.PublishCorrupt();
    (make_good ? good : corrupt).push_back(version);
    const std::string verdict =
        absl::StrCat(make_good ? "serving" : "refused", " model version ",
                     version, make_good ? " " : ":");
    verdicts_arrived =
        server->WaitForLine(verdict, absl::Seconds(120)).has_value();
    EXPECT_TRUE(verdicts_arrived) << "no \"" << verdict << "\" within 120 s\n"
                                  << server->Output();
    if (make_good && good.size() == kWarmupVersions) {
      rss_baseline = test::ResidentBytes(server->pid());
    }
  }
  absl::SleepFor(absl::Seconds(1));
  publishing_done = true;
  load.join();
  for (absl::string_view line : absl::StrSplit(server->Output(), '\n')) {
    if (absl::StrContains(line, "model version")) {
      std::printf("soak: server: %s\n", std::string(line).c_str());
    }
  }
  const int64_t rss_end = test::ResidentBytes(server->pid());
  ASSERT_TRUE(verdicts_arrived);
  ASSERT_OK(result.status());

  const std::string metrics =
      test::HttpBody(test::HttpGet(metrics_port, "/metrics"));
  const std::optional<double> reloads_ok = test::MetricValue(
      metrics, "movierec_model_reloads_total{result=\"success\"}");
  const std::optional<double> reloads_failed = test::MetricValue(
      metrics, "movierec_model_reloads_total{result=\"failure\"}");
  const std::optional<double> serving_version =
      test::MetricValue(metrics, "movierec_model_version");

  const std::map<std::string, int64_t> answered = tally->counts();
  std::vector<std::string> answered_text;
  for (const auto& [version, calls] : answered) {
    answered_text.push_back(absl::StrCat(version, ":", calls));
  }
  const int64_t version_bytes = static_cast<int64_t>(good_bytes.size());
  const int64_t rss_bound = version_footprint + kRssSlackBytes;
  std::printf(
      "soak: %s\n"
      "soak: versions published: %zu good (%s), %zu corrupt (%s); "
      "model.bin %.1f MiB\n"
      "soak: after it, %lld calls (%lld ok, %lld errors) until the last "
      "version had served 1 s\n"
      "soak: calls answered by version (version:calls): %s\n"
      "soak: reloads: %.0f succeeded, %.0f refused (metrics)\n"
      "soak: RSS %.1f MiB without a model, %.1f MiB with version 1 "
      "(footprint %.1f MiB), %.1f MiB after %d good versions under load, "
      "%.1f MiB at the end: growth %.1f MiB (bound %.1f MiB)\n",
      loadgen::FormatResult(*result).c_str(), good.size(),
      absl::StrJoin(good, ",").c_str(), corrupt.size(),
      absl::StrJoin(corrupt, ",").c_str(), Mib(version_bytes),
      static_cast<long long>(tail_sent), static_cast<long long>(tail_ok),
      static_cast<long long>(tail_errors),
      absl::StrJoin(answered_text, " ").c_str(), reloads_ok.value_or(-1),
      reloads_failed.value_or(-1), Mib(rss_empty), Mib(rss_start),
      Mib(version_footprint), Mib(rss_baseline), kWarmupVersions, Mib(rss_end),
      Mib(rss_end - rss_baseline), Mib(rss_bound));

  // No failed call.
  EXPECT_GT(result->ok, 0);
  EXPECT_EQ(result->error_count(), 0) << loadgen::FormatResult(*result);
  EXPECT_EQ(result->ok, result->sent);
  EXPECT_EQ(tail_errors, 0);
  EXPECT_EQ(tail_ok, tail_sent);
  // Enough reloads to mean something, and each good version answered calls,
  // no corrupt one ever did.
  ASSERT_GE(good.size(), kWarmupVersions + kMeasuredVersions)
      << "too few versions for a soak: give MOVIEREC_SOAK_SECONDS more time";
  for (int64_t version : good) {
    EXPECT_GT(answered.count(absl::StrCat(version)), 0u)
        << "good version " << version << " answered no call";
  }
  for (int64_t version : corrupt) {
    EXPECT_EQ(answered.count(absl::StrCat(version)), 0u)
        << "corrupt version " << version << " answered calls";
  }
  EXPECT_EQ(answered.size(), good.size());
  ASSERT_TRUE(reloads_ok.has_value() && reloads_failed.has_value() &&
              serving_version.has_value())
      << metrics;
  EXPECT_EQ(*reloads_ok, static_cast<double>(good.size()));
  EXPECT_EQ(*reloads_failed, static_cast<double>(corrupt.size()));
  EXPECT_EQ(*serving_version, static_cast<double>(good.back()));
  // Bounded memory: keeping every version loaded after the baseline would
  // add a footprint each, past the bound.
  const int64_t versions_after_baseline =
      static_cast<int64_t>(good.size()) - kWarmupVersions;
  ASSERT_GT(versions_after_baseline * version_footprint, rss_bound)
      << "versions too small or too few for the memory bound to catch a leak";
  ASSERT_GT(rss_baseline, 0);
  EXPECT_LT(rss_end - rss_baseline, rss_bound)
      << "RSS grew across reloads: old versions are not freed";

  // And the server still shuts down cleanly (under ASan, LeakSanitizer runs
  // at its exit and fails it on a leak).
  stubs.clear();
  server->Signal(SIGTERM);
  const std::optional<int> status = server->WaitForExit(absl::Seconds(120));
  ASSERT_TRUE(status.has_value()) << "still running\n" << server->Output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << server->Output();
}

}  // namespace
}  // namespace movierec
