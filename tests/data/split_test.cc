// Tests of the split kinds of data/dataset.h (random, temporal,
// leave-last-N), their --split spelling, the validation split that follows
// each kind, and the cold users and movies a split leaves (SummarizeSplit).
// The exact membership of every kind is pinned on one hand-made fixture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// 3 users (rows 0-2), 7 movies (rows 0-6), 15 interactions. Each one's
// rating is its input position, so a part reads back as a list of
// positions. Timestamps tie at the temporal cut (11 and 12 at t=200, broken
// by user row) and within user 1 (9 and 10 at t=190, broken by movie row:
// 10 is movie 4, so 9, movie 5, is the later one). User 2 and movie 6 are
// only seen after the temporal cut.
std::vector<Interaction> Fixture() {
  struct Row {
    int user, movie;
    int64_t time;
  };
  const Row rows[] = {
      {1, 0, 105}, {0, 0, 100}, {0, 1, 110}, {1, 1, 115}, {0, 2, 120},
      {1, 2, 125}, {0, 3, 130}, {1, 3, 135}, {0, 4, 140}, {1, 5, 190},
      {1, 4, 190}, {0, 5, 200}, {1, 6, 200}, {2, 6, 220}, {2, 0, 210},
  };
  std::vector<Interaction> out;
  for (const Row& r : rows) {
    out.push_back({r.user, r.movie, static_cast<float>(out.size()), r.time});
  }
  return out;
}

std::vector<int> Positions(const std::vector<Interaction>& part) {
  std::vector<int> positions;
  for (const Interaction& x : part)
    positions.push_back(static_cast<int>(x.rating));
  return positions;
}

SplitSpec Spec(const std::string& text) {
  absl::StatusOr<SplitSpec> spec = ParseSplitSpec(text);
  EXPECT_OK(spec);
  return spec.ok() ? *spec : SplitSpec();
}

TEST(SplitMembershipTest, RandomSeed42) {
  const SplitParts parts = SplitBy(Fixture(), Spec("random"), 42);
  // The seeded permutation's order (RandomSplit), pinned.
  EXPECT_THAT(Positions(parts.kept),
              ElementsAre(4, 0, 2, 14, 9, 3, 13, 12, 6, 7, 10, 11));
  EXPECT_THAT(Positions(parts.held_out), ElementsAre(8, 5, 1));
}

TEST(SplitMembershipTest, Temporal) {
  const SplitParts parts = SplitBy(Fixture(), Spec("temporal"), 42);
  // round(15 * 0.8) = 12 kept: everything before t=200, and of the two at
  // t=200 user 0's; user 1's and user 2's two are the latest three.
  EXPECT_THAT(Positions(parts.kept),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  EXPECT_THAT(Positions(parts.held_out), ElementsAre(12, 13, 14));
  // The seed plays no part.
  EXPECT_THAT(Positions(SplitBy(Fixture(), Spec("temporal"), 7).held_out),
              ElementsAre(12, 13, 14));
}

TEST(SplitMembershipTest, LeaveLastOne) {
  const SplitParts parts = SplitBy(Fixture(), Spec("leave_last_n=1"), 42);
  EXPECT_THAT(Positions(parts.kept),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14));
  // User 0's t=200, user 1's t=200, user 2's t=220.
  EXPECT_THAT(Positions(parts.held_out), ElementsAre(11, 12, 13));
}

TEST(SplitMembershipTest, LeaveLastTwo) {
  const SplitParts parts = SplitBy(Fixture(), Spec("leave_last_n=2"), 42);
  // User 0: t=140 and t=200. User 1: t=200 and, of the tie at t=190, movie
  // 5 (position 9). User 2 has only 2 interactions: all stay in train.
  EXPECT_THAT(Positions(parts.held_out), ElementsAre(8, 9, 11, 12));
  EXPECT_THAT(Positions(parts.kept),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 10, 13, 14));
}

