// Tests of the Recommend logic (server/recommender.h) over a snapshot of a
// small model: known users, unknown users (popular fallback), the allow-list
// of the filter (include_movie_ids), request validation and a missing model.
#include "server/recommender.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::AddRankingStage;
using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

class RecommenderTest : public ::testing::Test {
 protected:
  RecommenderTest()
      : model_(std::make_shared<const Model>(
            MakeRandomModel(SmallMovieLens(/*num_users=*/10,
                                           /*num_movies=*/150,
                                           /*per_user=*/20),
                            SmallRetrievalConfig(true), 3))),
        snapshot_(std::make_shared<const Snapshot>(7, model_)),
        recommender_([this] { return snapshot_; }) {}

  // The row of a movie id in the response.
  int MovieRow(const std::string& movie_id) const {
    return snapshot_->MovieRow(movie_id);
  }

  absl::Status Call(const std::string& user_id, int count,
                    v1::RecommendResponse* response,
                    RecommendTrace* trace = nullptr) const {
    v1::RecommendRequest request;
    request.set_user_id(user_id);
    request.set_count(count);
    return recommender_.Recommend(request, response, trace);
  }

  // Every movie user row `user` has not seen, by inner product, best first.
  std::vector<int> UnseenByScore(int user) const {
    std::vector<std::pair<float, int>> unseen;
    for (int m = 0; m < model_->num_movies(); ++m) {
      if (model_->seen.Contains(user, m)) continue;
      unseen.emplace_back(
          model_->user_vectors.row(user).dot(model_->movie_vectors.row(m)), m);
    }
    std::sort(unseen.rbegin(), unseen.rend());
    std::vector<int> rows;
    for (const auto& [score, row] : unseen) rows.push_back(row);
    return rows;
  }

  // The movie rows of a response, in order.
  std::vector<int> Rows(const v1::RecommendResponse& response) const {
    std::vector<int> rows;
    for (const v1::ScoredMovie& movie : response.movies()) {
      rows.push_back(MovieRow(movie.movie_id()));
    }
    return rows;
  }

  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Snapshot> snapshot_;
  Recommender recommender_;
};

TEST_F(RecommenderTest, KnownUserGetsUnseenMoviesBestFirst) {
  for (int user = 0; user < model_->num_users(); ++user) {
    SCOPED_TRACE(testing::Message() << "user row " << user);
    const std::string user_id = absl::StrCat(model_->catalog.users[user].id);
    v1::RecommendResponse response;
    RecommendTrace trace;
    ASSERT_OK(Call(user_id, 25, &response, &trace));
    EXPECT_EQ(response.model_version(), "7");
    EXPECT_FALSE(response.fallback());
    EXPECT_FALSE(trace.fallback);
    EXPECT_GE(trace.retrieval_seconds, 0);
    ASSERT_EQ(response.movies_size(), 25);

    // The exact top 25 by inner product among movies the user has not seen.
    std::vector<std::pair<float, int>> unseen;
    for (int m = 0; m < model_->num_movies(); ++m) {
      if (model_->seen.Contains(user, m)) continue;
      unseen.emplace_back(
          model_->user_vectors.row(user).dot(model_->movie_vectors.row(m)), m);
    }
    std::sort(unseen.rbegin(), unseen.rend());

    std::set<std::string> distinct;
    for (int i = 0; i < response.movies_size(); ++i) {
      const v1::ScoredMovie& movie = response.movies(i);
      distinct.insert(movie.movie_id());
      const int row = MovieRow(movie.movie_id());
      ASSERT_GE(row, 0) << movie.movie_id();
      EXPECT_FALSE(model_->seen.Contains(user, row)) << "seen movie " << row;
      EXPECT_EQ(movie.title(), model_->catalog.movies[row].title);
      if (i > 0) {
        EXPECT_GE(response.movies(i - 1).score(), movie.score());
      }
      EXPECT_EQ(row, unseen[i].second) << "position " << i;
      EXPECT_NEAR(movie.score(), unseen[i].first, 1e-5);
    }
    EXPECT_EQ(distinct.size(), 25u);
  }
}

