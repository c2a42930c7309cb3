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
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "data/dataset.h"
#include "data/movielens.h"
#include "tests/test_util.h"
#include "tests/train/seed42_equivalence.h"
#include "train/progress.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace movierec {
namespace {

// Writes `native` (MovieLens 100K as read) into `out` in the generic format.
void ConvertToGeneric(const MovieLens& native, const std::string& out) {
  std::string items = "item_id,title,genres,year\n";
  for (const Movie& movie : native.movies) {
    std::vector<std::string> genres;
    for (const int32_t g : movie.genres) {
      genres.push_back(native.genre_names[g]);
    }
    absl::StrAppend(&items, "m", movie.id, ",", test::CsvQuoted(movie.title),
                    ",", absl::StrJoin(genres, "|"), ",",
                    movie.release_year == 0 ? std::string()
                                            : absl::StrCat(movie.release_year),
                    "\n");
  }
  test::WriteFile(out + "/items.csv", items);
  std::string users = "user_id,age,gender,occupation,zip_code\n";
  for (const User& user : native.users) {
    absl::StrAppend(&users, "u", user.id, ",", user.age, ",", user.gender, ",",
                    test::CsvQuoted(user.occupation), ",",
                    test::CsvQuoted(user.zip_code), "\n");
  }
  test::WriteFile(out + "/users.csv", users);
  std::string interactions = "user_id,item_id,rating,timestamp\n";
  for (const Rating& r : native.ratings) {
    absl::StrAppend(&interactions, "u", r.user_id, ",m", r.movie_id, ",",
                    r.rating, ",", r.timestamp, "\n");
  }
  test::WriteFile(out + "/interactions.csv", interactions);
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
  EXPECT_TRUE(converted.user_attribute_names.empty());

  test::ExpectNativeSeed42Metrics(std::move(native), std::move(converted),
                                  "generic format");
}

}  // namespace
}  // namespace movierec
