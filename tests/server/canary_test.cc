// Tests of the canary split (server/canary.h): the hash's split of users,
// stickiness and monotonicity, the CANARY control file's parser, the
// ServingSet's routing, the Recommender answering from the version a user
// is routed to, and the ModelManager's choice of stable and candidate
// versions (flags, the control file as a hot change, a malformed file).
#include "server/canary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "server/metrics.h"
#include "server/model_manager.h"
#include "server/recommender.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

constexpr int kUsers = 10000;

std::string UserId(int i) { return absl::StrCat(i + 1); }

// The users (of kUsers) that the candidate gets at `basis_points`.
std::vector<bool> CandidateUsers(int basis_points) {
  std::vector<bool> users(kUsers);
  for (int i = 0; i < kUsers; ++i) {
    users[i] = CanaryBucket(UserId(i)) < basis_points;
  }
  return users;
}

TEST(CanaryBucketTest, IsFixed) {
  // The hash is part of the contract (docs/operations.md): analyses outside
  // the server compute the same groups.
  EXPECT_EQ(CanaryBucket(""), CanaryBucket(""));
  EXPECT_EQ(CanaryBucket("138"), CanaryBucket(std::string("138")));
  for (const char* id : {"", "1", "138", "424242", "user-7"}) {
    const int bucket = CanaryBucket(id);
    EXPECT_GE(bucket, 0) << id;
    EXPECT_LT(bucket, kCanaryBuckets) << id;
  }
  EXPECT_NE(CanaryBucket("1"), CanaryBucket("2"));
}

TEST(CanaryBucketTest, SplitsTenThousandUsersWithinTwoPointsOfThePercent) {
  for (const double percent : {0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 99.0}) {
    const std::vector<bool> candidate =
        CandidateUsers(PercentToBasisPoints(percent));
    int count = 0;
    for (const bool c : candidate) count += c ? 1 : 0;
    const double share = 100.0 * count / kUsers;
    EXPECT_NEAR(share, percent, 2.0) << percent << "%";
  }
  for (const bool c : CandidateUsers(0)) EXPECT_FALSE(c);
  for (const bool c : CandidateUsers(kCanaryBuckets)) EXPECT_TRUE(c);
}

TEST(CanaryBucketTest, EachUserIsStickyAndRaisingThePercentOnlyAddsUsers) {
  std::vector<bool> before = CandidateUsers(0);
  for (const double percent : {1.0, 5.0, 10.0, 10.0, 33.33, 50.0, 100.0}) {
    const std::vector<bool> now = CandidateUsers(PercentToBasisPoints(percent));
    // Sticky: the same percent gives the same groups.
    EXPECT_EQ(now, CandidateUsers(PercentToBasisPoints(percent)));
    for (int i = 0; i < kUsers; ++i) {
      if (before[i]) {
        ASSERT_TRUE(now[i]) << "user " << UserId(i) << " left the candidate "
                            << "when the percent rose to " << percent;
      }
    }
    before = now;
  }
}

TEST(RoutingBucketTest, ByUserIdElseRecentMoviesSimilarByMovieBatchByFirst) {
  v1::RecommendRequest user;
  user.set_user_id("138");
  user.add_recent_movie_ids("5");
  EXPECT_EQ(RoutingBucket(user), CanaryBucket("138"));
  v1::RecommendRequest visitor;
  visitor.add_recent_movie_ids("5");
  visitor.add_recent_movie_ids("17");
  EXPECT_EQ(RoutingBucket(visitor), CanaryBucket("5,17"));
  v1::SimilarMoviesRequest similar;
  similar.set_movie_id("42");
  EXPECT_EQ(RoutingBucket(similar), CanaryBucket("42"));
  v1::RecommendBatchRequest batch;
  *batch.add_requests() = visitor;
  *batch.add_requests() = user;
  EXPECT_EQ(RoutingBucket(batch), CanaryBucket("5,17"));
}

