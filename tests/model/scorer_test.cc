// Tests of the Scorer's per-request pieces (model/scorer.h): user contexts
// of known users and of visitors, exclusions under a MovieFilter, the stages
// composed as Recommend composes them, and MovieSimilarity.
#include "model/scorer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "model/ease.h"
#include "model/movie_similarity.h"
#include "model/reranker.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::AddRankingStage;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

std::vector<int32_t> MovieRows(const std::vector<ScoredMovie>& movies) {
  std::vector<int32_t> rows;
  for (const ScoredMovie& m : movies) rows.push_back(m.movie);
  return rows;
}

class ScorerStagesTest : public ::testing::TestWithParam<int> {};

// Recommend(user) is exactly ForUser + RetrieveCandidates + Rank, with no
// ranking stage, a rating model, or a reranker.
TEST_P(ScorerStagesTest, RecommendIsTheStagesComposed) {
  Model model = MakeRandomModel(SmallMovieLens(8, 120, 15),
                                SmallRetrievalConfig(true), 4);
  if (GetParam() > 0) AddRankingStage(&model, GetParam() == 2, 5);
  const Scorer scorer(std::make_shared<const Model>(std::move(model)));
  for (int user = 0; user < scorer.model().num_users(); ++user) {
    const UserContext context = scorer.ForUser(user);
    const std::vector<ScoredMovie> staged =
        scorer.Rank(context,
                    scorer.RetrieveCandidates(context, context.history,
                                              scorer.NumToRetrieve(9)),
                    9);
    EXPECT_EQ(MovieRows(scorer.Recommend(user, 9)), MovieRows(staged));
  }
}

INSTANTIATE_TEST_SUITE_P(Stages, ScorerStagesTest, ::testing::Values(0, 1, 2));

// The features a candidate's catalogue entry gives (popularity, genres,
// release year), computed here from the Movie itself, are exactly the
// Scorer's (which reads them from its own compact per-movie table), for
// dated and undated movies of one and two genres.
TEST(ScorerTest, CandidateFeaturesFollowTheCatalogueExactly) {
  Model model =
      MakeRandomModel(SmallMovieLens(6, 70, 12), SmallRetrievalConfig(true), 3);
  AddRankingStage(&model, /*with_reranker=*/true, 4);
  const auto shared = std::make_shared<const Model>(std::move(model));
  const Scorer scorer(shared);
  double ratings = 0;
  for (const int32_t count : shared->popularity) ratings += count;
  const auto log_mean = static_cast<float>(
      std::log1p(ratings / static_cast<double>(shared->popularity.size())));
  int undated = 0;
  int two_genres = 0;
  for (int user = 0; user < shared->num_users(); ++user) {
    const UserContext context = scorer.ForUser(user);
    const CandidateSet set =
        scorer.RetrieveCandidates(context, context.history, 40);
    const std::vector<Candidate>& candidates = set.movies;
    RowMatrix features;
    scorer.CandidateFeatures(context, set, &features);
    ASSERT_EQ(features.rows(), static_cast<Eigen::Index>(candidates.size()));
    const float activity =
        std::log1p(static_cast<float>(context.history.size()));
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Movie& movie = shared->catalog.movies[candidates[i].row];
      const auto f = features.row(static_cast<Eigen::Index>(i));
      SCOPED_TRACE(testing::Message()
                   << "user " << user << ", movie row " << candidates[i].row);
      const float popularity =
          std::log1p(static_cast<float>(
              shared->popularity[static_cast<size_t>(candidates[i].row)])) -
          log_mean;
      EXPECT_EQ(f(kRelativePopularity), popularity);
      EXPECT_EQ(f(kPopularityActivity), popularity * activity);
      float overlap = 0;
      for (const int32_t g : movie.genres) overlap += context.genre_profile(g);
      EXPECT_EQ(f(kGenreAffinity),
                overlap / std::sqrt(static_cast<float>(movie.genres.size())));
      two_genres += movie.genres.size() == 2;
      if (movie.release_year > 0) {
        EXPECT_EQ(
            f(kReleaseYear),
            std::clamp(static_cast<float>(movie.release_year - 1990) / 10.0f,
                       -6.0f, 1.0f));
        EXPECT_EQ(f(kYearDistance),
                  std::abs(static_cast<float>(movie.release_year) -
                           context.mean_release_year) /
                      10.0f);
      } else {
        ++undated;
        EXPECT_EQ(f(kReleaseYear), 0.0f);
        EXPECT_EQ(f(kYearDistance), 0.0f);
      }
    }
  }
  EXPECT_GT(undated, 0);
  EXPECT_GT(two_genres, 0);
}