TEST(SplitMembershipTest, LeaveLastNAtLeastEveryHistoryKeepsAll) {
  const SplitParts parts = SplitBy(Fixture(), Spec("leave_last_n=7"), 42);
  EXPECT_EQ(parts.kept.size(), 15u);
  EXPECT_THAT(parts.held_out, IsEmpty());
  // User 1 has 7: with N = 6 all but its oldest (position 0) go.
  EXPECT_THAT(
      Positions(SplitBy(Fixture(), Spec("leave_last_n=6"), 42).held_out),
      ElementsAre(3, 5, 7, 9, 10, 12));
}

TEST(SplitMembershipTest, TieBreaksDoNotDependOnInputOrder) {
  std::vector<Interaction> reversed = Fixture();
  std::reverse(reversed.begin(), reversed.end());
  for (const char* split : {"temporal", "leave_last_n=1", "leave_last_n=2"}) {
    std::vector<int> forward =
        Positions(SplitBy(Fixture(), Spec(split), 1).held_out);
    std::vector<int> backward =
        Positions(SplitBy(reversed, Spec(split), 1).held_out);
    std::sort(backward.begin(), backward.end());
    EXPECT_EQ(forward, backward) << split;
  }
}

TEST(ParseSplitSpecTest, AcceptsTheThreeKinds) {
  EXPECT_EQ(Spec("random").kind, SplitSpec::Kind::kRandom);
  EXPECT_EQ(Spec("random").holdout_fraction, 0.2);
  EXPECT_EQ(Spec("temporal").kind, SplitSpec::Kind::kTemporal);
  EXPECT_EQ(Spec("temporal").holdout_fraction, 0.2);
  EXPECT_EQ(Spec("leave_last_n=3").kind, SplitSpec::Kind::kLeaveLastN);
  EXPECT_EQ(Spec("leave_last_n=3").last_n, 3);
  for (const char* name : {"random", "temporal", "leave_last_n=3"}) {
    EXPECT_EQ(Spec(name).Name(), name);
  }
}

TEST(ParseSplitSpecTest, RefusesBadValuesNamingThem) {
  const auto refused = [](const std::string& text,
                          std::initializer_list<absl::string_view> words) {
    EXPECT_TRUE(IsError(ParseSplitSpec(text).status(),
                        absl::StatusCode::kInvalidArgument, words))
        << text;
  };
  refused("temporal2", {"unknown split \"temporal2\"", "leave_last_n=N"});
  refused("", {"unknown split \"\""});
  refused("Random", {"unknown split \"Random\""});
  refused("leave_last_n=0", {"leave_last_n=0", ">= 1, got \"0\""});
  refused("leave_last_n=-2", {">= 1, got \"-2\""});
  refused("leave_last_n=abc", {"must be an integer", "got \"abc\""});
  refused("leave_last_n=", {"got \"\""});
  refused("leave_last_n=1.5", {"got \"1.5\""});
}

TEST(ValidationSplitOfTest, FollowsTheKindOfTheTestSplit) {
  const SplitSpec random = ValidationSplitOf(Spec("random"), 0.1);
  EXPECT_EQ(random.kind, SplitSpec::Kind::kRandom);
  EXPECT_EQ(random.holdout_fraction, 0.1);
  const SplitSpec temporal = ValidationSplitOf(Spec("temporal"), 0.1);
  EXPECT_EQ(temporal.kind, SplitSpec::Kind::kTemporal);
  EXPECT_EQ(temporal.holdout_fraction, 0.1);
  const SplitSpec last = ValidationSplitOf(Spec("leave_last_n=2"), 0.1);
  EXPECT_EQ(last.kind, SplitSpec::Kind::kLeaveLastN);
  EXPECT_EQ(last.last_n, 2);
  SplitSpec explicit_files;
  explicit_files.kind = SplitSpec::Kind::kExplicit;
  EXPECT_EQ(ValidationSplitOf(explicit_files, 0.1).kind,
            SplitSpec::Kind::kRandom);
  // Random validation is today's RandomSplit with the same seed.
  const SplitParts a = SplitBy(Fixture(), random, 9);
  const SplitParts b = RandomSplit(Fixture(), 9, 0.1);
  EXPECT_EQ(Positions(a.held_out), Positions(b.held_out));
  EXPECT_EQ(Positions(a.kept), Positions(b.kept));
}

