// The load generator's engine (client/loadgen.h) with fake calls, its
// statistics and validation, its workloads (client/loadgen_workload.h), and
// runs against an in-process server.
#include "client/loadgen.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/loadgen_http.h"
#include "client/loadgen_workload.h"
#include "model/bundle.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_fixture.h"
#include "tests/test_util.h"

namespace movierec::loadgen {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

LoadOptions Closed(int concurrency, absl::Duration duration,
                   absl::Duration warmup = absl::ZeroDuration()) {
  LoadOptions o;
  o.concurrency = concurrency;
  o.duration = duration;
  o.warmup = warmup;
  return o;
}

LoadOptions Open(double rate, absl::Duration duration,
                 absl::Duration warmup = absl::ZeroDuration()) {
  LoadOptions o;
  o.rate = rate;
  o.duration = duration;
  o.warmup = warmup;
  return o;
}

void ExpectInvalid(const LoadOptions& options, const std::string& message) {
  const absl::Status status = ValidateLoadOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(message));
}

TEST(PercentileTest, NearestRankOfOneToHundred) {
  std::vector<double> sorted;
  for (int i = 1; i <= 100; ++i) sorted.push_back(i);
  EXPECT_EQ(NearestRankPercentile(sorted, 0), 1);
  EXPECT_EQ(NearestRankPercentile(sorted, 1), 1);
  EXPECT_EQ(NearestRankPercentile(sorted, 1.5), 2);
  EXPECT_EQ(NearestRankPercentile(sorted, 50), 50);
  EXPECT_EQ(NearestRankPercentile(sorted, 90), 90);
  EXPECT_EQ(NearestRankPercentile(sorted, 99), 99);
  // 99.9% of 100 samples is 99.9 of them: only the largest covers it.
  EXPECT_EQ(NearestRankPercentile(sorted, 99.9), 100);
  EXPECT_EQ(NearestRankPercentile(sorted, 100), 100);
}

TEST(PercentileTest, ExactRanksAreNotRoundedUpByFloatingPoint) {
  std::vector<double> sorted;
  for (int i = 1; i <= 1000; ++i) sorted.push_back(i);
  EXPECT_EQ(NearestRankPercentile(sorted, 99.9), 999);
  EXPECT_EQ(NearestRankPercentile(sorted, 99), 990);
  EXPECT_EQ(NearestRankPercentile(sorted, 90), 900);
  EXPECT_EQ(NearestRankPercentile({7.5}, 50), 7.5);
  EXPECT_EQ(NearestRankPercentile({7.5}, 99.9), 7.5);
}

TEST(PercentileTest, SummarizeSortsAndAverages) {
  // A slow tail: 2 of 10 calls are slow, so p90 is a slow one, p50 not.
  const LatencySummary s = Summarize({100, 1, 2, 3, 4, 5, 6, 7, 8, 200});
  EXPECT_EQ(s.count, 10);
  EXPECT_EQ(s.min_ms, 1);
  EXPECT_EQ(s.max_ms, 200);
  EXPECT_DOUBLE_EQ(s.mean_ms, 33.6);
  EXPECT_EQ(s.p50_ms, 5);
  EXPECT_EQ(s.p90_ms, 100);
  EXPECT_EQ(s.p99_ms, 200);
  EXPECT_EQ(s.p999_ms, 200);
}

TEST(PercentileTest, NoSamplesSummariseToZero) {
  const LatencySummary s = Summarize({});
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.p99_ms, 0);
  EXPECT_EQ(s.max_ms, 0);
}

