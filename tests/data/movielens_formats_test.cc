// Tests of the MovieLens 1M, 10M and CSV (20M and later) readers
// (data/movielens_dat.h, data/movielens_csv.h) and of the format detection
// and loading of data/movielens.h: hand-made files in each real format with
// titles holding commas and quotes, multi-genre fields, missing fields and
// ISO-8859-1 bytes; and every kind of bad line per format, whose error must
// name the file, the line and the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/features.h"
#include "data/movielens.h"
#include "data/movielens_csv.h"
#include "data/movielens_dat.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// MovieLens 1M. Movie 4's title is ISO-8859-1 ("é" is 0xE9), has no year
// and no genres; user 3 has no zip code.
constexpr char k1mMovies[] =
    "1::Toy Story (1995)::Animation|Children's|Comedy\n"
    "2::American President, The (1995)::Comedy|Drama|Romance\n"
    "3::\"Great Performances\" Cats (1998)::Musical\n"
    "4::Caf\xE9 Society::\n";
constexpr char k1mUsers[] =
    "1::F::1::10::48067\n"
    "2::M::56::16::70072\n"
    "3::M::25::15::\n";
constexpr char k1mRatings[] =
    "1::1::5::978300760\n"
    "2::3::3::978298413\n"
    "3::2::4::978220179\n"
    "1::4::1::978300000\n";

// MovieLens 10M: half stars, no users file, "(no genres listed)", and a
// title that is UTF-8 already.
constexpr char k10mMovies[] =
    "10::GoldenEye (1995)::Action|Adventure|Thriller\n"
    "20::Money Train (1995)::Action|Comedy|Crime|Drama|Thriller\n"
    "30::Pok\xC3\xA9mon 4 Ever (2002)::(no genres listed)\n"
    "40::Home, Sweet Home (1973)::IMAX\n";
constexpr char k10mRatings[] =
    "7::20::4.5::838983525\n"
    "5::10::0.5::838983421\n"
    "7::30::3::838983392\r\n"
    "5::40::5::838983392\n";

// MovieLens 20M and later: quoted titles with commas and doubled quotes, a
// quoted line break, CRLF lines, ISO-8859-1 in an unquoted title.
constexpr char kCsvMovies[] =
    "movieId,title,genres\r\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
    "11,\"American President, The (1995)\",Comedy|Drama|Romance\r\n"
    "3,\"\"\"Great Performances\"\" Cats (1998)\",Musical\r\n"
    "4,Caf\xE9 Society,(no genres listed)\r\n"
    "5,\"Two\nLines (2001)\",Drama\r\n";
constexpr char kCsvRatings[] =
    "userId,movieId,rating,timestamp\n"
    "9,1,4.0,1112486027\n"
    "9,11,3.5,1112484676\n"
    "2,3,0.5,1112484819\n"
    "2,4,5.0,1112484727\n"
    "2,5,2.5,1112484580";  // no line end

KnownIds MoviesKnown(std::initializer_list<int32_t> ids) {
  KnownIds known;
  int32_t row = 0;
  for (const int32_t id : ids) known.movie_row.emplace(id, row++);
  return known;
}