TEST(ScorerTest, ForUserHoldsTheUsersRows) {
  const auto model = std::make_shared<const Model>(
      MakeRandomModel(SmallMovieLens(5, 40, 8), SmallRetrievalConfig(true), 1));
  const Scorer scorer(model);
  const UserContext context = scorer.ForUser(3);
  EXPECT_EQ(context.user, 3);
  EXPECT_EQ(context.query, model->user_vectors.row(3));
  const absl::Span<const int32_t> seen = model->seen.Of(3);
  EXPECT_EQ(context.history, std::vector<int32_t>(seen.begin(), seen.end()));
  RowVector shares = RowVector::Zero(5);
  for (const int32_t m : seen) {
    for (const int32_t g : model->catalog.movies[m].genres) shares(g) += 1;
  }
  shares /= static_cast<float>(seen.size());
  EXPECT_TRUE(context.genre_profile.isApprox(shares));
  double years = 0;
  int dated = 0;
  for (const int32_t m : seen) {
    const int year = model->catalog.movies[m].release_year;
    years += year;
    dated += year > 0;
  }
  ASSERT_GT(dated, 0);
  EXPECT_FLOAT_EQ(context.mean_release_year, static_cast<float>(years / dated));
  EXPECT_EQ(context.rating_vector.size(), 0);  // no rating model
}

// A model whose user towers see only the history (no id, no demographics)
// encodes a visitor with a user's history exactly as that user: fold-in is
// the same function as training-time encoding, and the visitor ranks alike.
TEST(ScorerTest, AVisitorWithAUsersHistoryIsThatUser) {
  RetrievalConfig config = SmallRetrievalConfig(true);
  config.features.user_id = false;
  config.features.user_demographics = false;
  Model model = MakeRandomModel(SmallMovieLens(6, 80, 12), config, 2);
  AddRankingStage(&model, /*with_reranker=*/true, 3);
  RatingConfig rating = model.rating->config();
  rating.features.user_id = false;
  rating.features.user_demographics = false;
  rating.features.user_history = true;
  model.rating.emplace(rating, model.catalog);
  Rng rng(4);
  model.rating->InitRandom(rng);
  const auto shared = std::make_shared<const Model>(std::move(model));
  const Scorer scorer(shared);
  EXPECT_EQ(scorer.visitor_fold_in(), FoldIn::kUserTower);
  for (int user = 0; user < shared->num_users(); ++user) {
    const UserContext known = scorer.ForUser(user);
    const absl::Span<const int32_t> seen = shared->seen.Of(user);
    // In another order, with a repeat: the same visitor.
    std::vector<int32_t> watched(seen.rbegin(), seen.rend());
    watched.push_back(seen[0]);
    const UserContext visitor = scorer.ForVisitor(watched);
    EXPECT_EQ(visitor.user, -1);
    EXPECT_TRUE(visitor.query.isApprox(known.query, 1e-5f));
    EXPECT_TRUE(visitor.rating_vector.isApprox(known.rating_vector, 1e-5f));
    EXPECT_TRUE(visitor.genre_profile.isApprox(known.genre_profile, 1e-6f));
    EXPECT_FLOAT_EQ(visitor.mean_release_year, known.mean_release_year);
    EXPECT_EQ(visitor.history, known.history);
    const auto list = [&](const UserContext& c) {
      return MovieRows(scorer.Rank(
          c, scorer.RetrieveCandidates(c, c.history, scorer.NumToRetrieve(8)),
          8));
    };
    EXPECT_EQ(list(visitor), list(known)) << "user row " << user;
  }
}