TEST(ValidateLoadOptionsTest, RefusesBadLoads) {
  EXPECT_TRUE(ValidateLoadOptions(Closed(4, absl::Seconds(1))).ok());
  EXPECT_TRUE(ValidateLoadOptions(Open(100, absl::Seconds(1))).ok());
  ExpectInvalid(Closed(0, absl::Seconds(1)),
                "concurrency 0 is not in 1-100000");
  ExpectInvalid(Closed(-3, absl::Seconds(1)), "concurrency -3");
  ExpectInvalid(Closed(100001, absl::Seconds(1)), "concurrency 100001");
  LoadOptions both = Open(100, absl::Seconds(1));
  both.concurrency = 8;
  ExpectInvalid(both, "both a rate (100 calls/s, open loop) and a concurrency");
  ExpectInvalid(Open(-1, absl::Seconds(1)), "rate -1 calls/s");
  ExpectInvalid(Open(std::nan(""), absl::Seconds(1)), "rate nan");
  ExpectInvalid(Open(std::numeric_limits<double>::infinity(), absl::Seconds(1)),
                "rate inf");
  ExpectInvalid(Closed(1, absl::ZeroDuration()),
                "duration 0 is not a positive");
  ExpectInvalid(Closed(1, absl::InfiniteDuration()), "duration inf");
  LoadOptions no_lag = Open(100, absl::Seconds(1));
  no_lag.max_send_lag = absl::ZeroDuration();
  ExpectInvalid(no_lag, "max send lag 0 is not positive");
  ExpectInvalid(Closed(1, absl::Seconds(1), absl::Seconds(-1)),
                "warm-up -1s is negative");
}

