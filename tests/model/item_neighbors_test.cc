// Tests of the co-occurrence neighbours (model/item_neighbors.h) on a
// hand-made set of users whose cosine similarities are computed by hand.
#include "model/item_neighbors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

// Four users over five movies; movie 4 has no users.
//   user 0: 0 1 2     movie 0: users 0 1 3   movie 2: users 0 2
//   user 1: 0 1       movie 1: users 0 1 2   movie 3: users 2 3
//   user 2: 1 2 3
//   user 3: 0 3
// sim(i, j) = |common users| / sqrt(|users of i| |users of j|):
//   (0,1) 2/3   (0,2) 1/sqrt6   (0,3) 1/sqrt6
//   (1,2) 2/sqrt6   (1,3) 1/sqrt6   (2,3) 1/2
UserMovies HandMadeUsers() {
  const std::vector<std::vector<int32_t>> movies = {
      {0, 1, 2}, {0, 1}, {1, 2, 3}, {0, 3}};
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u < 4; ++u) {
    for (const int32_t m : movies[u]) interactions.push_back({u, m, 4, 0});
  }
  // A repeated rating counts once.
  interactions.push_back({0, 1, 5, 1});
  return UserMovies(4, interactions);
}

const double kS6 = 1 / std::sqrt(6.0);

// The full similarity of each pair, by hand.
double HandSimilarity(int i, int j) {
  static const double kSim[5][5] = {
      {0, 2.0 / 3, kS6, kS6, 0}, {2.0 / 3, 0, 2 * kS6, kS6, 0},
      {kS6, 2 * kS6, 0, 0.5, 0}, {kS6, kS6, 0.5, 0, 0},
      {0, 0, 0, 0, 0},
  };
  return kSim[i][j];
}

std::vector<int32_t> Rows(absl::Span<const int32_t> span) {
  return {span.begin(), span.end()};
}

TEST(ItemNeighborsTest, KeepsEveryCoRatedMovieWithItsCosineSimilarity) {
  const ItemNeighbors neighbors = ItemNeighbors::Build(HandMadeUsers(), 5, 10);
  const std::vector<std::vector<int32_t>> expected = {
      {1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}, {}};
  for (int32_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(testing::Message() << "movie " << i);
    ASSERT_EQ(Rows(neighbors.neighbors(i)), expected[i]);
    ASSERT_EQ(neighbors.similarities(i).size(), expected[i].size());
    for (size_t n = 0; n < expected[i].size(); ++n) {
      EXPECT_NEAR(neighbors.similarities(i)[n],
                  HandSimilarity(i, expected[i][n]), 1e-6)
          << "neighbour " << expected[i][n];
    }
  }
}

TEST(ItemNeighborsTest, KeepsTheKMostSimilarSortedByRowLowerRowOnTies) {
  const ItemNeighbors neighbors = ItemNeighbors::Build(HandMadeUsers(), 5, 2);
  // Movie 0: 1 (2/3), then 2 and 3 tie at 1/sqrt6: the lower row stays.
  EXPECT_EQ(Rows(neighbors.neighbors(0)), (std::vector<int32_t>{1, 2}));
  // Movie 1: 2 (2/sqrt6) and 0 (2/3), listed by row.
  EXPECT_EQ(Rows(neighbors.neighbors(1)), (std::vector<int32_t>{0, 2}));
  EXPECT_NEAR(neighbors.similarities(1)[0], 2.0 / 3, 1e-6);
  EXPECT_NEAR(neighbors.similarities(1)[1], 2 * kS6, 1e-6);
  // Movie 2: 1 (2/sqrt6) and 3 (1/2).
  EXPECT_EQ(Rows(neighbors.neighbors(2)), (std::vector<int32_t>{1, 3}));
  // Movie 3: 2 (1/2), then 0 and 1 tie: 0.
  EXPECT_EQ(Rows(neighbors.neighbors(3)), (std::vector<int32_t>{0, 2}));
  EXPECT_TRUE(neighbors.neighbors(4).empty());

  const ItemNeighbors none = ItemNeighbors::Build(HandMadeUsers(), 5, 0);
  for (int32_t i = 0; i < 5; ++i) EXPECT_TRUE(none.neighbors(i).empty());
}

