// Tests of the generic format's reader (data/generic_format.h): string ids
// of any form, columns found by name, the optional columns and files, and
// every kind of bad input, whose error must name the file, the line and the
// reason.
#include "data/generic_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/dataset.h"
#include "data/movielens.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Columns in another order than the documentation's, a quoted title with a
// comma and doubled quotes, a title over two lines, an item without genres
// or year, an ISO-8859-1 title.
constexpr char kItems[] =
    "title,item_id,year,genres\r\n"
    "\"Widget, The\",sku-9f3a,1995,Comedy|Drama\r\n"
    "\"\"\"Quoted\"\" Thing\",sku-00b1,,\r\n"
    "\"Two\nLines\",m50,2001,Drama\r\n"
    "Caf\xE9,m 7,1999,unknown\r\n";
constexpr char kInteractions[] =
    "user_id,item_id,rating,timestamp\n"
    "u-abc,sku-9f3a,4.5,1112486027\n"
    "u138,m50,3,1112484676\n"
    "u-abc,m 7,0.5,1112484819\n"
    "u138,sku-00b1,5,1112484727";  // no line end

// InvalidArgument whose message holds every one of `parts`.
::testing::AssertionResult Refused(const absl::Status& status,
                                   const std::vector<std::string>& parts) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "not InvalidArgument: " << status;
  }
  for (const std::string& part : parts) {
    if (status.message().find(part) == absl::string_view::npos) {
      return ::testing::AssertionFailure()
             << "\"" << status.message() << "\" lacks \"" << part << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

GenericItems Items() {
  absl::StatusOr<GenericItems> items = ParseGenericItems(kItems, "items.csv");
  EXPECT_TRUE(test::IsOk(items));
  return items.ok() ? *std::move(items) : GenericItems();
}

TEST(GenericItemsTest, ReadsColumnsByNameQuotedTitlesAndStringIds) {
  const GenericItems items = Items();
  ASSERT_EQ(items.movies.size(), 4u);
  EXPECT_THAT(items.genre_names, ElementsAre("unknown", "Comedy", "Drama"));
  const Movie& widget = items.movies[0];
  EXPECT_EQ(widget.id, 1);
  EXPECT_EQ(widget.key, "sku-9f3a");
  EXPECT_EQ(ExternalId(widget), "sku-9f3a");
  EXPECT_EQ(widget.title, "Widget, The");
  EXPECT_EQ(widget.release_year, 1995);
  EXPECT_THAT(widget.genres, ElementsAre(1, 2));
  EXPECT_EQ(items.movies[1].title, "\"Quoted\" Thing");
  EXPECT_EQ(items.movies[1].release_year, 0);
  EXPECT_THAT(items.movies[1].genres, IsEmpty());
  EXPECT_EQ(items.movies[2].title, "Two\nLines");
  EXPECT_EQ(items.movies[2].id, 3);
  EXPECT_EQ(items.movies[3].title, "Caf\xC3\xA9");  // converted to UTF-8
  EXPECT_EQ(items.movies[3].key, "m 7");
  EXPECT_EQ(items.row.at("m50"), 2);
}

TEST(GenericItemsTest, OptionalColumnsMayBeAbsent) {
  ASSERT_OK_AND_ASSIGN(
      const GenericItems items,
      ParseGenericItems("\xEF\xBB\xBFitem_id,title\nA,Alpha (1999)\nB,Beta\n",
                        "items.csv"));
  ASSERT_EQ(items.movies.size(), 2u);
  EXPECT_THAT(items.genre_names, IsEmpty());
  // Without a year column no item has a year, even from its title.
  EXPECT_EQ(items.movies[0].release_year, 0);
}

TEST(GenericItemsTest, RefusesBadFilesNamingTheLineAndTheReason) {
  const struct {
    const char* text;
    std::vector<std::string> parts;
  } cases[] = {
      {"", {"items.csv", "empty file"}},
      {"item_id\nA\n", {"items.csv:1:", "no title column"}},
      {"title\nAlpha\n", {"items.csv:1:", "no item_id column"}},
      {"item_id,title,price\nA,Alpha,3\n",
       {"items.csv:1:", "unknown column \"price\""}},
      {"item_id,title,price,tags\nA,Alpha,3,x\n",
       {"items.csv:1:", "unknown columns \"price\", \"tags\""}},
      {"item_id,title,title\n", {"items.csv:1:", "\"title\" appears twice"}},
      {"item_id,,title\n", {"items.csv:1:", "column 2 has no name"}},
      {"item_id,title\n,Alpha\n", {"items.csv:2:", "empty item id"}},
      {"item_id,title\nA,Alpha\nA,Again\n",
       {"items.csv:3:", "duplicate item id \"A\""}},
      {"item_id,title\nA,\n", {"items.csv:2:", "empty title"}},
      {"item_id,title\nA,Alpha,extra\n",
       {"items.csv:2:", "expected 2 fields", "got 3"}},
      {"item_id,title,year\nA,Alpha,199x\n",
       {"items.csv:2:", "year \"199x\" is not a year 1800-2100"}},
      {"item_id,title,year\nA,Alpha,3000\n", {"items.csv:2:", "year \"3000\""}},
      {"item_id,title,genres\nA,Alpha,Drama||Comedy\n",
       {"items.csv:2:", "empty genre name"}},
      {"item_id,title,genres\nA,Alpha,Drama|Drama\n",
       {"items.csv:2:", "listed twice"}},
      {"item_id,title\nA\xFF,Alpha\n", {"items.csv:2:", "not valid UTF-8"}},
      {"item_id,title\n\"A\tB\",Alpha\n",
       {"items.csv:2:", "control character"}},
      {"item_id,title\n\"A,Alpha\n", {"items.csv:2:", "unterminated"}},
      {"item_id,title\n", {"items.csv", "no items"}},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(
        Refused(ParseGenericItems(c.text, "items.csv").status(), c.parts))
        << c.text;
  }
  const std::string long_id(kMaxExternalIdBytes + 1, 'x');
  EXPECT_TRUE(
      IsError(ParseGenericItems(
                  absl::StrCat("item_id,title\n", long_id, ",A\n"), "items.csv")
                  .status(),
              absl::StatusCode::kInvalidArgument,
              {"items.csv:2:", "257 bytes, longer than 256"}));
  const std::string longest(kMaxExternalIdBytes, 'x');
  EXPECT_TRUE(test::IsOk(ParseGenericItems(
      absl::StrCat("item_id,title\n", longest, ",A\n"), "items.csv")));
}

TEST(GenericInteractionsTest, ReadsStringIdsUsersInFirstSeenOrder) {
  const GenericItems items = Items();
  GenericUsers users;
  ASSERT_OK_AND_ASSIGN(
      const GenericInteractions read,
      ParseGenericInteractions(kInteractions, "interactions.csv", items, &users,
                               /*users_fixed=*/false));
  EXPECT_TRUE(read.has_timestamps);
  ASSERT_EQ(users.users.size(), 2u);
  EXPECT_EQ(users.users[0].key, "u-abc");
  EXPECT_EQ(users.users[0].id, 1);
  EXPECT_EQ(users.users[1].key, "u138");
  EXPECT_EQ(users.users[1].id, 2);
  ASSERT_EQ(read.ratings.size(), 4u);
  EXPECT_EQ(read.ratings[0].user_id, 1);
  EXPECT_EQ(read.ratings[0].movie_id, 1);
  EXPECT_EQ(read.ratings[0].rating, 4.5f);
  EXPECT_EQ(read.ratings[0].timestamp, 1112486027);
  EXPECT_EQ(read.ratings[2].movie_id, 4);  // "m 7"
  EXPECT_EQ(read.ratings[3].user_id, 2);
  EXPECT_EQ(read.ratings[3].movie_id, 2);
}

// Implicit data: no rating column. Every interaction is a positive of
// kImplicitRating, and a repeated (user, item) pair counts once, at its first
// row (its timestamp).
TEST(GenericInteractionsTest, WithoutRatingsTheDataIsImplicit) {
  const GenericItems items = Items();
  GenericUsers users;
  ASSERT_OK_AND_ASSIGN(
      const GenericInteractions read,
      ParseGenericInteractions("user_id,item_id,timestamp\n"
                               "u1,m50,10\nu1,sku-9f3a,11\nu1,m50,12\n"
                               "u2,m50,13\nu1,m50,14\n",
                               "interactions.csv", items, &users, false));
  EXPECT_FALSE(read.has_ratings);
  EXPECT_EQ(read.repeats_dropped, 2);
  ASSERT_EQ(read.ratings.size(), 3u);
  for (const Rating& r : read.ratings) EXPECT_EQ(r.rating, kImplicitRating);
  EXPECT_EQ(read.ratings[0].timestamp, 10);
  EXPECT_EQ(read.ratings[1].timestamp, 11);
  EXPECT_EQ(read.ratings[2].timestamp, 13);
  EXPECT_EQ(read.ratings[2].user_id, 2);
  // With ratings, every row stays (and says so).
  ASSERT_OK_AND_ASSIGN(
      const GenericInteractions rated,
      ParseGenericInteractions("user_id,item_id,rating\nu1,m50,4\nu1,m50,5\n",
                               "interactions.csv", items, &users, false));
  EXPECT_TRUE(rated.has_ratings);
  EXPECT_EQ(rated.ratings.size(), 2u);
}

TEST(GenericInteractionsTest, TimestampIsOptional) {
  const GenericItems items = Items();
  GenericUsers users;
  ASSERT_OK_AND_ASSIGN(
      const GenericInteractions read,
      ParseGenericInteractions("item_id,rating,user_id\nm50,4,u1\n", "i.csv",
                               items, &users, false));
  EXPECT_FALSE(read.has_timestamps);
  ASSERT_EQ(read.ratings.size(), 1u);
  EXPECT_EQ(read.ratings[0].timestamp, 0);
  EXPECT_EQ(read.ratings[0].movie_id, 3);
}

TEST(GenericInteractionsTest, RefusesBadFilesNamingTheLineAndTheReason) {
  const GenericItems items = Items();
  constexpr char kHead[] = "user_id,item_id,rating,timestamp\n";
  const struct {
    std::string text;
    std::vector<std::string> parts;
  } cases[] = {
      {"", {"interactions.csv", "empty file"}},
      {"user_id,rating\nu1,4\n", {"interactions.csv:1:", "no item_id column"}},
      {"item_id,rating\nm50,4\n", {"interactions.csv:1:", "no user_id column"}},
      {"user_id,item_id,rating,weight\nu1,m50,4,1\n",
       {"interactions.csv:1:", "unknown column \"weight\""}},
      {absl::StrCat(kHead, ",m50,4,1\n"),
       {"interactions.csv:2:", "empty user id"}},
      {absl::StrCat(kHead, "u1,,4,1\n"),
       {"interactions.csv:2:", "empty item id"}},
      {absl::StrCat(kHead, "u1,m50,4,1\nu1,sku-nope,4,1\n"),
       {"interactions.csv:3:",
        "unknown item id \"sku-nope\" (not in items.csv)"}},
      {absl::StrCat(kHead, "u1,m50,four,1\n"),
       {"interactions.csv:2:", "rating \"four\" is not a number"}},
      {absl::StrCat(kHead, "u1,m50,nan,1\n"),
       {"interactions.csv:2:", "is not a number"}},
      {absl::StrCat(kHead, "u1,m50,6,1\n"),
       {"interactions.csv:2:", "rating \"6\" is outside 0.5-5"}},
      {absl::StrCat(kHead, "u1,m50,0,1\n"),
       {"interactions.csv:2:", "outside 0.5-5"}},
      {absl::StrCat(kHead, "u1,m50,4,yesterday\n"),
       {"interactions.csv:2:",
        "timestamp \"yesterday\" is not a non-negative "
        "integer"}},
      {absl::StrCat(kHead, "u1,m50,4,-5\n"),
       {"interactions.csv:2:", "timestamp \"-5\""}},
      {absl::StrCat(kHead, "u1,m50,4\n"),
       {"interactions.csv:2:", "expected 4 fields", "got 3"}},
      {absl::StrCat(kHead, "u1,\"m50\"x,4,1\n"),
       {"interactions.csv:2:", "after the closing quote"}},
      {kHead, {"interactions.csv", "no interactions"}},
  };
  for (const auto& c : cases) {
    GenericUsers users;
    EXPECT_TRUE(Refused(ParseGenericInteractions(c.text, "interactions.csv",
                                                 items, &users, false)
                            .status(),
                        c.parts))
        << c.text;
  }
}

// Columns beyond the demographics and zip_code are the users' categorical
// attributes, in file order; an empty field is no value, and Latin-1 comes
// out as UTF-8, as in titles.
TEST(GenericUsersTest, ReadsDemographicsAndOtherColumnsAsAttributes) {
  ASSERT_OK_AND_ASSIGN(
      GenericUsers users,
      ParseGenericUsers("user_id,gender,plan,age,occupation,zip_code,country\n"
                        "u-abc,F,gold,24,writer,\"10,001\",\"C\xF4te, d'Or\"\n"
                        "u138,M,,61,other,,fr\n",
                        "users.csv"));
  ASSERT_EQ(users.users.size(), 2u);
  EXPECT_THAT(users.attribute_names, ElementsAre("plan", "country"));
  EXPECT_THAT(users.users[0].attributes,
              ElementsAre("gold", "C\xC3\xB4te, d'Or"));
  EXPECT_THAT(users.users[1].attributes, ElementsAre("", "fr"));
  EXPECT_EQ(users.users[0].key, "u-abc");
  EXPECT_EQ(users.users[0].id, 1);
  EXPECT_EQ(users.users[0].age, 24);
  EXPECT_EQ(users.users[0].gender, "F");
  EXPECT_EQ(users.users[0].occupation, "writer");
  EXPECT_EQ(users.users[0].zip_code, "10,001");
  EXPECT_EQ(users.row.at("u138"), 1);

  // Interactions of users.csv's users only.
  const GenericItems items = Items();
  EXPECT_TRUE(IsError(
      ParseGenericInteractions(
          "user_id,item_id,rating\nu-abc,m50,4\nu9,m50,4\n", "interactions.csv",
          items, &users, true)
          .status(),
      absl::StatusCode::kInvalidArgument,
      {"interactions.csv:3:", "unknown user id \"u9\" (not in users.csv)"}));
  ASSERT_OK_AND_ASSIGN(
      const GenericInteractions read,
      ParseGenericInteractions("user_id,item_id,rating\nu138,m50,4\n",
                               "interactions.csv", items, &users, true));
  EXPECT_EQ(read.ratings[0].user_id, 2);
  EXPECT_EQ(users.users.size(), 2u);

  ASSERT_OK_AND_ASSIGN(
      const GenericUsers plain,
      ParseGenericUsers("user_id,segment\nu1,a\nu2,b\n", "users.csv"));
  EXPECT_THAT(plain.attribute_names, ElementsAre("segment"));
  EXPECT_THAT(plain.users[1].attributes, ElementsAre("b"));
  EXPECT_EQ(plain.users[0].gender, "");
  EXPECT_EQ(plain.users[0].age, 0);
}

TEST(GenericUsersTest, RefusesBadFilesNamingTheLineAndTheReason) {
  const struct {
    const char* text;
    std::vector<std::string> parts;
  } cases[] = {
      {"segment\na\n", {"users.csv:1:", "no user_id column"}},
      {"user_id,age\nu1,30\n",
       {"users.csv:1:", "age, gender and occupation", "come together"}},
      {"user_id\nu1\nu1\n", {"users.csv:3:", "duplicate user id \"u1\""}},
      {"user_id\n\"\"\n", {"users.csv:2:", "empty user id"}},
      {"user_id,age,gender,occupation\nu1,0,F,x\n",
       {"users.csv:2:", "age \"0\" is not an integer 1-120"}},
      {"user_id,age,gender,occupation\nu1,30,X,x\n",
       {"users.csv:2:", "gender \"X\" is not M or F"}},
      {"user_id,age,gender,occupation\nu1,30,F,\n",
       {"users.csv:2:", "empty occupation"}},
      {"user_id\n", {"users.csv", "no users"}},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(
        Refused(ParseGenericUsers(c.text, "users.csv").status(), c.parts))
        << c.text;
  }
}

class GenericDirTest : public ::testing::Test {
 protected:
  void WriteAll() {
    WriteFile(dir_.File("items.csv"), kItems);
    WriteFile(dir_.File("interactions.csv"), kInteractions);
  }
  ScopedTempDir dir_;
};

TEST_F(GenericDirTest, IsDetectedAndLoaded) {
  WriteAll();
  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(dir_.path()));
  EXPECT_EQ(format, MovieLensFormat::kGeneric);
  ASSERT_OK_AND_ASSIGN(const MovieLensFormat parsed,
                       ParseMovieLensFormat("generic"));
  EXPECT_EQ(parsed, MovieLensFormat::kGeneric);
  EXPECT_EQ(MovieLensFormatName(MovieLensFormat::kGeneric), "generic");
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_EQ(data.movies.size(), 4u);
  ASSERT_EQ(data.users.size(), 2u);
  EXPECT_EQ(ExternalId(data.users[0]), "u-abc");
  EXPECT_EQ(data.ratings.size(), 4u);
  EXPECT_TRUE(data.has_timestamps);
  EXPECT_FALSE(HasDemographics(data));
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       LoadCatalog(dir_.path(), MovieLensFormat::kGeneric));
  EXPECT_EQ(catalog.users.size(), 2u);
  EXPECT_THAT(catalog.ratings, IsEmpty());
  ASSERT_OK_AND_ASSIGN(const Dataset dataset, MakeSplit(data, SplitSpec{}, 42));
  EXPECT_EQ(dataset.train.size() + dataset.test.size(), 4u);
}

