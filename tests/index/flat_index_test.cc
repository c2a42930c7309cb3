// Tests of the exact inner-product index (index/candidate_index.h) against
// brute force, with exclusions and edge values of k.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <thread>
#include <vector>

#include "index/candidate_index.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::BruteForce;
using ::testing::IsEmpty;

RowMatrix RandomMatrix(int rows, int cols, uint64_t seed) {
  Rng rng(seed);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.Normal();
  return m;
}

void ExpectSameCandidates(const std::vector<Candidate>& got,
                          const std::vector<Candidate>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].row, want[i].row) << "position " << i;
    EXPECT_NEAR(got[i].score, want[i].score, 1e-4) << "position " << i;
  }
}

class FlatIndexTest : public ::testing::Test {
 protected:
  FlatIndexTest()
      : vectors_(RandomMatrix(200, 8, 1)),
        queries_(RandomMatrix(12, 8, 2)),
        index_(MakeFlatIndex(vectors_)) {}

  const float* query(int i) const { return queries_.row(i).data(); }

  RowMatrix vectors_;
  RowMatrix queries_;
  std::unique_ptr<CandidateIndex> index_;
};

TEST_F(FlatIndexTest, Shape) {
  ASSERT_NE(index_, nullptr);
  EXPECT_EQ(index_->dim(), 8);
  EXPECT_EQ(index_->size(), 200);
}

TEST_F(FlatIndexTest, ExactTopKByInnerProduct) {
  for (int i = 0; i < queries_.rows(); ++i) {
    for (const int k : {1, 5, 10, 50}) {
      SCOPED_TRACE(testing::Message() << "query " << i << ", k " << k);
      ExpectSameCandidates(index_->Search(query(i), k, {}),
                           BruteForce(vectors_, query(i), k, {}));
    }
  }
}

TEST_F(FlatIndexTest, ExcludedRowsAreNeverReturned) {
  for (int i = 0; i < queries_.rows(); ++i) {
    // Exclude the true top 5 and every third row.
    std::vector<int32_t> exclude;
    for (const Candidate& c : BruteForce(vectors_, query(i), 5, {})) {
      exclude.push_back(c.row);
    }
    for (int r = 0; r < 200; r += 3) exclude.push_back(r);
    std::sort(exclude.begin(), exclude.end());
    exclude.erase(std::unique(exclude.begin(), exclude.end()), exclude.end());

    const std::vector<Candidate> got = index_->Search(query(i), 20, exclude);
    EXPECT_EQ(got.size(), 20u);
    for (const Candidate& c : got) {
      EXPECT_FALSE(std::binary_search(exclude.begin(), exclude.end(), c.row))
          << "excluded row " << c.row << " returned";
    }
    ExpectSameCandidates(got, BruteForce(vectors_, query(i), 20, exclude));
  }
}

TEST_F(FlatIndexTest, KLargerThanSizeReturnsEveryEligibleRow) {
  const std::vector<Candidate> all = index_->Search(query(0), 1000, {});
  ExpectSameCandidates(all, BruteForce(vectors_, query(0), 1000, {}));
  EXPECT_EQ(all.size(), 200u);

  std::vector<int32_t> exclude(150);
  std::iota(exclude.begin(), exclude.end(), 25);  // rows 25 .. 174
  const std::vector<Candidate> rest = index_->Search(query(0), 1000, exclude);
  EXPECT_EQ(rest.size(), 50u);
  ExpectSameCandidates(rest, BruteForce(vectors_, query(0), 1000, exclude));
  // Exactly as many eligible rows as k.
  EXPECT_EQ(index_->Search(query(0), 50, exclude).size(), 50u);
}

TEST_F(FlatIndexTest, NonPositiveKReturnsNothing) {
  EXPECT_THAT(index_->Search(query(0), 0, {}), IsEmpty());
  EXPECT_THAT(index_->Search(query(0), -1, {}), IsEmpty());
  const std::vector<int32_t> exclude = {1, 2};
  EXPECT_THAT(index_->Search(query(0), -5, exclude), IsEmpty());
}

TEST_F(FlatIndexTest, ExcludingEverythingReturnsNothing) {
  std::vector<int32_t> exclude(200);
  std::iota(exclude.begin(), exclude.end(), 0);
  EXPECT_THAT(index_->Search(query(0), 10, exclude), IsEmpty());
  EXPECT_THAT(index_->Search(query(0), 500, exclude), IsEmpty());
}

TEST_F(FlatIndexTest, ExclusionOutsideTheIndexIsHarmless) {
  const std::vector<int32_t> exclude = {-3, 500, 100000};
  ExpectSameCandidates(index_->Search(query(1), 10, exclude),
                       BruteForce(vectors_, query(1), 10, {}));
}