TEST(ValidateWorkloadTest, RefusesBadWorkloads) {
  Workload w;
  w.user_ids = {"1", "2"};
  w.movie_ids = {"10"};
  EXPECT_TRUE(ValidateWorkload(w).ok());
  auto expect = [](Workload bad, const std::string& message) {
    const absl::Status status = ValidateWorkload(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(status.message(), HasSubstr(message));
  };
  Workload bad = w;
  bad.method = "Recomend";
  expect(bad, "method \"Recomend\" is not Recommend, SimilarMovies");
  bad = w;
  bad.unknown_user_share = 1.5;
  expect(bad, "unknown user share 1.5 is not in [0, 1]");
  bad.unknown_user_share = std::nan("");
  expect(bad, "unknown user share nan");
  bad = w;
  bad.count = 0;
  expect(bad, "count 0 is not in 1-100");
  bad = w;
  bad.batch_size = 101;
  expect(bad, "batch size 101 is not in 1-100");
  bad = w;
  bad.recent_movies = 0;
  expect(bad, "recent movies per unknown user 0");
  bad = w;
  bad.user_ids.clear();
  expect(bad, "no user ids");
  bad.unknown_user_share = 1;  // all unknown: no known users needed
  EXPECT_TRUE(ValidateWorkload(bad).ok());
  bad = w;
  bad.movie_ids.clear();
  EXPECT_TRUE(ValidateWorkload(bad).ok());  // known users need no movies
  bad.unknown_user_share = 0.1;
  expect(bad, "no movie ids, which unknown users' recent movies need");
  bad.unknown_user_share = 0;
  bad.method = kSimilarMovies;
  expect(bad, "no movie ids, which SimilarMovies need");
}

TEST(ValidateConnectionTest, RefusesBadChannelsAndTimeouts) {
  EXPECT_TRUE(ValidateConnection(1, absl::Seconds(1)).ok());
  EXPECT_THAT(ValidateConnection(0, absl::Seconds(1)).message(),
              HasSubstr("channels 0 is not in 1-64"));
  EXPECT_THAT(ValidateConnection(1, absl::ZeroDuration()).message(),
              HasSubstr("timeout 0 is not a positive finite time"));
  EXPECT_THAT(ValidateConnection(1, absl::InfiniteDuration()).message(),
              HasSubstr("timeout inf"));
}

TEST(ParseIdRangeTest, ParsesRangesAndRefusesOthers) {
  ASSERT_OK_AND_ASSIGN(const std::vector<std::string> ids,
                       ParseIdRange("--user_ids", "3-5"));
  EXPECT_THAT(ids, ::testing::ElementsAre("3", "4", "5"));
  for (const char* bad : {"", "7", "a-3", "1-", "1-2-3", "1..9"}) {
    const auto parsed = ParseIdRange("--user_ids", bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(),
                HasSubstr(absl::StrCat("--user_ids \"", bad,
                                       "\" is not a range FIRST-LAST")));
  }
  EXPECT_THAT(ParseIdRange("--movie_ids", "9-2").status().message(),
              HasSubstr("--movie_ids \"9-2\" is empty"));
  EXPECT_THAT(ParseIdRange("--movie_ids", "1-20000000").status().message(),
              HasSubstr("more than 10 million"));
}

Workload SmallWorkload(double unknown_share) {
  Workload w;
  w.user_ids = {"1", "2", "3", "4"};
  w.movie_ids = {"10", "20", "30"};
  w.unknown_user_share = unknown_share;
  w.recent_movies = 3;
  w.count = 7;
  return w;
}

// The ids a workload draws are those the API spells: the string ids of a
// model trained on the generic format, the integer ids (as text) otherwise.
TEST(LoadModelIdsTest, TakesTheModelsExternalIds) {
  Model model = test::MakeRandomModel(test::SmallMovieLens(4, 6, 3),
                                      test::SmallRetrievalConfig(false), 1);
  test::ScopedTempDir dir;
  ASSERT_OK(WriteModelVersion(dir.path(), model, "").status());
  loadgen::Workload workload;
  ASSERT_OK(loadgen::LoadModelIds(dir.path() + "/1", &workload));
  ASSERT_EQ(workload.user_ids.size(), 4u);
  EXPECT_EQ(workload.user_ids[0], absl::StrCat(model.catalog.users[0].id));
  for (size_t i = 0; i < model.catalog.movies.size(); ++i) {
    model.catalog.movies[i].key = absl::StrCat("sku-", i);
  }
  model.catalog.users[0].key = "u-abc";
  ASSERT_OK(WriteModelVersion(dir.path(), model, "").status());
  ASSERT_OK(loadgen::LoadModelIds(dir.path() + "/2", &workload));
  ASSERT_EQ(workload.user_ids.size(), 4u);
  EXPECT_EQ(workload.user_ids[0], "u-abc");
  EXPECT_EQ(workload.user_ids[1], absl::StrCat(model.catalog.users[1].id));
  ASSERT_EQ(workload.movie_ids.size(), 6u);
  EXPECT_EQ(workload.movie_ids[5], "sku-5");
}

TEST(RequestSourceTest, DrawsKnownAndUnknownUsersInTheirShare) {
  const RequestSource source(SmallWorkload(0.3));
  const std::set<std::string> known = {"1", "2", "3", "4"};
  std::set<std::string> users_seen;
  int unknown = 0;
  const int n = 10000;
  for (int seq = 0; seq < n; ++seq) {
    v1::RecommendRequest request;
    source.Fill(seq, &request);
    EXPECT_EQ(request.count(), 7);
    if (known.count(request.user_id())) {
      users_seen.insert(request.user_id());
      EXPECT_EQ(request.recent_movie_ids_size(), 0);
    } else {
      ++unknown;
      EXPECT_THAT(request.user_id(), HasSubstr("loadgen-unknown-"));
      ASSERT_EQ(request.recent_movie_ids_size(), 3);
      for (const std::string& m : request.recent_movie_ids()) {
        EXPECT_THAT(m, ::testing::AnyOf("10", "20", "30"));
      }
    }
  }
  EXPECT_EQ(users_seen, known);
  // Binomial(10000, 0.3): standard deviation 46; 0.03 is 6.5 of them.
  EXPECT_NEAR(static_cast<double>(unknown) / n, 0.3, 0.03);
}

TEST(RequestSourceTest, RequestsDependOnlyOnSeedAndCallNumber) {
  const RequestSource a(SmallWorkload(0.5));
  const RequestSource b(SmallWorkload(0.5));
  Workload other_seed = SmallWorkload(0.5);
  other_seed.seed = 2;
  const RequestSource c(other_seed);
  int differ = 0;
  for (int seq = 0; seq < 50; ++seq) {
    v1::RecommendRequest ra, rb, rc;
    a.Fill(seq, &ra);
    b.Fill(seq, &rb);
    c.Fill(seq, &rc);
    EXPECT_EQ(ra.SerializeAsString(), rb.SerializeAsString());
    differ += ra.SerializeAsString() != rc.SerializeAsString();
  }
  EXPECT_GT(differ, 10);
}

TEST(RequestSourceTest, BatchesAndSimilarMovies) {
  Workload w = SmallWorkload(0);
  w.batch_size = 5;
  const RequestSource source(w);
  v1::RecommendBatchRequest batch;
  source.Fill(3, &batch);
  ASSERT_EQ(batch.requests_size(), 5);
  for (const auto& r : batch.requests()) EXPECT_EQ(r.count(), 7);
  v1::SimilarMoviesRequest similar;
  source.Fill(3, &similar);
  EXPECT_THAT(similar.movie_id(), ::testing::AnyOf("10", "20", "30"));
  EXPECT_EQ(similar.count(), 7);
}

// Fake calls that end at once, on the calling thread: the closed loop then
// starts each next call from inside the previous one's completion.
TEST(RunLoadTest, ClosedLoopWithInstantCallsKeepsCountsAndConcurrency) {
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  const IssueCall issue = [&](uint64_t seq, CallDone done) {
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    --in_flight;  // before done: done starts the next call
    done(seq % 3 == 0 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")
                      : grpc::Status::OK);
  };
  ASSERT_OK_AND_ASSIGN(
      const LoadResult r,
      RunLoad(Closed(3, absl::Milliseconds(100), absl::Milliseconds(20)),
              issue));
  EXPECT_GT(r.sent, 100);
  EXPECT_GT(r.warmup_calls, 0);
  EXPECT_EQ(r.sent, r.ok + r.error_count());
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_GT(r.errors.at("UNAVAILABLE"), 0);
  EXPECT_EQ(r.error_messages.at("UNAVAILABLE"), "down");
  EXPECT_EQ(r.latency.count, r.sent);
  EXPECT_DOUBLE_EQ(r.qps, r.sent / 0.1);
  EXPECT_LE(most.load(), 3);
}

// Calls that end on another thread after a millisecond: at most
// `concurrency` are ever in flight, and the rate follows from it.
TEST(RunLoadTest, ClosedLoopBoundsCallsInFlight) {
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  std::mutex mutex;
  std::vector<std::thread> threads;
  const IssueCall issue = [&](uint64_t, CallDone done) {
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::lock_guard<std::mutex> lock(mutex);
    threads.emplace_back([&in_flight, done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      --in_flight;
      done(grpc::Status::OK);
    });
  };
  ASSERT_OK_AND_ASSIGN(const LoadResult r,
                       RunLoad(Closed(4, absl::Milliseconds(200)), issue));
  EXPECT_EQ(in_flight.load(), 0);  // RunLoad waited for every call
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (std::thread& t : threads) t.join();
  }
  EXPECT_EQ(most.load(), 4);
  EXPECT_EQ(r.ok, r.sent);
  EXPECT_GE(r.latency.min_ms, 1.0);
  // 4 in flight, each >= 1 ms: at most 4 per ms.
  EXPECT_LE(r.sent, 4 * 200 + 4);
  EXPECT_GT(r.sent, 40);
}

