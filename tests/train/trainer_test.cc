// Tests of the whole offline run (train/trainer.h) on small synthetic data
// with small, fast configurations derived from the default preset: explicit
// splits, reproducibility, provenance, the agreement of the served top 10
// (a known user's and a visitor's) with the evaluator's, the metrics' keys
// and ranges, and cold start.
#include "train/trainer.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "data/features.h"
#include "data/movielens.h"
#include "model/bundle.h"
#include "model/scorer.h"
#include "server/recommender.h"
#include "server/snapshot.h"
#include "tests/test_util.h"
#include "train/config_json.h"
#include "train/quality_gate.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::movierec::test::IsError;
using ::movierec::test::RatingFileText;
using ::movierec::test::ScopedEnv;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::WriteMovieLensFiles;

// The stages a configuration trains.
enum class Stages { kRetrievalOnly, kRating, kRatingAndReranker };

std::string StagesName(Stages stages) {
  switch (stages) {
    case Stages::kRetrievalOnly:
      return "retrieval_only";
    case Stages::kRating:
      return "rating";
    case Stages::kRatingAndReranker:
      return "rating_and_reranker";
  }
  return "";
}

// The default preset, shrunk to seconds on the synthetic catalogue; the
// candidate list keeps the server's default size (ScorerOptions).
TrainConfig SmallConfig(Stages stages) {
  absl::StatusOr<TrainConfig> config = PresetConfig("default");
  EXPECT_TRUE(config.ok()) << config.status();
  absl::Status merged = MergeConfigJson(R"({
      "retrieval": {"model": {"embedding_dim": 6, "init_scale": 0.1},
                    "batch_size": 64, "epochs": 4, "patience": 2},
      "rating": {"model": {"embedding_dim": 4}, "batch_size": 64, "epochs": 4,
                 "patience": 2},
      "reranker": {"epochs": 4, "folds": 2, "batch_lists": 4}
  })",
                                        &*config);
  EXPECT_TRUE(merged.ok()) << merged;
  if (stages == Stages::kRating) {
    merged = MergeConfigJson(
        R"({"validation_fraction": 0, "reranker": {"enabled": false}})",
        &*config);
    EXPECT_TRUE(merged.ok()) << merged;
  }
  if (stages == Stages::kRetrievalOnly) {
    merged = MergeConfigJson(
        R"({"rating": {"enabled": false}, "reranker": {"enabled": false}})",
        &*config);
    EXPECT_TRUE(merged.ok()) << merged;
  }
  EXPECT_TRUE(ValidateConfig(*config).ok());
  return *config;
}

Dataset SmallDataset(uint64_t seed = 3) {
  absl::StatusOr<Dataset> dataset =
      MakeRandomSplit(SmallMovieLens(/*num_users=*/30, /*num_movies=*/40,
                                     /*per_user=*/12, seed),
                      seed);
  EXPECT_TRUE(dataset.ok()) << dataset.status();
  return *std::move(dataset);
}

TrainOutput Train(const TrainConfig& config, const Dataset& dataset) {
  Progress silent = Progress::Silent();
  absl::StatusOr<TrainOutput> output = TrainModel(config, dataset, &silent);
  EXPECT_TRUE(output.ok()) << output.status();
  return output.ok() ? *std::move(output) : TrainOutput{};
}

// The distinct movie rows of `user` in `interactions`, sorted.
std::vector<int32_t> MoviesOf(const std::vector<Interaction>& interactions,
                              int user) {
  std::set<int32_t> movies;
  for (const Interaction& x : interactions) {
    if (x.user == user) movies.insert(x.movie);
  }
  return {movies.begin(), movies.end()};
}

int UsersWithRatings(const std::vector<Interaction>& interactions) {
  std::set<int32_t> users;
  for (const Interaction& x : interactions) users.insert(x.user);
  return static_cast<int>(users.size());
}

TEST(TrainModelTest, RefusesAnInvalidConfigOrAnEmptyTrainingSet) {
  TrainConfig config = SmallConfig(Stages::kRetrievalOnly);
  config.retrieval.epochs = 0;
  Progress silent = Progress::Silent();
  const Dataset dataset = SmallDataset();
  EXPECT_TRUE(IsError(TrainModel(config, dataset, &silent).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"retrieval.epochs"}));
  Dataset empty = dataset;
  empty.train.clear();
  EXPECT_TRUE(IsError(
      TrainModel(SmallConfig(Stages::kRetrievalOnly), empty, &silent).status(),
      absl::StatusCode::kInvalidArgument, {"training set is empty"}));
}

// How many weights each movie adds to a call of the item source: its
// entries in the table, which is indexed by the movie a weight points to.
std::vector<int> WeightsFrom(const ItemNeighbors& table) {
  std::vector<int> out(static_cast<size_t>(table.num_movies()), 0);
  for (const int32_t from : table.rows()) ++out[from];
  return out;
}

