// The same answers through the generic door (issue 16, item 5): MovieLens
// 100K (from $MOVIELENS_DIR; skipped when it is unset) written in the
// generic format with prefixed string ids ("u138", "m50") in a temporary
// folder, read back by the generic reader (detected), must give the native
// reader's catalogue and ratings row for row once the ids are mapped back
// ("m50" -> 50), and the default preset trained with seed 42 on it must
// reproduce the native seed-42 metrics to 4 decimals.
//
// The conversion keeps everything the model sees:
//   items.csv         u.item's order; item_id "m<id>"; the title as the
//                     native reader made it (UTF-8), quoted; the genre flags
//                     as names; the year column the release year (empty
//                     when u.item has no date).
//   users.csv         u.user's order; user_id "u<id>"; age, gender,
//                     occupation and zip_code as u.user has them.
//   interactions.csv  u.data's order: user_id, item_id, rating, timestamp.
//
// The native metrics come from model_quality_test's seed-42 run when it
// wrote them after its binary was built (ctest runs it first: DEPENDS);
// otherwise this test trains the native seed 42 itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "data/movielens.h"
#include "tests/test_util.h"
#include "train/progress.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using Metrics = std::map<std::string, double>;

// `text` as an RFC 4180 field: quoted, its quotes doubled.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// Writes `native` (MovieLens 100K as read) into `out` in the generic format.
void ConvertToGeneric(const MovieLens& native, const std::string& out) {
  std::string items = "item_id,title,genres,year\n";
  for (const Movie& movie : native.movies) {
    std::vector<std::string> genres;
    for (const int32_t g : movie.genres) {
      genres.push_back(native.genre_names[g]);
    }
    absl::StrAppend(&items, "m", movie.id, ",", Quoted(movie.title), ",",
                    absl::StrJoin(genres, "|"), ",",
                    movie.release_year == 0 ? std::string()
                                            : absl::StrCat(movie.release_year),
                    "\n");
  }
  test::WriteFile(out + "/items.csv", items);
  std::string users = "user_id,age,gender,occupation,zip_code\n";
  for (const User& user : native.users) {
    absl::StrAppend(&users, "u", user.id, ",", user.age, ",", user.gender, ",",
                    Quoted(user.occupation), ",", Quoted(user.zip_code), "\n");
  }
  test::WriteFile(out + "/users.csv", users);
  std::string interactions = "user_id,item_id,rating,timestamp\n";
  for (const Rating& r : native.ratings) {
    absl::StrAppend(&interactions, "u", r.user_id, ",m", r.movie_id, ",",
                    r.rating, ",", r.timestamp, "\n");
  }
  test::WriteFile(out + "/interactions.csv", interactions);
}

// The compared metrics of one training.
Metrics Train(MovieLens data) {
  Metrics metrics;
  absl::StatusOr<Dataset> dataset = MakeRandomSplit(std::move(data), 42);
  EXPECT_TRUE(test::IsOk(dataset));
  if (!dataset.ok()) return metrics;
  absl::StatusOr<TrainConfig> config = PresetConfig("default");
  EXPECT_TRUE(test::IsOk(config));
  config->seed = 42;
  Progress progress = Progress::Silent();
  absl::StatusOr<TrainOutput> output = TrainModel(*config, *dataset, &progress);
  EXPECT_TRUE(test::IsOk(output));
  if (!output.ok()) return metrics;
  const Evaluation& e = output->evaluation;
  metrics["protocol_a_top_100"] = e.protocol_a.at(100);
  metrics["retrieval_recall_at_10"] = e.protocol_b.recall_at_10;
  metrics["retrieval_ndcg_at_10"] = e.protocol_b.ndcg_at_10;
  if (e.pipeline) {
    metrics["pipeline_recall_at_10"] = e.pipeline->recall_at_10;
    metrics["pipeline_ndcg_at_10"] = e.pipeline->ndcg_at_10;
  }
  if (e.rmse) metrics["ranking_rmse"] = *e.rmse;
  return metrics;
}

