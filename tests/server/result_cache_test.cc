// Tests of the result cache (server/result_cache.h) on its own, and of the
// Recommender answering from it: the same bytes as a computed answer, only
// for plain requests of known users at the kept count, per version.
#include "server/result_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/recommender.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::AddRankingStage;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

std::vector<ScoredMovie> List(int first, int size) {
  std::vector<ScoredMovie> movies;
  for (int i = 0; i < size; ++i) {
    movies.push_back({first + i, 1.0f / static_cast<float>(i + 1), 0.5f});
  }
  return movies;
}

TEST(ResultCacheTest, KeepsAListForItsUserAndCountOnly) {
  const ResultCache cache(/*num_users=*/4, /*max_bytes=*/1 << 20);
  EXPECT_TRUE(cache.Find(2, 10).empty());
  ASSERT_TRUE(cache.Keep(2, 10, List(7, 10)));
  const absl::Span<const ScoredMovie> found = cache.Find(2, 10);
  ASSERT_EQ(found.size(), 10u);
  EXPECT_EQ(found[0].movie, 7);
  EXPECT_EQ(found[9].movie, 16);
  EXPECT_FLOAT_EQ(found[1].score, 0.5f);
  EXPECT_TRUE(cache.Find(2, 5).empty()) << "another count is not kept";
  EXPECT_TRUE(cache.Find(1, 10).empty()) << "another user is not kept";
  EXPECT_EQ(cache.bytes(), ResultCache::ListBytes(10));
}

TEST(ResultCacheTest, TheFirstListKeptStays) {
  const ResultCache cache(3, 1 << 20);
  ASSERT_TRUE(cache.Keep(0, 10, List(1, 10)));
  EXPECT_FALSE(cache.Keep(0, 10, List(50, 10)));
  EXPECT_FALSE(cache.Keep(0, 4, List(50, 4)));
  EXPECT_EQ(cache.Find(0, 10)[0].movie, 1);
  EXPECT_TRUE(cache.Find(0, 4).empty());
  EXPECT_EQ(cache.bytes(), ResultCache::ListBytes(10));
}

TEST(ResultCacheTest, StopsKeepingAtItsBudget) {
  const ResultCache cache(10, 2 * ResultCache::ListBytes(10));
  EXPECT_TRUE(cache.Keep(0, 10, List(0, 10)));
  EXPECT_TRUE(cache.Keep(1, 10, List(0, 10)));
  EXPECT_FALSE(cache.Keep(2, 10, List(0, 10)));
  EXPECT_TRUE(cache.Find(2, 10).empty());
  EXPECT_EQ(cache.bytes(), 2 * ResultCache::ListBytes(10));
  // A shorter list still fits no better: the budget is spent.
  EXPECT_FALSE(cache.Keep(3, 1, List(0, 1)));
}

TEST(ResultCacheTest, ZeroBytesKeepsNothing) {
  const ResultCache cache(10, 0);
  EXPECT_FALSE(cache.Keep(0, 10, List(0, 10)));
  EXPECT_TRUE(cache.Find(0, 10).empty());
  EXPECT_EQ(cache.bytes(), 0);
}

TEST(ResultCacheTest, MostBytesIsAPointerAndAListPerUserWithinTheBudget) {
  const int64_t per_user =
      static_cast<int64_t>(sizeof(void*)) + ResultCache::ListBytes(10);
  EXPECT_EQ(ResultCache(4, 1 << 20).MostBytes(10), 4 * per_user);
  EXPECT_EQ(ResultCache(4, 2 * per_user).MostBytes(10), 2 * per_user);
  EXPECT_EQ(ResultCache(4, 0).MostBytes(10), 0);
}

TEST(ResultCacheTest, AnEmptyListIsNotKept) {
  const ResultCache cache(3, 1 << 20);
  EXPECT_FALSE(cache.Keep(0, 10, {}));
  EXPECT_TRUE(cache.Find(0, 10).empty());
  EXPECT_EQ(cache.bytes(), 0);
  EXPECT_TRUE(cache.Keep(0, 10, List(0, 10))) << "the user's place is free";
}

TEST(ResultCacheTest, UsersOutOfRangeAreNeverKept) {
  const ResultCache cache(3, 1 << 20);
  EXPECT_FALSE(cache.Keep(-1, 10, List(0, 10)));
  EXPECT_FALSE(cache.Keep(3, 10, List(0, 10)));
  EXPECT_TRUE(cache.Find(-1, 10).empty());
  EXPECT_TRUE(cache.Find(3, 10).empty());
  EXPECT_EQ(cache.bytes(), 0);
}