TEST(RunLoadTest, OpenLoopSendsExactlyTheSchedule) {
  std::atomic<int> calls{0};
  const IssueCall issue = [&](uint64_t, CallDone done) {
    ++calls;
    done(grpc::Status::OK);
  };
  // 1000/s: calls at 0, 1, ..., 299 ms; the first 100 are the warm-up.
  ASSERT_OK_AND_ASSIGN(
      const LoadResult r,
      RunLoad(Open(1000, absl::Milliseconds(200), absl::Milliseconds(100)),
              issue));
  EXPECT_EQ(r.sent, 200);
  EXPECT_EQ(r.ok, 200);
  EXPECT_EQ(r.warmup_calls, 100);
  EXPECT_EQ(calls.load(), 300);
  EXPECT_DOUBLE_EQ(r.qps, 1000);
}

// Coordinated omission: one call that stalls the sender delays the calls
// scheduled behind it. Their latency counts from their scheduled time, so
// the stall shows in the percentiles although each call itself is instant.
TEST(RunLoadTest, OpenLoopLatencyIncludesTimeBehindSchedule) {
  const IssueCall issue = [&](uint64_t seq, CallDone done) {
    if (seq == 10) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done(grpc::Status::OK);
  };
  ASSERT_OK_AND_ASSIGN(const LoadResult r,
                       RunLoad(Open(1000, absl::Milliseconds(200)), issue));
  EXPECT_EQ(r.sent, 200);
  EXPECT_GE(r.max_send_lag_ms, 45);
  EXPECT_GE(r.latency.max_ms, 45);
  // About 50 calls were sent up to 50 ms late: more than 10% of 200.
  EXPECT_GE(r.latency.p90_ms, 5);
}

