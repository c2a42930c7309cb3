// Tests of the users' categorical attributes as tower features
// (data/features.h): a table per attribute with a row per distinct value,
// the rows in each user's bag, and what a user without a value, a visitor,
// an attribute without values and data without attributes get.
#include "data/features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/movielens.h"

namespace movierec {
namespace {

using ::testing::ElementsAre;

// Four users with the attributes plan (one user without a value), country
// and "unused" (no user has a value), and two movies.
MovieLens Catalog() {
  MovieLens data;
  data.user_attribute_names = {"plan", "country", "unused"};
  const std::vector<std::vector<std::string>> attributes = {
      {"gold", "fr", ""}, {"free", "de", ""}, {"", "fr", ""}, {"gold", "", ""}};
  for (int u = 0; u < 4; ++u) {
    User user;
    user.id = u + 1;
    user.attributes = attributes[static_cast<size_t>(u)];
    data.users.push_back(user);
  }
  for (int m = 0; m < 2; ++m) {
    Movie movie;
    movie.id = m + 1;
    movie.title = "m";
    data.movies.push_back(movie);
  }
  return data;
}

FeatureOptions IdAndAttributes() {
  FeatureOptions options;
  options.user_attributes = true;
  return options;
}

std::vector<std::string> TableNames(const std::vector<TableSpec>& tables) {
  std::vector<std::string> names;
  for (const TableSpec& table : tables) {
    names.push_back(table.name + ":" + std::to_string(table.rows));
  }
  return names;
}

// (table, row) of every entry, weights checked to be 1.
std::vector<std::pair<int, int>> Entries(const Bag& bag) {
  std::vector<std::pair<int, int>> entries;
  for (const BagEntry& entry : bag) {
    EXPECT_EQ(entry.weight, 1.0f);
    entries.emplace_back(entry.table, entry.row);
  }
  return entries;
}

TEST(UserAttributesTest, ATablePerAttributeWithARowPerDistinctValue) {
  const MovieLens data = Catalog();
  EXPECT_THAT(AttributeVocabulary(data.users, 0), ElementsAre("free", "gold"));
  EXPECT_THAT(AttributeVocabulary(data.users, 1), ElementsAre("de", "fr"));
  EXPECT_TRUE(AttributeVocabulary(data.users, 2).empty());

  const Featurizer featurizer(IdAndAttributes(), data);
  // "unused" has no values: no table.
  EXPECT_THAT(TableNames(featurizer.user_tables()),
              ElementsAre("user_id:4", "user_attribute/plan:2",
                          "user_attribute/country:2"));
  Bag bag;
  featurizer.UserBag(0, {}, -1, &bag);  // gold, fr
  EXPECT_THAT(Entries(bag),
              ElementsAre(std::pair{0, 0}, std::pair{1, 1}, std::pair{2, 1}));
  bag.clear();
  featurizer.UserBag(1, {}, -1, &bag);  // free, de
  EXPECT_THAT(Entries(bag),
              ElementsAre(std::pair{0, 1}, std::pair{1, 0}, std::pair{2, 0}));
  // No plan: no plan row.
  bag.clear();
  featurizer.UserBag(2, {}, -1, &bag, /*with_id=*/false);
  EXPECT_THAT(Entries(bag), ElementsAre(std::pair{2, 1}));
  // A visitor has no attributes.
  bag.clear();
  featurizer.UserBag(-1, {}, -1, &bag);
  EXPECT_TRUE(bag.empty());
  // A cold user is encoded from its attributes.
  EXPECT_TRUE(featurizer.ColdUserFromFeatures());
}

TEST(UserAttributesTest, NothingWhenOffOrWithoutAttributes) {
  const MovieLens data = Catalog();
  const Featurizer off(FeatureOptions{}, data);
  EXPECT_THAT(TableNames(off.user_tables()), ElementsAre("user_id:4"));
  EXPECT_FALSE(off.ColdUserFromFeatures());
  Bag bag;
  off.UserBag(0, {}, -1, &bag);
  EXPECT_EQ(bag.size(), 1u);

  MovieLens plain = data;
  plain.user_attribute_names.clear();
  for (User& user : plain.users) user.attributes.clear();
  const Featurizer without(IdAndAttributes(), plain);
  EXPECT_THAT(TableNames(without.user_tables()), ElementsAre("user_id:4"));
  EXPECT_FALSE(without.ColdUserFromFeatures());

  // Attributes no user has a value of are no feature either.
  for (User& user : plain.users) user.attributes = {""};
  plain.user_attribute_names = {"unused"};
  const Featurizer empty(IdAndAttributes(), plain);
  EXPECT_THAT(TableNames(empty.user_tables()), ElementsAre("user_id:4"));
  EXPECT_FALSE(empty.ColdUserFromFeatures());
  bag.clear();
  empty.UserBag(3, {}, -1, &bag);
  EXPECT_EQ(bag.size(), 1u);
}

}  // namespace
}  // namespace movierec