TEST_F(FlatIndexTest, ConcurrentSearchesAgree) {
  const std::vector<Candidate> want = index_->Search(query(3), 10, {});
  std::vector<std::vector<Candidate>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) got[t] = index_->Search(query(3), 10, {});
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& g : got) ExpectSameCandidates(g, want);
}

TEST(FlatIndexEdgeTest, TiesAreRepeatable) {
  const RowMatrix same = RowMatrix::Ones(30, 4);
  const std::unique_ptr<CandidateIndex> index = MakeFlatIndex(same);
  const float q[] = {1, 0, 0, 0};
  const std::vector<Candidate> a = index->Search(q, 7, {});
  const std::vector<Candidate> b = index->Search(q, 7, {});
  ASSERT_EQ(a.size(), 7u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].row, b[i].row);
    EXPECT_EQ(a[i].score, 1.0f);
  }
}

// The exact answer with the documented tie-break (lower row first).
std::vector<Candidate> Reference(const RowMatrix& vectors, const float* query,
                                 int k, const std::vector<int32_t>& exclude) {
  std::vector<Candidate> all;
  for (int r = 0; r < vectors.rows(); ++r) {
    if (std::binary_search(exclude.begin(), exclude.end(), r)) continue;
    float score = 0;
    for (int c = 0; c < vectors.cols(); ++c) score += vectors(r, c) * query[c];
    all.push_back({r, score});
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.row < b.row;
  });
  if (static_cast<int>(all.size()) > k) all.resize(std::max(k, 0));
  return all;
}

// Large enough that the search samples a starting threshold, with small
// integer coordinates (exact dot products, many ties), rows in random,
// ascending and descending score order, k from 1 to past the eligible rows
// (600: a reservoir cut back while scanning), and exclusions from none to
// nearly all. The row count is not a multiple of eight (the vector scan's
// step), so the scalar tail runs too.
TEST(FlatIndexEdgeTest, LargeCataloguesWithTiesMatchTheReferenceExactly) {
  constexpr int kRows = 5003;
  Rng rng(7);
  RowMatrix random(kRows, 4);
  for (Eigen::Index i = 0; i < random.size(); ++i) {
    random.data()[i] = static_cast<float>(rng.Uniform(7)) - 3.0f;
  }
  RowMatrix ascending(kRows, 4);
  RowMatrix descending(kRows, 4);
  for (int r = 0; r < kRows; ++r) {
    ascending.row(r) << static_cast<float>(r / 3), 0, 0, 0;
    descending.row(r) << static_cast<float>((kRows - r) / 3), 0, 0, 0;
  }
  const float query[] = {1, -2, 0, 3};
  for (const RowMatrix* vectors : {&random, &ascending, &descending}) {
    const std::unique_ptr<CandidateIndex> index = MakeFlatIndex(*vectors);
    for (const int excluded_per_thousand : {0, 300, 990}) {
      std::vector<int32_t> exclude;
      for (int r = 0; r < kRows; ++r) {
        if (static_cast<int>(rng.Uniform(1000)) < excluded_per_thousand)
          exclude.push_back(r);
      }
      for (const int k : {1, 10, 100, 600, kRows + 1}) {
        SCOPED_TRACE(testing::Message()
                     << "excluded/1000 " << excluded_per_thousand << ", k "
                     << k);
        const std::vector<Candidate> got = index->Search(query, k, exclude);
        const std::vector<Candidate> want =
            Reference(*vectors, query, k, exclude);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(got[i].row, want[i].row) << "position " << i;
          ASSERT_EQ(got[i].score, want[i].score) << "position " << i;
        }
      }
    }
  }
}

TEST(FlatIndexEdgeTest, NoColumnsGivesNoIndexAndNoRowsGivesNoResults) {
  EXPECT_EQ(MakeFlatIndex(RowMatrix(5, 0)), nullptr);
  const std::unique_ptr<CandidateIndex> empty = MakeFlatIndex(RowMatrix(0, 3));
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->size(), 0);
  const float q[] = {1, 2, 3};
  EXPECT_THAT(empty->Search(q, 5, {}), IsEmpty());
}

TEST(FlatIndexEdgeTest, IndexOwnsACopy) {
  RowMatrix vectors = RowMatrix::Identity(3, 3);
  const std::unique_ptr<CandidateIndex> index = MakeFlatIndex(vectors);
  vectors.setZero();
  const float q[] = {0, 0, 1};
  const std::vector<Candidate> top = index->Search(q, 1, {});
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].row, 2);
  EXPECT_EQ(top[0].score, 1.0f);
}

}  // namespace
}  // namespace movierec