TEST(ParseCanaryControlTest, ReadsKeysCommentsAndBlankLines) {
  ASSERT_OK_AND_ASSIGN(const CanaryControl control,
                       ParseCanaryControl("# canary of version 7\n"
                                          "\n"
                                          "percent = 12.5  # ramping up\n"
                                          "stable=6\r\n"
                                          "  candidate =7\n",
                                          "base/CANARY"));
  EXPECT_EQ(control.percent_basis_points, 1250);
  EXPECT_EQ(control.stable, 6);
  EXPECT_EQ(control.candidate, 7);
  ASSERT_OK_AND_ASSIGN(const CanaryControl empty,
                       ParseCanaryControl("# nothing\n", "base/CANARY"));
  EXPECT_EQ(empty, CanaryControl());
  ASSERT_OK_AND_ASSIGN(const CanaryControl whole,
                       ParseCanaryControl("percent=100", "base/CANARY"));
  EXPECT_EQ(whole.percent_basis_points, 10000);
}

TEST(ParseCanaryControlTest, RefusesMalformedLinesNamingFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"percent = 101\n", "base/CANARY:1: percent \"101\""},
      {"percent = -1\n", "base/CANARY:1: percent \"-1\""},
      {"percent = 1.234\n", "at most 2 decimals"},
      {"percent = ten\n", "percent \"ten\""},
      {"percent = \n", "percent \"\""},
      {"# ok\npercent = 5\npercent = 6\n",
       "base/CANARY:3: percent is set twice"},
      {"stable = 0\n", "stable \"0\" is not a model version"},
      {"\n\ncandidate = v7\n", "base/CANARY:3: candidate \"v7\""},
      {"percentage = 5\n", "unknown key \"percentage\""},
      {"percent 5\n", "base/CANARY:1: \"percent 5\" has no ="},
  };
  for (const auto& [text, message] : bad) {
    EXPECT_TRUE(IsError(ParseCanaryControl(text, "base/CANARY").status(),
                        absl::StatusCode::kInvalidArgument, {message}))
        << text << " -> " << ParseCanaryControl(text, "base/CANARY").status();
  }
}

std::shared_ptr<const Snapshot> MakeSnapshot(int64_t version, int seed) {
  return std::make_shared<const Snapshot>(
      version,
      std::make_shared<const Model>(MakeRandomModel(
          SmallMovieLens(10, 40, 8), SmallRetrievalConfig(true), seed)));
}

TEST(ServingSetTest, RoutesByBucketAndGivesEverythingToTheOnlyVersion) {
  const auto one = MakeSnapshot(1, 1);
  const auto two = MakeSnapshot(2, 2);
  const ServingSet split({one, nullptr}, {two, nullptr}, 1000);
  EXPECT_TRUE(split.split());
  EXPECT_EQ(split.Route(999).snapshot, two);
  EXPECT_EQ(split.Route(1000).snapshot, one);
  const ServingSet stable_only({one, nullptr}, {}, 1000);
  EXPECT_FALSE(stable_only.split());
  EXPECT_EQ(stable_only.Route(0).snapshot, one);
  EXPECT_EQ(stable_only.effective_basis_points(), 0);
  const ServingSet candidate_only({}, {two, nullptr}, 1000);
  EXPECT_EQ(candidate_only.Route(9999).snapshot, two);
  EXPECT_EQ(candidate_only.primary(), two);
  const ServingSet promoted({one, nullptr}, {two, nullptr}, 10000);
  EXPECT_FALSE(promoted.split());
  EXPECT_EQ(promoted.Route(0).snapshot, two);
  EXPECT_EQ(ServingSet().Route(0).snapshot, nullptr);
}

TEST(RecommenderCanaryTest, EachUserIsAnsweredByTheVersionOfItsBucket) {
  const auto set = std::make_shared<const ServingSet>(
      ServedVersion{MakeSnapshot(1, 1), nullptr},
      ServedVersion{MakeSnapshot(2, 2), nullptr}, 2000);
  const Recommender recommender(
      Recommender::ServingSource([set] { return set; }));
  int candidate = 0;
  for (int i = 0; i < 500; ++i) {
    v1::RecommendRequest request;
    request.set_user_id(UserId(i));
    v1::RecommendResponse response;
    ASSERT_OK(recommender.Recommend(request, &response));
    const bool to_candidate = CanaryBucket(UserId(i)) < 2000;
    EXPECT_EQ(response.model_version(), to_candidate ? "2" : "1") << i;
    candidate += to_candidate ? 1 : 0;
  }
  EXPECT_GT(candidate, 0);
  v1::SimilarMoviesRequest similar;
  similar.set_movie_id(
      absl::StrCat(set->stable().snapshot->model().catalog.movies[3].id));
  v1::SimilarMoviesResponse similar_response;
  ASSERT_OK(recommender.SimilarMovies(similar, &similar_response));
  EXPECT_EQ(similar_response.model_version(),
            CanaryBucket(similar.movie_id()) < 2000 ? "2" : "1");
}