// A small model with a reranker and both other candidate sources: an
// EASE^R table of `weights` per movie.
std::shared_ptr<const Model> ModelWithSources(int item_budget,
                                              int popular_budget) {
  Model model =
      MakeRandomModel(SmallMovieLens(8, 60, 15), SmallRetrievalConfig(true), 5);
  AddRankingStage(&model, /*with_reranker=*/true, 6);
  CandidateSources& sources = model.sources.emplace();
  sources.item_kind = "ease";
  sources.item_table = EaseNeighbors(model.seen, model.num_movies(), 5.0f, 6);
  sources.item_budget = item_budget;
  sources.popular_budget = popular_budget;
  return std::make_shared<const Model>(std::move(model));
}

// The known users of a ModelWithSources (whose weights outnumber an eighth
// of the catalogue: the item source selects over its whole score table),
// then a visitor of each movie that gives fewer weights than that (the
// source sums them in a hash table of the movies they touch and selects over
// those).
std::vector<UserContext> ContextsOfBothPaths(const Scorer& scorer) {
  const Model& model = scorer.model();
  std::vector<UserContext> contexts;
  for (int user = 0; user < model.num_users(); ++user) {
    contexts.push_back(scorer.ForUser(user));
  }
  // The weights each movie gives (the table is saved by the movie they
  // point to).
  const ItemNeighbors& table = model.sources->item_table;
  std::vector<int> given(static_cast<size_t>(model.num_movies()), 0);
  for (int32_t target = 0; target < model.num_movies(); ++target) {
    for (const int32_t from : table.neighbors(target)) ++given[from];
  }
  for (int32_t movie = 0; movie < model.num_movies(); ++movie) {
    if (given[movie] > 0 && given[movie] * 8 < model.num_movies()) {
      contexts.push_back(scorer.ForVisitor({movie}));
    }
  }
  return contexts;
}

// What retrieval and the sources must skip for `context`: its history and
// `exclude` (a request's filter).
std::vector<int32_t> ExcludedFor(const Scorer& scorer,
                                 const UserContext& context,
                                 std::vector<int32_t> exclude) {
  MovieFilter filter;
  filter.exclude = std::move(exclude);
  return scorer.Excluded(context.history, filter);
}

// The movies of `set` that the source `bit` proposed, sorted.
std::vector<int32_t> ProposedBy(const CandidateSet& set,
                                CandidateSourceBit bit) {
  std::vector<int32_t> movies;
  for (size_t i = 0; i < set.size(); ++i) {
    if (set.sources[i] & bit) movies.push_back(set.movies[i].row);
  }
  std::sort(movies.begin(), movies.end());
  return movies;
}

// The item source's score of `movie`, from the table as saved (by target).
float ItemScore(const ItemNeighbors& table, int32_t movie,
                absl::Span<const int32_t> history) {
  float sum = 0;
  const absl::Span<const int32_t> from = table.neighbors(movie);
  for (size_t e = 0; e < from.size(); ++e) {
    if (std::binary_search(history.begin(), history.end(), from[e])) {
      sum += table.similarities(movie)[e];
    }
  }
  return sum;
}