// The fixture as MovieLens ratings of a catalogue of 3 users and 7 movies.
MovieLens FixtureMovieLens() {
  MovieLens data = test::SmallCatalog(3, 7);
  for (const Interaction& x : Fixture()) {
    data.ratings.push_back({data.users[x.user].id, data.movies[x.movie].id,
                            1.0f + static_cast<int>(x.rating) % 5,
                            x.timestamp});
  }
  return data;
}

TEST(MakeSplitTest, TemporalSummaryCountsColdUsersAndMovies) {
  ASSERT_OK_AND_ASSIGN(const Dataset dataset,
                       MakeSplit(FixtureMovieLens(), Spec("temporal"), 42));
  EXPECT_EQ(dataset.split.Name(), "temporal");
  EXPECT_THAT(dataset.catalog.ratings, IsEmpty());
  const SplitSummary s = SummarizeSplit(dataset);
  EXPECT_EQ(s.train, 12);
  EXPECT_EQ(s.test, 3);
  EXPECT_EQ(s.test_users, 2);  // users 1 and 2
  EXPECT_EQ(s.cold_users, 1);  // user 2
  EXPECT_EQ(s.cold_user_test_interactions, 2);
  EXPECT_EQ(s.test_movies, 2);  // movies 0 and 6
  EXPECT_EQ(s.cold_movies, 1);  // movie 6
  EXPECT_EQ(s.cold_movie_test_interactions, 2);
  EXPECT_EQ(s.cut_timestamp, 200);
}

TEST(MakeSplitTest, LeaveLastNSummaryCountsUsersKeptWhole) {
  ASSERT_OK_AND_ASSIGN(
      const Dataset dataset,
      MakeSplit(FixtureMovieLens(), Spec("leave_last_n=2"), 42));
  const SplitSummary s = SummarizeSplit(dataset);
  EXPECT_EQ(s.test, 4);
  EXPECT_EQ(s.users_held_out, 2);
  EXPECT_EQ(s.users_all_in_train, 1);  // user 2, with 2 interactions
  EXPECT_EQ(s.cold_users, 0);
  // Movie 5's two ratings (users 0 and 1) are both among the last two.
  EXPECT_EQ(s.test_movies, 3);
  EXPECT_EQ(s.cold_movies, 1);
  EXPECT_EQ(s.cold_movie_test_interactions, 2);
}

TEST(MakeSplitTest, RandomIsMakeRandomSplit) {
  ASSERT_OK_AND_ASSIGN(const Dataset a,
                       MakeSplit(FixtureMovieLens(), Spec("random"), 42));
  ASSERT_OK_AND_ASSIGN(const Dataset b,
                       MakeRandomSplit(FixtureMovieLens(), 42));
  ASSERT_EQ(a.test.size(), b.test.size());
  for (size_t i = 0; i < a.test.size(); ++i) {
    EXPECT_EQ(a.test[i].timestamp, b.test[i].timestamp);
    EXPECT_EQ(a.test[i].user, b.test[i].user);
    EXPECT_EQ(a.test[i].movie, b.test[i].movie);
  }
  EXPECT_EQ(b.split.Name(), "random");
}

TEST(MakeSplitTest, RefusesExplicitAndBadParameters) {
  SplitSpec spec;
  spec.kind = SplitSpec::Kind::kExplicit;
  EXPECT_TRUE(IsError(MakeSplit(FixtureMovieLens(), spec, 1).status(),
                      absl::StatusCode::kInvalidArgument, {"explicit"}));
  spec.kind = SplitSpec::Kind::kTemporal;
  spec.holdout_fraction = 1;
  EXPECT_TRUE(IsError(MakeSplit(FixtureMovieLens(), spec, 1).status(),
                      absl::StatusCode::kInvalidArgument, {"not in (0, 1)"}));
  spec.kind = SplitSpec::Kind::kLeaveLastN;
  spec.last_n = 0;
  EXPECT_TRUE(IsError(MakeSplit(FixtureMovieLens(), spec, 1).status(),
                      absl::StatusCode::kInvalidArgument, {"leave_last_n=0"}));
}

}  // namespace
}  // namespace movierec