// Above kMaxEaseMovies the item source's weights are co-occurrence cosines:
// each movie keeps its own k closest, as EASE^R's weights do. Movie 0 is
// rated by every user, each of whom rates one other movie, so movie 0 is
// the only neighbour of every other movie; it must still add k weights to
// a call (the lowest rows, all tied), not one per movie in the catalogue.
TEST(BuildSourcesTest, EachMovieKeepsAtMostKWeightsInEitherKind) {
  const int num_movies = kMaxEaseMovies + 1;
  const int k = 5;
  std::vector<Interaction> interactions;
  for (int32_t u = 0; u + 1 < num_movies; ++u) {
    interactions.push_back({u, 0, 4, 0});
    interactions.push_back({u, u + 1, 4, 0});
  }
  const UserMovies seen(num_movies - 1, interactions);
  SourcesTraining config;
  config.item_weights = k;
  config.item_budget = 7;
  config.popular_budget = 3;
  const CandidateSources sources = BuildSources(config, seen, num_movies);
  EXPECT_EQ(sources.item_kind, "cooccurrence");
  EXPECT_EQ(sources.item_budget, 7);
  EXPECT_EQ(sources.popular_budget, 3);
  const ItemNeighbors& table = sources.item_table;
  ASSERT_EQ(table.num_movies(), num_movies);
  const std::vector<int> from = WeightsFrom(table);
  EXPECT_EQ(from[0], k);
  for (int32_t m = 1; m < num_movies; ++m) EXPECT_EQ(from[m], 1) << m;
  // Movie 0's weights point at movies 1-5, with cos = 1 / sqrt(4000 * 1);
  // every other movie's at movie 0.
  const auto neighbors = [&](int32_t movie) {
    const auto span = table.neighbors(movie);
    return std::vector<int32_t>(span.begin(), span.end());
  };
  for (int32_t target = 1; target <= k; ++target) {
    ASSERT_EQ(neighbors(target), std::vector<int32_t>{0});
    EXPECT_FLOAT_EQ(table.similarities(target)[0],
                    static_cast<float>(1 / std::sqrt(num_movies - 1.0)));
  }
  EXPECT_EQ(neighbors(k + 1), std::vector<int32_t>{});
  EXPECT_EQ(neighbors(0).size(), static_cast<size_t>(num_movies - 1));

  // The same users over 100 movies: EASE^R's weights, k a movie.
  std::vector<Interaction> fewer;
  for (const Interaction& i : interactions) {
    if (i.movie < 100) fewer.push_back(i);
  }
  const CandidateSources ease =
      BuildSources(config, UserMovies(num_movies - 1, fewer), 100);
  EXPECT_EQ(ease.item_kind, "ease");
  for (const int count : WeightsFrom(ease.item_table)) EXPECT_LE(count, k);

  config.item = false;
  config.popular = false;
  const CandidateSources none = BuildSources(config, seen, num_movies);
  EXPECT_FALSE(none.has_item_source());
  EXPECT_EQ(none.popular_budget, 0);
}

// Train and test from u.data-format files: user row 0 has test ratings only,
// user row 1 train ratings only, the others both.
TEST(TrainModelTest, ExplicitSplitSeenMoviesAreExactlyTheTrainFile) {
  const MovieLens data = SmallMovieLens(30, 40, 12, 5);
  ScopedTempDir dir;
  WriteMovieLensFiles(data, dir.path());
  std::vector<Rating> train_ratings, test_ratings;
  std::map<int32_t, int> count;
  for (const Rating& r : data.ratings) {
    const int k = count[r.user_id]++;
    const bool to_test = r.user_id == data.users[0].id ||
                         (r.user_id != data.users[1].id && k >= 9);
    (to_test ? test_ratings : train_ratings).push_back(r);
  }
  test::WriteFile(dir.File("train.tsv"), RatingFileText(train_ratings));
  test::WriteFile(dir.File("test.tsv"), RatingFileText(test_ratings));
  ASSERT_OK_AND_ASSIGN(MovieLens catalog, LoadCatalog(dir.path()));
  ASSERT_OK_AND_ASSIGN(
      const Dataset dataset,
      MakeExplicitSplit(std::move(catalog), dir.File("train.tsv"),
                        dir.File("test.tsv")));
  ASSERT_EQ(dataset.train.size(), train_ratings.size());
  ASSERT_EQ(dataset.test.size(), test_ratings.size());

  const TrainConfig config = SmallConfig(Stages::kRatingAndReranker);
  const TrainOutput output = Train(config, dataset);
  ASSERT_NE(output.model, nullptr);
  const Model& model = *output.model;
  ASSERT_EQ(model.num_users(), 30);
  const Scorer scorer(output.model);
  for (int user = 0; user < model.num_users(); ++user) {
    SCOPED_TRACE(testing::Message() << "user row " << user);
    const std::vector<int32_t> train_movies = MoviesOf(dataset.train, user);
    const absl::Span<const int32_t> seen = model.seen.Of(user);
    EXPECT_EQ(std::vector<int32_t>(seen.begin(), seen.end()), train_movies);
    const std::vector<ScoredMovie> top = scorer.Recommend(user, 10);
    EXPECT_EQ(top.size(), 10u);
    for (const ScoredMovie& m : top) {
      EXPECT_FALSE(
          std::binary_search(train_movies.begin(), train_movies.end(), m.movie))
          << "recommended movie row " << m.movie << " is in the train file";
    }
  }
  EXPECT_TRUE(model.seen.Of(0).empty());
  // The evaluation covers exactly the users with test ratings.
  const int test_users = UsersWithRatings(dataset.test);
  EXPECT_EQ(test_users, 29);
  EXPECT_EQ(output.evaluation.protocol_b.users, test_users);
  ASSERT_TRUE(output.evaluation.pipeline.has_value());
  EXPECT_EQ(output.evaluation.pipeline->users, test_users);
  EXPECT_EQ(output.metrics["data"]["train_ratings"], train_ratings.size());
  EXPECT_EQ(output.metrics["data"]["test_ratings"], test_ratings.size());
  // What the quality gate compares versions by (train/quality_gate.h).
  EXPECT_EQ(output.metrics["data"]["fingerprint"],
            EvaluationDataFingerprint(dataset));
}

// metrics.json without the wall-clock figures, which differ run to run.
nlohmann::json WithoutTimings(nlohmann::json metrics) {
  for (auto& [stage, training] : metrics["training"].items()) {
    training.erase("seconds");
    training.erase("gflops_per_second");
  }
  return metrics;
}