// Calls that end `delay` after they are issued, each on a thread of its own
// (a slow server); Join waits for them all.
class DelayedCalls {
 public:
  ~DelayedCalls() { Join(); }

  void End(std::chrono::milliseconds delay, grpc::Status status,
           CallDone done) {
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.emplace_back([delay, status, done = std::move(done)] {
      std::this_thread::sleep_for(delay);
      done(status);
    });
  }

  void Join() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

// A server that sheds load: its refusals come back at once, its admitted
// calls 20 ms later. Each outcome has its own percentiles.
TEST(RunLoadTest, LatencyIsSummarisedByStatus) {
  DelayedCalls calls;
  const IssueCall issue = [&](uint64_t seq, CallDone done) {
    if (seq % 2 == 0) {
      calls.End(std::chrono::milliseconds(20), grpc::Status::OK,
                std::move(done));
    } else {
      done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full"));
    }
  };
  ASSERT_OK_AND_ASSIGN(const LoadResult r,
                       RunLoad(Open(500, absl::Milliseconds(200)), issue));
  calls.Join();
  EXPECT_EQ(r.sent, 100);
  ASSERT_EQ(r.latency_by_status.size(), 2u) << FormatResult(r);
  const LatencySummary& ok = r.latency_by_status.at("OK");
  const LatencySummary& refused = r.latency_by_status.at("RESOURCE_EXHAUSTED");
  EXPECT_EQ(ok.count, 50);
  EXPECT_EQ(ok.count, r.ok);
  EXPECT_EQ(refused.count, r.errors.at("RESOURCE_EXHAUSTED"));
  EXPECT_EQ(ok.count + refused.count, r.latency.count);
  EXPECT_GE(ok.min_ms, 20);
  EXPECT_LT(refused.p50_ms, 20);
  EXPECT_EQ(r.latency.max_ms, std::max(ok.max_ms, refused.max_ms));
  EXPECT_EQ(r.latency.min_ms, std::min(ok.min_ms, refused.min_ms));
}

// No coordinated omission: calls that take 30 ms, 15 of them in flight at
// 500/s, do not slow the sender, which keeps its schedule.
TEST(RunLoadTest, OpenLoopKeepsItsScheduleWhenCallsAreSlow) {
  DelayedCalls calls;
  const IssueCall issue = [&](uint64_t, CallDone done) {
    calls.End(std::chrono::milliseconds(30), grpc::Status::OK, std::move(done));
  };
  ASSERT_OK_AND_ASSIGN(const LoadResult r,
                       RunLoad(Open(500, absl::Milliseconds(200)), issue));
  calls.Join();
  EXPECT_EQ(r.sent, 100);
  EXPECT_EQ(r.ok, 100);
  EXPECT_DOUBLE_EQ(r.qps, 500);
  EXPECT_GE(r.send_qps, 450);
  EXPECT_LE(r.send_qps, 500);
  EXPECT_LT(r.max_send_lag_ms, 25);
  EXPECT_GE(r.latency.min_ms, 30);
}

// A sender that stalls near the end sends its last calls late: the rate it
// really sent at is below the schedule's.
TEST(RunLoadTest, SendQpsShowsASenderThatFellBehind) {
  const IssueCall issue = [&](uint64_t seq, CallDone done) {
    if (seq == 90) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done(grpc::Status::OK);
  };
  ASSERT_OK_AND_ASSIGN(const LoadResult r,
                       RunLoad(Open(1000, absl::Milliseconds(100)), issue));
  EXPECT_EQ(r.sent, 100);
  EXPECT_DOUBLE_EQ(r.qps, 1000);
  // The last call went out about 140 ms in: about 100 / 0.14 calls/s.
  EXPECT_LT(r.send_qps, 900);
  EXPECT_GT(r.send_qps, 400);
}

// With a bound on the send lag, the calls a stalled sender could not send
// in time are skipped, not sent late: no sent call waited longer than the
// bound, and sent + skipped is the schedule.
TEST(RunLoadTest, OpenLoopSkipsCallsLaterThanMaxSendLag) {
  const IssueCall issue = [&](uint64_t seq, CallDone done) {
    if (seq == 10) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    done(grpc::Status::OK);
  };
  LoadOptions o = Open(1000, absl::Milliseconds(100));
  o.max_send_lag = absl::Milliseconds(5);
  ASSERT_OK_AND_ASSIGN(const LoadResult r, RunLoad(o, issue));
  EXPECT_EQ(r.sent + r.skipped, 100);
  // Calls 11 to about 35 were due while the sender slept.
  EXPECT_GE(r.skipped, 15);
  EXPECT_LE(r.skipped, 35);
  EXPECT_EQ(r.ok, r.sent);
  EXPECT_LE(r.max_send_lag_ms, 5.0);
  EXPECT_DOUBLE_EQ(r.qps, r.sent / 0.1);
  EXPECT_THAT(ResultJson(r),
              HasSubstr("\"skipped\": " + std::to_string(r.skipped)));
}

TEST(RunLoadTest, RefusesBadOptions) {
  const IssueCall issue = [](uint64_t, CallDone done) {
    done(grpc::Status::OK);
  };
  EXPECT_EQ(RunLoad(Closed(0, absl::Seconds(1)), issue).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResultTest, JsonAndReportCarryTheFigures) {
  LoadResult r;
  r.options = Closed(2, absl::Seconds(1));
  r.sent = 5;
  r.ok = 3;
  r.errors = {{"UNAVAILABLE", 2}};
  r.error_messages = {{"UNAVAILABLE", "connection refused"}};
  r.qps = 5;
  r.latency = Summarize({1, 2, 3, 4, 5});
  const std::string json = ResultJson(r);
  EXPECT_THAT(json, HasSubstr("\"mode\": \"closed\""));
  EXPECT_THAT(json, HasSubstr("\"UNAVAILABLE\": 2"));
  EXPECT_THAT(json, HasSubstr("\"p99.9\": 5.0"));
  const std::string text = FormatResult(r);
  EXPECT_THAT(text, HasSubstr("5 sent, 3 ok, 2 errors"));
  EXPECT_THAT(text, HasSubstr("UNAVAILABLE x2 (first: connection refused)"));
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::DEADLINE_EXCEEDED),
            "DEADLINE_EXCEEDED");
}