TEST(VersionMetricsTest, SeriesStayForRecentVersionsThenGo) {
  ServerMetrics metrics;
  const auto page = [&metrics] {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, metrics.registry()->Collect());
    return out.str();
  };
  const auto has_version = [&](int64_t version) {
    return page().find(absl::StrCat("version=\"", version, "\"")) !=
           std::string::npos;
  };
  // Version v serves alone, then v + 1 does, ... as a rollout each night.
  std::vector<std::shared_ptr<const Snapshot>> snapshots;
  for (int64_t v = 1; v <= 7; ++v) {
    snapshots.push_back(MakeSnapshot(v, static_cast<int>(v)));
    {
      const ServingSet serving({snapshots.back(), metrics.ForVersion(v)}, {},
                               0);
      metrics.RecordServing(serving);
      metrics.RecordRequest(serving.stable().metrics.get(), Transport::kGrpc,
                            Method::kRecommend, grpc::StatusCode::OK, 0.001);
    }
    EXPECT_TRUE(has_version(v));
  }
  // 7 serves; 3, 4, 5, 6 stay; 1 and 2 went.
  for (int64_t v = 3; v <= 7; ++v) EXPECT_TRUE(has_version(v)) << v;
  EXPECT_FALSE(has_version(1));
  EXPECT_FALSE(has_version(2));
  EXPECT_NE(page().find("movierec_requests_total{code=\"OK\",method="
                        "\"Recommend\",transport=\"grpc\",version=\"6\"} 1"),
            std::string::npos)
      << page();
  // A version that comes back continues its counters.
  const ServingSet back({snapshots[5], metrics.ForVersion(6)}, {}, 0);
  metrics.RecordServing(back);
  metrics.RecordRequest(back.stable().metrics.get(), Transport::kGrpc,
                        Method::kRecommend, grpc::StatusCode::OK, 0.001);
  EXPECT_NE(page().find("movierec_requests_total{code=\"OK\",method="
                        "\"Recommend\",transport=\"grpc\",version=\"6\"} 2"),
            std::string::npos);
}

class CanaryManagerTest : public ::testing::Test {
 protected:
  CanaryManagerTest() : base_(dir_.File("models")) {}

  void WriteVersions(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_OK(
          WriteModelVersion(base_,
                            MakeRandomModel(SmallMovieLens(6, 20, 5),
                                            SmallRetrievalConfig(true), 2 + i),
                            "")
              .status());
    }
  }
  void WriteControl(const std::string& text) {
    const std::string staging = dir_.File("CANARY.tmp");
    test::WriteFile(staging, text);
    std::filesystem::rename(staging, base_ + "/" + kCanaryFileName);
  }

  std::unique_ptr<ModelManager> NewManager(double percent = 0,
                                           int64_t stable = 0,
                                           int64_t pinned = 0) {
    ModelManagerOptions options;
    options.model_base = base_;
    options.canary_percent = percent;
    options.stable_version = stable;
    options.pinned_version = pinned;
    options.poll_interval = absl::ZeroDuration();
    ModelManagerHooks hooks;
    hooks.control_read = [this](const absl::Status& status) {
      std::lock_guard<std::mutex> lock(mutex_);
      control_reads_.push_back(status);
    };
    hooks.serving_changed = [this](const ServingSet&) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++serving_changes_;
    };
    return std::make_unique<ModelManager>(options, hooks);
  }

  // "stable/candidate@basis_points" of what serves; "-" for a missing one.
  static std::string Serving(const ModelManager& manager) {
    const std::shared_ptr<const ServingSet> s = manager.serving();
    const auto version = [](const ServedVersion& v) {
      return v.snapshot ? v.snapshot->version_string() : std::string("-");
    };
    return absl::StrCat(version(s->stable()), "/", version(s->candidate()), "@",
                        s->effective_basis_points());
  }

  ScopedTempDir dir_;
  std::string base_;
  std::mutex mutex_;
  std::vector<absl::Status> control_reads_;
  int serving_changes_ = 0;
};

