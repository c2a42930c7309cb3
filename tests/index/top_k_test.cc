// Tests of the top-k selection shared by the exact and IVF searches
// (index/top_k.h), against a full sort in the search order (higher score,
// then lower row), with many ties, -infinity and NaN scores, and lengths
// around the eight-wide vector step.
#include "index/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace movierec::internal {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Scores from a small set of values (ties everywhere), some rows -infinity
// and some NaN: neither of which may ever be selected.
std::vector<float> TiedScores(int n, std::mt19937* rng) {
  std::uniform_int_distribution<int> value(-4, 4);
  std::uniform_int_distribution<int> odd(0, 19);
  std::vector<float> scores(static_cast<size_t>(n));
  for (float& s : scores) {
    const int roll = odd(*rng);
    s = roll == 0   ? -kInf
        : roll == 1 ? std::numeric_limits<float>::quiet_NaN()
                    : static_cast<float>(value(*rng)) * 0.5f;
  }
  return scores;
}

std::vector<Candidate> Reference(const std::vector<int32_t>& rows,
                                 const std::vector<float>& scores, int k) {
  std::vector<Candidate> all;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (scores[i] > -kInf) all.push_back({rows[i], scores[i]});
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.row < b.row;
  });
  all.resize(std::min(all.size(), static_cast<size_t>(std::max(k, 0))));
  return all;
}

void ExpectSame(const std::vector<Candidate>& got,
                const std::vector<Candidate>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].row, want[i].row) << "position " << i;
    ASSERT_EQ(got[i].score, want[i].score) << "position " << i;
  }
}

TEST(TopKTest, SelectRowsIsTheSortedPrefix) {
  std::mt19937 rng(11);
  TopK top;  // reused, as the searches reuse theirs
  for (const int n : {0, 1, 7, 8, 9, 63, 300, 1682, 5003}) {
    const std::vector<float> scores = TiedScores(n, &rng);
    std::vector<int32_t> rows(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
    for (const int k : {1, 5, 100, 600, n + 1}) {
      SCOPED_TRACE(testing::Message() << "n " << n << ", k " << k);
      std::vector<Candidate> got;
      top.SelectRows(scores.data(), n, k, &got);
      ExpectSame(got, Reference(rows, scores, k));
    }
  }
}

// The IVF search adds its cells' rows in any order, in parts of any length:
// a row that ties the current threshold may still belong (a lower row), so
// the selection must let ties in and settle them.
TEST(TopKTest, AddInPartsOfRowsInAnyOrderIsTheSortedPrefix) {
  std::mt19937 rng(12);
  TopK top;
  for (const int n : {1, 9, 64, 777, 4099}) {
    const std::vector<float> scores = TiedScores(n, &rng);
    std::vector<int32_t> rows(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = 3 * i + 1;
    std::shuffle(rows.begin(), rows.end(), rng);
    for (const int k : {1, 10, 100, n + 1}) {
      SCOPED_TRACE(testing::Message() << "n " << n << ", k " << k);
      top.Reset(k);
      std::uniform_int_distribution<int> part(1, 40);
      for (int begin = 0; begin < n;) {
        const int length = std::min(n - begin, part(rng));
        top.Add(rows.data() + begin, scores.data() + begin, length);
        begin += length;
      }
      std::vector<Candidate> got;
      top.Take(&got);
      ExpectSame(got, Reference(rows, scores, k));
    }
  }
}

// No search adds a row twice, but a selection that is given one must still
// fill every place: both copies, in order, and nothing made up.
TEST(TopKTest, ARowAddedTwiceKeepsBothCopies) {
  std::mt19937 rng(14);
  TopK top;
  const int n = 300;
  std::vector<float> scores = TiedScores(n, &rng);
  std::vector<int32_t> rows(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i / 2;
  for (const int k : {1, 10, 100, 200}) {
    SCOPED_TRACE(testing::Message() << "k " << k);
    top.Reset(k);
    top.Add(rows.data(), scores.data(), n);
    std::vector<Candidate> got;
    top.Take(&got);
    ExpectSame(got, Reference(rows, scores, k));
  }
}

TEST(TopKTest, KthLargestMatchesNthElement) {
  std::mt19937 rng(13);
  for (const int n : {1, 2, 17, 105, 1000}) {
    std::vector<float> v = TiedScores(n, &rng);
    for (float& x : v) {
      if (std::isnan(x)) x = 0.25f;  // KthLargest's input has no NaN
    }
    for (const int k : {0, n / 2, n - 1}) {
      std::vector<float> mine = v;
      std::vector<float> theirs = v;
      std::nth_element(theirs.begin(), theirs.begin() + k, theirs.end(),
                       std::greater<float>());
      EXPECT_EQ(KthLargest(mine.data(), mine.size(), static_cast<size_t>(k)),
                theirs[static_cast<size_t>(k)])
          << "n " << n << ", k " << k;
    }
  }
}

}  // namespace
}  // namespace movierec::internal
