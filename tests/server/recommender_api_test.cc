// Tests of the richer API of Recommender (server/recommender.h): visitors
// folded in from recent movies, filters, SimilarMovies, RecommendBatch, and
// the CallControl checks before and between stages. Expected lists are
// computed here by brute force from the model's vectors, not through the
// Scorer, wherever the model has no ranking stage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/recommender.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::AddRankingStage;
using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

// Movie rows by descending score among the rows `eligible` admits.
std::vector<std::pair<float, int>> TopBy(
    const std::function<float(int)>& score, int num_movies,
    const std::function<bool(int)>& eligible) {
  std::vector<std::pair<float, int>> scored;
  for (int m = 0; m < num_movies; ++m) {
    if (eligible(m)) scored.emplace_back(score(m), m);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  return scored;
}

class RecommenderApiTest : public ::testing::TestWithParam<bool> {
 protected:
  // The parameter: towers with every feature (history, so the visitor query
  // is the user tower's) or ids only (the mean of the movies' vectors).
  RecommenderApiTest()
      : model_(std::make_shared<const Model>(MakeRandomModel(
            SmallMovieLens(10, 150, 20), SmallRetrievalConfig(GetParam()), 3))),
        snapshot_(std::make_shared<const Snapshot>(7, model_)),
        recommender_([this] { return snapshot_; }) {}

  std::string MovieId(int row) const {
    return absl::StrCat(model_->catalog.movies[row].id);
  }
  std::string UserId(int row) const {
    return absl::StrCat(model_->catalog.users[row].id);
  }
  int Row(const v1::ScoredMovie& movie) const {
    return snapshot_->MovieRow(movie.movie_id());
  }
  std::vector<int> Rows(const v1::RecommendResponse& response) const {
    std::vector<int> rows;
    for (const v1::ScoredMovie& m : response.movies()) rows.push_back(Row(m));
    return rows;
  }

  // The visitor query computed from the model's weights directly.
  RowVector ExpectedVisitorQuery(const std::vector<int>& movies) const {
    const int dim = static_cast<int>(model_->movie_vectors.cols());
    RowVector query = RowVector::Zero(dim);
    const RetrievalModel& retrieval = *model_->retrieval;
    if (retrieval.config().features.user_history) {
      const auto& tables = retrieval.featurizer().user_tables();
      for (size_t t = 0; t < tables.size(); ++t) {
        if (tables[t].name != "user_history") continue;
        for (const int m : movies) {
          query.head(retrieval.config().embedding_dim) +=
              retrieval.user_tower().tables()[t].weights().row(m) /
              std::sqrt(static_cast<float>(movies.size()));
        }
      }
    } else {
      for (const int m : movies) query += model_->movie_vectors.row(m);
      query /= static_cast<float>(movies.size());
    }
    if (retrieval.config().movie_bias) query(dim - 1) = 1;
    return query;
  }

  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Snapshot> snapshot_;
  Recommender recommender_;
};

TEST_P(RecommenderApiTest, VisitorIsServedFromRecentMovies) {
  EXPECT_EQ(snapshot_->scorer().visitor_fold_in(),
            GetParam() ? FoldIn::kUserTower : FoldIn::kMeanOfMovies);
  const std::vector<int> recent = {4, 17, 33, 90};
  v1::RecommendRequest request;
  for (const int m : recent) request.add_recent_movie_ids(MovieId(m));
  request.add_recent_movie_ids(MovieId(17));  // a repeat counts once
  request.set_count(12);
  v1::RecommendResponse response;
  RecommendTrace trace;
  ASSERT_OK(recommender_.Recommend(request, &response, &trace));
  EXPECT_EQ(response.model_version(), "7");
  EXPECT_FALSE(response.fallback());
  EXPECT_FALSE(trace.fallback);
  EXPECT_GE(trace.retrieval_seconds, 0);
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_RECENT_MOVIES);

  const RowVector query = ExpectedVisitorQuery(recent);
  const auto expected =
      TopBy([&](int m) { return query.dot(model_->movie_vectors.row(m)); },
            model_->num_movies(),
            [&](int m) {
              return std::find(recent.begin(), recent.end(), m) == recent.end();
            });
  ASSERT_EQ(response.movies_size(), 12);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(Row(response.movies(i)), expected[i].second) << "position " << i;
    EXPECT_NEAR(response.movies(i).score(), expected[i].first, 1e-4);
  }

  // An id the model does not know, with recent movies: the same visitor.
  request.set_user_id("999999");
  v1::RecommendResponse unknown;
  ASSERT_OK(recommender_.Recommend(request, &unknown));
  EXPECT_EQ(Rows(unknown), Rows(response));
  EXPECT_EQ(unknown.personalization(), v1::PERSONALIZATION_RECENT_MOVIES);
}