// The large-data configuration (AdaptToScale): without a refit, the final
// stages are the validation fits (their epochs are the stages' reports);
// the figures are over the sampled users only; every stage is metered.
TEST(TrainModelTest, WithoutRefitTheValidationFitsAreFinal) {
  TrainConfig config = SmallConfig(Stages::kRatingAndReranker);
  config.refit = false;
  config.evaluation_users = 5;
  config.retrieval.history_sample = 3;
  config.rating.history_sample = 3;
  const Dataset dataset = SmallDataset();
  Progress silent = Progress::Silent();
  StageMeter meter;
  absl::StatusOr<TrainOutput> output =
      TrainModel(config, dataset, &silent, &meter);
  ASSERT_TRUE(output.ok()) << output.status();
  // Validation scores are recorded only for runs on the validation part.
  EXPECT_GT(output->stages.at("retrieval").best_validation, 0);
  EXPECT_GT(output->stages.at("rating").best_validation, 0);
  EXPECT_LE(output->evaluation.protocol_b.users, 5);
  ASSERT_TRUE(output->evaluation.pipeline.has_value());
  EXPECT_LE(output->evaluation.pipeline->users, 5);
  std::vector<std::string> stages;
  for (const StageCost& cost : meter.stages()) {
    stages.push_back(cost.stage);
    EXPECT_GE(cost.seconds, 0) << cost.stage;
    EXPECT_GT(cost.peak_rss_bytes, 0) << cost.stage;
  }
  EXPECT_EQ(stages, (std::vector<std::string>{
                        "retrieval, validation fit", "rating, validation fit",
                        "reranker lists", "reranker training", "assemble",
                        "evaluation", "visitor evaluation"}));
  const nlohmann::json json = meter.Json();
  EXPECT_EQ(json["stages"].size(), stages.size());
  EXPECT_GT(json["peak_rss_mb"].get<double>(), 0);
  // With a refit the same run meters the refits as well, and its final
  // stages carry no validation score.
  config.refit = true;
  StageMeter refit_meter;
  output = TrainModel(config, dataset, &silent, &refit_meter);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(output->stages.at("retrieval").best_validation, 0);
  EXPECT_EQ(refit_meter.stages().size(), stages.size() + 2);
}

TEST(TrainModelTest, SameSeedGivesTheSameBundleAndMetrics) {
  const ScopedEnv epoch("SOURCE_DATE_EPOCH", "1700000000");
  const Dataset dataset = SmallDataset();
  TrainConfig config = SmallConfig(Stages::kRatingAndReranker);
  const TrainOutput a = Train(config, dataset);
  const TrainOutput b = Train(config, dataset);
  config.seed = 43;
  const TrainOutput c = Train(config, dataset);
  ASSERT_NE(a.model, nullptr);
  ASSERT_NE(b.model, nullptr);
  ASSERT_NE(c.model, nullptr);

  // The same weights, vectors and provenance...
  EXPECT_EQ(a.model->user_vectors, b.model->user_vectors);
  EXPECT_EQ(a.model->movie_vectors, b.model->movie_vectors);
  EXPECT_NE(a.model->user_vectors, c.model->user_vectors);
  ASSERT_TRUE(a.model->retrieval && b.model->retrieval);
  ASSERT_TRUE(a.model->rating && b.model->rating);
  ASSERT_TRUE(a.model->reranker && b.model->reranker);
  EXPECT_TRUE(MessageDifferencer::Equals(a.model->retrieval->ToProto(),
                                         b.model->retrieval->ToProto()));
  EXPECT_TRUE(MessageDifferencer::Equals(a.model->rating->ToProto(),
                                         b.model->rating->ToProto()));
  EXPECT_TRUE(MessageDifferencer::Equals(a.model->reranker->ToProto(),
                                         b.model->reranker->ToProto()));
  // ... and the same bytes.
  const std::string bytes = EncodeBundle(*a.model);
  EXPECT_TRUE(bytes == EncodeBundle(*b.model))
      << "two trainings with the same seed give different bundles";
  EXPECT_FALSE(bytes == EncodeBundle(*c.model))
      << "another seed gave the same model";
  EXPECT_EQ(WithoutTimings(a.metrics), WithoutTimings(b.metrics));
  EXPECT_NE(WithoutTimings(a.metrics), WithoutTimings(c.metrics));
  // Every stage ran and is reported.
  for (const char* stage : {"retrieval", "rating", "reranker"}) {
    EXPECT_TRUE(a.metrics["training"].contains(stage)) << stage;
  }
  ASSERT_OK_AND_ASSIGN(const Model decoded, DecodeBundle(bytes, "a"));
  EXPECT_EQ(decoded.created_at, "2023-11-14T22:13:20Z");
}

TEST(TrainModelTest, RetrievalMembersAreServedAsOneModel) {
  const Dataset dataset = SmallDataset();
  TrainConfig config = SmallConfig(Stages::kRetrievalOnly);
  config.retrieval.members = 1;
  const TrainOutput single = Train(config, dataset);
  config.retrieval.members = 3;
  const TrainOutput three = Train(config, dataset);
  ASSERT_NE(single.model, nullptr);
  ASSERT_NE(three.model, nullptr);
  const int dim = config.retrieval.model.embedding_dim;
  ASSERT_EQ(three.model->retrieval->config().embedding_dim, 3 * dim);
  // One bias column, the members' biases added.
  ASSERT_EQ(three.model->user_vectors.cols(), 3 * dim + 1);
  ASSERT_EQ(three.model->movie_vectors.cols(), 3 * dim + 1);
  // The first member is seeded as a single model is: its columns are that
  // model's; the others differ from it.
  EXPECT_EQ(RowMatrix(three.model->user_vectors.leftCols(dim)),
            RowMatrix(single.model->user_vectors.leftCols(dim)));
  EXPECT_EQ(RowMatrix(three.model->movie_vectors.leftCols(dim)),
            RowMatrix(single.model->movie_vectors.leftCols(dim)));
  EXPECT_NE(RowMatrix(three.model->user_vectors.middleCols(dim, dim)),
            RowMatrix(single.model->user_vectors.leftCols(dim)));
}