TEST_F(RecommenderTest, CountZeroMeansTenAndHundredIsAllowed) {
  const std::string user_id = absl::StrCat(model_->catalog.users[0].id);
  v1::RecommendResponse response;
  ASSERT_OK(Call(user_id, 0, &response));
  EXPECT_EQ(response.movies_size(), kDefaultCount);
  EXPECT_EQ(kDefaultCount, 10);
  response.Clear();
  ASSERT_OK(Call(user_id, 100, &response));
  EXPECT_EQ(response.movies_size(), 100);
  response.Clear();
  ASSERT_OK(Call(user_id, 1, &response));
  EXPECT_EQ(response.movies_size(), 1);
}

TEST_F(RecommenderTest, UnknownUserGetsPopularMovies) {
  for (const std::string user_id : {"999999", "2", "abc", "0", "-1", " 1"}) {
    SCOPED_TRACE(user_id);
    v1::RecommendResponse response;
    RecommendTrace trace;
    ASSERT_OK(Call(user_id, 5, &response, &trace));
    EXPECT_TRUE(response.fallback());
    EXPECT_TRUE(trace.fallback);
    EXPECT_EQ(response.model_version(), "7");
    ASSERT_EQ(response.movies_size(), 5);

    // Most training ratings first, ties broken by the lower row.
    std::vector<int> order(static_cast<size_t>(model_->num_movies()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return model_->popularity[a] > model_->popularity[b];
    });
    for (int i = 0; i < 5; ++i) {
      const int row = MovieRow(response.movies(i).movie_id());
      EXPECT_EQ(row, order[i]) << "position " << i;
      EXPECT_EQ(response.movies(i).score(),
                static_cast<float>(model_->popularity[row]));
    }
  }
}

// Only movies of the allow-list come back, in the order of the unfiltered
// ranking, still without seen and excluded ones.
TEST_F(RecommenderTest, AllowListReturnsOnlyAllowedMoviesRankedAsBefore) {
  const int user = 2;
  const std::vector<int> unseen = UnseenByScore(user);
  ASSERT_GE(unseen.size(), 100u);
  // Every third unseen movie from the 5th on, one seen movie, and one
  // excluded: 31 allowed rows, of which 30 may come back.
  std::set<int> allowed;
  for (size_t i = 4; i < unseen.size() && allowed.size() < 30; i += 3) {
    allowed.insert(unseen[i]);
  }
  const int seen = static_cast<int>(model_->seen.Of(user)[0]);
  const int excluded = unseen[7];
  v1::RecommendRequest request;
  request.set_user_id(absl::StrCat(model_->catalog.users[user].id));
  request.set_count(12);
  for (const int row : allowed) {
    request.mutable_filter()->add_include_movie_ids(snapshot_->MovieId(row));
  }
  request.mutable_filter()->add_include_movie_ids(snapshot_->MovieId(seen));
  request.mutable_filter()->add_exclude_movie_ids(snapshot_->MovieId(excluded));
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_KNOWN_USER);

  std::vector<int> want;
  for (const int row : unseen) {
    if (allowed.count(row) > 0 && row != excluded && want.size() < 12) {
      want.push_back(row);
    }
  }
  EXPECT_EQ(Rows(response), want);

  // Fewer allowed than `count`: every one of them, and no other.
  request.set_count(50);
  response.Clear();
  ASSERT_OK(recommender_.Recommend(request, &response));
  want.clear();
  for (const int row : unseen) {
    if (allowed.count(row) > 0 && row != excluded) want.push_back(row);
  }
  ASSERT_EQ(want.size(), 29u);
  EXPECT_EQ(Rows(response), want);
}

TEST_F(RecommenderTest, AllowListOfSeenOrExcludedMoviesReturnsNothing) {
  const int user = 1;
  const int seen = static_cast<int>(model_->seen.Of(user)[0]);
  const int unseen = UnseenByScore(user)[0];
  v1::RecommendRequest request;
  request.set_user_id(absl::StrCat(model_->catalog.users[user].id));
  request.mutable_filter()->add_include_movie_ids(snapshot_->MovieId(seen));
  request.mutable_filter()->add_include_movie_ids(snapshot_->MovieId(unseen));
  request.mutable_filter()->add_exclude_movie_ids(snapshot_->MovieId(unseen));
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  EXPECT_EQ(response.movies_size(), 0);
}

