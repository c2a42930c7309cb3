// Tests of the MovieLens 100K readers (data/movielens.h): good files, and
// every kind of bad line, whose error must name the file and the line.
#include "data/movielens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;
using ::testing::ElementsAre;

constexpr char kGenres[] = "unknown|0\nAction|1\nComedy|2\n\n";
// The second title holds the ISO-8859-1 byte 0xE9 ("é").
constexpr char kItems[] =
    "1|Toy Story (1995)|01-Jan-1995||http://example.com/1|0|0|1\n"
    "2|Caf\xE9 Society (1995)|05-Feb-1995||http://example.com/2|0|1|1\n"
    "5|No Date||||1|0|0\n";
constexpr char kUsers[] =
    "1|24|M|technician|85711\n"
    "7|53|F|other|94043\n";
constexpr char kRatings[] =
    "1\t2\t3\t881250949\n"
    "7\t5\t5\t891717742\n"
    "1\t1\t1\t878887116\n";

class MovieLensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("u.genre"), kGenres);
    WriteFile(dir_.File("u.item"), kItems);
    WriteFile(dir_.File("u.user"), kUsers);
    WriteFile(dir_.File("u.data"), kRatings);
  }

  // The ids of the good files above.
  static KnownIds Known() {
    KnownIds known;
    known.movie_row = {{1, 0}, {2, 1}, {5, 2}};
    known.user_row = {{1, 0}, {7, 1}};
    return known;
  }

  ScopedTempDir dir_;
};

TEST_F(MovieLensTest, LoadsGoodFiles) {
  ASSERT_OK_AND_ASSIGN(const MovieLens data, LoadMovieLens(dir_.path()));
  EXPECT_THAT(data.genre_names, ElementsAre("unknown", "Action", "Comedy"));

  ASSERT_EQ(data.movies.size(), 3u);
  EXPECT_EQ(data.movies[0].id, 1);
  EXPECT_EQ(data.movies[0].title, "Toy Story (1995)");
  EXPECT_EQ(data.movies[0].release_year, 1995);
  EXPECT_THAT(data.movies[0].genres, ElementsAre(2));
  EXPECT_EQ(data.movies[1].id, 2);
  EXPECT_EQ(data.movies[1].title, "Caf\xC3\xA9 Society (1995)");
  EXPECT_THAT(data.movies[1].genres, ElementsAre(1, 2));
  EXPECT_EQ(data.movies[2].id, 5);
  EXPECT_EQ(data.movies[2].release_year, 0);
  EXPECT_THAT(data.movies[2].genres, ElementsAre(0));

  ASSERT_EQ(data.users.size(), 2u);
  EXPECT_EQ(data.users[1].id, 7);
  EXPECT_EQ(data.users[1].age, 53);
  EXPECT_EQ(data.users[1].gender, "F");
  EXPECT_EQ(data.users[1].occupation, "other");
  EXPECT_EQ(data.users[1].zip_code, "94043");

  ASSERT_EQ(data.ratings.size(), 3u);
  EXPECT_EQ(data.ratings[1].user_id, 7);
  EXPECT_EQ(data.ratings[1].movie_id, 5);
  EXPECT_EQ(data.ratings[1].rating, 5.0f);
  EXPECT_EQ(data.ratings[1].timestamp, 891717742);
  EXPECT_EQ(data.ratings[2].rating, 1.0f);
}