TEST_P(RecommenderApiTest, KnownUsersRecentMoviesAreOnlyLeftOut) {
  v1::RecommendRequest request;
  request.set_user_id(UserId(2));
  request.set_count(6);
  v1::RecommendResponse plain;
  ASSERT_OK(recommender_.Recommend(request, &plain));
  EXPECT_EQ(plain.personalization(), v1::PERSONALIZATION_KNOWN_USER);
  request.set_count(7);
  v1::RecommendResponse longer;
  ASSERT_OK(recommender_.Recommend(request, &longer));

  // Watching the top movie removes it; the rest move up.
  request.set_count(6);
  request.add_recent_movie_ids(plain.movies(0).movie_id());
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_KNOWN_USER);
  std::vector<int> want = Rows(longer);
  want.erase(want.begin());
  EXPECT_EQ(Rows(response), want);
}

TEST_P(RecommenderApiTest, GenreFilterReturnsTheBestMoviesOfThoseGenres) {
  const int user = 3;
  v1::RecommendRequest request;
  request.set_user_id(UserId(user));
  request.set_count(20);
  request.mutable_filter()->add_genres("Comedy");
  request.mutable_filter()->add_genres("Romance");
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  const auto has_genre = [&](int m) {
    for (const int32_t g : model_->catalog.movies[m].genres) {
      const std::string& name = model_->catalog.genre_names[g];
      if (name == "Comedy" || name == "Romance") return true;
    }
    return false;
  };
  const auto expected = TopBy(
      [&](int m) {
        return model_->user_vectors.row(user).dot(model_->movie_vectors.row(m));
      },
      model_->num_movies(),
      [&](int m) { return has_genre(m) && !model_->seen.Contains(user, m); });
  ASSERT_GE(expected.size(), 20u);
  ASSERT_EQ(response.movies_size(), 20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Row(response.movies(i)), expected[i].second);
    EXPECT_THAT(response.movies(i).genres(),
                ::testing::Contains(::testing::AnyOf("Comedy", "Romance")));
  }
}

TEST_P(RecommenderApiTest, YearRangeAndExclusionsCombine) {
  const int user = 1;
  v1::RecommendRequest request;
  request.set_user_id(UserId(user));
  request.set_count(8);
  v1::RecommendResponse unfiltered;
  ASSERT_OK(recommender_.Recommend(request, &unfiltered));
  request.mutable_filter()->set_min_release_year(1950);
  request.mutable_filter()->set_max_release_year(1980);
  request.mutable_filter()->add_exclude_movie_ids(
      unfiltered.movies(0).movie_id());
  request.mutable_filter()->add_exclude_movie_ids(
      unfiltered.movies(0).movie_id());  // a repeat is harmless
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  const auto eligible = [&](int m) {
    const int year = model_->catalog.movies[m].release_year;
    return year >= 1950 && year <= 1980 && !model_->seen.Contains(user, m) &&
           MovieId(m) != unfiltered.movies(0).movie_id();
  };
  const auto expected = TopBy(
      [&](int m) {
        return model_->user_vectors.row(user).dot(model_->movie_vectors.row(m));
      },
      model_->num_movies(), eligible);
  ASSERT_GE(expected.size(), 8u);
  ASSERT_EQ(response.movies_size(), 8);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(Row(response.movies(i)), expected[i].second);
    EXPECT_GE(response.movies(i).release_year(), 1950);
    EXPECT_LE(response.movies(i).release_year(), 1980);
  }
}

TEST_P(RecommenderApiTest, ANarrowFilterReturnsOnlyTheEligibleMovies) {
  // Genre "unknown" (every fifth movie) of 1990-1999: a handful of movies.
  v1::RecommendRequest request;
  request.set_user_id(UserId(0));
  request.set_count(100);
  request.mutable_filter()->add_genres("unknown");
  request.mutable_filter()->set_min_release_year(1990);
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  int eligible = 0;
  for (int m = 0; m < model_->num_movies(); ++m) {
    const Movie& movie = model_->catalog.movies[m];
    eligible += movie.genres == std::vector<int32_t>{0} &&
                movie.release_year >= 1990 && !model_->seen.Contains(0, m);
  }
  ASSERT_GT(eligible, 0);
  ASSERT_LT(eligible, 100);
  EXPECT_EQ(response.movies_size(), eligible);
  for (const v1::ScoredMovie& movie : response.movies()) {
    EXPECT_THAT(movie.genres(), ::testing::ElementsAre("unknown"));
    EXPECT_GE(movie.release_year(), 1990);
  }
}