TEST_F(RecommenderTest, AllowListAppliesToVisitorsAndThePopularFallback) {
  // Popular: the allowed movies by popularity, ties by the lower row.
  const std::vector<int> allowed = {3, 40, 41, 99, 120};
  v1::RecommendRequest request;
  request.set_user_id("999999");
  request.set_count(10);
  for (const int row : allowed) {
    request.mutable_filter()->add_include_movie_ids(snapshot_->MovieId(row));
  }
  v1::RecommendResponse response;
  ASSERT_OK(recommender_.Recommend(request, &response));
  EXPECT_TRUE(response.fallback());
  std::vector<int> want = allowed;
  std::stable_sort(want.begin(), want.end(), [&](int a, int b) {
    return model_->popularity[a] > model_->popularity[b];
  });
  EXPECT_EQ(Rows(response), want);

  // A visitor: the allowed movies but the recent ones.
  request.add_recent_movie_ids(snapshot_->MovieId(40));
  response.Clear();
  ASSERT_OK(recommender_.Recommend(request, &response));
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_RECENT_MOVIES);
  std::vector<int> rows = Rows(response);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<int>{3, 41, 99, 120}));
}

TEST_F(RecommenderTest, AllowListAppliesToEachRequestOfABatch) {
  v1::RecommendBatchRequest batch;
  for (const int user : {0, 3}) {
    v1::RecommendRequest* request = batch.add_requests();
    request->set_user_id(absl::StrCat(model_->catalog.users[user].id));
    request->set_count(3);
    const std::vector<int> unseen = UnseenByScore(user);
    // The 10th to 14th unseen movies, listed worst first.
    for (int i = 13; i >= 9; --i) {
      request->mutable_filter()->add_include_movie_ids(
          snapshot_->MovieId(unseen[i]));
    }
  }
  v1::RecommendBatchResponse response;
  ASSERT_OK(recommender_.RecommendBatch(batch, &response));
  ASSERT_EQ(response.responses_size(), 2);
  for (const int i : {0, 1}) {
    const std::vector<int> unseen = UnseenByScore(i == 0 ? 0 : 3);
    EXPECT_EQ(Rows(response.responses(i)),
              (std::vector<int>{unseen[9], unseen[10], unseen[11]}))
        << "request " << i;
  }
}

// A batch is answered stage by stage over all its requests (one retrieval
// search for the batch); each answer is still exactly the single call's:
// known users, visitors, the popular fallback, filters and counts mixed.
TEST_F(RecommenderTest, EachAnswerOfABatchIsTheSingleCallsAnswer) {
  v1::RecommendBatchRequest batch;
  for (int i = 0; i < 23; ++i) {
    v1::RecommendRequest* request = batch.add_requests();
    request->set_count(1 + i % 12);
    switch (i % 4) {
      case 0:
        request->set_user_id(absl::StrCat(model_->catalog.users[i % 10].id));
        break;
      case 1:
        request->add_recent_movie_ids(snapshot_->MovieId(i));
        request->add_recent_movie_ids(snapshot_->MovieId(2 * i + 1));
        break;
      case 2:
        request->set_user_id(absl::StrCat(model_->catalog.users[i % 10].id));
        request->mutable_filter()->add_exclude_movie_ids(
            snapshot_->MovieId(UnseenByScore(i % 10)[0]));
        request->add_recent_movie_ids(snapshot_->MovieId(i + 5));
        break;
      default:
        request->set_user_id("424242");  // unknown: the popular list
    }
  }
  v1::RecommendBatchResponse response;
  ASSERT_OK(recommender_.RecommendBatch(batch, &response));
  ASSERT_EQ(response.responses_size(), batch.requests_size());
  for (int i = 0; i < batch.requests_size(); ++i) {
    v1::RecommendResponse single;
    ASSERT_OK(recommender_.Recommend(batch.requests(i), &single));
    EXPECT_EQ(response.responses(i).SerializeAsString(),
              single.SerializeAsString())
        << "request " << i << ": " << response.responses(i).DebugString()
        << " against " << single.DebugString();
  }
}

