// Tests of the visitor simulation (train/visitor_evaluation.h) on tiny
// fixtures: which movies each visitor gives, and that the figures are
// protocol B over the served visitor path and over EASE^R's lists for the
// same movies.
#include "train/visitor_evaluation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include "data/dataset.h"
#include "model/scorer.h"
#include "tests/test_util.h"
#include "train/trainer.h"

namespace movierec {
namespace {

Interaction Rated(int32_t user, int32_t movie, int64_t timestamp) {
  return {user, movie, 4.0f, timestamp};
}

TEST(RecentMoviesTest, TheLatestKWithTiesToTheLowerRow) {
  const std::vector<Interaction> train = {
      // User 0: six movies; 7 and 3 share the latest time, 5 and 1 the next.
      Rated(0, 9, 100), Rated(0, 7, 500), Rated(0, 5, 400), Rated(0, 3, 500),
      Rated(0, 1, 400), Rated(0, 2, 50),
      // User 1: two movies, fewer than K.
      Rated(1, 4, 20), Rated(1, 6, 10),
      // User 2: none. User 3: movie 8 twice, counted at its latest time.
      Rated(3, 8, 300), Rated(3, 2, 200), Rated(3, 8, 100), Rated(3, 6, 250)};
  const std::vector<std::vector<int32_t>> three = RecentMovies(4, train, 3);
  ASSERT_EQ(three.size(), 4u);
  EXPECT_EQ(three[0], (std::vector<int32_t>{3, 7, 1}));
  EXPECT_EQ(three[1], (std::vector<int32_t>{4, 6}));
  EXPECT_TRUE(three[2].empty());
  EXPECT_EQ(three[3], (std::vector<int32_t>{8, 6, 2}));

  EXPECT_EQ(RecentMovies(4, train, 1)[0], (std::vector<int32_t>{3}));
  EXPECT_EQ(RecentMovies(4, train, 5)[0],
            (std::vector<int32_t>{3, 7, 1, 5, 9}));
  // K above every user's count: everything, latest first, each movie once.
  const std::vector<std::vector<int32_t>> all = RecentMovies(4, train, 100);
  EXPECT_EQ(all[0], (std::vector<int32_t>{3, 7, 1, 5, 9, 2}));
  EXPECT_EQ(all[3], (std::vector<int32_t>{8, 6, 2}));
  // The input order does not matter.
  std::vector<Interaction> reversed(train.rbegin(), train.rend());
  EXPECT_EQ(RecentMovies(4, reversed, 3), three);
}

std::vector<int32_t> Rows(const std::vector<ScoredMovie>& movies) {
  std::vector<int32_t> rows;
  for (const ScoredMovie& m : movies) rows.push_back(m.movie);
  return rows;
}

// EASE^R's top 10 by hand: score(j) = sum over the given movies i of
// B(i, j) (row j of movie_vectors holds column j of B), the given movies
// left out, ties to the lower row.
std::vector<int32_t> EaseTop10ByHand(const Model& ease,
                                     const std::vector<int32_t>& given) {
  std::vector<double> score(static_cast<size_t>(ease.num_movies()), 0);
  for (int j = 0; j < ease.num_movies(); ++j) {
    for (const int32_t i : given) score[j] += ease.movie_vectors(j, i);
  }
  std::vector<int32_t> order;
  for (int j = 0; j < ease.num_movies(); ++j) {
    if (std::find(given.begin(), given.end(), j) == given.end()) {
      order.push_back(j);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return score[a] > score[b]; });
  order.resize(std::min<size_t>(order.size(), 10));
  return order;
}

void ExpectSameMetrics(const ListMetrics& actual, const ListMetrics& expected) {
  EXPECT_EQ(actual.users, expected.users);
  EXPECT_DOUBLE_EQ(actual.recall_at_10, expected.recall_at_10);
  EXPECT_DOUBLE_EQ(actual.ndcg_at_10, expected.ndcg_at_10);
  EXPECT_DOUBLE_EQ(actual.hit_rate_at_10, expected.hit_rate_at_10);
}

TEST(EvaluateVisitorsTest, ServedAndEaseListsOfEachVisitorsRecentMovies) {
  const MovieLens data = test::SmallMovieLens(/*num_users=*/20,
                                              /*num_movies=*/60,
                                              /*per_user=*/30, /*seed=*/4);
  const std::vector<Interaction> all = test::InteractionsOf(data);
  // Every fourth rating is a test rating, and all of user 0's: user 0 has
  // nothing to give and gets the most popular movies.
  std::vector<Interaction> train, test;
  for (size_t i = 0; i < all.size(); ++i) {
    (all[i].user == 0 || i % 4 == 0 ? test : train).push_back(all[i]);
  }
  MovieLens with_train = data;
  with_train.ratings.clear();
  for (const Interaction& x : train) {
    with_train.ratings.push_back({data.users[x.user].id,
                                  data.movies[x.movie].id, x.rating,
                                  x.timestamp});
  }
  auto model = std::make_shared<Model>(test::MakeRandomModel(
      with_train, test::SmallRetrievalConfig(/*all_features=*/true), 7));
  test::AddRankingStage(model.get(), /*with_reranker=*/true, 8);
  const Scorer served(model);
  const std::shared_ptr<const Model> ease_model =
      EaseModel(data, train, kVisitorEaseLambda);
  const Scorer ease(ease_model);

  const std::vector<VisitorEvaluation> result =
      EvaluateVisitors(served, &ease, train, test);
  ASSERT_EQ(result.size(), std::size(kVisitorKs));
  for (size_t i = 0; i < result.size(); ++i) {
    const int k = kVisitorKs[i];
    SCOPED_TRACE(testing::Message() << "K = " << k);
    EXPECT_EQ(result[i].k, k);
    const std::vector<std::vector<int32_t>> recent =
        RecentMovies(model->num_users(), train, k);
    ASSERT_TRUE(recent[0].empty());
    for (int u = 1; u < model->num_users(); ++u) {
      ASSERT_EQ(recent[u].size(),
                std::min<size_t>(k, model->seen.Of(u).size()));
    }
    ExpectSameMetrics(
        result[i].served,
        EvaluateProtocolB(model->num_users(), test, [&](int user) {
          if (user == 0) return Rows(served.Popular(10, {}));
          return Rows(served.Recommend(served.ForVisitor(recent[user]), 10));
        }));
    ExpectSameMetrics(
        result[i].ease,
        EvaluateProtocolB(model->num_users(), test, [&](int user) {
          if (user == 0) return Rows(ease.Popular(10, {}));
          return EaseTop10ByHand(*ease_model, recent[user]);
        }));
    EXPECT_EQ(result[i].served.users, model->num_users());
    int fewer = 0;
    for (int u = 0; u < model->num_users(); ++u) {
      fewer += static_cast<int>(recent[u].size()) < k;
    }
    EXPECT_EQ(result[i].fewer_than_k, fewer);
    EXPECT_GT(result[i].ease.ndcg_at_10, 0);
  }
  // A visitor's list leaves out the movies given and nothing else: with
  // K = 100 every training movie is given, so no list holds one.
  const std::vector<std::vector<int32_t>> everything =
      RecentMovies(model->num_users(), train, 100);
  for (int u = 1; u < model->num_users(); ++u) {
    for (const int32_t movie :
         Rows(served.Recommend(served.ForVisitor(everything[u]), 10))) {
      EXPECT_FALSE(model->seen.Contains(u, movie)) << "user " << u;
    }
  }

  // Without a reference, EASE's figures are absent (no users).
  for (const VisitorEvaluation& v :
       EvaluateVisitors(served, nullptr, train, test)) {
    EXPECT_EQ(v.ease.users, 0);
  }
}

}  // namespace
}  // namespace movierec