TEST(Ml1mTest, ReadsMoviesUsersAndRatings) {
  ASSERT_OK_AND_ASSIGN(const MovieTable table,
                       ParseDatMovies(k1mMovies, "movies.dat"));
  EXPECT_THAT(table.genre_names,
              ElementsAre("Animation", "Children's", "Comedy", "Drama",
                          "Musical", "Romance"));
  ASSERT_EQ(table.movies.size(), 4u);
  EXPECT_EQ(table.movies[0].title, "Toy Story (1995)");
  EXPECT_EQ(table.movies[0].release_year, 1995);
  EXPECT_THAT(table.movies[0].genres, ElementsAre(0, 1, 2));
  EXPECT_EQ(table.movies[1].title, "American President, The (1995)");
  EXPECT_THAT(table.movies[1].genres, ElementsAre(2, 3, 5));
  EXPECT_EQ(table.movies[2].title, "\"Great Performances\" Cats (1998)");
  EXPECT_EQ(table.movies[2].release_year, 1998);
  EXPECT_EQ(table.movies[3].title, "Caf\xC3\xA9 Society");  // UTF-8
  EXPECT_EQ(table.movies[3].release_year, 0);
  EXPECT_THAT(table.movies[3].genres, IsEmpty());

  ASSERT_OK_AND_ASSIGN(const std::vector<User> users,
                       ParseDatUsers(k1mUsers, "users.dat"));
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].gender, "F");
  EXPECT_EQ(users[0].age, 1);
  EXPECT_EQ(Featurizer::AgeBucket(users[0].age), 0);  // under 18
  EXPECT_EQ(users[0].occupation, "K-12 student");
  EXPECT_EQ(users[0].zip_code, "48067");
  EXPECT_EQ(users[1].age, 56);
  EXPECT_EQ(Featurizer::AgeBucket(users[1].age), 6);  // 56+
  EXPECT_EQ(users[1].occupation, "self-employed");
  EXPECT_EQ(users[2].occupation, "scientist");
  EXPECT_EQ(users[2].zip_code, "");

  KnownIds known = MoviesKnown({1, 2, 3, 4});
  known.user_row = {{1, 0}, {2, 1}, {3, 2}};
  ASSERT_OK_AND_ASSIGN(const std::vector<Rating> ratings,
                       ParseDatRatings(k1mRatings, "ratings.dat", known));
  ASSERT_EQ(ratings.size(), 4u);  // in file order
  EXPECT_EQ(ratings[1].user_id, 2);
  EXPECT_EQ(ratings[1].movie_id, 3);
  EXPECT_EQ(ratings[1].rating, 3);
  EXPECT_EQ(ratings[1].timestamp, 978298413);
}

TEST(Ml1mTest, OccupationsAndAgeCodes) {
  EXPECT_EQ(Ml1mOccupations().size(), 21u);
  EXPECT_EQ(Ml1mOccupations()[0], "other or not specified");
  EXPECT_EQ(Ml1mOccupations()[20], "writer");
  // The seven codes land in the seven age buckets, one each.
  std::vector<int> buckets;
  for (int age = 0; age <= 120; ++age) {
    if (IsMl1mAgeCode(age)) buckets.push_back(Featurizer::AgeBucket(age));
  }
  EXPECT_THAT(buckets, ElementsAre(0, 1, 2, 3, 4, 5, 6));
}

TEST(Ml10mTest, ReadsHalfStarsAndUnknownUsers) {
  ASSERT_OK_AND_ASSIGN(const MovieTable table,
                       ParseDatMovies(k10mMovies, "movies.dat"));
  EXPECT_THAT(table.genre_names,
              ElementsAre("Action", "Adventure", "Comedy", "Crime", "Drama",
                          "IMAX", "Thriller"));
  EXPECT_EQ(table.movies[2].title, "Pok\xC3\xA9mon 4 Ever (2002)");
  EXPECT_THAT(table.movies[2].genres, IsEmpty());
  EXPECT_EQ(table.movies[3].title, "Home, Sweet Home (1973)");
  EXPECT_THAT(table.movies[3].genres, ElementsAre(5));
  ASSERT_OK_AND_ASSIGN(const std::vector<Rating> ratings,
                       ParseDatRatings(k10mRatings, "ratings.dat",
                                       MoviesKnown({10, 20, 30, 40})));
  ASSERT_EQ(ratings.size(), 4u);
  EXPECT_EQ(ratings[0].rating, 4.5f);
  EXPECT_EQ(ratings[1].rating, 0.5f);
  EXPECT_EQ(ratings[2].timestamp, 838983392);
}