// Threads keeping lists for the same users at once: one list per user is
// kept, the bytes count each once, and a reader sees a whole list or none.
TEST(ResultCacheTest, ConcurrentKeepsKeepOneListPerUser) {
  constexpr int kUsers = 64;
  constexpr int kThreads = 6;
  const ResultCache cache(kUsers, 1 << 20);
  std::atomic<int> kept{0};
  std::atomic<bool> torn{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int user = 0; user < kUsers; ++user) {
        // Each thread's list starts at its own movie: which one won is
        // visible, and every movie of a list found must follow the first.
        if (cache.Keep(user, 10, List(100 * t, 10))) ++kept;
        const absl::Span<const ScoredMovie> found = cache.Find(user, 10);
        if (found.size() != 10 || found[9].movie != found[0].movie + 9) {
          torn = true;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(kept.load(), kUsers);
  EXPECT_FALSE(torn.load());
  EXPECT_EQ(cache.bytes(), kUsers * ResultCache::ListBytes(10));
}

// A model with a ranking stage (the reranker), served with and without a
// result cache.
class CachedRecommenderTest : public ::testing::Test {
 protected:
  CachedRecommenderTest() {
    Model model = MakeRandomModel(SmallMovieLens(12, 150, 20),
                                  SmallRetrievalConfig(true), 21);
    AddRankingStage(&model, /*with_reranker=*/true, 22);
    model_ = std::make_shared<const Model>(std::move(model));
    cached_ = std::make_shared<const Snapshot>(3, model_, ScorerOptions(),
                                               int64_t{1} << 20);
    uncached_ = std::make_shared<const Snapshot>(3, model_);
  }

  std::string UserId(int row) const {
    return absl::StrCat(model_->catalog.users[row].id);
  }

  static v1::RecommendRequest Plain(const std::string& user, int count) {
    v1::RecommendRequest request;
    request.set_user_id(user);
    request.set_count(count);
    return request;
  }

  // The answer of `snapshot` to `request`, serialized, and its trace.
  static std::string Answer(const std::shared_ptr<const Snapshot>& snapshot,
                            const v1::RecommendRequest& request,
                            RecommendTrace* trace) {
    const Recommender recommender([snapshot] { return snapshot; });
    v1::RecommendResponse response;
    const absl::Status status =
        recommender.Recommend(request, &response, trace);
    EXPECT_TRUE(status.ok()) << status;
    return response.SerializeAsString();
  }

  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Snapshot> cached_;
  std::shared_ptr<const Snapshot> uncached_;
};

TEST_F(CachedRecommenderTest, ASecondPlainCallIsAnsweredFromTheCache) {
  for (int user = 0; user < model_->num_users(); ++user) {
    SCOPED_TRACE(testing::Message() << "user row " << user);
    const v1::RecommendRequest request = Plain(UserId(user), 10);
    RecommendTrace computed_trace;
    RecommendTrace first;
    RecommendTrace second;
    const std::string computed = Answer(uncached_, request, &computed_trace);
    EXPECT_EQ(Answer(cached_, request, &first), computed);
    EXPECT_FALSE(first.cached);
    EXPECT_GE(first.ranking_seconds, 0);
    EXPECT_EQ(Answer(cached_, request, &second), computed);
    EXPECT_TRUE(second.cached);
    EXPECT_LT(second.retrieval_seconds, 0) << "no stage runs";
    EXPECT_LT(second.ranking_seconds, 0);
    EXPECT_FALSE(computed_trace.cached);
  }
  EXPECT_EQ(cached_->result_cache().bytes(),
            model_->num_users() * ResultCache::ListBytes(10));
  EXPECT_EQ(uncached_->result_cache().bytes(), 0);
}

TEST_F(CachedRecommenderTest, OnlyTheKeptCountIsAnsweredFromTheCache) {
  const std::string user = UserId(4);
  RecommendTrace trace;
  Answer(cached_, Plain(user, 10), &trace);
  for (const int count : {3, 11, 100}) {
    SCOPED_TRACE(testing::Message() << "count " << count);
    RecommendTrace other;
    RecommendTrace computed;
    EXPECT_EQ(Answer(cached_, Plain(user, count), &other),
              Answer(uncached_, Plain(user, count), &computed));
    EXPECT_FALSE(other.cached);
  }
  // The list of ten is still the one kept.
  RecommendTrace again;
  Answer(cached_, Plain(user, 10), &again);
  EXPECT_TRUE(again.cached);
}

TEST_F(CachedRecommenderTest, RequestsWithRecentMoviesOrFiltersAreComputed) {
  const std::string user = UserId(5);
  std::vector<v1::RecommendRequest> requests;
  v1::RecommendRequest recent = Plain(user, 10);
  recent.add_recent_movie_ids(cached_->MovieId(3));
  requests.push_back(recent);
  v1::RecommendRequest genre = Plain(user, 10);
  genre.mutable_filter()->add_genres(model_->catalog.genre_names[1]);
  requests.push_back(genre);
  v1::RecommendRequest years = Plain(user, 10);
  years.mutable_filter()->set_min_release_year(1990);
  requests.push_back(years);
  v1::RecommendRequest exclude = Plain(user, 10);
  exclude.mutable_filter()->add_exclude_movie_ids(cached_->MovieId(8));
  requests.push_back(exclude);
  v1::RecommendRequest include = Plain(user, 10);
  for (int row = 0; row < 40; ++row) {
    include.mutable_filter()->add_include_movie_ids(cached_->MovieId(row));
  }
  requests.push_back(include);
  v1::RecommendRequest visitor;  // an unknown user with recent movies
  visitor.add_recent_movie_ids(cached_->MovieId(2));
  visitor.add_recent_movie_ids(cached_->MovieId(9));
  requests.push_back(visitor);
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(testing::Message()
                 << "request " << i << ": " << requests[i].ShortDebugString());
    for (int call = 0; call < 2; ++call) {
      RecommendTrace trace;
      RecommendTrace computed;
      EXPECT_EQ(Answer(cached_, requests[i], &trace),
                Answer(uncached_, requests[i], &computed));
      EXPECT_FALSE(trace.cached);
    }
  }
  EXPECT_EQ(cached_->result_cache().bytes(), 0) << "none of them kept a list";
  // The user's plain list, computed now, is the unfiltered one.
  RecommendTrace first;
  RecommendTrace computed;
  EXPECT_EQ(Answer(cached_, Plain(user, 10), &first),
            Answer(uncached_, Plain(user, 10), &computed));
  EXPECT_FALSE(first.cached);
}

TEST_F(CachedRecommenderTest, TheFallbackIsNotCached) {
  for (int call = 0; call < 2; ++call) {
    RecommendTrace trace;
    Answer(cached_, Plain("424242", 10), &trace);
    EXPECT_TRUE(trace.fallback);
    EXPECT_FALSE(trace.cached);
  }
  EXPECT_EQ(cached_->result_cache().bytes(), 0);
}

// A batch keeps the lists it computes and answers from those kept: each
// answer is still the single call's, byte for byte.
TEST_F(CachedRecommenderTest, BatchesKeepAndUseTheSameLists) {
  v1::RecommendBatchRequest batch;
  for (int user = 0; user < model_->num_users(); ++user) {
    *batch.add_requests() = Plain(UserId(user), 10);
  }
  v1::RecommendRequest filtered = Plain(UserId(0), 10);
  filtered.mutable_filter()->add_exclude_movie_ids(cached_->MovieId(8));
  *batch.add_requests() = filtered;
  const Recommender recommender([this] { return cached_; });
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(testing::Message() << "round " << round);
    v1::RecommendBatchResponse response;
    std::vector<RecommendTrace> traces;
    ASSERT_OK(recommender.RecommendBatch(batch, &response, &traces));
    ASSERT_EQ(response.responses_size(), batch.requests_size());
    ASSERT_EQ(traces.size(), static_cast<size_t>(batch.requests_size()));
    for (int i = 0; i < batch.requests_size(); ++i) {
      RecommendTrace computed;
      EXPECT_EQ(response.responses(i).SerializeAsString(),
                Answer(uncached_, batch.requests(i), &computed))
          << "request " << i;
      const bool plain = i < model_->num_users();
      EXPECT_EQ(traces[i].cached, plain && round == 1) << "request " << i;
    }
  }
}

// Each version has its own cache: a new version computes its lists again.
TEST_F(CachedRecommenderTest, ANewVersionStartsWithAnEmptyCache) {
  std::shared_ptr<const Snapshot> current = cached_;
  const Recommender recommender([&current] { return current; });
  const v1::RecommendRequest request = Plain(UserId(1), 10);
  v1::RecommendResponse response;
  RecommendTrace trace;
  ASSERT_OK(recommender.Recommend(request, &response, &trace));
  ASSERT_OK(recommender.Recommend(request, &response, &trace));
  EXPECT_TRUE(trace.cached);
  current = std::make_shared<const Snapshot>(4, model_, ScorerOptions(),
                                             int64_t{1} << 20);
  response.Clear();
  trace = RecommendTrace();
  ASSERT_OK(recommender.Recommend(request, &response, &trace));
  EXPECT_FALSE(trace.cached);
  EXPECT_EQ(response.model_version(), "4");
}

}  // namespace
}  // namespace movierec