TEST_P(RecommenderApiTest, FiltersApplyToThePopularFallback) {
  v1::RecommendRequest request;
  request.set_user_id("424242");
  request.set_count(5);
  request.mutable_filter()->add_genres("Drama");
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  EXPECT_TRUE(response.fallback());
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_POPULAR);
  const auto expected =
      TopBy([&](int m) { return static_cast<float>(model_->popularity[m]); },
            model_->num_movies(),
            [&](int m) {
              for (const int32_t g : model_->catalog.movies[m].genres) {
                if (model_->catalog.genre_names[g] == "Drama") return true;
              }
              return false;
            });
  ASSERT_EQ(response.movies_size(), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Row(response.movies(i)), expected[i].second);
  }
}

TEST_P(RecommenderApiTest, SimilarMoviesAreTheCosineNeighbours) {
  const int movie = 11;
  const auto dim = model_->movie_vectors.cols() - (GetParam() ? 1 : 0);
  const auto embedding = [&](int m) {
    return RowVector(model_->movie_vectors.row(m).head(dim));
  };
  const auto expected = TopBy(
      [&](int m) {
        return embedding(movie).dot(embedding(m)) /
               (embedding(movie).norm() * embedding(m).norm());
      },
      model_->num_movies(), [&](int m) { return m != movie; });
  v1::SimilarMoviesRequest request;
  request.set_movie_id(MovieId(movie));
  v1::SimilarMoviesResponse response;
  ASSERT_OK(recommender_.SimilarMovies(request, &response));
  EXPECT_EQ(response.model_version(), "7");
  ASSERT_EQ(response.movies_size(), kDefaultCount);
  for (int i = 0; i < kDefaultCount; ++i) {
    EXPECT_EQ(snapshot_->MovieRow(response.movies(i).movie_id()),
              expected[i].second);
    EXPECT_NEAR(response.movies(i).score(), expected[i].first, 1e-4);
    EXPECT_LE(response.movies(i).score(), 1.0001f);
  }

  // With a filter: only later movies, the best neighbour excluded.
  request.set_count(4);
  request.mutable_filter()->set_min_release_year(1980);
  request.mutable_filter()->add_exclude_movie_ids(
      response.movies(0).movie_id());
  response.Clear();
  ASSERT_OK(recommender_.SimilarMovies(request, &response));
  ASSERT_EQ(response.movies_size(), 4);
  for (const v1::ScoredMovie& m : response.movies()) {
    EXPECT_GE(m.release_year(), 1980);
    EXPECT_NE(m.movie_id(), MovieId(expected[0].second));
  }
}

TEST_P(RecommenderApiTest, BatchAnswersLikeSingleCalls) {
  v1::RecommendBatchRequest batch;
  for (int u = 0; u < 4; ++u) {
    v1::RecommendRequest* request = batch.add_requests();
    request->set_user_id(UserId(u));
    request->set_count(3 + u);
  }
  batch.add_requests()->add_recent_movie_ids(MovieId(9));
  batch.add_requests()->set_user_id("777777");
  v1::RecommendBatchResponse response;
  std::vector<RecommendTrace> traces;
  ASSERT_OK(recommender_.RecommendBatch(batch, &response, &traces));
  EXPECT_EQ(response.model_version(), "7");
  ASSERT_EQ(response.responses_size(), 6);
  ASSERT_EQ(traces.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    v1::RecommendResponse single;
    ASSERT_OK(recommender_.Recommend(batch.requests(i), &single));
    EXPECT_EQ(Rows(response.responses(i)), Rows(single)) << "request " << i;
    EXPECT_EQ(response.responses(i).model_version(), "7");
    EXPECT_EQ(traces[i].fallback, i == 5);
  }
}

INSTANTIATE_TEST_SUITE_P(Towers, RecommenderApiTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "AllFeatures" : "IdsOnly";
                         });