TEST(TrainModelTest, TheModelRecordsItsConfigAndCodeVersion) {
  const Dataset dataset = SmallDataset();
  TrainConfig config = SmallConfig(Stages::kRating);
  config.seed = 12345;
  const TrainOutput output = Train(config, dataset);
  ASSERT_NE(output.model, nullptr);
  ASSERT_OK_AND_ASSIGN(
      const TrainConfig recorded,
      ParseConfigJson<TrainConfig>(output.model->config_json, "recorded"));
  EXPECT_EQ(nlohmann::json(recorded), nlohmann::json(config));
  EXPECT_FALSE(output.model->code_version.empty());
  EXPECT_EQ(output.metrics["code_version"], output.model->code_version);
  EXPECT_EQ(output.metrics["config"], nlohmann::json(config));
  // And they survive the bundle.
  ASSERT_OK_AND_ASSIGN(const Model decoded,
                       DecodeBundle(EncodeBundle(*output.model), "bundle"));
  EXPECT_EQ(decoded.config_json, output.model->config_json);
  EXPECT_EQ(decoded.code_version, output.model->code_version);
}

// A catalogue and its ratings written in the generic format with string ids
// (user row 0 is "u-abc", the others "u<row>"; movies "sku-<hex of id>"),
// trained, written as a version and served: the API speaks the string ids
// only, in requests and in answers.
TEST(GenericFormatTest, TrainedModelServesStringIds) {
  const MovieLens data = SmallMovieLens(/*num_users=*/30, /*num_movies=*/40,
                                        /*per_user=*/12, 5);
  const auto item_key = [&](int32_t id) {
    return absl::StrCat("sku-", absl::Hex(id * 40503 + 7, absl::kZeroPad4));
  };
  const auto user_key = [](size_t row) {
    return row == 0 ? std::string("u-abc") : absl::StrCat("u", row);
  };
  std::map<int32_t, size_t> user_row;
  std::string items = "item_id,title,genres,year\n";
  for (const Movie& movie : data.movies) {
    std::vector<std::string> genres;
    for (const int32_t g : movie.genres) genres.push_back(data.genre_names[g]);
    absl::StrAppend(&items, item_key(movie.id), ",",
                    test::CsvQuoted(movie.title), ",",
                    absl::StrJoin(genres, "|"), ",",
                    movie.release_year == 0 ? std::string()
                                            : absl::StrCat(movie.release_year),
                    "\n");
  }
  for (size_t u = 0; u < data.users.size(); ++u) user_row[data.users[u].id] = u;
  std::string interactions = "user_id,item_id,rating,timestamp\n";
  for (const Rating& r : data.ratings) {
    absl::StrAppend(&interactions, user_key(user_row.at(r.user_id)), ",",
                    item_key(r.movie_id), ",", r.rating, ",", r.timestamp,
                    "\n");
  }
  ScopedTempDir dir;
  test::WriteFile(dir.File("items.csv"), items);
  test::WriteFile(dir.File("interactions.csv"), interactions);
  ASSERT_OK_AND_ASSIGN(MovieLens read,
                       LoadMovieLens(dir.path(), MovieLensFormat::kAuto));
  ASSERT_EQ(read.movies.size(), data.movies.size());
  ASSERT_OK_AND_ASSIGN(const Dataset dataset,
                       MakeRandomSplit(std::move(read), 3));
  // No users.csv: no demographics, as movierec-train then configures.
  ASSERT_FALSE(HasDemographics(dataset.catalog));
  TrainConfig config = SmallConfig(Stages::kRatingAndReranker);
  config.retrieval.model.features.user_demographics = false;
  config.rating.model.features.user_demographics = false;
  const TrainOutput output = Train(config, dataset);
  ASSERT_NE(output.model, nullptr);
  const std::string base = dir.File("models");
  ASSERT_OK_AND_ASSIGN(
      const int64_t version,
      WriteModelVersion(base, *output.model, output.metrics.dump()));
  ASSERT_OK_AND_ASSIGN(const std::shared_ptr<const Snapshot> snapshot,
                       Snapshot::Load(base, version));
  const Recommender recommender([&snapshot] { return snapshot; });
  const auto is_item = [&](const std::string& id) {
    return absl::StartsWith(id, "sku-") && snapshot->MovieRow(id) >= 0;
  };

  v1::RecommendRequest request;
  request.set_user_id("u-abc");
  request.set_count(5);
  v1::RecommendResponse response;
  ASSERT_OK(recommender.Recommend(request, &response));
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_KNOWN_USER);
  ASSERT_EQ(response.movies_size(), 5);
  for (const v1::ScoredMovie& movie : response.movies()) {
    EXPECT_TRUE(is_item(movie.movie_id())) << movie.movie_id();
  }
  // The internal integer ids are not the API's.
  EXPECT_EQ(snapshot->UserRow("1"), -1);
  EXPECT_EQ(snapshot->MovieRow("1"), -1);
  EXPECT_EQ(snapshot->UserRow("u-abc"), 0);

  // A visitor's recent movies, by string id.
  v1::RecommendRequest visitor;
  visitor.add_recent_movie_ids(response.movies(0).movie_id());
  visitor.add_recent_movie_ids(item_key(data.movies[3].id));
  visitor.set_count(5);
  v1::RecommendResponse visited;
  ASSERT_OK(recommender.Recommend(visitor, &visited));
  EXPECT_EQ(visited.personalization(), v1::PERSONALIZATION_RECENT_MOVIES);
  ASSERT_EQ(visited.movies_size(), 5);
  for (const v1::ScoredMovie& movie : visited.movies()) {
    EXPECT_TRUE(is_item(movie.movie_id())) << movie.movie_id();
    EXPECT_NE(movie.movie_id(), item_key(data.movies[3].id));
  }
  visitor.add_recent_movie_ids("sku-nope");
  EXPECT_TRUE(IsError(recommender.Recommend(visitor, &visited),
                      absl::StatusCode::kNotFound, {"\"sku-nope\""}));

  v1::SimilarMoviesRequest similar;
  similar.set_movie_id(item_key(data.movies[0].id));
  similar.set_count(4);
  v1::SimilarMoviesResponse neighbours;
  ASSERT_OK(recommender.SimilarMovies(similar, &neighbours));
  ASSERT_EQ(neighbours.movies_size(), 4);
  for (const v1::ScoredMovie& movie : neighbours.movies()) {
    EXPECT_TRUE(is_item(movie.movie_id())) << movie.movie_id();
    EXPECT_NE(movie.movie_id(), similar.movie_id());
  }
  similar.set_movie_id(absl::StrCat(data.movies[0].id));
  EXPECT_TRUE(IsError(recommender.SimilarMovies(similar, &neighbours),
                      absl::StatusCode::kNotFound,
                      {"is not in the catalogue"}));
}