TEST(CsvFormatTest, ReadsQuotedTitlesAndGenres) {
  ASSERT_OK_AND_ASSIGN(const MovieTable table,
                       ParseCsvMovies(kCsvMovies, "movies.csv"));
  EXPECT_THAT(table.genre_names,
              ElementsAre("Adventure", "Animation", "Children", "Comedy",
                          "Drama", "Fantasy", "Musical", "Romance"));
  ASSERT_EQ(table.movies.size(), 5u);
  EXPECT_EQ(table.movies[0].id, 1);
  EXPECT_THAT(table.movies[0].genres, ElementsAre(0, 1, 2, 3, 5));
  EXPECT_EQ(table.movies[1].id, 11);
  EXPECT_EQ(table.movies[1].title, "American President, The (1995)");
  EXPECT_EQ(table.movies[1].release_year, 1995);
  EXPECT_EQ(table.movies[2].title, "\"Great Performances\" Cats (1998)");
  EXPECT_EQ(table.movies[3].title, "Caf\xC3\xA9 Society");
  EXPECT_THAT(table.movies[3].genres, IsEmpty());
  EXPECT_EQ(table.movies[4].title, "Two\nLines (2001)");
  EXPECT_EQ(table.movies[4].release_year, 2001);

  ASSERT_OK_AND_ASSIGN(const std::vector<Rating> ratings,
                       ParseCsvRatings(kCsvRatings, "ratings.csv",
                                       MoviesKnown({1, 11, 3, 4, 5})));
  ASSERT_EQ(ratings.size(), 5u);
  EXPECT_EQ(ratings[1].movie_id, 11);
  EXPECT_EQ(ratings[1].rating, 3.5f);
  EXPECT_EQ(ratings[4].rating, 2.5f);
  EXPECT_EQ(ratings[4].timestamp, 1112484580);
}

TEST(GenreVocabularyTest, UnknownComesFirstAsInUGenre) {
  ASSERT_OK_AND_ASSIGN(
      const MovieTable table,
      ParseDatMovies("1::A (1990)::Western|unknown|Action\n2::B::Drama\n",
                     "movies.dat"));
  EXPECT_THAT(table.genre_names,
              ElementsAre("unknown", "Action", "Drama", "Western"));
  EXPECT_THAT(table.movies[0].genres, ElementsAre(0, 1, 3));
}

// One malformed input: the parser it goes to, the text, and what the error
// must say.
struct BadCase {
  std::string what;
  std::function<absl::Status(absl::string_view)> parse;
  std::string text;
  std::vector<std::string> parts;
};

void ExpectRefused(const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    const absl::Status status = c.parse(c.text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << c.what << ": " << status;
    for (const std::string& part : c.parts) {
      EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(part))
          << c.what;
    }
  }
}

absl::Status DatMovies(absl::string_view text) {
  return ParseDatMovies(text, "movies.dat").status();
}
absl::Status DatUsers(absl::string_view text) {
  return ParseDatUsers(text, "users.dat").status();
}
absl::Status Dat1mRatings(absl::string_view text) {
  KnownIds known = MoviesKnown({1, 2});
  known.user_row = {{1, 0}, {2, 1}};
  return ParseDatRatings(text, "ratings.dat", known).status();
}
absl::Status Dat10mRatings(absl::string_view text) {
  return ParseDatRatings(text, "ratings.dat", MoviesKnown({1, 2})).status();
}
absl::Status CsvMovies(absl::string_view text) {
  return ParseCsvMovies(text, "movies.csv").status();
}
absl::Status CsvRatings(absl::string_view text) {
  return ParseCsvRatings(text, "ratings.csv", MoviesKnown({1, 2})).status();
}

