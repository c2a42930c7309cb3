// Tests of the offline metrics (train/evaluator.h) on hand-computed cases:
// protocol A's strict rank with ties, and protocol B's per-user metrics and
// their mean.
#include "train/evaluator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <vector>

#include "util/random.h"

namespace movierec {
namespace {

constexpr double kTol = 1e-12;

double Discount(int pos) { return 1.0 / std::log2(pos + 2.0); }

TEST(UserListMetricsTest, OneHitInSecondPlace) {
  const std::vector<int32_t> recommended = {5, 1, 9};
  const std::vector<int32_t> relevant = {1, 2};
  const ListMetrics m = UserListMetrics(recommended, relevant);
  EXPECT_NEAR(m.recall_at_10, 0.5, kTol);
  EXPECT_NEAR(m.ndcg_at_10, (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0)),
              kTol);
  EXPECT_EQ(m.hit_rate_at_10, 1.0);
  EXPECT_EQ(m.users, 1);
}

TEST(UserListMetricsTest, NoHits) {
  const std::vector<int32_t> recommended = {7, 8, 9};
  const std::vector<int32_t> relevant = {1};
  const ListMetrics m = UserListMetrics(recommended, relevant);
  EXPECT_EQ(m.recall_at_10, 0.0);
  EXPECT_EQ(m.ndcg_at_10, 0.0);
  EXPECT_EQ(m.hit_rate_at_10, 0.0);
  EXPECT_EQ(m.users, 1);
}

TEST(UserListMetricsTest, EmptyListScoresZero) {
  const std::vector<int32_t> relevant = {1, 2};
  const ListMetrics m = UserListMetrics({}, relevant);
  EXPECT_EQ(m.recall_at_10, 0.0);
  EXPECT_EQ(m.ndcg_at_10, 0.0);
  EXPECT_EQ(m.hit_rate_at_10, 0.0);
}

TEST(UserListMetricsTest, PerfectList) {
  const std::vector<int32_t> recommended = {2, 1};
  const std::vector<int32_t> relevant = {1, 2};
  const ListMetrics m = UserListMetrics(recommended, relevant);
  EXPECT_NEAR(m.recall_at_10, 1.0, kTol);
  EXPECT_NEAR(m.ndcg_at_10, 1.0, kTol);
  EXPECT_EQ(m.hit_rate_at_10, 1.0);
}

TEST(UserListMetricsTest, MoreThanTenRelevantCapsIdcgAtTen) {
  std::vector<int32_t> relevant;
  for (int i = 0; i < 15; ++i) relevant.push_back(i);
  std::vector<int32_t> recommended;
  for (int i = 9; i >= 0; --i) recommended.push_back(i);
  ListMetrics m = UserListMetrics(recommended, relevant);
  EXPECT_NEAR(m.recall_at_10, 10.0 / 15.0, kTol);
  EXPECT_NEAR(m.ndcg_at_10, 1.0, kTol);  // ten hits are the ideal list

  double idcg = 0;
  for (int pos = 0; pos < 10; ++pos) idcg += Discount(pos);
  m = UserListMetrics(std::vector<int32_t>{100, 3}, relevant);
  EXPECT_NEAR(m.recall_at_10, 1.0 / 15.0, kTol);
  EXPECT_NEAR(m.ndcg_at_10, Discount(1) / idcg, kTol);
}

TEST(UserListMetricsTest, OnlyTheFirstTenCount) {
  std::vector<int32_t> recommended;
  for (int i = 0; i < 10; ++i) recommended.push_back(100 + i);
  recommended.push_back(1);  // the only relevant movie, in 11th place
  const std::vector<int32_t> relevant = {1};
  const ListMetrics m = UserListMetrics(recommended, relevant);
  EXPECT_EQ(m.recall_at_10, 0.0);
  EXPECT_EQ(m.ndcg_at_10, 0.0);
  EXPECT_EQ(m.hit_rate_at_10, 0.0);
}

TEST(UserListMetricsTest, HitsAtSeveralPositions) {
  // Relevant {2, 4, 6}; hits at positions 0 and 3.
  const std::vector<int32_t> recommended = {2, 9, 8, 6, 7};
  const std::vector<int32_t> relevant = {2, 4, 6};
  const ListMetrics m = UserListMetrics(recommended, relevant);
  EXPECT_NEAR(m.recall_at_10, 2.0 / 3.0, kTol);
  EXPECT_NEAR(
      m.ndcg_at_10,
      (Discount(0) + Discount(3)) / (Discount(0) + Discount(1) + Discount(2)),
      kTol);
}

// Two users and 120 movies with one-dimensional vectors, so that every
// score is a movie's value times +1 (user 0) or -1 (user 1).
class ProtocolATest : public ::testing::Test {
 protected:
  ProtocolATest() : users_(2, 1), movies_(120, 1) {
    users_ << 1, -1;
    const float head[] = {10, 8, 8, 8, 6};
    for (int j = 0; j < 5; ++j) movies_(j, 0) = head[j];
    // Distinct values from 5 down to 3.81, all below the head.
    for (int j = 5; j < 120; ++j) movies_(j, 0) = 5.0f - 0.01f * (j - 5);
  }
  RowMatrix users_;
  RowMatrix movies_;
};

TEST_F(ProtocolATest, RankCountsStrictlyGreaterScores) {
  const std::vector<Interaction> test = {
      {0, 0},    // rank 0
      {0, 2},    // rank 1: ties with movies 1 and 3 do not count
      {0, 4},    // rank 4
      {0, 60},   // rank 60
      {1, 4},    // rank 115 (movie 4 is the lowest but the head for user 1)
      {1, 119},  // rank 0
  };
  const std::map<int, double> a = EvaluateProtocolA(users_, movies_, test);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_NEAR(a.at(1), 2.0 / 6, kTol);
  EXPECT_NEAR(a.at(5), 4.0 / 6, kTol);
  EXPECT_NEAR(a.at(10), 4.0 / 6, kTol);
  EXPECT_NEAR(a.at(50), 4.0 / 6, kTol);
  EXPECT_NEAR(a.at(100), 5.0 / 6, kTol);
}

TEST_F(ProtocolATest, AllTiedIsRankZero) {
  RowMatrix flat = RowMatrix::Constant(120, 1, 2.0f);
  const std::map<int, double> a =
      EvaluateProtocolA(users_, flat, {{0, 7}, {1, 100}});
  for (const int k : kProtocolAKs) EXPECT_EQ(a.at(k), 1.0) << "K = " << k;
}

TEST_F(ProtocolATest, EmptyTestScoresZero) {
  const std::map<int, double> a = EvaluateProtocolA(users_, movies_, {});
  ASSERT_EQ(a.size(), 5u);
  for (const int k : kProtocolAKs) EXPECT_EQ(a.at(k), 0.0);
}

// Users are scored in chunks; the accuracy is the whole score matrix's,
// whatever the users' order in the test and however they fall into chunks.
TEST(ProtocolAChunksTest, MatchesTheWholeScoreMatrix) {
  Rng rng(5);
  const int users = 700, movies = 90;
  RowMatrix u(users, 4), m(movies, 4);
  for (Eigen::Index i = 0; i < u.size(); ++i) u.data()[i] = rng.UniformFloat();
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.UniformFloat();
  std::vector<Interaction> test;
  for (int n = 0; n < 3000; ++n) {
    test.push_back({static_cast<int32_t>(rng.Uniform(users)),
                    static_cast<int32_t>(rng.Uniform(movies)), 4.0f, 0});
  }
  const RowMatrix scores = u * m.transpose();
  std::map<int, double> expected;
  for (const int k : kProtocolAKs) {
    int64_t hits = 0;
    for (const Interaction& x : test) {
      const auto row = scores.row(x.user).array();
      hits += (row > row(x.movie)).count() < k;
    }
    expected[k] = static_cast<double>(hits) / test.size();
  }
  EXPECT_EQ(EvaluateProtocolA(u, m, test), expected);
}

TEST(ProtocolBTest, AveragesOverUsersWithTestRatings) {
  // User 2 has no test rating: not scored, not counted.
  const std::vector<Interaction> test = {{0, 2}, {0, 1}, {1, 3},
                                         {3, 4}, {3, 5}, {3, 6}};
  std::vector<std::atomic<int>> calls(4);
  for (auto& c : calls) c = 0;
  const ListMetrics mean = EvaluateProtocolB(4, test, [&](int user) {
    ++calls[user];
    switch (user) {
      case 0:
        return std::vector<int32_t>{5, 1, 9};  // one hit of two, 2nd place
      case 1:
        return std::vector<int32_t>{3};  // perfect
      default:
        return std::vector<int32_t>{7, 8};  // nothing
    }
  });
  EXPECT_EQ(calls[0], 1);
  EXPECT_EQ(calls[1], 1);
  EXPECT_EQ(calls[2], 0);
  EXPECT_EQ(calls[3], 1);
  const double ndcg0 = (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0));
  EXPECT_EQ(mean.users, 3);
  EXPECT_NEAR(mean.recall_at_10, (0.5 + 1 + 0) / 3, kTol);
  EXPECT_NEAR(mean.ndcg_at_10, (ndcg0 + 1 + 0) / 3, kTol);
  EXPECT_NEAR(mean.hit_rate_at_10, 2.0 / 3, kTol);
}

TEST(ProtocolBTest, DuplicateTestRatingsCountOnce) {
  const std::vector<Interaction> test = {{0, 1}, {0, 1}, {0, 2}};
  const ListMetrics mean =
      EvaluateProtocolB(1, test, [](int) { return std::vector<int32_t>{1}; });
  EXPECT_EQ(mean.users, 1);
  EXPECT_NEAR(mean.recall_at_10, 0.5, kTol);
}

TEST(ProtocolBTest, NoTestRatingsGivesZeroUsers) {
  const ListMetrics mean =
      EvaluateProtocolB(3, {}, [](int) { return std::vector<int32_t>{}; });
  EXPECT_EQ(mean.users, 0);
  EXPECT_EQ(mean.recall_at_10, 0.0);
  EXPECT_EQ(mean.ndcg_at_10, 0.0);
}

}  // namespace
}  // namespace movierec