TEST_F(CanaryManagerTest, WithoutCanaryTheNewestServesAlone) {
  WriteVersions(3);
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "3/-@0");
}

TEST_F(CanaryManagerTest, PercentFlagSplitsNewestAndTheOneBefore) {
  WriteVersions(3);
  auto manager = NewManager(10);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "2/3@1000");
  EXPECT_EQ(manager->current()->version(), 2);
  // A new version becomes the candidate; the stable one is the one before.
  WriteVersions(1);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "3/4@1000");
}

TEST_F(CanaryManagerTest, PinnedStableStaysWhileNewVersionsAreCandidates) {
  WriteVersions(3);
  auto manager = NewManager(25, /*stable=*/1);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/3@2500");
  WriteVersions(1);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/4@2500");
}

TEST_F(CanaryManagerTest, TheControlFileChangesTheSplitWithNoRestart) {
  WriteVersions(2);
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "2/-@0");
  // Canary at 10%, stable pinned to the version that served.
  WriteControl("stable = 1\npercent = 10\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@1000");
  const std::shared_ptr<const ServingSet> at_ten = manager->serving();
  WriteControl("stable = 1\npercent = 50\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@5000");
  // The snapshots are the ones held: no reload.
  EXPECT_EQ(manager->serving()->candidate().snapshot,
            at_ten->candidate().snapshot);
  // Roll back: percent 0, both still held, the stable one answers all.
  WriteControl("stable = 1\npercent = 0\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@0");
  EXPECT_EQ(manager->serving()->Route(0).snapshot->version(), 1);
  // Promote: 100%, then the candidate becomes the stable version.
  WriteControl("stable = 1\npercent = 100\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@10000");
  WriteControl("stable = 2\npercent = 10\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "2/-@0");
  // The file removed: the flags (no canary) apply again.
  std::filesystem::remove(base_ + "/" + kCanaryFileName);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "2/-@0");
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_EQ(control_reads_.size(), 6u);
  for (const absl::Status& s : control_reads_) EXPECT_OK(s);
}

TEST_F(CanaryManagerTest, AMalformedControlFileIsRefusedAndTheSettingStays) {
  WriteVersions(2);
  WriteControl("percent = 20\n");
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@2000");
  WriteControl("# oops\npercent = 200\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@2000");
  // Reported once, not at every poll.
  ASSERT_OK(manager->Poll());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ASSERT_EQ(control_reads_.size(), 2u);
    EXPECT_OK(control_reads_[0]);
    EXPECT_TRUE(IsError(control_reads_[1], absl::StatusCode::kInvalidArgument,
                        {base_ + "/CANARY:2:", "percent \"200\""}));
  }
  WriteControl("percent = 30\n");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@3000");
}

TEST_F(CanaryManagerTest, PinnedCandidateAndABadCandidateLeaveTheRoleAsItWas) {
  WriteVersions(3);
  WriteControl("candidate = 2\npercent = 40\n");
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@4000");
  // A corrupt version 4 as the candidate: refused, 2 keeps the role.
  std::filesystem::create_directories(base_ + "/4");
  test::WriteFile(base_ + "/4/" + kBundleFileName, "junk");
  WriteControl("candidate = 4\npercent = 40\n");
  EXPECT_FALSE(manager->Poll().ok());
  EXPECT_EQ(Serving(*manager), "1/2@4000");
}

TEST_F(CanaryManagerTest, ModelVersionIgnoresTheControlFile) {
  WriteVersions(3);
  WriteControl("percent = 50\n");
  auto manager = NewManager(0, 0, /*pinned=*/2);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "2/-@0");
}

TEST_F(CanaryManagerTest, OneVersionServesAloneWhateverThePercent) {
  WriteVersions(1);
  auto manager = NewManager(10);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/-@0");
  WriteVersions(1);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Serving(*manager), "1/2@1000");
}

}  // namespace
}  // namespace movierec