TEST(Ml1mTest, RefusesMalformedLines) {
  ExpectRefused({
      {"short movie line",
       DatMovies,
       "1::A (1995)::Drama\n2::B (1995)\n",
       {"movies.dat:2:", "expected 3 '::'-separated fields", "got 2"}},
      {"single colon",
       DatMovies,
       "1:A (1995):Drama\n",
       {"movies.dat:1:", "got 1"}},
      {"movie id",
       DatMovies,
       "x::A::Drama\n",
       {"movies.dat:1:", "movie id \"x\" is not an integer"}},
      {"movie id 0",
       DatMovies,
       "0::A::Drama\n",
       {"movies.dat:1:", "not a positive 32-bit id"}},
      {"duplicate movie",
       DatMovies,
       "1::A::Drama\n\n1::B::Drama\n",
       {"movies.dat:3:", "duplicate movie id 1"}},
      {"empty title",
       DatMovies,
       "1::::Drama\n",
       {"movies.dat:1:", "empty title"}},
      {"empty genre",
       DatMovies,
       "1::A::Drama||War\n",
       {"movies.dat:1:", "empty genre name"}},
      {"genre twice",
       DatMovies,
       "1::A::War|Drama|War\n",
       {"movies.dat:1:", "genre \"War\" listed twice"}},
      {"no movies", DatMovies, "\n\n", {"movies.dat: no movies"}},
      {"short user line",
       DatUsers,
       "1::F::1::10\n",
       {"users.dat:1:", "expected 5 '::'-separated fields"}},
      {"gender",
       DatUsers,
       "1::X::1::10::123\n",
       {"users.dat:1:", "gender \"X\" is not M or F"}},
      {"age code",
       DatUsers,
       "1::F::24::10::123\n",
       {"users.dat:1:", "age 24 is not a 1M age code"}},
      {"age text",
       DatUsers,
       "1::F::old::10::123\n",
       {"users.dat:1:", "age \"old\" is not an integer"}},
      {"occupation",
       DatUsers,
       "1::F::18::21::123\n",
       {"users.dat:1:", "occupation 21 is outside 0-20"}},
      {"duplicate user",
       DatUsers,
       "1::F::18::2::1\n1::M::18::2::1\n",
       {"users.dat:2:", "duplicate user id 1"}},
      {"no users", DatUsers, "", {"users.dat: no users"}},
      {"short rating line",
       Dat1mRatings,
       "1::1::5\n",
       {"ratings.dat:1:", "expected 4 '::'-separated fields"}},
      {"unknown user",
       Dat1mRatings,
       "1::1::5::1\n3::1::5::1\n",
       {"ratings.dat:2:", "unknown user id 3 (not in users.dat)"}},
      {"unknown movie",
       Dat1mRatings,
       "1::9::5::1\n",
       {"ratings.dat:1:", "unknown movie id 9 (not in movies.dat)"}},
      {"half star in 1M",
       Dat1mRatings,
       "1::1::4.5::1\n",
       {"ratings.dat:1:", "rating 4.5 is not a whole number of stars 1-5"}},
      {"rating 0",
       Dat1mRatings,
       "1::1::0::1\n",
       {"ratings.dat:1:", "rating 0 is not a whole number"}},
      {"rating text",
       Dat1mRatings,
       "1::1::five::1\n",
       {"ratings.dat:1:", "rating \"five\" is not a number"}},
      {"timestamp",
       Dat1mRatings,
       "1::1::5::yesterday\n",
       {"ratings.dat:1:", "timestamp \"yesterday\" is not an integer"}},
      {"no ratings", Dat1mRatings, "\r\n", {"ratings.dat: no ratings"}},
  });
}

TEST(Ml10mTest, RefusesMalformedLines) {
  ExpectRefused({
      {"rating 0.3",
       Dat10mRatings,
       "1::1::0.3::1\n",
       {"ratings.dat:1:", "rating 0.3 is not 0.5-5 in steps of half a star"}},
      {"rating 5.5",
       Dat10mRatings,
       "1::1::5.5::1\n",
       {"ratings.dat:1:", "rating 5.5 is not 0.5-5"}},
      {"rating nan",
       Dat10mRatings,
       "1::1::nan::1\n",
       {"ratings.dat:1:", "rating \"nan\" is not a number"}},
      {"user id",
       Dat10mRatings,
       "1::1::1::1\n-4::1::1::1\n",
       {"ratings.dat:2:", "user id -4 is not a positive 32-bit id"}},
      {"unknown movie",
       Dat10mRatings,
       "1::3::1::1\n",
       {"ratings.dat:1:", "unknown movie id 3"}},
      {"long line",
       Dat10mRatings,
       "1::1::1::1::tag\n",
       {"ratings.dat:1:", "expected 4", "got 5"}},
  });
}