TEST(ResultTest, JsonAndReportCarryLatencyByStatusAndSendRate) {
  LoadResult r;
  r.options = Open(100, absl::Seconds(1));
  r.sent = 5;
  r.ok = 3;
  r.errors = {{"RESOURCE_EXHAUSTED", 2}};
  r.error_messages = {{"RESOURCE_EXHAUSTED", "server full"}};
  r.qps = 100;
  r.send_qps = 87.5;
  r.latency = Summarize({1, 2, 30, 40, 50});
  r.latency_by_status = {{"OK", Summarize({30, 40, 50})},
                         {"RESOURCE_EXHAUSTED", Summarize({1, 2})}};
  const nlohmann::json j = nlohmann::json::parse(ResultJson(r));
  EXPECT_EQ(j["send_qps"], 87.5);
  EXPECT_EQ(j["latency_ms"]["count"], 5);
  EXPECT_EQ(j["latency_ms_by_status"]["OK"]["count"], 3);
  EXPECT_EQ(j["latency_ms_by_status"]["OK"]["p99"], 50.0);
  EXPECT_EQ(j["latency_ms_by_status"]["RESOURCE_EXHAUSTED"]["p99"], 2.0);
  EXPECT_EQ(j["latency_ms_by_status"]["RESOURCE_EXHAUSTED"]["min"], 1.0);
  const std::string text = FormatResult(r);
  EXPECT_THAT(text, HasSubstr("  OK: 3 calls, p50 40.000"));
  EXPECT_THAT(text, HasSubstr("  RESOURCE_EXHAUSTED: 2 calls, p50 1.000"));
  EXPECT_THAT(text, HasSubstr("87.5 calls/s really sent"));
  // A run without errors shows no breakdown; the JSON always has it.
  LoadResult clean;
  clean.options = Closed(1, absl::Seconds(1));
  EXPECT_THAT(FormatResult(clean), ::testing::Not(HasSubstr("  OK:")));
  EXPECT_TRUE(nlohmann::json::parse(ResultJson(clean))["latency_ms_by_status"]
                  .is_object());
}