class ServedVersusEvaluatedTest : public ::testing::TestWithParam<Stages> {};

// The server reads the written version back and answers through
// Recommender; the evaluator scores the in-memory model. Both must give the
// same ten movies in the same order with the same scores, for every user.
TEST_P(ServedVersusEvaluatedTest, ServedTopTenIsTheEvaluatorsTopTen) {
  const Dataset dataset = SmallDataset();
  const TrainConfig config = SmallConfig(GetParam());
  // The server retrieves --num_candidates (ScorerOptions' default) before
  // ranking; the evaluator config.reranker.list_size.
  ASSERT_EQ(config.reranker.list_size, ScorerOptions{}.num_candidates);
  const TrainOutput output = Train(config, dataset);
  ASSERT_NE(output.model, nullptr);
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(
      const int64_t version,
      WriteModelVersion(dir.path(), *output.model, output.metrics.dump()));
  EXPECT_EQ(test::ReadFileOrFail(
                absl::StrCat(dir.path(), "/", version, "/", kMetricsFileName)),
            output.metrics.dump());
  ASSERT_OK_AND_ASSIGN(const std::shared_ptr<const Snapshot> snapshot,
                       Snapshot::Load(dir.path(), version));
  const Recommender recommender([&snapshot] { return snapshot; });

  ScorerOptions options;
  options.num_candidates = config.reranker.list_size;
  const Scorer evaluator(output.model, options);
  const bool ranks = GetParam() != Stages::kRetrievalOnly;
  EXPECT_EQ(evaluator.ranks(), ranks);
  EXPECT_EQ(snapshot->scorer().ranks(), ranks);

  int reordered = 0;
  for (int user = 0; user < output.model->num_users(); ++user) {
    SCOPED_TRACE(testing::Message() << "user row " << user);
    v1::RecommendRequest request;
    request.set_user_id(absl::StrCat(output.model->catalog.users[user].id));
    request.set_count(10);
    v1::RecommendResponse response;
    ASSERT_OK(recommender.Recommend(request, &response));
    EXPECT_FALSE(response.fallback());
    const std::vector<ScoredMovie> expected = evaluator.Recommend(user, 10);
    ASSERT_EQ(response.movies_size(), static_cast<int>(expected.size()));
    ASSERT_EQ(expected.size(), 10u);
    for (size_t i = 0; i < expected.size(); ++i) {
      const v1::ScoredMovie& served = response.movies(static_cast<int>(i));
      EXPECT_EQ(
          served.movie_id(),
          absl::StrCat(output.model->catalog.movies[expected[i].movie].id))
          << "position " << i;
      EXPECT_EQ(served.score(), expected[i].score) << "position " << i;
      EXPECT_EQ(served.retrieval_score(), expected[i].retrieval_score)
          << "position " << i;
    }
    // Whether ranking changed the retrieval order.
    const std::vector<ScoredMovie> retrieved = evaluator.Retrieve(user, 10);
    for (size_t i = 0; i < retrieved.size(); ++i) {
      if (retrieved[i].movie != expected[i].movie) {
        ++reordered;
        break;
      }
    }
  }
  // With a ranking stage the served order is not just retrieval's.
  if (ranks) {
    EXPECT_GT(reordered, 0);
  } else {
    EXPECT_EQ(reordered, 0);
  }

  // Protocol B over the served lists is the evaluator's figure, exactly.
  const ListMetrics served =
      EvaluateProtocolB(output.model->num_users(), dataset.test, [&](int user) {
        v1::RecommendRequest request;
        request.set_user_id(absl::StrCat(output.model->catalog.users[user].id));
        v1::RecommendResponse response;
        std::vector<int32_t> rows;
        if (!recommender.Recommend(request, &response).ok()) return rows;
        for (const v1::ScoredMovie& m : response.movies()) {
          rows.push_back(snapshot->MovieRow(m.movie_id()));
        }
        return rows;
      });
  const ListMetrics& evaluated =
      ranks ? *output.evaluation.pipeline : output.evaluation.protocol_b;
  EXPECT_EQ(served.users, evaluated.users);
  EXPECT_EQ(served.recall_at_10, evaluated.recall_at_10);
  EXPECT_EQ(served.ndcg_at_10, evaluated.ndcg_at_10);
  EXPECT_EQ(served.hit_rate_at_10, evaluated.hit_rate_at_10);
}

// A visitor's figures are protocol B over what the server answers a request
// with their K most recent training movies as recent_movie_ids and no
// user_id, exactly.
TEST_P(ServedVersusEvaluatedTest, VisitorFiguresAreTheServersAnswers) {
  const Dataset dataset = SmallDataset();
  const TrainConfig config = SmallConfig(GetParam());
  const TrainOutput output = Train(config, dataset);
  ASSERT_NE(output.model, nullptr);
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(
      const int64_t version,
      WriteModelVersion(dir.path(), *output.model, output.metrics.dump()));
  ASSERT_OK_AND_ASSIGN(const std::shared_ptr<const Snapshot> snapshot,
                       Snapshot::Load(dir.path(), version));
  const Recommender recommender([&snapshot] { return snapshot; });
  const MovieLens& catalog = output.model->catalog;
  ASSERT_EQ(output.evaluation.visitors.size(), std::size(kVisitorKs));
  for (const VisitorEvaluation& v : output.evaluation.visitors) {
    SCOPED_TRACE(testing::Message() << "K = " << v.k);
    const std::vector<std::vector<int32_t>> recent =
        RecentMovies(output.model->num_users(), dataset.train, v.k);
    const ListMetrics served = EvaluateProtocolB(
        output.model->num_users(), dataset.test, [&](int user) {
          v1::RecommendRequest request;
          for (const int32_t movie : recent[user]) {
            request.add_recent_movie_ids(
                absl::StrCat(catalog.movies[movie].id));
          }
          request.set_count(10);
          v1::RecommendResponse response;
          std::vector<int32_t> rows;
          const absl::Status status = recommender.Recommend(request, &response);
          EXPECT_TRUE(status.ok()) << status;
          for (const v1::ScoredMovie& m : response.movies()) {
            rows.push_back(snapshot->MovieRow(m.movie_id()));
          }
          return rows;
        });
    EXPECT_EQ(served.users, v.served.users);
    EXPECT_EQ(served.recall_at_10, v.served.recall_at_10);
    EXPECT_EQ(served.ndcg_at_10, v.served.ndcg_at_10);
    EXPECT_EQ(served.hit_rate_at_10, v.served.hit_rate_at_10);
    EXPECT_GT(v.ease.users, 0);
  }
}