// The candidate set is retrieval's list, unchanged and first, then the best
// item_budget movies by the history's summed EASE^R weights and the
// popular_budget most popular ones, each movie once, none excluded, each
// marked with every source that proposed it; the features say the same.
// On both of the item source's paths (ContextsOfBothPaths).
TEST(ScorerSourcesTest, MergesRetrievalItemAndPopularCandidatesOnce) {
  constexpr int kItems = 4;
  constexpr int kPopular = 3;
  const auto model = ModelWithSources(kItems, kPopular);
  const Scorer scorer(model);
  const ItemNeighbors& table = model->sources->item_table;
  const std::vector<UserContext> contexts = ContextsOfBothPaths(scorer);
  ASSERT_GE(contexts.size(), static_cast<size_t>(model->num_users()) + 3);
  int appended = 0;
  int shared = 0;
  for (size_t c = 0; c < contexts.size(); ++c) {
    SCOPED_TRACE(testing::Message() << "context " << c);
    const UserContext& context = contexts[c];
    const std::vector<int32_t> excluded = ExcludedFor(scorer, context, {1, 7});
    const CandidateSet set = scorer.RetrieveCandidates(context, excluded, 10);
    const std::vector<Candidate> retrieved =
        scorer.RetrieveForQuery(context.query.data(), excluded, 10);
    ASSERT_EQ(set.retrieved, static_cast<int>(retrieved.size()));
    ASSERT_EQ(set.sources.size(), set.size());
    ASSERT_EQ(set.item_scores.size(), set.size());
    std::vector<int32_t> rows;
    for (size_t i = 0; i < set.size(); ++i) {
      const int32_t movie = set.movies[i].row;
      rows.push_back(movie);
      EXPECT_FALSE(std::binary_search(excluded.begin(), excluded.end(), movie));
      EXPECT_NEAR(set.item_scores[i], ItemScore(table, movie, context.history),
                  1e-5f);
      EXPECT_NEAR(set.movies[i].score,
                  model->movie_vectors.row(movie).dot(context.query), 1e-4f);
      if (i < retrieved.size()) {
        EXPECT_EQ(movie, retrieved[i].row);
        EXPECT_EQ(set.movies[i].score, retrieved[i].score);
        EXPECT_TRUE(set.sources[i] & kSourceRetrieval);
        if (set.sources[i] != kSourceRetrieval) ++shared;
      } else {
        EXPECT_FALSE(set.sources[i] & kSourceRetrieval);
        EXPECT_NE(set.sources[i], 0);
        ++appended;
      }
    }
    std::vector<int32_t> distinct = rows;
    std::sort(distinct.begin(), distinct.end());
    EXPECT_EQ(std::unique(distinct.begin(), distinct.end()), distinct.end());
    // What each source should have proposed, computed from the model.
    std::vector<std::pair<float, int32_t>> by_item;
    std::vector<int32_t> by_popularity;
    for (int32_t m = 0; m < model->num_movies(); ++m) {
      if (std::binary_search(excluded.begin(), excluded.end(), m)) continue;
      const float score = ItemScore(table, m, context.history);
      if (score > 0) by_item.emplace_back(-score, m);
      by_popularity.push_back(m);
    }
    std::sort(by_item.begin(), by_item.end());
    std::stable_sort(by_popularity.begin(), by_popularity.end(),
                     [&](int32_t a, int32_t b) {
                       return model->popularity[a] > model->popularity[b];
                     });
    std::vector<int32_t> want_items, want_popular;
    for (size_t i = 0; i < by_item.size() && i < kItems; ++i) {
      want_items.push_back(by_item[i].second);
    }
    want_popular.assign(by_popularity.begin(),
                        by_popularity.begin() + kPopular);
    std::sort(want_items.begin(), want_items.end());
    std::sort(want_popular.begin(), want_popular.end());
    EXPECT_EQ(ProposedBy(set, kSourceItems), want_items);
    EXPECT_EQ(ProposedBy(set, kSourcePopular), want_popular);
    // The features carry the sources, and a movie retrieval did not propose
    // ranks just past retrieval's list.
    RowMatrix features;
    scorer.CandidateFeatures(context, set, &features);
    const float per_history =
        1.0f / std::sqrt(static_cast<float>(context.history.size()));
    for (size_t i = 0; i < set.size(); ++i) {
      const auto f = features.row(static_cast<Eigen::Index>(i));
      EXPECT_EQ(f(kFromRetrieval), (set.sources[i] & kSourceRetrieval) ? 1 : 0);
      EXPECT_EQ(f(kFromItems), (set.sources[i] & kSourceItems) ? 1 : 0);
      EXPECT_EQ(f(kFromPopular), (set.sources[i] & kSourcePopular) ? 1 : 0);
      EXPECT_FLOAT_EQ(f(kItemSourceScore), set.item_scores[i] * per_history);
      if (static_cast<int>(i) >= set.retrieved) {
        EXPECT_FLOAT_EQ(f(kLogRank),
                        std::log1p(static_cast<float>(set.retrieved)));
      }
    }
    // Ranking reads the whole set.
    const std::vector<ScoredMovie> ranked = scorer.Rank(context, set, 5);
    ASSERT_EQ(ranked.size(), 5u);
    for (const ScoredMovie& m : ranked) {
      EXPECT_NE(std::find(rows.begin(), rows.end(), m.movie), rows.end());
    }
  }
  // The sources did add movies, and proposed some retrieval had.
  EXPECT_GT(appended, 0);
  EXPECT_GT(shared, 0);
}