// Larger random data: the invariants of every list.
TEST(ItemNeighborsTest, ListsAreSortedSelfFreeAndAtMostK) {
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u < 40; ++u) {
    for (int32_t k = 0; k < 9; ++k) {
      interactions.push_back({u, (u * 7 + k * k * 3) % 50, 3, 0});
    }
  }
  const UserMovies seen(40, interactions);
  for (const int k : {1, 3, 8, 100}) {
    const ItemNeighbors neighbors = ItemNeighbors::Build(seen, 50, k);
    for (int32_t i = 0; i < 50; ++i) {
      const absl::Span<const int32_t> rows = neighbors.neighbors(i);
      const absl::Span<const float> sims = neighbors.similarities(i);
      ASSERT_EQ(rows.size(), sims.size());
      EXPECT_LE(rows.size(), static_cast<size_t>(k));
      for (size_t n = 0; n < rows.size(); ++n) {
        EXPECT_NE(rows[n], i) << "movie " << i << " is its own neighbour";
        if (n > 0) {
          EXPECT_LT(rows[n - 1], rows[n]) << "movie " << i;
        }
        EXPECT_GT(sims[n], 0);
        EXPECT_LE(sims[n], 1.0f + 1e-6f);
      }
    }
  }
}

TEST(ItemNeighborsTest, AffinitySumsOverTheHistoryAndKeepsTheClosest) {
  const ItemNeighbors neighbors = ItemNeighbors::Build(HandMadeUsers(), 5, 10);
  // Movie 0 against history {1, 3}: (2/3 + 1/sqrt6) / sqrt2, closest 2/3.
  ItemNeighbors::Affinity a = neighbors.AffinityTo(0, {1, 3});
  EXPECT_NEAR(a.sum, (2.0 / 3 + kS6) / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(a.closest, 2.0 / 3, 1e-6);
  // A history movie that is no neighbour (4) adds nothing but counts in the
  // normalisation; the movie itself is no neighbour of itself.
  a = neighbors.AffinityTo(0, {0, 1, 4});
  EXPECT_NEAR(a.sum, (2.0 / 3) / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(a.closest, 2.0 / 3, 1e-6);
  // Movie 2 against everything else.
  a = neighbors.AffinityTo(2, {0, 1, 3, 4});
  EXPECT_NEAR(a.sum, (kS6 + 2 * kS6 + 0.5) / 2.0, 1e-6);
  EXPECT_NEAR(a.closest, 2 * kS6, 1e-6);
  // A movie without neighbours.
  a = neighbors.AffinityTo(4, {0, 1, 2});
  EXPECT_EQ(a.sum, 0);
  EXPECT_EQ(a.closest, 0);
}

TEST(ItemNeighborsTest, AffinityOnlyCountsKeptNeighbours) {
  const ItemNeighbors neighbors = ItemNeighbors::Build(HandMadeUsers(), 5, 1);
  // Movie 0 keeps only movie 1.
  const ItemNeighbors::Affinity a = neighbors.AffinityTo(0, {2, 3});
  EXPECT_EQ(a.sum, 0);
  EXPECT_EQ(a.closest, 0);
}

TEST(ItemNeighborsTest, EmptyHistoryOrEmptyIndexGivesZeros) {
  const ItemNeighbors neighbors = ItemNeighbors::Build(HandMadeUsers(), 5, 10);
  for (int32_t i = 0; i < 5; ++i) {
    const ItemNeighbors::Affinity a = neighbors.AffinityTo(i, {});
    EXPECT_EQ(a.sum, 0) << i;
    EXPECT_EQ(a.closest, 0) << i;
  }
  const ItemNeighbors empty;
  const ItemNeighbors::Affinity a = empty.AffinityTo(3, {1, 2});
  EXPECT_EQ(a.sum, 0);
  EXPECT_EQ(a.closest, 0);
  // No users at all: every list empty.
  const ItemNeighbors no_users = ItemNeighbors::Build(UserMovies(3, {}), 4, 5);
  for (int32_t i = 0; i < 4; ++i) EXPECT_TRUE(no_users.neighbors(i).empty());
}

// The definition, as a merge of two sorted lists.
ItemNeighbors::Affinity MergedAffinity(const ItemNeighbors& index,
                                       int32_t movie,
                                       absl::Span<const int32_t> history,
                                       int num_movies) {
  ItemNeighbors::Affinity a;
  if (history.empty() || movie < 0 || movie >= num_movies) return a;
  const auto rows = index.neighbors(movie);
  const auto sims = index.similarities(movie);
  size_t i = 0, h = 0;
  while (i < rows.size() && h < history.size()) {
    if (rows[i] < history[h]) {
      ++i;
    } else if (history[h] < rows[i]) {
      ++h;
    } else {
      a.sum += sims[i];
      a.closest = std::max(a.closest, sims[i++]);
      ++h;
    }
  }
  a.sum /= std::sqrt(static_cast<float>(history.size()));
  return a;
}

// The list form against the definition, for histories of every size (none,
// one, many, the whole catalogue), on the hand-made index, an empty one,
// and movies outside the index; calls leave no marks behind for the next
// (the same thread's table is reused); AffinityTo is the list form's.
TEST(ItemNeighborsTest, AffinitiesToMatchesTheMergeDefinition) {
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u < 60; ++u) {
    for (int32_t k = 0; k < 12; ++k) {
      interactions.push_back({u, (u * 11 + k * k * 5 + k) % 70, 3, 0});
    }
  }
  const UserMovies seen(60, interactions);
  const ItemNeighbors big = ItemNeighbors::Build(seen, 70, 15);
  const ItemNeighbors hand = ItemNeighbors::Build(HandMadeUsers(), 5, 10);
  const ItemNeighbors empty;
  std::vector<int32_t> all(70);
  for (int32_t i = 0; i < 70; ++i) all[i] = i;
  std::vector<std::vector<int32_t>> histories = {
      {}, {3}, {0, 1, 4}, {2, 5, 9, 33, 68}, all};
  for (int32_t u = 0; u < 60; u += 7) {
    const auto h = seen.Of(u);
    histories.emplace_back(h.begin(), h.end());
  }
  int nonzero = 0;
  const std::vector<std::pair<const ItemNeighbors*, int>> indexes = {
      {&big, 70}, {&hand, 5}, {&empty, 0}};
  for (const auto& [index, num_movies] : indexes) {
    for (const std::vector<int32_t>& history : histories) {
      std::vector<int32_t> movies = {69, 0, 12, 4, 40, 4, 70, 1000};
      std::vector<ItemNeighbors::Affinity> got(movies.size());
      index->AffinitiesTo(movies, history, got.data());
      for (size_t i = 0; i < movies.size(); ++i) {
        const ItemNeighbors::Affinity want =
            MergedAffinity(*index, movies[i], history, num_movies);
        EXPECT_NEAR(got[i].sum, want.sum, 1e-6f * (1 + want.sum)) << movies[i];
        EXPECT_EQ(got[i].closest, want.closest) << movies[i];
        const ItemNeighbors::Affinity one =
            index->AffinityTo(movies[i], history);
        EXPECT_EQ(one.sum, got[i].sum);
        EXPECT_EQ(one.closest, got[i].closest);
        nonzero += want.sum > 0;
      }
    }
  }
  EXPECT_GT(nonzero, 20);
}

// Above 65,536 movies the history is marked in a bit table rather than a
// float table: the same affinities. The co-ratings above, their movies
// spread over a catalogue of 69,791 (movie m becomes row 997 m).
TEST(ItemNeighborsTest,
     AffinitiesToMatchesTheMergeDefinitionOnALargeCatalogue) {
  constexpr int32_t kSpread = 997;
  constexpr int kMovies = 70 * kSpread + 1;
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u < 60; ++u) {
    for (int32_t k = 0; k < 12; ++k) {
      interactions.push_back(
          {u, ((u * 11 + k * k * 5 + k) % 70) * kSpread, 3, 0});
    }
  }
  const UserMovies seen(60, interactions);
  const ItemNeighbors wide = ItemNeighbors::Build(seen, kMovies, 15);
  std::vector<std::vector<int32_t>> histories = {
      {}, {3 * kSpread}, {0, 1, 4 * kSpread, 63, 64, 65 * kSpread}};
  for (int32_t u = 0; u < 60; u += 7) {
    const auto h = seen.Of(u);
    histories.emplace_back(h.begin(), h.end());
  }
  int nonzero = 0;
  for (int pass = 0; pass < 2; ++pass) {  // the second: no marks left over
    for (const std::vector<int32_t>& history : histories) {
      const std::vector<int32_t> movies = {
          69 * kSpread, 0, 12 * kSpread, 4 * kSpread, 40 * kSpread,
          4 * kSpread,  1, kMovies - 1,  kMovies,     -1};
      std::vector<ItemNeighbors::Affinity> got(movies.size());
      wide.AffinitiesTo(movies, history, got.data());
      for (size_t i = 0; i < movies.size(); ++i) {
        const ItemNeighbors::Affinity want =
            MergedAffinity(wide, movies[i], history, kMovies);
        EXPECT_NEAR(got[i].sum, want.sum, 1e-6f * (1 + want.sum)) << movies[i];
        EXPECT_EQ(got[i].closest, want.closest) << movies[i];
        nonzero += want.sum > 0;
      }
    }
  }
  EXPECT_GT(nonzero, 10);
}

