#include "tests/bench/synthetic_dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/test_util.h"

namespace movierec::bench {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

DatasetSpec Small() { return {300, 2000, 30000, 7}; }

TEST(SyntheticDatasetTest, WritesTheAskedSizesInTheGenericFormat) {
  test::ScopedTempDir dir;
  DatasetStats stats;
  ASSERT_TRUE(WriteSyntheticDataset(Small(), dir.path(), &stats).ok());
  EXPECT_EQ(stats.interactions, 30000);
  EXPECT_EQ(stats.users, 300);

  const std::vector<std::string> lines = absl::StrSplit(
      ReadAll(dir.File("interactions.csv")), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 30001u);
  EXPECT_EQ(lines[0], "user_id,item_id,rating,timestamp");
  std::map<std::string, int> per_user;
  std::set<std::pair<std::string, std::string>> pairs;
  std::map<std::string, int> per_item;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(f.size(), 4u) << lines[i];
    ASSERT_EQ(f[0][0], 'u');
    ASSERT_EQ(f[1][0], 'm');
    double rating;
    int64_t timestamp;
    ASSERT_TRUE(absl::SimpleAtod(f[2], &rating)) << lines[i];
    ASSERT_TRUE(absl::SimpleAtoi(f[3], &timestamp)) << lines[i];
    EXPECT_GE(rating, 0.5);
    EXPECT_LE(rating, 5);
    EXPECT_EQ(rating * 2, static_cast<int>(rating * 2)) << "half stars";
    EXPECT_GE(timestamp, 789652009);
    EXPECT_LE(timestamp, 1574327703);
    ++per_user[f[0]];
    ++per_item[f[1]];
    EXPECT_TRUE(pairs.insert({f[0], f[1]}).second) << "repeated " << lines[i];
  }
  EXPECT_EQ(per_user.size(), 300u);
  for (const auto& [user, n] : per_user) {
    EXPECT_GE(n, 20) << user;
    EXPECT_LE(n, 200) << user << ": at most a tenth of the items";
  }

  const std::string items = ReadAll(dir.File("items.csv"));
  const std::vector<std::string> item_lines =
      absl::StrSplit(items, '\n', absl::SkipEmpty());
  ASSERT_EQ(item_lines.size(), 2001u);
  EXPECT_EQ(item_lines[0], "item_id,title,genres,year");
  EXPECT_EQ(item_lines[7].substr(0, 4), "m7,\"") << "a quoted title";
  EXPECT_NE(items.find("\"The \"\"Synthetic\"\" Picture 13 ("),
            std::string::npos)
      << "a title with doubled quotes";
}

TEST(SyntheticDatasetTest, PopularityIsLongTailedAtScale) {
  test::ScopedTempDir dir;
  const DatasetSpec spec{2000, 5000, 200000, 3};
  DatasetStats stats;
  ASSERT_TRUE(WriteSyntheticDataset(spec, dir.path(), &stats).ok());
  const std::vector<std::string> lines = absl::StrSplit(
      ReadAll(dir.File("interactions.csv")), '\n', absl::SkipEmpty());
  std::map<std::string, int64_t> per_item;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = absl::StrSplit(lines[i], ',');
    ++per_item[f[1]];
  }
  std::vector<int64_t> counts;
  for (const auto& [item, n] : per_item) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  int64_t top = 0;
  for (size_t i = 0; i < counts.size() / 100; ++i) top += counts[i];
  // The top 1% of items draw far more than 1% of the interactions, and the
  // median item few.
  EXPECT_GT(static_cast<double>(top) / spec.interactions, 0.10);
  EXPECT_LT(counts[counts.size() / 2], 40);
  EXPECT_EQ(stats.max_item_popularity, counts[0]);
}

TEST(SyntheticDatasetTest, IsTheSameForASeedAndDiffersAcrossSeeds) {
  test::ScopedTempDir a, b, c;
  DatasetSpec spec = Small();
  ASSERT_TRUE(WriteSyntheticDataset(spec, a.path()).ok());
  ASSERT_TRUE(WriteSyntheticDataset(spec, b.path()).ok());
  spec.seed = 8;
  ASSERT_TRUE(WriteSyntheticDataset(spec, c.path()).ok());
  EXPECT_EQ(ReadAll(a.File("interactions.csv")),
            ReadAll(b.File("interactions.csv")));
  EXPECT_EQ(ReadAll(a.File("items.csv")), ReadAll(b.File("items.csv")));
  EXPECT_NE(ReadAll(a.File("interactions.csv")),
            ReadAll(c.File("interactions.csv")));
}

TEST(SyntheticDatasetTest, RefusesBadSizesAndUnwritableDirectories) {
  EXPECT_NE(std::string(ValidateDatasetSpec({0, 400, 100, 1}).message())
                .find("users 0"),
            std::string::npos);
  EXPECT_NE(std::string(ValidateDatasetSpec({10, 50, 1000, 1}).message())
                .find("items 50"),
            std::string::npos);
  EXPECT_NE(std::string(ValidateDatasetSpec({10, 400, 100, 1}).message())
                .find("below 20 per user"),
            std::string::npos);
  EXPECT_NE(std::string(ValidateDatasetSpec({10, 400, 1000, 1}).message())
                .find("more than a tenth"),
            std::string::npos);
  const absl::Status status =
      WriteSyntheticDataset(Small(), "/nonexistent/dir");
  EXPECT_NE(std::string(status.message()).find("/nonexistent/dir/items.csv"),
            std::string::npos)
      << status;
}

}  // namespace
}  // namespace movierec::bench