// A filter that excludes more movies than a call's weights touch (every
// other movie of the catalogue): the item source's sparse path then checks
// each touched movie against the exclusions rather than looking each
// exclusion up. The same proposals as the definition's, none excluded.
TEST(ScorerSourcesTest, TheItemSourceLeavesOutAFiltersManyExclusions) {
  constexpr int kItems = 4;
  const auto model = ModelWithSources(kItems, 0);
  const Scorer scorer(model);
  const ItemNeighbors& table = model->sources->item_table;
  std::vector<int32_t> every_other;
  for (int32_t m = 1; m < model->num_movies(); m += 2) every_other.push_back(m);
  int proposed = 0;
  for (const UserContext& context : ContextsOfBothPaths(scorer)) {
    const std::vector<int32_t> excluded =
        ExcludedFor(scorer, context, every_other);
    const CandidateSet set = scorer.RetrieveCandidates(context, excluded, 3);
    for (const Candidate& c : set.movies) {
      EXPECT_FALSE(std::binary_search(excluded.begin(), excluded.end(), c.row))
          << c.row;
    }
    std::vector<std::pair<float, int32_t>> by_item;
    for (int32_t m = 0; m < model->num_movies(); ++m) {
      if (std::binary_search(excluded.begin(), excluded.end(), m)) continue;
      const float score = ItemScore(table, m, context.history);
      if (score > 0) by_item.emplace_back(-score, m);
    }
    std::sort(by_item.begin(), by_item.end());
    std::vector<int32_t> want;
    for (size_t i = 0; i < by_item.size() && i < kItems; ++i) {
      want.push_back(by_item[i].second);
    }
    std::sort(want.begin(), want.end());
    EXPECT_EQ(ProposedBy(set, kSourceItems), want);
    proposed += static_cast<int>(want.size());
  }
  EXPECT_GT(proposed, 0);
}

// With a budget as large as the catalogue, the item source proposes exactly
// the movies the history's weights favour (a positive sum), not excluded:
// none it is indifferent to or that the history's negative weights demote.
// On both of its paths (ContextsOfBothPaths).
TEST(ScorerSourcesTest, TheItemSourceProposesOnlyMoviesOfPositiveScore) {
  const auto model = ModelWithSources(/*item_budget=*/60, /*popular_budget=*/0);
  ASSERT_EQ(model->num_movies(), 60);
  const Scorer scorer(model);
  const ItemNeighbors& table = model->sources->item_table;
  const std::vector<UserContext> contexts = ContextsOfBothPaths(scorer);
  ASSERT_GT(contexts.size(), static_cast<size_t>(model->num_users()));
  int demoted = 0;
  for (size_t c = 0; c < contexts.size(); ++c) {
    SCOPED_TRACE(testing::Message() << "context " << c);
    const UserContext& context = contexts[c];
    const std::vector<int32_t> excluded = ExcludedFor(scorer, context, {2, 3});
    const CandidateSet set = scorer.RetrieveCandidates(context, excluded, 5);
    std::vector<int32_t> want;
    for (int32_t m = 0; m < model->num_movies(); ++m) {
      if (std::binary_search(excluded.begin(), excluded.end(), m)) continue;
      const float score = ItemScore(table, m, context.history);
      if (score > 0) want.push_back(m);
      demoted += score < 0 ? 1 : 0;
    }
    EXPECT_EQ(ProposedBy(set, kSourceItems), want);
    EXPECT_FALSE(want.empty());
  }
  // Some movies were demoted, so the test saw the source leave them out.
  EXPECT_GT(demoted, 0);
}