// Users whose movies overlap enough for lists of many neighbours.
UserMovies OverlappingUsers() {
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u < 60; ++u) {
    for (int32_t k = 0; k < 12; ++k) {
      interactions.push_back({u, (u * 11 + k * k * 5 + k) % 70, 3, 0});
    }
  }
  return UserMovies(60, interactions);
}

TEST(ItemNeighborsTest, TheBuildDoesNotDependOnTheThreadCount) {
  const UserMovies seen = OverlappingUsers();
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const ItemNeighbors one = ItemNeighbors::Build(seen, 70, 15);
  omp_set_num_threads(3);
  const ItemNeighbors three = ItemNeighbors::Build(seen, 70, 15);
  omp_set_num_threads(threads);
  EXPECT_EQ(one.offsets(), three.offsets());
  EXPECT_EQ(one.rows(), three.rows());
  EXPECT_EQ(one.all_similarities(), three.all_similarities());
}

TEST(ItemNeighborsTest, TransposedListsEachMovieUnderTheMoviesItsListHolds) {
  // k = 2: the lists are 0 -> {1, 2} (2 ties with 3: the lower row),
  // 1 -> {0, 2}, 2 -> {1, 3}, 3 -> {0, 2} (0 ties with 1), 4 -> {}.
  const ItemNeighbors table = ItemNeighbors::Build(HandMadeUsers(), 5, 2);
  const ItemNeighbors transposed = table.Transposed();
  ASSERT_EQ(transposed.num_movies(), 5);
  EXPECT_EQ(transposed.rows().size(), table.rows().size());
  for (int32_t j = 0; j < 5; ++j) {
    std::vector<int32_t> holders;
    std::vector<float> sims;
    for (int32_t i = 0; i < 5; ++i) {
      const auto list = table.neighbors(i);
      const auto at = std::find(list.begin(), list.end(), j);
      if (at == list.end()) continue;
      holders.push_back(i);
      sims.push_back(table.similarities(i)[at - list.begin()]);
    }
    SCOPED_TRACE(j);
    EXPECT_EQ(Rows(transposed.neighbors(j)), holders);  // sorted by row
    EXPECT_EQ(std::vector<float>(transposed.similarities(j).begin(),
                                 transposed.similarities(j).end()),
              sims);
  }
  // Movie 2 is among the two closest of 0, 1 and 3, but keeps two of its
  // own.
  EXPECT_EQ(Rows(transposed.neighbors(2)), (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ(Rows(table.neighbors(2)), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(Rows(transposed.neighbors(4)), std::vector<int32_t>{});
  // Transposing twice gives the table back.
  const ItemNeighbors back = transposed.Transposed();
  EXPECT_EQ(back.offsets(), table.offsets());
  EXPECT_EQ(back.rows(), table.rows());
  EXPECT_EQ(back.all_similarities(), table.all_similarities());
}

TEST(ItemNeighborsTest, FromPartsRestoresTheTable) {
  const ItemNeighbors built = ItemNeighbors::Build(OverlappingUsers(), 70, 15);
  ASSERT_OK_AND_ASSIGN(const ItemNeighbors restored,
                       ItemNeighbors::FromParts(built.offsets(), built.rows(),
                                                built.all_similarities(), 70));
  for (int32_t m = 0; m < 70; ++m) {
    EXPECT_EQ(std::vector<int32_t>(restored.neighbors(m).begin(),
                                   restored.neighbors(m).end()),
              std::vector<int32_t>(built.neighbors(m).begin(),
                                   built.neighbors(m).end()));
  }
  const std::vector<int32_t> history = {1, 5, 9, 33};
  const std::vector<int32_t> movies = {0, 2, 40, 69};
  std::vector<ItemNeighbors::Affinity> a(movies.size()), b(movies.size());
  built.AffinitiesTo(movies, history, a.data());
  restored.AffinitiesTo(movies, history, b.data());
  for (size_t i = 0; i < movies.size(); ++i) {
    EXPECT_EQ(a[i].sum, b[i].sum);
    EXPECT_EQ(a[i].closest, b[i].closest);
  }
}

// Every way a stored table can be wrong is refused, naming the problem.
TEST(ItemNeighborsTest, FromPartsRefusesEveryInconsistency) {
  // Movie 0: neighbours 1 and 2; movie 1: neighbour 0; movie 2: none.
  const std::vector<int64_t> offsets = {0, 2, 3, 3};
  const std::vector<int32_t> rows = {1, 2, 0};
  const std::vector<float> sims = {0.5f, 1.0f, 0.5f};
  ASSERT_TRUE(ItemNeighbors::FromParts(offsets, rows, sims, 3).ok());
  struct Case {
    const char* what;
    std::vector<int64_t> offsets;
    std::vector<int32_t> rows;
    std::vector<float> sims;
    int num_movies;
    const char* message;
  };
  const float nan = std::nanf("");
  const std::vector<Case> cases = {
      {"one offset short", {0, 2, 3}, rows, sims, 3, "offsets"},
      {"not starting at 0", {1, 2, 3, 3}, rows, sims, 3, "offsets"},
      {"ending past the rows", {0, 2, 3, 4}, rows, sims, 3, "offsets"},
      {"fewer similarities", offsets, rows, {0.5f, 1.0f}, 3, "similarities"},
      {"decreasing", {0, 3, 2, 3}, rows, sims, 3, "decrease at movie row 1"},
      {"row out of range", offsets, {1, 3, 0}, sims, 3, "is row 3"},
      {"negative row", offsets, {-1, 2, 0}, sims, 3, "is row -1"},
      {"itself", offsets, {0, 2, 0}, sims, 3, "movie row 0 is row 0"},
      {"unsorted", offsets, {2, 1, 0}, sims, 3, "increasing order"},
      {"repeated", offsets, {1, 1, 0}, sims, 3, "increasing order"},
      {"NaN", offsets, rows, {0.5f, nan, 0.5f}, 3, "similarity 1"},
      {"zero", offsets, rows, {0.0f, 1.0f, 0.5f}, 3, "outside (0, 1]"},
      {"above one", offsets, rows, {0.5f, 1.5f, 0.5f}, 3, "outside (0, 1]"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<ItemNeighbors> got =
        ItemNeighbors::FromParts(c.offsets, c.rows, c.sims, c.num_movies);
    ASSERT_FALSE(got.ok()) << c.what;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
        << c.what;
    EXPECT_THAT(std::string(got.status().message()),
                ::testing::HasSubstr("item neighbours"))
        << c.what;
    EXPECT_THAT(std::string(got.status().message()),
                ::testing::HasSubstr(c.message))
        << c.what << ": " << got.status();
  }
}

}  // namespace
}  // namespace movierec