// model_quality_test's seed-42 metrics, when written after its binary was
// built; empty otherwise.
Metrics NativeMetricsFromQualityTest() {
  const fs::path file =
      fs::path(MOVIEREC_TEST_OUT_DIR) / "model_quality_seed_42.txt";
  std::error_code error;
  const auto written = fs::last_write_time(file, error);
  if (error) return {};
  const auto built = fs::last_write_time(MOVIEREC_QUALITY_TEST_BIN, error);
  if (error || written < built) return {};
  Metrics metrics;
  std::ifstream in(file);
  std::string name;
  double value = 0;
  while (in >> name >> value) metrics[name] = value;
  return metrics;
}

TEST(GenericEquivalenceTest, HundredKInGenericFormatTrainsToTheSameMetrics) {
  const std::string dir = test::MovieLensDirFromEnv();
  if (dir.empty()) GTEST_SKIP() << "MOVIELENS_DIR is not set";
  ASSERT_OK_AND_ASSIGN(MovieLens native, LoadMovieLens(dir));
  test::ScopedTempDir out;
  ConvertToGeneric(native, out.path());

  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(out.path()));
  EXPECT_EQ(format, MovieLensFormat::kGeneric);
  ASSERT_OK_AND_ASSIGN(MovieLens converted,
                       LoadMovieLens(out.path(), MovieLensFormat::kAuto));

  // The catalogue and the ratings, row for row, the ids mapped back.
  EXPECT_EQ(converted.genre_names, native.genre_names);
  ASSERT_EQ(converted.movies.size(), native.movies.size());
  std::map<std::string, int32_t> native_movie;  // "m<id>" -> native id
  for (size_t i = 0; i < native.movies.size(); ++i) {
    const Movie& a = native.movies[i];
    const Movie& b = converted.movies[i];
    EXPECT_EQ(ExternalId(b), absl::StrCat("m", a.id));
    native_movie[b.key] = a.id;
    EXPECT_EQ(a.title, b.title);
    EXPECT_EQ(a.release_year, b.release_year) << a.title;
    EXPECT_EQ(a.genres, b.genres) << a.title;
  }
  ASSERT_EQ(converted.users.size(), native.users.size());
  std::map<std::string, int32_t> native_user;  // "u<id>" -> native id
  for (size_t i = 0; i < native.users.size(); ++i) {
    const User& a = native.users[i];
    const User& b = converted.users[i];
    EXPECT_EQ(ExternalId(b), absl::StrCat("u", a.id));
    native_user[b.key] = a.id;
    EXPECT_EQ(a.age, b.age);
    EXPECT_EQ(a.gender, b.gender);
    EXPECT_EQ(a.occupation, b.occupation);
    EXPECT_EQ(a.zip_code, b.zip_code);
  }
  ASSERT_EQ(converted.ratings.size(), native.ratings.size());
  for (size_t i = 0; i < native.ratings.size(); ++i) {
    const Rating& a = native.ratings[i];
    const Rating& b = converted.ratings[i];
    const int32_t user = native_user.at(converted.users[b.user_id - 1].key);
    const int32_t movie = native_movie.at(converted.movies[b.movie_id - 1].key);
    ASSERT_TRUE(a.user_id == user && a.movie_id == movie &&
                a.rating == b.rating && a.timestamp == b.timestamp)
        << "rating " << i;
  }
  EXPECT_TRUE(converted.has_timestamps);
  EXPECT_TRUE(converted.unused_user_columns.empty());

  Metrics expected = NativeMetricsFromQualityTest();
  if (expected.empty()) {
    std::cout << "no fresh model_quality_test seed-42 metrics in "
              << MOVIEREC_TEST_OUT_DIR << ": training the native reader's data"
              << std::endl;
    expected = Train(std::move(native));
  } else {
    std::cout << "native metrics from model_quality_test seed 42" << std::endl;
  }
  const Metrics got = Train(std::move(converted));
  ASSERT_EQ(got.size(), 6u);
  for (const auto& [name, value] : got) {
    ASSERT_TRUE(expected.count(name)) << name;
    std::cout << name << ": native " << expected.at(name) << ", generic format "
              << value << std::endl;
    RecordProperty(name, std::to_string(value));
    EXPECT_NEAR(value, expected.at(name), 5e-5) << name;
  }
}

}  // namespace
}  // namespace movierec