// A history longer than kMaxItemSourceHistory is read as an even sample of
// that many of its movies, the sums scaled by history / sample; one of
// exactly that many is read whole.
TEST(ScorerSourcesTest, TheItemSourceReadsAnEvenSampleOfALongHistory) {
  constexpr int kItems = 6;
  constexpr int kMax = Scorer::kMaxItemSourceHistory;
  Model model = MakeRandomModel(SmallMovieLens(20, 2 * kMax, 60),
                                SmallRetrievalConfig(true), 9);
  AddRankingStage(&model, /*with_reranker=*/true, 10);
  CandidateSources& sources = model.sources.emplace();
  sources.item_kind = "ease";
  sources.item_table = EaseNeighbors(model.seen, model.num_movies(), 5.0f, 20);
  sources.item_budget = kItems;
  const auto shared = std::make_shared<const Model>(std::move(model));
  const Scorer scorer(shared);
  const ItemNeighbors& table = shared->sources->item_table;
  for (const int watched : {kMax, kMax + kMax / 2}) {
    SCOPED_TRACE(testing::Message() << watched << " movies watched");
    std::vector<int32_t> movies(static_cast<size_t>(watched));
    for (int i = 0; i < watched; ++i) movies[static_cast<size_t>(i)] = i;
    const UserContext visitor = scorer.ForVisitor(movies);
    std::vector<int32_t> read;
    for (int k = 0; k < std::min(watched, kMax); ++k) {
      read.push_back(movies[static_cast<size_t>(
          static_cast<int64_t>(k) * watched / std::min(watched, kMax))]);
    }
    const float scale = static_cast<float>(watched) /
                        static_cast<float>(std::min(watched, kMax));
    const CandidateSet set =
        scorer.RetrieveCandidates(visitor, visitor.history, 10);
    std::vector<std::pair<float, int32_t>> by_item;
    for (int32_t m = watched; m < shared->num_movies(); ++m) {
      const float score = ItemScore(table, m, read);
      if (score > 0) by_item.emplace_back(-score, m);
    }
    std::sort(by_item.begin(), by_item.end());
    ASSERT_GE(by_item.size(), static_cast<size_t>(kItems));
    std::vector<int32_t> want, got;
    for (int i = 0; i < kItems; ++i) want.push_back(by_item[i].second);
    for (size_t i = 0; i < set.size(); ++i) {
      EXPECT_NEAR(set.item_scores[i],
                  ItemScore(table, set.movies[i].row, read) * scale, 1e-4f);
      if (set.sources[i] & kSourceItems) got.push_back(set.movies[i].row);
    }
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
  }
}