// With a ranking stage, visitors are ranked by the same pipeline as users,
// and filters still yield `count` movies.
class RankedApiTest : public ::testing::TestWithParam<bool> {
 protected:
  RankedApiTest() {
    Model model = MakeRandomModel(SmallMovieLens(6, 150, 20),
                                  SmallRetrievalConfig(true), 8);
    AddRankingStage(&model, /*with_reranker=*/GetParam(), 9);
    model_ = std::make_shared<const Model>(std::move(model));
    snapshot_ = std::make_shared<const Snapshot>(2, model_);
  }
  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Snapshot> snapshot_;
};

TEST_P(RankedApiTest, VisitorsGoThroughTheRankingStage) {
  const Recommender recommender([this] { return snapshot_; });
  const std::vector<int32_t> recent = {3, 8, 40};
  v1::RecommendRequest request;
  for (const int32_t m : recent) {
    request.add_recent_movie_ids(absl::StrCat(model_->catalog.movies[m].id));
  }
  request.set_count(10);
  v1::RecommendResponse response;
  RecommendTrace trace;
  ASSERT_OK(recommender.Recommend(request, &response, &trace));
  EXPECT_GE(trace.ranking_seconds, 0);

  const Scorer& scorer = snapshot_->scorer();
  const UserContext context = scorer.ForVisitor(recent);
  // The rating model of AddRankingStage has no history features: a visitor
  // gets the average user's rating vector.
  const RowMatrix users = model_->rating->UserVectors(model_->seen);
  ASSERT_EQ(context.rating_vector.size(), users.cols());
  for (Eigen::Index i = 0; i < users.cols(); ++i) {
    EXPECT_NEAR(context.rating_vector(i), users.col(i).mean(), 1e-5);
  }
  const std::vector<ScoredMovie> expected =
      scorer.Rank(context,
                  scorer.RetrieveCandidates(context, context.history,
                                            scorer.NumToRetrieve(10)),
                  10);
  ASSERT_EQ(response.movies_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(snapshot_->MovieRow(response.movies(i).movie_id()),
              expected[i].movie);
    EXPECT_FALSE(std::count(recent.begin(), recent.end(), expected[i].movie));
  }
}

TEST_P(RankedApiTest, FilteredRankedListsAreFull) {
  const Recommender recommender([this] { return snapshot_; });
  for (int user = 0; user < model_->num_users(); ++user) {
    v1::RecommendRequest request;
    request.set_user_id(absl::StrCat(model_->catalog.users[user].id));
    request.set_count(30);
    request.mutable_filter()->add_genres("Action");
    v1::RecommendResponse response;
    ASSERT_OK(recommender.Recommend(request, &response));
    ASSERT_EQ(response.movies_size(), 30) << "user row " << user;
    std::set<std::string> distinct;
    for (const v1::ScoredMovie& movie : response.movies()) {
      distinct.insert(movie.movie_id());
      EXPECT_THAT(movie.genres(), ::testing::Contains("Action"));
      EXPECT_FALSE(
          model_->seen.Contains(user, snapshot_->MovieRow(movie.movie_id())));
    }
    EXPECT_EQ(distinct.size(), 30u);
  }
}

TEST_P(RankedApiTest, CancellationBetweenStagesSkipsRanking) {
  int checks = 0;
  const Recommender recommender([this] { return snapshot_; });
  const CallControl cancel_after_retrieval(absl::InfiniteFuture(),
                                           [&checks] { return ++checks > 1; });
  v1::RecommendRequest request;
  request.set_user_id(absl::StrCat(model_->catalog.users[0].id));
  v1::RecommendResponse response;
  RecommendTrace trace;
  EXPECT_TRUE(IsError(
      recommender.Recommend(request, &response, &trace, cancel_after_retrieval),
      absl::StatusCode::kCancelled, {"before ranking"}));
  EXPECT_EQ(checks, 2);
  EXPECT_GE(trace.retrieval_seconds, 0);
  EXPECT_LT(trace.ranking_seconds, 0);
  EXPECT_EQ(response.movies_size(), 0);
}

INSTANTIATE_TEST_SUITE_P(RatingAndReranker, RankedApiTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Reranker" : "RatingOnly";
                         });

class CallControlTest : public ::testing::Test {
 protected:
  CallControlTest()
      : snapshot_(std::make_shared<const Snapshot>(
            7, std::make_shared<const Model>(MakeRandomModel(
                   SmallMovieLens(4, 30, 5), SmallRetrievalConfig(true), 1)))),
        recommender_([this] { return snapshot_; }) {}
  std::shared_ptr<const Snapshot> snapshot_;
  Recommender recommender_;
};