// Against a real in-process server.
class LoadgenServerTest : public test::ServerFixture {
 protected:
  Workload ModelWorkload(double unknown_share) const {
    Workload w;
    for (const User& u : model_.catalog.users) {
      w.user_ids.push_back(absl::StrCat(u.id));
    }
    for (const Movie& m : model_.catalog.movies) {
      w.movie_ids.push_back(absl::StrCat(m.id));
    }
    w.unknown_user_share = unknown_share;
    w.count = 5;
    return w;
  }

  IssueCall Caller(const Workload& workload) {
    return WorkloadCaller(std::make_shared<const RequestSource>(workload),
                          {v1::Recommender::NewStub(channel_)},
                          absl::Seconds(5));
  }
};

TEST_F(LoadgenServerTest, ClosedLoopCountsAddUp) {
  WriteVersion();
  StartServer();
  ASSERT_OK_AND_ASSIGN(
      const LoadResult r,
      RunLoad(Closed(4, absl::Milliseconds(300), absl::Milliseconds(50)),
              Caller(ModelWorkload(0.5))));
  EXPECT_GT(r.sent, 10);
  EXPECT_EQ(r.ok, r.sent) << FormatResult(r);
  EXPECT_EQ(r.error_count(), 0);
  // The server answered every call, warm-up included, and no other.
  EXPECT_EQ(Metric(test::RequestsSeries("Recommend", "OK")),
            r.sent + r.warmup_calls);
}

TEST_F(LoadgenServerTest, OpenLoopSendsTheScheduleToEachMethod) {
  WriteVersion();
  StartServer();
  for (const char* method : {kRecommend, kSimilarMovies, kRecommendBatch}) {
    Workload w = ModelWorkload(0.2);
    w.method = method;
    w.batch_size = 3;
    ASSERT_OK_AND_ASSIGN(
        const LoadResult r,
        RunLoad(Open(200, absl::Milliseconds(250)), Caller(w)));
    EXPECT_EQ(r.sent, 50) << method;
    EXPECT_EQ(r.ok, 50) << method << ": " << FormatResult(r);
    EXPECT_EQ(Metric(test::RequestsSeries(method, "OK")), 50) << method;
  }
}

TEST_F(LoadgenServerTest, ErrorsAreCountedByStatus) {
  WriteVersion();
  StartServer();
  Workload w = ModelWorkload(0);
  w.method = kSimilarMovies;
  w.movie_ids = {"999999"};  // not in the catalogue: NOT_FOUND
  ASSERT_OK_AND_ASSIGN(const LoadResult r,
                       RunLoad(Closed(2, absl::Milliseconds(100)), Caller(w)));
  EXPECT_GT(r.sent, 0);
  EXPECT_EQ(r.ok, 0);
  EXPECT_EQ(r.errors.at("NOT_FOUND"), r.sent);
  EXPECT_THAT(r.error_messages.at("NOT_FOUND"), HasSubstr("999999"));
  ASSERT_EQ(r.latency_by_status.size(), 1u);
  EXPECT_EQ(r.latency_by_status.at("NOT_FOUND").count, r.sent);
}

// --transport=http: the same workload as JSON POSTs to the HTTP port.
TEST_F(LoadgenServerTest, HttpClosedLoopOneConnectionPerCaller) {
  WriteVersion();
  ServerOptions options = Options();
  options.http_port = 0;
  StartServer(options);
  for (const char* method : {kRecommend, kSimilarMovies, kRecommendBatch}) {
    Workload w = ModelWorkload(0.3);
    w.method = method;
    w.batch_size = 3;
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<HttpCaller> caller,
        HttpCaller::Create(absl::StrCat("127.0.0.1:", server_->http_port()), 4,
                           std::make_shared<const RequestSource>(w),
                           absl::Seconds(5)));
    ASSERT_OK_AND_ASSIGN(
        const LoadResult r,
        RunLoad(Closed(4, absl::Milliseconds(300), absl::Milliseconds(50)),
                caller->issue()));
    EXPECT_GT(r.sent, 10) << method;
    EXPECT_EQ(r.ok, r.sent) << method << ": " << FormatResult(r);
    EXPECT_EQ(Metric(test::RequestsSeries(method, "OK", "http")),
              r.sent + r.warmup_calls)
        << method;
    EXPECT_EQ(Metric(test::RequestsSeries(method, "OK", "grpc")), 0) << method;
  }
}