TEST(CsvFormatTest, RefusesMalformedRecords) {
  ExpectRefused({
      {"movies header",
       CsvMovies,
       "id,title,genres\n1,A,Drama\n",
       {"movies.csv:1:",
        "header \"id,title,genres\" is not "
        "movieId,title,genres"}},
      {"empty movies file", CsvMovies, "", {"movies.csv: empty file"}},
      {"unterminated quote",
       CsvMovies,
       "movieId,title,genres\n1,A,Drama\n2,\"B, The (1995),Drama\n3,C,War\n",
       {"movies.csv:3:", "unterminated quoted field"}},
      {"quote in unquoted title",
       CsvMovies,
       "movieId,title,genres\n1,The \"B\",Drama\n",
       {"movies.csv:2:", "quote inside an unquoted field"}},
      {"text after quote",
       CsvMovies,
       "movieId,title,genres\n1,\"B\" (1995),Drama\n",
       {"movies.csv:2:", "after the closing quote"}},
      {"unquoted comma",
       CsvMovies,
       "movieId,title,genres\n1,B, The (1995),Drama\n",
       {"movies.csv:2:", "expected 3 fields", "got 4"}},
      {"missing genres",
       CsvMovies,
       "movieId,title,genres\n1,B\n",
       {"movies.csv:2:", "expected 3 fields", "got 2"}},
      {"movie id",
       CsvMovies,
       "movieId,title,genres\n1.5,B,Drama\n",
       {"movies.csv:2:", "movie id \"1.5\" is not an integer"}},
      {"duplicate movie",
       CsvMovies,
       "movieId,title,genres\n1,A,Drama\n1,B,Drama\n",
       {"movies.csv:3:", "duplicate movie id 1"}},
      {"empty title",
       CsvMovies,
       "movieId,title,genres\n1,\"\",Drama\n",
       {"movies.csv:2:", "empty title"}},
      {"empty genre",
       CsvMovies,
       "movieId,title,genres\n1,A,Drama|\n",
       {"movies.csv:2:", "empty genre name"}},
      {"no movies",
       CsvMovies,
       "movieId,title,genres\n",
       {"movies.csv: no movies"}},
      {"ratings header",
       CsvRatings,
       "userId,movieId,rating\n1,1,4\n",
       {"ratings.csv:1:", "is not userId,movieId,rating,timestamp"}},
      {"short rating",
       CsvRatings,
       "userId,movieId,rating,timestamp\n1,1,4.0\n",
       {"ratings.csv:2:", "expected 4 fields", "got 3"}},
      {"rating",
       CsvRatings,
       "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,4.25,1\n",
       {"ratings.csv:3:", "rating 4.25 is not 0.5-5 in steps"}},
      {"unknown movie",
       CsvRatings,
       "userId,movieId,rating,timestamp\n1,7,4.0,1\n",
       {"ratings.csv:2:", "unknown movie id 7 (not in movies.csv)"}},
      {"user id",
       CsvRatings,
       "userId,movieId,rating,timestamp\nu1,1,4.0,1\n",
       {"ratings.csv:2:", "user id \"u1\" is not an integer"}},
      {"timestamp",
       CsvRatings,
       "userId,movieId,rating,timestamp\n1,1,4.0,\n",
       {"ratings.csv:2:", "timestamp \"\" is not an integer"}},
      {"no ratings",
       CsvRatings,
       "userId,movieId,rating,timestamp\r\n",
       {"ratings.csv: no ratings"}},
  });
}

class FormatDirTest : public ::testing::Test {
 protected:
  void Write1m() {
    WriteFile(dir_.File("movies.dat"), k1mMovies);
    WriteFile(dir_.File("users.dat"), k1mUsers);
    WriteFile(dir_.File("ratings.dat"), k1mRatings);
  }
  void Write10m() {
    WriteFile(dir_.File("movies.dat"), k10mMovies);
    WriteFile(dir_.File("ratings.dat"), k10mRatings);
  }
  void WriteCsv() {
    WriteFile(dir_.File("movies.csv"), kCsvMovies);
    WriteFile(dir_.File("ratings.csv"), kCsvRatings);
  }
  ScopedTempDir dir_;
};

TEST_F(FormatDirTest, FormatNames) {
  for (const MovieLensFormat format :
       {MovieLensFormat::kAuto, MovieLensFormat::k100K, MovieLensFormat::k1M,
        MovieLensFormat::k10M, MovieLensFormat::kCsv}) {
    ASSERT_OK_AND_ASSIGN(const MovieLensFormat parsed,
                         ParseMovieLensFormat(MovieLensFormatName(format)));
    EXPECT_EQ(parsed, format);
  }
  EXPECT_TRUE(IsError(ParseMovieLensFormat("ml-20m").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"\"ml-20m\"", "auto, ml-100k, ml-1m, ml-10m, ml-csv"}));
}