TEST_F(CallControlTest, ChecksTheDeadlineThenCancellation) {
  EXPECT_OK(CallControl().Check("x"));
  EXPECT_OK(CallControl(absl::Now() + absl::Hours(1), [] {
              return false;
            }).Check("x"));
  EXPECT_TRUE(IsError(
      CallControl(absl::Now() - absl::Seconds(1), nullptr).Check("retrieval"),
      absl::StatusCode::kDeadlineExceeded,
      {"deadline passed before retrieval"}));
  EXPECT_TRUE(IsError(
      CallControl(absl::InfiniteFuture(), [] { return true; }).Check("ranking"),
      absl::StatusCode::kCancelled, {"cancelled before ranking"}));
  EXPECT_TRUE(
      IsError(CallControl(absl::Now() - absl::Seconds(1), [] { return true; })
                  .Check("x"),
              absl::StatusCode::kDeadlineExceeded));
}

TEST_F(CallControlTest, NoWorkStartsAfterTheDeadline) {
  const CallControl expired(absl::Now() - absl::Milliseconds(1), nullptr);
  v1::RecommendRequest request;
  request.set_user_id("1");
  v1::RecommendResponse response;
  RecommendTrace trace;
  EXPECT_TRUE(
      IsError(recommender_.Recommend(request, &response, &trace, expired),
              absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(trace.retrieval_seconds, 0);
  EXPECT_EQ(response.movies_size(), 0);

  v1::SimilarMoviesRequest similar;
  similar.set_movie_id("1");
  v1::SimilarMoviesResponse similar_response;
  EXPECT_TRUE(
      IsError(recommender_.SimilarMovies(similar, &similar_response, expired),
              absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(similar_response.movies_size(), 0);

  v1::RecommendBatchRequest batch;
  *batch.add_requests() = request;
  v1::RecommendBatchResponse batch_response;
  std::vector<RecommendTrace> traces;
  EXPECT_TRUE(IsError(
      recommender_.RecommendBatch(batch, &batch_response, &traces, expired),
      absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(traces.empty());
}

TEST_F(CallControlTest, ABatchStopsBetweenItsRetrievalGroups) {
  int checks = 0;
  // 40 requests retrieve in groups of 16, each group after a check (there is
  // no ranking stage): the third check, before the third group, fails.
  const CallControl control(absl::InfiniteFuture(),
                            [&checks] { return ++checks > 2; });
  v1::RecommendBatchRequest batch;
  for (int i = 0; i < 40; ++i) batch.add_requests()->set_user_id("1");
  v1::RecommendBatchResponse response;
  std::vector<RecommendTrace> traces;
  EXPECT_TRUE(
      IsError(recommender_.RecommendBatch(batch, &response, &traces, control),
              absl::StatusCode::kCancelled));
  EXPECT_EQ(checks, 3);
  // None was answered: the lists come after every retrieval.
  EXPECT_TRUE(traces.empty());
}

TEST_F(CallControlTest, ACallFinishesOnTheSnapshotItStartedWith) {
  std::shared_ptr<const Snapshot> current = snapshot_;
  const Recommender recommender([&current] { return current; });
  const auto next = std::make_shared<const Snapshot>(
      8, std::make_shared<const Model>(MakeRandomModel(
             SmallMovieLens(4, 30, 5), SmallRetrievalConfig(true), 99)));
  // The reload happens while the call runs: at its first check.
  const CallControl swap_midway(absl::InfiniteFuture(), [&] {
    current = next;
    return false;
  });
  v1::RecommendRequest request;
  request.set_user_id("1");
  request.set_count(5);
  v1::RecommendResponse during;
  ASSERT_OK(recommender.Recommend(request, &during, nullptr, swap_midway));
  EXPECT_EQ(during.model_version(), "7");
  v1::RecommendResponse before;
  ASSERT_OK(
      Recommender([this] { return snapshot_; }).Recommend(request, &before));
  ASSERT_EQ(during.movies_size(), before.movies_size());
  for (int i = 0; i < during.movies_size(); ++i) {
    EXPECT_EQ(during.movies(i).movie_id(), before.movies(i).movie_id());
  }
  v1::RecommendResponse after;
  ASSERT_OK(recommender.Recommend(request, &after));
  EXPECT_EQ(after.model_version(), "8");
}

}  // namespace
}  // namespace movierec