TEST_F(RecommenderTest, AllowListAppliesToSimilarMovies) {
  v1::SimilarMoviesRequest request;
  request.set_movie_id(snapshot_->MovieId(10));
  request.set_count(10);
  // The movie itself is on the list, and still left out.
  for (const int row : {10, 20, 30, 140}) {
    request.mutable_filter()->add_include_movie_ids(snapshot_->MovieId(row));
  }
  v1::SimilarMoviesResponse response;
  ASSERT_OK(recommender_.SimilarMovies(request, &response));
  std::vector<int> rows;
  for (const v1::ScoredMovie& movie : response.movies()) {
    rows.push_back(MovieRow(movie.movie_id()));
    if (rows.size() > 1) {
      EXPECT_GE(response.movies(rows.size() - 2).score(), movie.score());
    }
  }
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<int>{20, 30, 140}));
}

TEST_F(RecommenderTest, AllowListWithAnUnknownMovieIsNotFoundNamingIt) {
  const std::string user_id = absl::StrCat(model_->catalog.users[0].id);
  v1::RecommendRequest request;
  request.set_user_id(user_id);
  request.mutable_filter()->add_include_movie_ids("1");
  request.mutable_filter()->add_include_movie_ids("4");  // ids are odd
  v1::RecommendResponse response;
  EXPECT_TRUE(IsError(recommender_.Recommend(request, &response),
                      absl::StatusCode::kNotFound,
                      {"filter.include_movie_ids[1]", "\"4\""}));
  EXPECT_EQ(response.movies_size(), 0);

  v1::RecommendBatchRequest batch;
  batch.add_requests()->set_user_id(user_id);
  *batch.add_requests() = request;
  v1::RecommendBatchResponse batch_response;
  EXPECT_TRUE(IsError(recommender_.RecommendBatch(batch, &batch_response),
                      absl::StatusCode::kNotFound,
                      {"requests[1].filter.include_movie_ids[1]", "\"4\""}));
  EXPECT_EQ(batch_response.responses_size(), 0);
}

TEST_F(RecommenderTest, RejectsEmptyUserId) {
  v1::RecommendResponse response;
  EXPECT_TRUE(IsError(Call("", 10, &response),
                      absl::StatusCode::kInvalidArgument, {"user_id"}));
  EXPECT_EQ(response.movies_size(), 0);
}

TEST_F(RecommenderTest, RejectsCountOutOfRange) {
  const std::string user_id = absl::StrCat(model_->catalog.users[0].id);
  for (const int count : {-1, 101, -100000, 1 << 30}) {
    v1::RecommendResponse response;
    EXPECT_TRUE(IsError(Call(user_id, count, &response),
                        absl::StatusCode::kInvalidArgument,
                        {absl::StrCat("count ", count), "0-100"}));
    EXPECT_EQ(response.movies_size(), 0);
  }
}

TEST_F(RecommenderTest, ValidatesBeforeLookingForAModel) {
  const Recommender nothing(
      []() -> std::shared_ptr<const Snapshot> { return nullptr; });
  v1::RecommendRequest request;
  v1::RecommendResponse response;
  request.set_count(5);
  EXPECT_TRUE(IsError(nothing.Recommend(request, &response),
                      absl::StatusCode::kInvalidArgument, {"user_id"}));
}

TEST_F(RecommenderTest, NoSnapshotIsUnavailable) {
  const Recommender nothing(
      []() -> std::shared_ptr<const Snapshot> { return nullptr; });
  v1::RecommendRequest request;
  request.set_user_id("1");
  v1::RecommendResponse response;
  EXPECT_TRUE(IsError(nothing.Recommend(request, &response),
                      absl::StatusCode::kUnavailable));
}

TEST_F(RecommenderTest, UsesTheSnapshotOfEachCall) {
  std::shared_ptr<const Snapshot> current = snapshot_;
  const Recommender recommender([&current] { return current; });
  v1::RecommendRequest request;
  request.set_user_id("1");
  v1::RecommendResponse response;
  ASSERT_OK(recommender.Recommend(request, &response));
  EXPECT_EQ(response.model_version(), "7");
  current = std::make_shared<const Snapshot>(8, model_);
  response.Clear();
  ASSERT_OK(recommender.Recommend(request, &response));
  EXPECT_EQ(response.model_version(), "8");
}

