// The same answers through the 1M door (issue 16, item 5): MovieLens 100K
// (from $MOVIELENS_DIR; skipped when it is unset) written in the 1M "::"
// format in a temporary folder, read back by the 1M reader (detected), must
// give the native reader's catalogue and ratings row for row, and the default
// preset trained with seed 42 on it must reproduce the native seed-42 metrics
// to 4 decimals.
//
// The conversion keeps everything the model sees:
//   movies.dat   u.item's order, its ISO-8859-1 title bytes as they are, the
//                genre flags as names. The 1M format has no release date
//                (the year is the title's "(YYYY)"), so a title whose year
//                differs from u.item's release date (191 of them, e.g.
//                "Richard III (1995)" released 22-Jan-1996) is written with
//                the release year instead, as the native features use it.
//   users.dat    u.user's order; the age as its 1M age code (the same age
//                bucket); the occupation as the 1M code whose name has the
//                same rank among the 21 names as the 100K occupation among
//                its 21, so the occupation vocabulary has the same order.
//   ratings.dat  u.data's order.
//
// The native metrics come from model_quality_test's seed-42 run when it
// wrote them after its binary was built (ctest runs it first: DEPENDS);
// otherwise this test trains the native seed 42 itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "data/dataset.h"
#include "data/features.h"
#include "data/movielens.h"
#include "data/movielens_dat.h"
#include "data/movielens_fields.h"
#include "tests/test_util.h"
#include "tests/train/seed42_equivalence.h"
#include "train/progress.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  for (absl::string_view line :
       absl::StrSplit(test::ReadFileOrFail(path), '\n', absl::SkipEmpty())) {
    absl::ConsumeSuffix(&line, "\r");
    lines.emplace_back(line);
  }
  return lines;
}

// Writes `dir100k` (MovieLens 100K) into `out` in the 1M format.
void ConvertTo1m(const std::string& dir100k, const MovieLens& native,
                 const std::string& out) {
  std::string movies;
  for (const std::string& line : Lines(dir100k + "/u.item")) {
    const std::vector<std::string> f = absl::StrSplit(line, '|');
    ASSERT_EQ(f.size(), 5 + native.genre_names.size()) << line;
    std::string title = f[1];
    int32_t date_year = 0;
    if (!f[2].empty()) {
      ASSERT_TRUE(absl::SimpleAtoi(f[2].substr(f[2].size() - 4), &date_year));
    }
    if (YearFromTitle(title) != date_year) {
      absl::string_view base = absl::StripTrailingAsciiWhitespace(title);
      if (YearFromTitle(base) != 0) base.remove_suffix(7);  // " (YYYY)"
      title = date_year == 0 ? std::string(base)
                             : absl::StrCat(base, " (", date_year, ")");
    }
    std::vector<std::string> genres;
    for (size_t g = 0; g < native.genre_names.size(); ++g) {
      if (f[5 + g] == "1") genres.push_back(native.genre_names[g]);
    }
    absl::StrAppend(&movies, f[0], "::", title,
                    "::", absl::StrJoin(genres, "|"), "\n");
  }
  test::WriteFile(out + "/movies.dat", movies);

  const std::vector<std::string> occupations100k =
      OccupationVocabulary(native.users);
  std::vector<std::string> names1m = Ml1mOccupations();
  ASSERT_EQ(occupations100k.size(), names1m.size());
  std::sort(names1m.begin(), names1m.end());
  std::map<std::string, int> code;  // 100K occupation -> 1M code
  for (size_t i = 0; i < names1m.size(); ++i) {
    const auto& all = Ml1mOccupations();
    code[occupations100k[i]] = static_cast<int>(
        std::find(all.begin(), all.end(), names1m[i]) - all.begin());
  }
  constexpr int kAgeCode[] = {1, 18, 25, 35, 45, 50, 56};
  std::string users;
  for (const User& u : native.users) {
    absl::StrAppend(&users, u.id, "::", u.gender,
                    "::", kAgeCode[Featurizer::AgeBucket(u.age)],
                    "::", code.at(u.occupation), "::", u.zip_code, "\n");
  }
  test::WriteFile(out + "/users.dat", users);

  std::string ratings;
  for (const std::string& line : Lines(dir100k + "/u.data")) {
    absl::StrAppend(&ratings, absl::StrJoin(absl::StrSplit(line, '\t'), "::"),
                    "\n");
  }
  test::WriteFile(out + "/ratings.dat", ratings);
}

TEST(Ml1mEquivalenceTest, HundredKIn1mFormatTrainsToTheSameMetrics) {
  const std::string dir = test::MovieLensDirFromEnv();
  if (dir.empty()) GTEST_SKIP() << "MOVIELENS_DIR is not set";
  ASSERT_OK_AND_ASSIGN(MovieLens native, LoadMovieLens(dir));
  test::ScopedTempDir out;
  ConvertTo1m(dir, native, out.path());
  ASSERT_FALSE(HasFailure());

  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(out.path()));
  EXPECT_EQ(format, MovieLensFormat::k1M);
  ASSERT_OK_AND_ASSIGN(MovieLens converted,
                       LoadMovieLens(out.path(), MovieLensFormat::kAuto));

  // The catalogue and the ratings, row for row.
  EXPECT_EQ(converted.genre_names, native.genre_names);
  ASSERT_EQ(converted.movies.size(), native.movies.size());
  int retitled = 0;
  int non_ascii_same = 0;  // Latin-1 titles that came out as the same UTF-8
  for (size_t i = 0; i < native.movies.size(); ++i) {
    const Movie& a = native.movies[i];
    const Movie& b = converted.movies[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.release_year, b.release_year) << a.title;
    EXPECT_EQ(a.genres, b.genres) << a.title;
    retitled += a.title != b.title;
    non_ascii_same += a.title == b.title && a.title != Latin1ToUtf8(a.title);
  }
  EXPECT_EQ(retitled, 191);
  EXPECT_GT(non_ascii_same, 0);
  ASSERT_EQ(converted.users.size(), native.users.size());
  const std::vector<std::string> occupations_a =
      OccupationVocabulary(native.users);
  const std::vector<std::string> occupations_b =
      OccupationVocabulary(converted.users);
  for (size_t i = 0; i < native.users.size(); ++i) {
    const User& a = native.users[i];
    const User& b = converted.users[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.gender, b.gender);
    EXPECT_EQ(Featurizer::AgeBucket(a.age), Featurizer::AgeBucket(b.age));
    EXPECT_EQ(std::lower_bound(occupations_a.begin(), occupations_a.end(),
                               a.occupation) -
                  occupations_a.begin(),
              std::lower_bound(occupations_b.begin(), occupations_b.end(),
                               b.occupation) -
                  occupations_b.begin());
  }
  ASSERT_EQ(converted.ratings.size(), native.ratings.size());
  for (size_t i = 0; i < native.ratings.size(); ++i) {
    const Rating& a = native.ratings[i];
    const Rating& b = converted.ratings[i];
    ASSERT_TRUE(a.user_id == b.user_id && a.movie_id == b.movie_id &&
                a.rating == b.rating && a.timestamp == b.timestamp)
        << "rating " << i;
  }

  test::ExpectNativeSeed42Metrics(std::move(native), std::move(converted),
                                  "1M format");
}

}  // namespace
}  // namespace movierec
