// Tests of the training view of MovieLens (data/dataset.h): the seeded
// random split, the explicit split from files, and UserMovies.
#include "data/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::RatingFileText;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::WriteFile;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using Key = std::tuple<int32_t, int32_t, float, int64_t>;

std::vector<Key> Keys(const std::vector<Interaction>& interactions) {
  std::vector<Key> keys;
  for (const Interaction& x : interactions) {
    keys.emplace_back(x.user, x.movie, x.rating, x.timestamp);
  }
  return keys;
}

std::vector<Key> Sorted(std::vector<Key> keys) {
  std::sort(keys.begin(), keys.end());
  return keys;
}

// `n` interactions that are all different.
std::vector<Interaction> Numbered(int n) {
  std::vector<Interaction> out;
  for (int i = 0; i < n; ++i) out.push_back({i % 7, i, 1.0f + i % 5, i});
  return out;
}

TEST(MakeRandomSplitTest, SameSeedSameSplit) {
  const MovieLens data = SmallMovieLens(20, 40, 10, /*seed=*/3);
  ASSERT_OK_AND_ASSIGN(const Dataset a, MakeRandomSplit(data, 42));
  ASSERT_OK_AND_ASSIGN(const Dataset b, MakeRandomSplit(data, 42));
  EXPECT_EQ(Keys(a.train), Keys(b.train));
  EXPECT_EQ(Keys(a.test), Keys(b.test));
}

TEST(MakeRandomSplitTest, DifferentSeedDifferentSplit) {
  const MovieLens data = SmallMovieLens(20, 40, 10, /*seed=*/3);
  ASSERT_OK_AND_ASSIGN(const Dataset a, MakeRandomSplit(data, 1));
  ASSERT_OK_AND_ASSIGN(const Dataset b, MakeRandomSplit(data, 2));
  EXPECT_NE(Sorted(Keys(a.test)), Sorted(Keys(b.test)));
}

TEST(MakeRandomSplitTest, SizesAreRoundedEightyTwenty) {
  for (const int n : {1, 2, 3, 7, 10, 13, 200, 203}) {
    MovieLens data = SmallMovieLens(20, 40, 0);
    data.ratings = test::SyntheticRatings(data, 20, /*seed=*/9);
    data.ratings.resize(static_cast<size_t>(n));
    ASSERT_OK_AND_ASSIGN(const Dataset split, MakeRandomSplit(data, 42));
    const auto train = static_cast<size_t>(std::llround(0.8 * n));
    EXPECT_EQ(split.train.size(), train) << "n = " << n;
    EXPECT_EQ(split.test.size(), static_cast<size_t>(n) - train) << "n = " << n;
  }
}

TEST(MakeRandomSplitTest, TrainAndTestPartitionAllRatings) {
  const MovieLens data = SmallMovieLens(20, 40, 10, /*seed=*/5);
  ASSERT_OK_AND_ASSIGN(const Dataset split, MakeRandomSplit(data, 7));
  ASSERT_OK_AND_ASSIGN(const std::vector<Interaction> all,
                       ToInteractions(data.ratings, KnownIds::Of(data)));
  std::vector<Key> both = Keys(split.train);
  const std::vector<Key> test = Keys(split.test);
  both.insert(both.end(), test.begin(), test.end());
  EXPECT_EQ(Sorted(both), Sorted(Keys(all)));
  // The catalogue is kept, without its ratings.
  EXPECT_EQ(split.num_users(), 20);
  EXPECT_EQ(split.num_movies(), 40);
  EXPECT_THAT(split.catalog.ratings, IsEmpty());
}

TEST(MakeRandomSplitTest, RowsAreCatalogueRows) {
  const MovieLens data = SmallMovieLens(5, 9, 4);
  ASSERT_OK_AND_ASSIGN(const Dataset split, MakeRandomSplit(data, 42));
  for (const Interaction& x : split.train) {
    // SmallCatalog's ids: users 3 * row + 1, movies 2 * row + 1.
    const bool found = std::any_of(
        data.ratings.begin(), data.ratings.end(), [&](const Rating& r) {
          return r.user_id == 3 * x.user + 1 && r.movie_id == 2 * x.movie + 1 &&
                 r.timestamp == x.timestamp;
        });
    EXPECT_TRUE(found) << "row pair " << x.user << ", " << x.movie;
  }
}

TEST(MakeRandomSplitTest, RejectsBadFractionAndUnknownIds) {
  const MovieLens data = SmallMovieLens(5, 9, 4);
  for (const double fraction : {0.0, 1.0, -0.1, 1.5, std::nan("")}) {
    EXPECT_TRUE(IsError(MakeRandomSplit(data, 1, fraction).status(),
                        absl::StatusCode::kInvalidArgument, {"test fraction"}))
        << fraction;
  }
  MovieLens bad = data;
  bad.ratings[0].movie_id = 1000;
  EXPECT_TRUE(IsError(MakeRandomSplit(bad, 1).status(),
                      absl::StatusCode::kInvalidArgument, {"movie 1000"}));
}

TEST(RandomSplitTest, SplitsByFraction) {
  const SplitParts parts = RandomSplit(Numbered(10), 3, 0.3);
  EXPECT_EQ(parts.kept.size(), 7u);
  EXPECT_EQ(parts.held_out.size(), 3u);
  std::vector<Key> both = Keys(parts.kept);
  for (const Key& key : Keys(parts.held_out)) both.push_back(key);
  EXPECT_EQ(Sorted(both), Sorted(Keys(Numbered(10))));
}