// Keys and ranges of the evaluation part of metrics.json.
TEST_P(ServedVersusEvaluatedTest, MetricsHaveEveryKeyInRange) {
  const Dataset dataset = SmallDataset();
  const TrainConfig config = SmallConfig(GetParam());
  const TrainOutput output = Train(config, dataset);
  const nlohmann::json& metrics = output.metrics;
  const auto expect_share = [](const nlohmann::json& value,
                               const std::string& name) {
    ASSERT_TRUE(value.is_number()) << name << " = " << value;
    EXPECT_GE(value.get<double>(), 0) << name;
    EXPECT_LE(value.get<double>(), 1) << name;
  };
  double previous = 0;
  for (const int k : {1, 5, 10, 50, 100}) {
    const std::string key = absl::StrCat("top_", k);
    ASSERT_TRUE(metrics["protocol_a"].contains(key)) << key;
    expect_share(metrics["protocol_a"][key], key);
    EXPECT_GE(metrics["protocol_a"][key].get<double>(), previous) << key;
    previous = metrics["protocol_a"][key].get<double>();
    EXPECT_EQ(metrics["protocol_a"][key].get<double>(),
              output.evaluation.protocol_a.at(k));
  }
  // 40 movies: every test movie ranks below 50.
  EXPECT_EQ(metrics["protocol_a"]["top_50"].get<double>(), 1.0);
  const bool ranks = GetParam() != Stages::kRetrievalOnly;
  std::vector<std::string> lists = {"protocol_b"};
  if (ranks) lists.push_back("pipeline");
  EXPECT_EQ(metrics.contains("pipeline"), ranks);
  for (const std::string& list : lists) {
    for (const char* key : {"recall_at_10", "ndcg_at_10", "hit_rate_at_10"}) {
      ASSERT_TRUE(metrics[list].contains(key)) << list << "." << key;
      expect_share(metrics[list][key], list + "." + key);
    }
    EXPECT_EQ(metrics[list]["users"].get<int>(),
              UsersWithRatings(dataset.test));
  }
  EXPECT_EQ(metrics.contains("ranking"), ranks);
  if (ranks) {
    ASSERT_TRUE(metrics["ranking"]["rmse"].is_number());
    EXPECT_GT(metrics["ranking"]["rmse"].get<double>(), 0);
    EXPECT_EQ(metrics["ranking"]["rmse"].get<double>(),
              output.evaluation.rmse.value_or(-1));
  }
  // The visitors' figures, served and EASE^R's, per K.
  ASSERT_EQ(metrics["visitor"].size(), std::size(kVisitorKs));
  for (const int k : kVisitorKs) {
    const std::string key = absl::StrCat("k", k);
    ASSERT_TRUE(metrics["visitor"].contains(key)) << key;
    for (const char* source : {"served", "ease"}) {
      const nlohmann::json& list = metrics["visitor"][key][source];
      for (const char* name :
           {"recall_at_10", "ndcg_at_10", "hit_rate_at_10"}) {
        expect_share(list[name], absl::StrCat(key, ".", source, ".", name));
      }
      EXPECT_EQ(list["users"].get<int>(), UsersWithRatings(dataset.test))
          << key << "." << source;
    }
    const nlohmann::json& fewer =
        metrics["visitor"][key]["visitors_with_fewer_movies"];
    ASSERT_TRUE(fewer.is_number_integer()) << key;
    EXPECT_GE(fewer.get<int>(), 0) << key;
    EXPECT_LE(fewer.get<int>(), UsersWithRatings(dataset.test)) << key;
  }
  EXPECT_EQ(metrics["training"].contains("reranker"),
            GetParam() == Stages::kRatingAndReranker);
  EXPECT_EQ(metrics["training"].contains("rating"), ranks);
  EXPECT_TRUE(metrics["training"].contains("retrieval"));
}

INSTANTIATE_TEST_SUITE_P(Stages, ServedVersusEvaluatedTest,
                         ::testing::Values(Stages::kRatingAndReranker,
                                           Stages::kRating,
                                           Stages::kRetrievalOnly),
                         [](const ::testing::TestParamInfo<Stages>& info) {
                           return StagesName(info.param);
                         });

// The index of the table called `name` in `tables`, or -1.
int TableIndex(const std::vector<TableSpec>& tables, const std::string& name) {
  for (size_t t = 0; t < tables.size(); ++t) {
    if (tables[t].name == name) return static_cast<int>(t);
  }
  return -1;
}

// Row `row` of the table called `name` of `tower`.
RowVector TableRow(const Tower& tower, const std::vector<TableSpec>& specs,
                   const std::string& name, int row) {
  const int t = TableIndex(specs, name);
  EXPECT_GE(t, 0) << name;
  if (t < 0) return RowVector::Zero(tower.dim());
  return Eigen::Map<const RowVector>(tower.tables()[t].row(row), tower.dim());
}