// With a ranking stage, the list is the best `count` of the retrieved
// candidates by the ranking score, and the trace times both stages.
class RankingRecommenderTest : public ::testing::TestWithParam<bool> {};

TEST_P(RankingRecommenderTest, RanksUnseenCandidates) {
  Model model = MakeRandomModel(SmallMovieLens(6, 150, 20),
                                SmallRetrievalConfig(true), 8);
  AddRankingStage(&model, /*with_reranker=*/GetParam(), 9);
  const auto shared = std::make_shared<const Model>(std::move(model));
  const auto snapshot = std::make_shared<const Snapshot>(2, shared);
  const Recommender recommender([snapshot] { return snapshot; });
  for (int user = 0; user < shared->num_users(); ++user) {
    SCOPED_TRACE(testing::Message() << "user row " << user);
    v1::RecommendRequest request;
    request.set_user_id(absl::StrCat(shared->catalog.users[user].id));
    request.set_count(12);
    v1::RecommendResponse response;
    RecommendTrace trace;
    ASSERT_OK(recommender.Recommend(request, &response, &trace));
    EXPECT_FALSE(response.fallback());
    ASSERT_EQ(response.movies_size(), 12);
    std::set<int> distinct;
    for (int i = 0; i < response.movies_size(); ++i) {
      const int row = snapshot->MovieRow(response.movies(i).movie_id());
      ASSERT_GE(row, 0);
      distinct.insert(row);
      EXPECT_FALSE(shared->seen.Contains(user, row)) << "seen movie " << row;
      if (i > 0) {
        EXPECT_GE(response.movies(i - 1).score(), response.movies(i).score());
      }
    }
    EXPECT_EQ(distinct.size(), 12u);
    // The same list as the shared serving path.
    const std::vector<ScoredMovie> expected =
        snapshot->scorer().Recommend(user, 12);
    ASSERT_EQ(expected.size(), 12u);
    for (int i = 0; i < 12; ++i) {
      EXPECT_EQ(snapshot->MovieRow(response.movies(i).movie_id()),
                expected[i].movie);
    }
    EXPECT_GE(trace.retrieval_seconds, 0);
  }
}

// When the ranking stage runs, the trace must say how long it took: it feeds
// movierec_stage_duration_seconds{stage="ranking"}.
TEST_P(RankingRecommenderTest, TracesTheRankingStage) {
  Model model = MakeRandomModel(SmallMovieLens(4, 60, 10),
                                SmallRetrievalConfig(false), 10);
  AddRankingStage(&model, /*with_reranker=*/GetParam(), 11);
  const auto snapshot = std::make_shared<const Snapshot>(
      1, std::make_shared<const Model>(std::move(model)));
  ASSERT_TRUE(snapshot->scorer().ranks());
  const Recommender recommender([snapshot] { return snapshot; });
  v1::RecommendRequest request;
  request.set_user_id("1");
  v1::RecommendResponse response;
  RecommendTrace trace;
  ASSERT_OK(recommender.Recommend(request, &response, &trace));
  EXPECT_GE(trace.ranking_seconds, 0);
  EXPECT_GE(trace.retrieval_seconds, 0);
}

INSTANTIATE_TEST_SUITE_P(RatingAndReranker, RankingRecommenderTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Reranker" : "RatingOnly";
                         });

TEST(RecommenderSmallCatalogTest, ReturnsFewerWhenFewAreUnseen) {
  // Every user rated 8 of 12 movies: only 4 are left to recommend.
  const auto model = std::make_shared<const Model>(MakeRandomModel(
      SmallMovieLens(3, 12, 8), SmallRetrievalConfig(false), 4));
  const Recommender recommender([snapshot = std::make_shared<const Snapshot>(
                                     1, model)] { return snapshot; });
  v1::RecommendRequest request;
  request.set_user_id(absl::StrCat(model->catalog.users[1].id));
  request.set_count(10);
  v1::RecommendResponse response;
  ASSERT_OK(recommender.Recommend(request, &response));
  EXPECT_EQ(response.movies_size(), 4);
  request.set_user_id("12345");
  response.Clear();
  ASSERT_OK(recommender.Recommend(request, &response));
  EXPECT_EQ(response.movies_size(), 10);
  EXPECT_TRUE(response.fallback());
}

}  // namespace
}  // namespace movierec