TEST(RandomSplitTest, IsDeterministicAndShuffles) {
  const SplitParts a = RandomSplit(Numbered(100), 11, 0.2);
  const SplitParts b = RandomSplit(Numbered(100), 11, 0.2);
  const SplitParts c = RandomSplit(Numbered(100), 12, 0.2);
  EXPECT_EQ(Keys(a.kept), Keys(b.kept));
  EXPECT_EQ(Keys(a.held_out), Keys(b.held_out));
  EXPECT_NE(Keys(a.held_out), Keys(c.held_out));
  // Not simply the last 20 in input order.
  std::vector<Key> tail = Keys(Numbered(100));
  tail.erase(tail.begin(), tail.begin() + 80);
  EXPECT_NE(Sorted(Keys(a.held_out)), Sorted(tail));
}

TEST(RandomSplitTest, HandlesEmptyInput) {
  const SplitParts parts = RandomSplit({}, 1, 0.2);
  EXPECT_THAT(parts.kept, IsEmpty());
  EXPECT_THAT(parts.held_out, IsEmpty());
}

class ExplicitSplitTest : public ::testing::Test {
 protected:
  ExplicitSplitTest() : data_(SmallMovieLens(6, 10, 5)) {}
  ScopedTempDir dir_;
  MovieLens data_;
};

TEST_F(ExplicitSplitTest, ReadsTrainAndTestFiles) {
  const std::vector<Rating> train(data_.ratings.begin(),
                                  data_.ratings.begin() + 20);
  const std::vector<Rating> test(data_.ratings.begin() + 20,
                                 data_.ratings.end());
  WriteFile(dir_.File("u1.base"), RatingFileText(train));
  WriteFile(dir_.File("u1.test"), RatingFileText(test));
  ASSERT_OK_AND_ASSIGN(
      const Dataset split,
      MakeExplicitSplit(data_, dir_.File("u1.base"), dir_.File("u1.test")));
  ASSERT_EQ(split.train.size(), 20u);
  ASSERT_EQ(split.test.size(), data_.ratings.size() - 20);
  EXPECT_THAT(split.catalog.ratings, IsEmpty());
  EXPECT_EQ(split.num_movies(), 10);
  // File order is kept and ids become rows.
  const Rating& first_test = test.front();
  EXPECT_EQ(split.test.front().user, (first_test.user_id - 1) / 3);
  EXPECT_EQ(split.test.front().movie, (first_test.movie_id - 1) / 2);
  EXPECT_EQ(split.test.front().rating, first_test.rating);
  EXPECT_EQ(split.test.front().timestamp, first_test.timestamp);
}

TEST_F(ExplicitSplitTest, NamesTheBadFileAndLine) {
  WriteFile(dir_.File("train"), RatingFileText(data_.ratings));
  WriteFile(dir_.File("test"), "1\t1\t3\t5\n1\t2\t3\t5\n");  // movie 2: no
  EXPECT_TRUE(IsError(
      MakeExplicitSplit(data_, dir_.File("train"), dir_.File("test")).status(),
      absl::StatusCode::kInvalidArgument,
      {absl::StrCat(dir_.File("test"), ":2:"), "unknown movie id 2"}));
  EXPECT_TRUE(
      IsError(MakeExplicitSplit(data_, dir_.File("train"), dir_.File("missing"))
                  .status(),
              absl::StatusCode::kNotFound, {dir_.File("missing")}));
}

TEST(UserMoviesTest, SortedDistinctPerUser) {
  const std::vector<Interaction> interactions = {{0, 5}, {2, 1}, {0, 3}, {0, 5},
                                                 {2, 9}, {0, 1}, {2, 1}};
  const UserMovies movies(4, interactions);
  EXPECT_EQ(movies.num_users(), 4);
  EXPECT_THAT(movies.Of(0), ElementsAre(1, 3, 5));
  EXPECT_THAT(movies.Of(1), IsEmpty());
  EXPECT_THAT(movies.Of(2), ElementsAre(1, 9));
  EXPECT_THAT(movies.Of(3), IsEmpty());
  EXPECT_THAT(movies.offsets(), ElementsAre(0, 3, 3, 5, 5));
  EXPECT_THAT(movies.movies(), ElementsAre(1, 3, 5, 1, 9));
}

TEST(UserMoviesTest, Contains) {
  const UserMovies movies(3, {{0, 4}, {0, 2}, {2, 7}});
  EXPECT_TRUE(movies.Contains(0, 2));
  EXPECT_TRUE(movies.Contains(0, 4));
  EXPECT_FALSE(movies.Contains(0, 3));
  EXPECT_FALSE(movies.Contains(0, 7));
  EXPECT_FALSE(movies.Contains(1, 2));
  EXPECT_TRUE(movies.Contains(2, 7));
}

TEST(UserMoviesTest, DefaultIsEmpty) {
  const UserMovies movies;
  EXPECT_EQ(movies.num_users(), 0);
  EXPECT_THAT(movies.movies(), IsEmpty());
}

TEST(ToInteractionsTest, RejectsUnknownIds) {
  const MovieLens data = SmallMovieLens(3, 4, 2);
  std::vector<Rating> ratings = data.ratings;
  ratings.push_back({/*user_id=*/2, /*movie_id=*/1, 3.0f, 0});  // user 2: no
  EXPECT_TRUE(IsError(ToInteractions(ratings, KnownIds::Of(data)).status(),
                      absl::StatusCode::kInvalidArgument, {"user 2"}));
}

}  // namespace
}  // namespace movierec