// Budgets of 0 add nothing (the item scores stay, as features); a model
// without sources is retrieval alone; a batch gives each context's set.
TEST(ScorerSourcesTest, ZeroBudgetsNoSourcesAndBatchesAgree) {
  const auto model = ModelWithSources(0, 0);
  const Scorer scorer(model);
  Model plain_model = *model;
  plain_model.sources.reset();
  const Scorer plain(std::make_shared<const Model>(std::move(plain_model)));
  const auto full = ModelWithSources(5, 2);
  const Scorer with_sources(full);
  std::vector<UserContext> contexts;
  std::vector<CandidateSet> one_by_one;
  float item_total = 0;
  for (int user = 0; user < model->num_users(); ++user) {
    const UserContext context = scorer.ForUser(user);
    const CandidateSet set =
        scorer.RetrieveCandidates(context, context.history, 8);
    EXPECT_EQ(set.retrieved, static_cast<int>(set.size()));
    for (const float score : set.item_scores) item_total += score;
    const CandidateSet alone =
        plain.RetrieveCandidates(context, context.history, 8);
    EXPECT_EQ(alone.size(), set.size());
    for (const float score : alone.item_scores) EXPECT_EQ(score, 0);
    contexts.push_back(with_sources.ForUser(user));
    one_by_one.push_back(with_sources.RetrieveCandidates(
        contexts.back(), contexts.back().history, 8));
  }
  EXPECT_GT(item_total, 0);
  std::vector<const UserContext*> pointers;
  std::vector<absl::Span<const int32_t>> excluded;
  std::vector<int> counts;
  for (const UserContext& c : contexts) {
    pointers.push_back(&c);
    excluded.emplace_back(c.history);
    counts.push_back(8);
  }
  const std::vector<CandidateSet> batch =
      with_sources.RetrieveCandidatesBatch(pointers, excluded, counts);
  ASSERT_EQ(batch.size(), one_by_one.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(batch[i].size(), one_by_one[i].size());
    EXPECT_EQ(batch[i].sources, one_by_one[i].sources);
    EXPECT_EQ(batch[i].item_scores, one_by_one[i].item_scores);
    for (size_t j = 0; j < batch[i].size(); ++j) {
      EXPECT_EQ(batch[i].movies[j].row, one_by_one[i].movies[j].row);
    }
  }
}

TEST(ScorerTest, IdOnlyVisitorsAreTheMeanOfTheirMovies) {
  const auto model = std::make_shared<const Model>(MakeRandomModel(
      SmallMovieLens(5, 40, 8), SmallRetrievalConfig(false), 1));
  const Scorer scorer(model);
  EXPECT_EQ(scorer.visitor_fold_in(), FoldIn::kMeanOfMovies);
  const UserContext visitor = scorer.ForVisitor({2, 9});
  const RowVector mean =
      (model->movie_vectors.row(2) + model->movie_vectors.row(9)) / 2;
  EXPECT_TRUE(visitor.query.isApprox(mean));
  EXPECT_EQ(visitor.history, (std::vector<int32_t>{2, 9}));
  // Nobody: zero vectors, no history.
  const UserContext nobody = scorer.ForVisitor({});
  EXPECT_EQ(nobody.query.squaredNorm(), 0);
  EXPECT_TRUE(nobody.history.empty());
}

TEST(ScorerTest, ExcludedIsTheSortedUnionOfHistoryExclusionsAndFilter) {
  const auto model = std::make_shared<const Model>(MakeRandomModel(
      SmallMovieLens(3, 30, 5), SmallRetrievalConfig(false), 1));
  const Scorer scorer(model);
  const std::vector<int32_t> history = {1, 4, 20};
  EXPECT_EQ(scorer.Excluded(history, {}), history);

  MovieFilter filter;
  filter.exclude = {25, 4, 25, 0};
  EXPECT_EQ(scorer.Excluded(history, filter),
            (std::vector<int32_t>{0, 1, 4, 20, 25}));

  filter = {};
  filter.genres = {2};  // "Comedy"
  filter.min_release_year = 1950;
  const std::vector<int32_t> excluded = scorer.Excluded(history, filter);
  EXPECT_TRUE(std::is_sorted(excluded.begin(), excluded.end()));
  for (int m = 0; m < model->num_movies(); ++m) {
    const Movie& movie = model->catalog.movies[m];
    const bool admitted =
        std::count(movie.genres.begin(), movie.genres.end(), 2) > 0 &&
        movie.release_year >= 1950;
    const bool in_history = std::count(history.begin(), history.end(), m) > 0;
    EXPECT_EQ(std::binary_search(excluded.begin(), excluded.end(), m),
              !admitted || in_history)
        << "movie row " << m;
  }
}