// The movie tower's output for `movie` by hand: its genre rows weighted
// 1/sqrt(genres), its release-year row, and its id row when `with_id`.
RowVector ExpectedMovieVector(const Model& model, int movie, bool with_id) {
  const RetrievalModel& r = *model.retrieval;
  const std::vector<TableSpec>& specs = r.featurizer().movie_tables();
  const Movie& m = model.catalog.movies[movie];
  RowVector v = TableRow(r.movie_tower(), specs, "movie_year",
                         Featurizer::YearBucket(m.release_year));
  for (const int32_t g : m.genres) {
    v += TableRow(r.movie_tower(), specs, "movie_genre", g) /
         std::sqrt(static_cast<float>(m.genres.size()));
  }
  if (with_id) v += TableRow(r.movie_tower(), specs, "movie_id", movie);
  return v;
}

// The user tower's output for a user with no history by hand: its age,
// gender and occupation rows, and its id row when `with_id`.
RowVector ExpectedUserVector(const Model& model, int user, bool with_id) {
  const RetrievalModel& r = *model.retrieval;
  const std::vector<TableSpec>& specs = r.featurizer().user_tables();
  const User& u = model.catalog.users[user];
  const std::vector<std::string> occupations =
      OccupationVocabulary(model.catalog.users);
  const int occupation = static_cast<int>(
      std::find(occupations.begin(), occupations.end(), u.occupation) -
      occupations.begin());
  RowVector v =
      TableRow(r.user_tower(), specs, "user_age",
               Featurizer::AgeBucket(u.age)) +
      TableRow(r.user_tower(), specs, "user_gender", u.gender == "F" ? 1 : 0) +
      TableRow(r.user_tower(), specs, "user_occupation", occupation);
  if (with_id) v += TableRow(r.user_tower(), specs, "user_id", user);
  return v;
}

// A movie and a user without training ratings (theirs moved to test) are
// encoded from their features, which training gave values, and not from
// their id rows.
TEST(TrainModelTest, ColdMovieAndUserAreEncodedFromTheirFeatures) {
  Dataset dataset = SmallDataset();
  constexpr int kColdMovie = 2;  // a popular row: it has ratings to move
  constexpr int kColdUser = 5;
  std::vector<Interaction> train;
  for (const Interaction& x : dataset.train) {
    const bool cold = x.movie == kColdMovie || x.user == kColdUser;
    (cold ? dataset.test : train).push_back(x);
  }
  ASSERT_LT(train.size(), dataset.train.size());
  dataset.train = std::move(train);
  TrainConfig config = SmallConfig(Stages::kRetrievalOnly);
  // Without the history feature, so that every user vector is computable by
  // hand from its demographics.
  config.retrieval.model.features.user_history = false;
  ASSERT_TRUE(config.retrieval.model.features.movie_genres);
  ASSERT_TRUE(config.retrieval.model.features.movie_year);
  ASSERT_TRUE(config.retrieval.model.features.user_demographics);
  const TrainOutput output = Train(config, dataset);
  ASSERT_NE(output.model, nullptr);
  const Model& model = *output.model;
  ASSERT_TRUE(model.retrieval.has_value());
  const RetrievalModel& retrieval = *model.retrieval;
  const int d = retrieval.config().embedding_dim;
  ASSERT_EQ(model.popularity[kColdMovie], 0);
  ASSERT_TRUE(model.seen.Of(kColdUser).empty());

  // The cold movie: not zero, not its random id row, its features alone.
  const RowVector movie = model.movie_vectors.row(kColdMovie);
  const RowVector movie_id_row =
      TableRow(retrieval.movie_tower(), retrieval.featurizer().movie_tables(),
               "movie_id", kColdMovie);
  EXPECT_GT(movie.norm(), 1e-3);
  EXPECT_GT((movie - movie_id_row).norm(), 1e-3) << movie;
  EXPECT_TRUE(
      movie.isApprox(ExpectedMovieVector(model, kColdMovie, false), 1e-5f))
      << movie;
  // A movie with ratings keeps its id row.
  ASSERT_GT(model.popularity[0], 0);
  EXPECT_TRUE(model.movie_vectors.row(0).isApprox(
      ExpectedMovieVector(model, 0, true), 1e-5f));

  // The cold user: a query vector from its demographics.
  const RowVector user = model.user_vectors.row(kColdUser).head(d);
  const RowVector user_id_row =
      TableRow(retrieval.user_tower(), retrieval.featurizer().user_tables(),
               "user_id", kColdUser);
  EXPECT_GT(user.norm(), 1e-3);
  EXPECT_GT((user - user_id_row).norm(), 1e-3) << user;
  EXPECT_TRUE(user.isApprox(ExpectedUserVector(model, kColdUser, false), 1e-5f))
      << user;
  ASSERT_FALSE(model.seen.Of(0).empty());
  EXPECT_TRUE(model.user_vectors.row(0).head(d).isApprox(
      ExpectedUserVector(model, 0, true), 1e-5f));
  // With the movie bias, every user vector ends in 1.
  ASSERT_TRUE(retrieval.config().movie_bias);
  EXPECT_EQ(model.user_vectors(kColdUser, d), 1.0f);

  // The cold user still gets ten movies.
  const Scorer scorer(output.model);
  EXPECT_EQ(scorer.Recommend(kColdUser, 10).size(), 10u);
}