TEST_F(GenericDirTest, WithUsersFileKeepsItsOrderAndDemographics) {
  WriteAll();
  WriteFile(dir_.File("users.csv"),
            "user_id,age,gender,occupation,tier\n"
            "u138,30,M,engineer,a\nu-abc,40,F,writer,b\nu-idle,22,F,none,c\n");
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  ASSERT_EQ(data.users.size(), 3u);
  EXPECT_EQ(data.users[0].key, "u138");
  EXPECT_EQ(data.users[2].key, "u-idle");
  EXPECT_TRUE(HasDemographics(data));
  EXPECT_THAT(data.user_attribute_names, ElementsAre("tier"));
  EXPECT_THAT(data.users[2].attributes, ElementsAre("c"));
  EXPECT_EQ(data.ratings[0].user_id, 2);  // u-abc
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       LoadCatalog(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_EQ(catalog.users.size(), 3u);
}

TEST_F(GenericDirTest, WithoutTimestampsRefusesTimeSplits) {
  WriteFile(dir_.File("items.csv"), kItems);
  WriteFile(dir_.File("interactions.csv"),
            "user_id,item_id,rating\nu1,m50,4\nu1,m 7,3\nu2,m50,5\n");
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_FALSE(data.has_timestamps);
  for (const char* split : {"temporal", "leave_last_n=1"}) {
    ASSERT_OK_AND_ASSIGN(const SplitSpec spec, ParseSplitSpec(split));
    EXPECT_TRUE(IsError(MakeSplit(data, spec, 42).status(),
                        absl::StatusCode::kInvalidArgument,
                        {split, "no timestamps", "random split"}));
  }
  EXPECT_TRUE(test::IsOk(MakeSplit(data, SplitSpec{}, 42)));
}

TEST_F(GenericDirTest, ExplicitSplitFilesAreRefusedForStringIds) {
  WriteAll();
  WriteFile(dir_.File("train.data"), "1\t1\t4\t1\n");
  WriteFile(dir_.File("test.data"), "1\t2\t4\t1\n");
  ASSERT_OK_AND_ASSIGN(MovieLens catalog,
                       LoadCatalog(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_TRUE(
      IsError(MakeExplicitSplit(std::move(catalog), dir_.File("train.data"),
                                dir_.File("test.data"))
                  .status(),
              absl::StatusCode::kInvalidArgument, {"string ids"}));
}

// What the trainer needs at least: interactions.csv alone. The items are
// then its item ids in first-seen order, titled with their ids, without
// genres or years; the catalogue alone (LoadCatalog) learns them too.
TEST_F(GenericDirTest, InteractionsAloneAreEnough) {
  WriteFile(dir_.File("interactions.csv"), kInteractions);
  ASSERT_OK_AND_ASSIGN(const MovieLensFormat format,
                       DetectMovieLensFormat(dir_.path()));
  EXPECT_EQ(format, MovieLensFormat::kGeneric);
  ASSERT_OK_AND_ASSIGN(const MovieLens data,
                       LoadMovieLens(dir_.path(), MovieLensFormat::kAuto));
  std::vector<std::string> keys;
  for (const Movie& movie : data.movies) {
    EXPECT_EQ(movie.title, movie.key);
    EXPECT_THAT(movie.genres, IsEmpty());
    EXPECT_EQ(movie.release_year, 0);
    EXPECT_EQ(movie.id, static_cast<int32_t>(keys.size()) + 1);
    keys.push_back(movie.key);
  }
  std::vector<std::string> first_seen;
  for (const Rating& r : data.ratings) {
    const std::string& key = data.movies[r.movie_id - 1].key;
    if (std::find(first_seen.begin(), first_seen.end(), key) ==
        first_seen.end()) {
      first_seen.push_back(key);
    }
  }
  EXPECT_EQ(keys, first_seen);
  EXPECT_THAT(data.genre_names, IsEmpty());
  EXPECT_EQ(data.ratings.size(), 4u);
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       LoadCatalog(dir_.path(), MovieLensFormat::kAuto));
  EXPECT_EQ(catalog.movies.size(), data.movies.size());
  EXPECT_THAT(catalog.ratings, IsEmpty());
  // items.csv, when there, is still the whole catalogue.
  WriteFile(dir_.File("items.csv"), "item_id,title\nm50,Fifty\n");
  EXPECT_TRUE(
      IsError(LoadMovieLens(dir_.path(), MovieLensFormat::kAuto).status(),
              absl::StatusCode::kInvalidArgument,
              {"interactions.csv:2:", "not in items.csv"}));
}

TEST_F(GenericDirTest, ErrorsNameThePath) {
  WriteAll();
  WriteFile(dir_.File("interactions.csv"),
            "user_id,item_id,rating\nu1,m50,4\nu1,zzz,4\n");
  EXPECT_TRUE(
      IsError(LoadMovieLens(dir_.path(), MovieLensFormat::kAuto).status(),
              absl::StatusCode::kInvalidArgument,
              {dir_.File("interactions.csv"), ":3:", "unknown item id"}));
  test::ScopedTempDir only_items;
  WriteFile(only_items.File("items.csv"), kItems);
  EXPECT_TRUE(IsError(
      LoadMovieLens(only_items.path(), MovieLensFormat::kAuto).status(),
      absl::StatusCode::kNotFound, {only_items.File("interactions.csv")}));
}

}  // namespace
}  // namespace movierec