TEST(ScorerTest, AnAllowListExcludesEveryOtherMovie) {
  const auto model = std::make_shared<const Model>(MakeRandomModel(
      SmallMovieLens(3, 30, 5), SmallRetrievalConfig(false), 1));
  const Scorer scorer(model);
  const std::vector<int32_t> history = {1, 4, 20};
  MovieFilter filter;
  filter.include = {7, 4, 7, 12, 29};  // 4 is in the history
  filter.exclude = {12};
  std::vector<int32_t> want;
  for (int32_t m = 0; m < model->num_movies(); ++m) {
    if (m != 7 && m != 29) want.push_back(m);
  }
  EXPECT_EQ(scorer.Excluded(history, filter), want);

  // The allow-list combines with the genre filter by AND.
  filter.exclude.clear();
  filter.genres = {model->catalog.movies[7].genres.front()};
  const std::vector<int32_t> excluded = scorer.Excluded(history, filter);
  EXPECT_FALSE(std::binary_search(excluded.begin(), excluded.end(), 7));
  for (const int32_t m : {12, 29}) {
    EXPECT_EQ(std::binary_search(excluded.begin(), excluded.end(), m),
              !filter.Admits(model->catalog.movies[m]))
        << "movie row " << m;
  }
  EXPECT_EQ(excluded.size(),
            static_cast<size_t>(model->num_movies()) - 3 +
                (filter.Admits(model->catalog.movies[12]) ? 0 : 1) +
                (filter.Admits(model->catalog.movies[29]) ? 0 : 1));
}

TEST(MovieFilterTest, Admits) {
  Movie movie;
  movie.genres = {1, 3};
  movie.release_year = 1977;
  MovieFilter filter;
  EXPECT_TRUE(filter.Admits(movie));
  EXPECT_FALSE(filter.restricts_catalogue());
  filter.genres = {2, 3};
  EXPECT_TRUE(filter.Admits(movie));
  filter.genres = {2};
  EXPECT_FALSE(filter.Admits(movie));
  filter.genres.clear();
  filter.min_release_year = 1977;
  filter.max_release_year = 1977;
  EXPECT_TRUE(filter.Admits(movie));
  filter.max_release_year = 1976;
  EXPECT_FALSE(filter.Admits(movie));
  filter.min_release_year = 0;
  filter.max_release_year = 1980;
  EXPECT_TRUE(filter.Admits(movie));
  movie.release_year = 0;  // unknown: out whenever a bound is set
  EXPECT_FALSE(filter.Admits(movie));
  filter.max_release_year = 0;
  EXPECT_TRUE(filter.Admits(movie));
}

TEST(MovieSimilarityTest, NeighboursByCosineWithoutTheBias) {
  Model model =
      MakeRandomModel(SmallMovieLens(3, 20, 5), SmallRetrievalConfig(true), 6);
  // Movie 7 points the way of movie 3, twice as long, with another bias:
  // the most similar, at cosine 1.
  const auto dim = model.movie_vectors.cols() - 1;
  model.movie_vectors.row(7).head(dim) =
      2 * model.movie_vectors.row(3).head(dim);
  model.movie_vectors(7, dim) = model.movie_vectors(3, dim) + 5;
  model.movie_vectors.row(11).setZero();
  const MovieSimilarity similarity(model);
  const std::vector<Candidate> nearest = similarity.Nearest(3, 19, {});
  ASSERT_EQ(nearest.size(), 19u);
  EXPECT_EQ(nearest[0].row, 7);
  EXPECT_NEAR(nearest[0].score, 1.0f, 1e-5);
  for (const Candidate& c : nearest) {
    EXPECT_NE(c.row, 3);
    if (c.row == 11) {
      EXPECT_EQ(c.score, 0);
    }
  }
  const std::vector<Candidate> skipping = similarity.Nearest(3, 5, {1, 7});
  ASSERT_EQ(skipping.size(), 5u);
  for (const Candidate& c : skipping) {
    EXPECT_NE(c.row, 7);
    EXPECT_NE(c.row, 1);
    EXPECT_NE(c.row, 3);
  }
  EXPECT_TRUE(similarity.Nearest(3, 0, {}).empty());
}

}  // namespace
}  // namespace movierec