// Users in two segments, told apart only by users.csv's "segment" attribute
// (their demographics are all the same): segment a rates movies 0-19,
// segment b movies 20-39. Four users have no training ratings. With the
// attribute as a feature, each cold user's query vector comes from its
// segment, and its top 10 are its segment's movies; without it, nothing
// tells the cold users apart: they get one list, half right on average.
TEST(TrainModelTest, ColdUsersAreRecommendedFromTheirAttributes) {
  MovieLens data = SmallMovieLens(/*num_users=*/40, /*num_movies=*/40,
                                  /*per_user=*/0, 3);
  data.user_attribute_names = {"segment", "note"};
  Rng rng(5);
  const auto segment_of = [](int u) { return u % 2; };
  data.ratings.clear();
  for (int u = 0; u < 40; ++u) {
    data.users[u].attributes = {segment_of(u) == 0 ? "a" : "b", ""};
    data.users[u].age = 30;
    data.users[u].gender = "F";
    data.users[u].occupation = "other";
    std::vector<int> movies(20);
    for (int i = 0; i < 20; ++i) movies[i] = 20 * segment_of(u) + i;
    Shuffle(movies, rng);
    for (int i = 0; i < 10; ++i) {
      data.ratings.push_back({data.users[u].id, data.movies[movies[i]].id,
                              4.0f + static_cast<float>(rng.Uniform(2)),
                              int64_t{1000} * (u * 10 + i)});
    }
  }
  ASSERT_OK_AND_ASSIGN(Dataset dataset, MakeRandomSplit(std::move(data), 3));
  const std::vector<int> cold_users = {36, 37, 38, 39};
  std::vector<Interaction> train;
  for (const Interaction& x : dataset.train) {
    const bool cold = x.user >= cold_users.front();
    (cold ? dataset.test : train).push_back(x);
  }
  dataset.train = std::move(train);

  // The share of each cold user's top 10 from its own segment's movies.
  const auto in_segment = [&](const TrainConfig& config) {
    const TrainOutput output = Train(config, dataset);
    std::vector<double> shares;
    if (output.model == nullptr) return shares;
    const Scorer scorer(output.model);
    for (const int u : cold_users) {
      EXPECT_TRUE(output.model->seen.Of(u).empty());
      const std::vector<ScoredMovie> top = scorer.Recommend(u, 10);
      EXPECT_EQ(top.size(), 10u);
      shares.push_back(std::count_if(top.begin(), top.end(),
                                     [&](const ScoredMovie& m) {
                                       return m.movie / 20 == segment_of(u);
                                     }) /
                       10.0);
    }
    return shares;
  };
  TrainConfig config = SmallConfig(Stages::kRatingAndReranker);
  ASSERT_TRUE(config.retrieval.model.features.user_attributes);
  ASSERT_TRUE(config.rating.model.features.user_attributes);
  const std::vector<double> with = in_segment(config);
  ASSERT_EQ(with.size(), cold_users.size());
  for (const double share : with) EXPECT_GE(share, 0.9);

  config.retrieval.model.features.user_attributes = false;
  config.rating.model.features.user_attributes = false;
  const std::vector<double> without = in_segment(config);
  ASSERT_EQ(without.size(), cold_users.size());
  double mean = 0;
  for (const double share : without) mean += share / 4;
  EXPECT_NEAR(mean, 0.5, 1e-9);
}

// A temporal split's newcomers (the synthetic users' ratings are dated by
// user row, so the last rows are only seen after the cut) are evaluated
// through the served path, and metrics.json counts them and reports protocol
// B over them alone beside the most-popular fallback.
TEST(TrainModelTest, TemporalSplitReportsItsColdUsersAndMovies) {
  SplitSpec temporal;
  temporal.kind = SplitSpec::Kind::kTemporal;
  ASSERT_OK_AND_ASSIGN(
      const Dataset dataset,
      MakeSplit(SmallMovieLens(30, 40, 12, /*seed=*/3), temporal, 3));
  const SplitSummary summary = SummarizeSplit(dataset);
  ASSERT_GT(summary.cold_users, 0);
  const TrainOutput output =
      Train(SmallConfig(Stages::kRatingAndReranker), dataset);
  ASSERT_NE(output.model, nullptr);
  const nlohmann::json& split = output.metrics["split"];
  EXPECT_EQ(split["kind"], "temporal");
  EXPECT_EQ(split["validation"]["kind"], "temporal");
  EXPECT_EQ(split["train"], dataset.train.size());
  EXPECT_EQ(split["test"], dataset.test.size());
  EXPECT_EQ(split["cold_users"], summary.cold_users);
  EXPECT_EQ(split["cold_user_test_interactions"],
            summary.cold_user_test_interactions);
  EXPECT_EQ(split["cold_movies"], summary.cold_movies);
  EXPECT_EQ(split["cut_timestamp"], summary.cut_timestamp);

  // Protocol B over the cold users: what the Scorer serves them, and the
  // popular list, averaged over exactly those users.
  const nlohmann::json& cold = output.metrics["cold_users"];
  EXPECT_EQ(cold["test_interactions"], summary.cold_user_test_interactions);
  const Scorer scorer(output.model);
  std::vector<int32_t> popular;
  for (const ScoredMovie& m : scorer.Popular(10, {})) {
    popular.push_back(m.movie);
  }
  double served_ndcg = 0, popular_ndcg = 0;
  int users = 0;
  for (int u = 0; u < dataset.num_users(); ++u) {
    const std::vector<int32_t> relevant = MoviesOf(dataset.test, u);
    if (relevant.empty() || !output.model->seen.Of(u).empty()) continue;
    ++users;
    std::vector<int32_t> served;
    for (const ScoredMovie& m : scorer.Recommend(u, 10)) {
      served.push_back(m.movie);
    }
    served_ndcg += UserListMetrics(served, relevant).ndcg_at_10;
    popular_ndcg += UserListMetrics(popular, relevant).ndcg_at_10;
  }
  ASSERT_EQ(users, summary.cold_users);
  EXPECT_EQ(cold["pipeline"]["users"], users);
  EXPECT_EQ(cold["popular"]["users"], users);
  EXPECT_NEAR(cold["pipeline"]["ndcg_at_10"].get<double>(), served_ndcg / users,
              1e-12);
  EXPECT_NEAR(cold["popular"]["ndcg_at_10"].get<double>(), popular_ndcg / users,
              1e-12);
  EXPECT_TRUE(cold["retrieval"].contains("recall_at_10"));

  // A split without cold users has no such section.
  EXPECT_FALSE(Train(SmallConfig(Stages::kRetrievalOnly), SmallDataset())
                   .metrics.contains("cold_users"));
}

}  // namespace
}  // namespace movierec