TEST_F(FormatDirTest, Loads1mByDetection) {
  Write1m();
  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(dir_.path()));
  EXPECT_EQ(format, MovieLensFormat::k1M);
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_EQ(data.movies.size(), 4u);
  EXPECT_EQ(data.users.size(), 3u);
  EXPECT_EQ(data.ratings.size(), 4u);
  EXPECT_EQ(data.genre_names.size(), 6u);
  EXPECT_TRUE(HasDemographics(data));
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       LoadCatalog(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_EQ(catalog.users.size(), 3u);
  EXPECT_THAT(catalog.ratings, IsEmpty());
}

TEST_F(FormatDirTest, Loads10mWithUsersFromRatings) {
  Write10m();
  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(dir_.path()));
  EXPECT_EQ(format, MovieLensFormat::k10M);
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  ASSERT_EQ(data.users.size(), 2u);
  EXPECT_EQ(data.users[0].id, 5);  // ascending ids
  EXPECT_EQ(data.users[1].id, 7);
  EXPECT_FALSE(HasDemographics(data));
  EXPECT_EQ(data.ratings.size(), 4u);
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       LoadCatalog(dir_.path(), MovieLensFormat::k10M));
  EXPECT_EQ(catalog.users.size(), 2u);
  EXPECT_THAT(catalog.ratings, IsEmpty());
}

TEST_F(FormatDirTest, LoadsCsvByDetection) {
  WriteCsv();
  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(dir_.path()));
  EXPECT_EQ(format, MovieLensFormat::kCsv);
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_EQ(data.movies.size(), 5u);
  ASSERT_EQ(data.users.size(), 2u);
  EXPECT_EQ(data.users[0].id, 2);
  EXPECT_EQ(data.users[1].id, 9);
  EXPECT_EQ(data.ratings.size(), 5u);
  EXPECT_FALSE(HasDemographics(data));
}

TEST_F(FormatDirTest, ForcedFormatNamesItsMissingFile) {
  WriteCsv();
  EXPECT_TRUE(IsError(LoadMovieLens(dir_.path(), MovieLensFormat::k1M).status(),
                      absl::StatusCode::kNotFound, {dir_.File("movies.dat")}));
  Write10m();  // movies.dat and ratings.dat, no users.dat
  EXPECT_TRUE(IsError(LoadMovieLens(dir_.path(), MovieLensFormat::k1M).status(),
                      absl::StatusCode::kNotFound, {dir_.File("users.dat")}));
}

TEST_F(FormatDirTest, DetectionRefusesEmptyMixedAndMissingDirs) {
  EXPECT_TRUE(IsError(DetectMovieLensFormat(dir_.path()).status(),
                      absl::StatusCode::kNotFound,
                      {dir_.path(), "holds no MovieLens files"}));
  EXPECT_TRUE(IsError(DetectMovieLensFormat(dir_.File("nope")).status(),
                      absl::StatusCode::kNotFound,
                      {dir_.File("nope"), "does not exist"}));
  Write10m();
  WriteCsv();
  EXPECT_TRUE(
      IsError(LoadMovieLens(dir_.path(), MovieLensFormat::kAuto).status(),
              absl::StatusCode::kInvalidArgument,
              {"more than one format", "ml-10m", "ml-csv", "--format"}));
  // --format settles it.
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kCsv));
  EXPECT_EQ(data.movies.size(), 5u);
}

TEST_F(FormatDirTest, ErrorsOfFilesNameThePath) {
  Write1m();
  WriteFile(dir_.File("ratings.dat"), "1::1::5::1\n1::77::5::1\n");
  EXPECT_TRUE(
      IsError(LoadMovieLens(dir_.path(), MovieLensFormat::kAuto).status(),
              absl::StatusCode::kInvalidArgument,
              {dir_.File("ratings.dat"), ":2:", "unknown movie id 77"}));
}

}  // namespace
}  // namespace movierec