TEST_F(MovieLensTest, LoadCatalogNeedsNoRatings) {
  ASSERT_EQ(std::remove(dir_.File("u.data").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(const MovieLens data, LoadCatalog(dir_.path()));
  EXPECT_EQ(data.movies.size(), 3u);
  EXPECT_EQ(data.users.size(), 2u);
  EXPECT_TRUE(data.ratings.empty());
}

TEST_F(MovieLensTest, AcceptsCrLfAndBlankLines) {
  WriteFile(dir_.File("u.data"), "1\t2\t3\t1\r\n\r\n\n7\t5\t4\t2\r\n");
  ASSERT_OK_AND_ASSIGN(const std::vector<Rating> ratings,
                       ReadRatings(dir_.File("u.data"), Known()));
  ASSERT_EQ(ratings.size(), 2u);
  EXPECT_EQ(ratings[1].user_id, 7);
  EXPECT_EQ(ratings[1].timestamp, 2);
}

TEST_F(MovieLensTest, KnownIdsMapIdsToRows) {
  ASSERT_OK_AND_ASSIGN(const MovieLens data, LoadMovieLens(dir_.path()));
  const KnownIds known = KnownIds::Of(data);
  EXPECT_EQ(known.movie_row.at(5), 2);
  EXPECT_EQ(known.user_row.at(7), 1);
  EXPECT_FALSE(known.movie_row.contains(3));
}

// One malformed u.data and where its error must point.
struct BadRatings {
  std::string name;
  std::string text;
  int line;             // 1-based line of the offending line
  std::string problem;  // part of the message
};

class BadRatingsTest : public ::testing::TestWithParam<BadRatings> {};

TEST_P(BadRatingsTest, NamesFileAndLine) {
  const BadRatings& bad = GetParam();
  ScopedTempDir dir;
  const std::string path = dir.File("u.data");
  WriteFile(path, bad.text);
  KnownIds known;
  known.movie_row = {{1, 0}, {2, 1}};
  known.user_row = {{1, 0}, {7, 1}};
  const absl::StatusOr<std::vector<Rating>> ratings = ReadRatings(path, known);
  EXPECT_TRUE(IsError(ratings.status(), absl::StatusCode::kInvalidArgument,
                      {path, absl::StrCat(":", bad.line, ":"), bad.problem}));
  // The same text parsed from memory names the given name instead.
  const absl::StatusOr<std::vector<Rating>> parsed =
      ParseRatings(bad.text, "inline", known);
  EXPECT_TRUE(IsError(parsed.status(), absl::StatusCode::kInvalidArgument,
                      {absl::StrCat("inline:", bad.line, ":"), bad.problem}));
}

INSTANTIATE_TEST_SUITE_P(
    AllProblems, BadRatingsTest,
    ::testing::Values(
        BadRatings{"ShortLine", "1\t2\t3\t100\n1\t2\t3\n", 2, "got 3"},
        BadRatings{"LongLine", "1\t2\t3\t100\t9\n", 1, "got 5"},
        BadRatings{"SpaceSeparated", "1 2 3 100\n", 1, "expected 4"},
        BadRatings{"UserNotANumber", "1\t2\t3\t100\nabc\t2\t3\t100\n", 2,
                   "user id \"abc\" is not an integer"},
        BadRatings{"MovieNotANumber", "1\t2x\t3\t100\n", 1,
                   "movie id \"2x\" is not an integer"},
        BadRatings{"NegativeId", "-1\t2\t3\t100\n", 1,
                   "is not a positive 32-bit id"},
        BadRatings{"RatingNotANumber", "1\t2\tgood\t100\n", 1,
                   "rating \"good\" is not a number"},
        BadRatings{"RatingNan", "1\t2\tnan\t100\n", 1, "is not a number"},
        BadRatings{"RatingZero", "1\t2\t3\t100\n7\t1\t0\t100\n", 2,
                   "rating 0 is outside 1-5"},
        BadRatings{"RatingSix", "1\t2\t6\t100\n", 1, "rating 6 is outside 1-5"},
        BadRatings{"UnknownMovie", "1\t2\t3\t100\n1\t99\t3\t100\n", 2,
                   "unknown movie id 99"},
        BadRatings{"UnknownUser", "42\t2\t3\t100\n", 1, "unknown user id 42"},
        BadRatings{"TimestampNotANumber", "1\t2\t3\tyesterday\n", 1,
                   "timestamp \"yesterday\" is not an integer"},
        // Blank lines are skipped but still counted.
        BadRatings{"AfterBlankLines", "1\t2\t3\t100\n\n\n1\t2\t0\t100\n", 4,
                   "outside 1-5"}),
    [](const ::testing::TestParamInfo<BadRatings>& info) {
      return info.param.name;
    });

TEST_F(MovieLensTest, EmptyRatingsFileIsAnError) {
  WriteFile(dir_.File("u.data"), "\n");
  EXPECT_TRUE(IsError(ReadRatings(dir_.File("u.data"), Known()).status(),
                      absl::StatusCode::kInvalidArgument,
                      {dir_.File("u.data"), "no ratings"}));
}

TEST_F(MovieLensTest, MissingFileIsNotFound) {
  const std::string path = dir_.File("missing.data");
  EXPECT_TRUE(IsError(ReadRatings(path, Known()).status(),
                      absl::StatusCode::kNotFound, {path}));
  EXPECT_TRUE(IsError(ReadMovies(dir_.File("u.itemx"), 3).status(),
                      absl::StatusCode::kNotFound, {dir_.File("u.itemx")}));
  EXPECT_TRUE(IsError(ReadUsers(dir_.File("nope")).status(),
                      absl::StatusCode::kNotFound, {dir_.File("nope")}));
  EXPECT_TRUE(IsError(ReadGenres(dir_.File("nope")).status(),
                      absl::StatusCode::kNotFound, {dir_.File("nope")}));
}

TEST_F(MovieLensTest, LoadMovieLensNamesTheMissingFile) {
  ASSERT_EQ(std::remove(dir_.File("u.data").c_str()), 0);
  EXPECT_TRUE(IsError(LoadMovieLens(dir_.path()).status(),
                      absl::StatusCode::kNotFound, {dir_.File("u.data")}));
  const std::string nowhere = dir_.File("no_such_dir");
  EXPECT_TRUE(IsError(LoadMovieLens(nowhere).status(),
                      absl::StatusCode::kNotFound,
                      {absl::StrCat(nowhere, "/u.genre")}));
}

TEST_F(MovieLensTest, LoadMovieLensRejectsRatingOfUnknownMovie) {
  WriteFile(dir_.File("u.data"), "1\t2\t3\t100\n7\t3\t3\t100\n");
  EXPECT_TRUE(IsError(
      LoadMovieLens(dir_.path()).status(), absl::StatusCode::kInvalidArgument,
      {absl::StrCat(dir_.File("u.data"), ":2:"), "unknown movie id 3"}));
}

// Writes `text` as u.item and reads it with three genre columns.
absl::Status ReadItems(const ScopedTempDir& dir, const std::string& text) {
  WriteFile(dir.File("u.item"), text);
  return ReadMovies(dir.File("u.item"), 3).status();
}

TEST_F(MovieLensTest, RejectsDuplicateMovieId) {
  EXPECT_TRUE(IsError(
      ReadItems(dir_, absl::StrCat(kItems, "2|Again||||0|0|1\n")),
      absl::StatusCode::kInvalidArgument,
      {absl::StrCat(dir_.File("u.item"), ":4:"), "duplicate movie id 2"}));
}

TEST_F(MovieLensTest, RejectsBadGenreFlag) {
  EXPECT_TRUE(IsError(ReadItems(dir_, "1|A||||0|2|0\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(dir_.File("u.item"), ":1:"),
                       "genre flag 1 is \"2\", not 0 or 1"}));
  EXPECT_TRUE(
      IsError(ReadItems(dir_, "1|A||||0|0|0\n3|B||||0|0|yes\n"),
              absl::StatusCode::kInvalidArgument,
              {absl::StrCat(dir_.File("u.item"), ":2:"), "genre flag 2"}));
}

TEST_F(MovieLensTest, RejectsMalformedMovieLines) {
  const std::string path = dir_.File("u.item");
  // One genre column short.
  EXPECT_TRUE(IsError(ReadItems(dir_, "1|A||||0|0\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "expected 8"}));
  EXPECT_TRUE(IsError(ReadItems(dir_, "x|A||||0|0|0\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "movie id \"x\""}));
  EXPECT_TRUE(IsError(ReadItems(dir_, "1|A||||0|0|0\n2|||||0|0|0\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":2:"), "empty title"}));
  EXPECT_TRUE(IsError(ReadItems(dir_, "1|A|1995|||0|0|0\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "release date \"1995\""}));
  EXPECT_TRUE(IsError(ReadItems(dir_, "\n"), absl::StatusCode::kInvalidArgument,
                      {path, "no movies"}));
}

// Writes `text` as u.user and reads it.
absl::Status ReadUserFile(const ScopedTempDir& dir, const std::string& text) {
  WriteFile(dir.File("u.user"), text);
  return ReadUsers(dir.File("u.user")).status();
}

TEST_F(MovieLensTest, RejectsBadGender) {
  EXPECT_TRUE(
      IsError(ReadUserFile(dir_, absl::StrCat(kUsers, "9|30|X|other|1\n")),
              absl::StatusCode::kInvalidArgument,
              {absl::StrCat(dir_.File("u.user"), ":3:"),
               "gender \"X\" is not M or F"}));
  EXPECT_TRUE(IsError(ReadUserFile(dir_, "9|30|m|other|1\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(dir_.File("u.user"), ":1:"), "gender"}));
}

TEST_F(MovieLensTest, RejectsMalformedUserLines) {
  const std::string path = dir_.File("u.user");
  EXPECT_TRUE(IsError(ReadUserFile(dir_, "1|24|M|technician\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "expected 5"}));
  EXPECT_TRUE(IsError(ReadUserFile(dir_, "1|old|M|technician|1\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "age \"old\""}));
  EXPECT_TRUE(IsError(ReadUserFile(dir_, "1|0|M|technician|1\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "age 0 is outside 1-120"}));
  EXPECT_TRUE(IsError(ReadUserFile(dir_, "1|20|M|a|1\n1|21|F|b|2\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":2:"), "duplicate user id 1"}));
  EXPECT_TRUE(IsError(ReadUserFile(dir_, "1|20|M||1\n"),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "empty occupation"}));
}

TEST_F(MovieLensTest, RejectsMalformedGenreLines) {
  const std::string path = dir_.File("u.genre");
  WriteFile(path, "unknown|0\nAction|2\n");
  EXPECT_TRUE(IsError(ReadGenres(path).status(),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":2:"), "out of order"}));
  WriteFile(path, "unknown|zero\n");
  EXPECT_TRUE(IsError(ReadGenres(path).status(),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "not an integer"}));
  WriteFile(path, "unknown\n");
  EXPECT_TRUE(IsError(ReadGenres(path).status(),
                      absl::StatusCode::kInvalidArgument,
                      {absl::StrCat(path, ":1:"), "expected 2"}));
}

// The string entry points (the fuzzers call them) are the file readers
// without the file: same results, same messages under the given name.
TEST_F(MovieLensTest, ParsersOfTextMatchTheFileReaders) {
  ASSERT_OK_AND_ASSIGN(const MovieLens data, LoadMovieLens(dir_.path()));
  ASSERT_OK_AND_ASSIGN(const std::vector<std::string> genres,
                       ParseGenres(kGenres, "g"));
  EXPECT_EQ(genres, data.genre_names);
  ASSERT_OK_AND_ASSIGN(const std::vector<Movie> movies,
                       ParseMovies(kItems, "i", 3));
  ASSERT_EQ(movies.size(), data.movies.size());
  for (size_t i = 0; i < movies.size(); ++i) {
    EXPECT_EQ(movies[i].id, data.movies[i].id);
    EXPECT_EQ(movies[i].title, data.movies[i].title);
    EXPECT_EQ(movies[i].release_year, data.movies[i].release_year);
    EXPECT_EQ(movies[i].genres, data.movies[i].genres);
  }
  ASSERT_OK_AND_ASSIGN(const std::vector<User> users, ParseUsers(kUsers, "u"));
  ASSERT_EQ(users.size(), data.users.size());
  for (size_t i = 0; i < users.size(); ++i) {
    EXPECT_EQ(users[i].id, data.users[i].id);
    EXPECT_EQ(users[i].age, data.users[i].age);
    EXPECT_EQ(users[i].gender, data.users[i].gender);
    EXPECT_EQ(users[i].occupation, data.users[i].occupation);
    EXPECT_EQ(users[i].zip_code, data.users[i].zip_code);
  }

  EXPECT_TRUE(IsError(ParseGenres("unknown|0\nAction|2\n", "g").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"g:2:", "out of order"}));
  EXPECT_TRUE(IsError(ParseMovies("1|A||||0|0\n", "i", 3).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"i:1:", "expected 8"}));
  EXPECT_TRUE(IsError(ParseMovies(kItems, "i", -1).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"i", "negative number of genres -1"}));
  EXPECT_TRUE(IsError(ParseUsers("", "u").status(),
                      absl::StatusCode::kInvalidArgument, {"u", "no users"}));
}

TEST(Latin1ToUtf8Test, ConvertsEveryByte) {
  EXPECT_EQ(Latin1ToUtf8(""), "");
  EXPECT_EQ(Latin1ToUtf8("plain ASCII ~"), "plain ASCII ~");
  EXPECT_EQ(Latin1ToUtf8("Caf\xE9"), "Caf\xC3\xA9");
  EXPECT_EQ(Latin1ToUtf8("\x80"), "\xC2\x80");
  EXPECT_EQ(Latin1ToUtf8("\xA0\xBF"), "\xC2\xA0\xC2\xBF");
  EXPECT_EQ(Latin1ToUtf8("\xC0\xFF"), "\xC3\x80\xC3\xBF");
  EXPECT_EQ(Latin1ToUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(Latin1ToUtf8Test, RoundTripsAllLatin1) {
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string utf8 = Latin1ToUtf8(all);
  EXPECT_EQ(utf8.size(), 127u + 2u * 128u);
  EXPECT_EQ(test::Utf8ToLatin1(utf8), all);
}

}  // namespace
}  // namespace movierec