TEST_F(LoadgenServerTest, HttpErrorsMapBackToGrpcCodes) {
  WriteVersion();
  ServerOptions options = Options();
  options.http_port = 0;
  StartServer(options);
  Workload w = ModelWorkload(0);
  w.method = kSimilarMovies;
  w.movie_ids = {"999999"};  // not in the catalogue: 404, NOT_FOUND
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<HttpCaller> caller,
      HttpCaller::Create(absl::StrCat("localhost:", server_->http_port()), 2,
                         std::make_shared<const RequestSource>(w),
                         absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(
      const LoadResult r,
      RunLoad(Closed(2, absl::Milliseconds(100)), caller->issue()));
  EXPECT_GT(r.sent, 0);
  EXPECT_EQ(r.ok, 0);
  EXPECT_EQ(r.errors.at("NOT_FOUND"), r.sent) << FormatResult(r);
  EXPECT_THAT(r.error_messages.at("NOT_FOUND"),
              AllOf(HasSubstr("HTTP 404"), HasSubstr("999999")));
}

TEST(HttpCallerTest, StatusesPathsAndBadTargets) {
  EXPECT_EQ(GrpcCodeOfHttpStatus(200), grpc::StatusCode::OK);
  EXPECT_EQ(GrpcCodeOfHttpStatus(400), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GrpcCodeOfHttpStatus(404), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GrpcCodeOfHttpStatus(413), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GrpcCodeOfHttpStatus(429), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GrpcCodeOfHttpStatus(503), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(GrpcCodeOfHttpStatus(504), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(GrpcCodeOfHttpStatus(302), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(HttpPathOf(kRecommend), "/v1/recommend");
  EXPECT_EQ(HttpPathOf(kSimilarMovies), "/v1/similar-movies");
  EXPECT_EQ(HttpPathOf(kRecommendBatch), "/v1/recommend:batch");
  EXPECT_EQ(HttpPathOf("Nope"), "");
  auto source = std::make_shared<const RequestSource>(SmallWorkload(0));
  for (const char* target : {"localhost", "localhost:", "localhost:http",
                             "localhost:0", "localhost:70000"}) {
    EXPECT_THAT(HttpCaller::Create(target, 1, source, absl::Seconds(1))
                    .status()
                    .message(),
                HasSubstr("is not HOST:PORT"))
        << target;
  }
  EXPECT_THAT(HttpCaller::Create("localhost:8080", 0, source, absl::Seconds(1))
                  .status()
                  .message(),
              HasSubstr("connections 0"));
}

TEST(HttpCallerTest, UnreachableServerGivesUnavailableNotAHang) {
  auto source = std::make_shared<const RequestSource>(SmallWorkload(0));
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<HttpCaller> caller,
      HttpCaller::Create(absl::StrCat("127.0.0.1:", test::FreePort()), 3,
                         source, absl::Seconds(2)));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(
      const LoadResult r,
      RunLoad(Closed(3, absl::Milliseconds(200)), caller->issue()));
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(1500));
  EXPECT_GT(r.sent, 0);
  EXPECT_EQ(r.ok, 0);
  EXPECT_EQ(r.errors.at("UNAVAILABLE"), r.sent) << FormatResult(r);
}

TEST(LoadgenUnreachableTest, UnreachableServerGivesUnavailableNotAHang) {
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", test::FreePort()),
                          grpc::InsecureChannelCredentials());
  Workload w = SmallWorkload(0);
  const IssueCall issue =
      WorkloadCaller(std::make_shared<const RequestSource>(w),
                     {v1::Recommender::NewStub(channel)}, absl::Seconds(2));
  for (const LoadOptions& options : {Closed(3, absl::Milliseconds(200)),
                                     Open(500, absl::Milliseconds(200))}) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK_AND_ASSIGN(const LoadResult r, RunLoad(options, issue));
    // Well under the 2 s deadline: calls fail fast, none waits it out.
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::milliseconds(1500));
    EXPECT_GT(r.sent, 0);
    EXPECT_EQ(r.ok, 0);
    EXPECT_EQ(r.errors.size(), 1u) << FormatResult(r);
    EXPECT_EQ(r.errors.at("UNAVAILABLE"), r.sent);
  }
}

}  // namespace
}  // namespace movierec::loadgen
