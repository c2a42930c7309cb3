// Tests of every index kind through the CandidateIndex interface
// (index/candidate_index.h, index/index_factory.h): results against brute
// force, exact scores, both exclusion modes (an excluded row is never
// returned; k rows come back whenever k are eligible), edge values of k,
// concurrent searches and WithSearchOptions views.
#include "index/candidate_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "index/index_factory.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::BruteForce;
using ::movierec::test::ClusteredVectors;
using ::movierec::test::IsError;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int kRows = 2000;
constexpr int kDim = 9;

double Recall(const std::vector<Candidate>& got,
              const std::vector<Candidate>& want) {
  if (want.empty()) return 1;
  std::set<int32_t> truth;
  for (const Candidate& c : want) truth.insert(c.row);
  int hits = 0;
  for (const Candidate& c : got) hits += truth.count(c.row);
  return static_cast<double>(hits) / static_cast<double>(want.size());
}

struct KindCase {
  std::string name;
  IndexOptions options;
};

// Every kind, each exclusion mode. nlist 40 and nprobe 8 scan a fifth of the
// cells; efSearch 64 is modest for 2000 rows. Both are approximate here.
std::vector<KindCase> Cases() {
  std::vector<KindCase> cases;
  for (const ExclusionMode mode :
       {ExclusionMode::kAuto, ExclusionMode::kSelector,
        ExclusionMode::kOverFetch}) {
    const std::string suffix = ExclusionModeName(mode);
    IndexOptions flat;
    flat.kind = IndexKind::kFlat;
    flat.exclusion = mode;
    cases.push_back({"flat_" + suffix, flat});
    IndexOptions hnsw;
    hnsw.kind = IndexKind::kHnsw;
    hnsw.hnsw_m = 8;
    hnsw.hnsw_ef_construction = 40;
    hnsw.hnsw_ef_search = 64;
    hnsw.exclusion = mode;
    cases.push_back({"hnsw_" + suffix, hnsw});
    IndexOptions ivf;
    ivf.kind = IndexKind::kIvf;
    ivf.ivf_nlist = 40;
    ivf.ivf_nprobe = 8;
    ivf.exclusion = mode;
    cases.push_back({"ivf_" + suffix, ivf});
  }
  return cases;
}

class CandidateIndexTest : public ::testing::TestWithParam<KindCase> {
 protected:
  static void SetUpTestSuite() {
    vectors_ = new RowMatrix(ClusteredVectors(kRows, kDim, 1));
    queries_ = new RowMatrix(ClusteredVectors(20, kDim, 2));
    queries_->col(kDim - 1).setOnes();
  }
  static void TearDownTestSuite() {
    delete vectors_;
    delete queries_;
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
        BuildIndex(*vectors_, GetParam().options);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = *std::move(index);
  }

  const float* query(int i) const { return queries_->row(i).data(); }
  bool exact() const { return index_->kind() == IndexKind::kFlat; }

  // Exclusion of the true top 5 and every third row (about 670 rows).
  std::vector<int32_t> HeavyExclusion(int i) const {
    std::vector<int32_t> exclude;
    for (const Candidate& c : BruteForce(*vectors_, query(i), 5, {})) {
      exclude.push_back(c.row);
    }
    for (int r = 0; r < kRows; r += 3) exclude.push_back(r);
    std::sort(exclude.begin(), exclude.end());
    exclude.erase(std::unique(exclude.begin(), exclude.end()), exclude.end());
    return exclude;
  }

  static RowMatrix* vectors_;
  static RowMatrix* queries_;
  std::unique_ptr<CandidateIndex> index_;
};

RowMatrix* CandidateIndexTest::vectors_ = nullptr;
RowMatrix* CandidateIndexTest::queries_ = nullptr;

TEST_P(CandidateIndexTest, ShapeAndKind) {
  EXPECT_EQ(index_->dim(), kDim);
  EXPECT_EQ(index_->size(), kRows);
  EXPECT_EQ(index_->kind(), GetParam().options.kind);
  EXPECT_THAT(index_->Describe(),
              HasSubstr(IndexKindName(GetParam().options.kind)));
  EXPECT_THAT(index_->Describe(),
              HasSubstr(ExclusionModeName(GetParam().options.exclusion)));
}

TEST_P(CandidateIndexTest, FindsTheTopRowsWithExactScores) {
  double recall10 = 0;
  double recall100 = 0;
  for (int i = 0; i < queries_->rows(); ++i) {
    const std::vector<Candidate> got = index_->Search(query(i), 100, {});
    ASSERT_EQ(got.size(), 100u) << "query " << i;
    const Eigen::Map<const RowVector> q(query(i), kDim);
    for (size_t j = 0; j < got.size(); ++j) {
      EXPECT_NEAR(got[j].score, vectors_->row(got[j].row).dot(q), 1e-4)
          << "query " << i << " position " << j;
      if (j > 0) {
        EXPECT_GE(got[j - 1].score, got[j].score) << "not sorted";
      }
    }
    const std::vector<Candidate> want =
        BruteForce(*vectors_, query(i), 100, {});
    if (exact()) {
      for (size_t j = 0; j < got.size(); ++j) {
        EXPECT_EQ(got[j].row, want[j].row)
            << "query " << i << " position " << j;
      }
    }
    recall10 += Recall({got.begin(), got.begin() + 10},
                       {want.begin(), want.begin() + 10});
    recall100 += Recall(got, want);
  }
  EXPECT_GE(recall10 / queries_->rows(), 0.9);
  EXPECT_GE(recall100 / queries_->rows(), 0.85);
}

TEST_P(CandidateIndexTest, ExcludedRowsAreNeverReturnedAndKRowsAre) {
  for (int i = 0; i < queries_->rows(); ++i) {
    const std::vector<int32_t> exclude = HeavyExclusion(i);
    for (const int k : {1, 10, 100}) {
      SCOPED_TRACE(testing::Message() << "query " << i << ", k " << k);
      const std::vector<Candidate> got = index_->Search(query(i), k, exclude);
      EXPECT_EQ(got.size(), static_cast<size_t>(k));
      std::set<int32_t> distinct;
      for (const Candidate& c : got) {
        EXPECT_FALSE(std::binary_search(exclude.begin(), exclude.end(), c.row))
            << "excluded row " << c.row << " returned";
        EXPECT_TRUE(distinct.insert(c.row).second)
            << "row " << c.row << " twice";
      }
      if (exact()) {
        const std::vector<Candidate> want =
            BruteForce(*vectors_, query(i), k, exclude);
        for (size_t j = 0; j < got.size(); ++j) {
          EXPECT_EQ(got[j].row, want[j].row) << "position " << j;
        }
      }
    }
  }
}

TEST_P(CandidateIndexTest, ReturnsEveryEligibleRowWhenFewerThanK) {
  // 30 eligible rows, scattered over the clusters.
  std::vector<int32_t> exclude;
  std::vector<int32_t> eligible;
  for (int r = 0; r < kRows; ++r) {
    (r % 67 == 5 ? eligible : exclude).push_back(r);
  }
  ASSERT_EQ(eligible.size(), 30u);
  for (const int k : {30, 100}) {
    std::vector<Candidate> got = index_->Search(query(0), k, exclude);
    ASSERT_EQ(got.size(), 30u) << "k " << k;
    std::vector<int32_t> rows;
    for (const Candidate& c : got) rows.push_back(c.row);
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(rows, eligible);
  }
  EXPECT_EQ(index_->Search(query(0), 29, exclude).size(), 29u);
}

// An allow-list (the API's include_movie_ids) reaches the index as the
// exclusion of its complement (Scorer::Excluded): far more rows excluded than
// eligible. k rows still come back whenever k are allowed, only allowed ones,
// and exactly the best of them from the exact kind.
TEST_P(CandidateIndexTest, AnAllowListAsTheExclusionOfItsComplement) {
  std::vector<int32_t> allowed;
  std::vector<int32_t> exclude;
  for (int r = 0; r < kRows; ++r) {
    (r % 9 == 4 ? allowed : exclude).push_back(r);
  }
  ASSERT_EQ(allowed.size(), 222u);
  for (int i = 0; i < queries_->rows(); ++i) {
    for (const int k : {1, 10, 100}) {
      SCOPED_TRACE(testing::Message() << "query " << i << ", k " << k);
      const std::vector<Candidate> got = index_->Search(query(i), k, exclude);
      ASSERT_EQ(got.size(), static_cast<size_t>(k));
      for (const Candidate& c : got) {
        EXPECT_TRUE(std::binary_search(allowed.begin(), allowed.end(), c.row))
            << "row " << c.row << " is not allowed";
      }
      if (exact()) {
        const std::vector<Candidate> want =
            BruteForce(*vectors_, query(i), k, exclude);
        for (size_t j = 0; j < got.size(); ++j) {
          EXPECT_EQ(got[j].row, want[j].row) << "position " << j;
        }
      }
    }
  }
}

TEST_P(CandidateIndexTest, NonPositiveKOrNothingEligibleReturnsNothing) {
  EXPECT_THAT(index_->Search(query(0), 0, {}), IsEmpty());
  EXPECT_THAT(index_->Search(query(0), -1, {}), IsEmpty());
  std::vector<int32_t> all(kRows);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_THAT(index_->Search(query(0), 10, all), IsEmpty());
}

TEST_P(CandidateIndexTest, ExclusionsOutsideTheIndexAndRepeatsAreHarmless) {
  const std::vector<Candidate> plain = index_->Search(query(1), 10, {});
  const std::vector<int32_t> outside = {-3, kRows, 100000};
  const std::vector<Candidate> got = index_->Search(query(1), 10, outside);
  ASSERT_EQ(got.size(), plain.size());
  for (size_t j = 0; j < got.size(); ++j) EXPECT_EQ(got[j].row, plain[j].row);

  // Sorted, as Search requires, with the first row twice.
  const int32_t low = std::min(plain[0].row, plain[1].row);
  const int32_t high = std::max(plain[0].row, plain[1].row);
  const std::vector<int32_t> repeated = {low, low, high};
  const std::vector<Candidate> rest = index_->Search(query(1), kRows, repeated);
  EXPECT_EQ(rest.size(), static_cast<size_t>(kRows - 2));
}

TEST_P(CandidateIndexTest, ConcurrentSearchesAgree) {
  const std::vector<int32_t> exclude = HeavyExclusion(3);
  const std::vector<Candidate> want = index_->Search(query(3), 50, exclude);
  std::vector<std::vector<Candidate>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i)
        got[t] = index_->Search(query(3), 50, exclude);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), want.size());
    for (size_t j = 0; j < g.size(); ++j) EXPECT_EQ(g[j].row, want[j].row);
  }
}

TEST_P(CandidateIndexTest, SearchLeavesTheCallersOpenMpThreadCount) {
  omp_set_num_threads(3);
  index_->Search(query(0), 10, HeavyExclusion(0));
  EXPECT_EQ(omp_get_max_threads(), 3);
  omp_set_num_threads(omp_get_num_procs());
}

TEST_P(CandidateIndexTest, WithSearchOptionsSharesTheDataAndOutlivesIt) {
  IndexOptions other = GetParam().options;
  other.hnsw_ef_search = 400;
  other.ivf_nprobe = 40;  // every cell: exact
  other.exclusion = ExclusionMode::kSelector;
  absl::StatusOr<std::unique_ptr<CandidateIndex>> view =
      index_->WithSearchOptions(other);
  ASSERT_TRUE(view.ok()) << view.status();
  index_.reset();
  EXPECT_EQ((*view)->size(), kRows);
  EXPECT_THAT((*view)->Describe(), HasSubstr("selector"));
  if (GetParam().options.kind == IndexKind::kIvf) {
    EXPECT_THAT((*view)->Describe(), HasSubstr("nprobe=40"));
  }
  if (GetParam().options.kind == IndexKind::kHnsw) {
    EXPECT_THAT((*view)->Describe(), HasSubstr("efSearch=400"));
  }
  const std::vector<Candidate> got = (*view)->Search(query(2), 20, {});
  const std::vector<Candidate> want = BruteForce(*vectors_, query(2), 20, {});
  EXPECT_GE(Recall(got, want), 0.95);

  other.ivf_nprobe = 0;
  EXPECT_TRUE(IsError((*view)->WithSearchOptions(other).status(),
                      absl::StatusCode::kInvalidArgument, {"ivf_nprobe", "0"}));
}

// A batch answers each query as Search does, bit for bit: rows, order and
// scores, with each query's own k (0, a few, more than there are rows) and
// exclusion, over batch sizes that are not multiples of the blocks the exact
// kind scores at once.
TEST_P(CandidateIndexTest, SearchBatchIsEachQuerysSearch) {
  for (const int n : {1, 3, 5, 20}) {
    std::vector<int> k;
    std::vector<std::vector<int32_t>> exclusions;
    for (int i = 0; i < n; ++i) {
      k.push_back(std::vector<int>{10, 0, 100, 1, kRows + 5}[i % 5]);
      exclusions.push_back(i % 2 == 0 ? HeavyExclusion(i)
                                      : std::vector<int32_t>{});
    }
    const std::vector<absl::Span<const int32_t>> exclude(exclusions.begin(),
                                                         exclusions.end());
    const std::vector<std::vector<Candidate>> got =
        index_->SearchBatch(query(0), k, exclude);
    ASSERT_EQ(got.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      SCOPED_TRACE(testing::Message()
                   << "batch of " << n << ", query " << i << ", k " << k[i]);
      const std::vector<Candidate> want =
          index_->Search(query(i), k[i], exclude[i]);
      ASSERT_EQ(got[i].size(), want.size());
      for (size_t j = 0; j < want.size(); ++j) {
        ASSERT_EQ(got[i][j].row, want[j].row) << "position " << j;
        ASSERT_EQ(got[i][j].score, want[j].score) << "position " << j;
      }
    }
  }
  EXPECT_THAT(index_->SearchBatch(query(0), {}, {}), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Kinds, CandidateIndexTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<KindCase>& info) {
                           return info.param.name;
                         });

TEST(BuildIndexTest, RefusesBadVectorsAndOptionsNamingTheProblem) {
  RowMatrix vectors = ClusteredVectors(100, 4, 3);
  vectors(17, 2) = std::numeric_limits<float>::quiet_NaN();
  for (const IndexKind kind :
       {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    IndexOptions options;
    options.kind = kind;
    options.ivf_nlist = 4;
    EXPECT_TRUE(IsError(BuildIndex(vectors, options).status(),
                        absl::StatusCode::kInvalidArgument,
                        {"row 17", "column 2", "nan"}));
  }
  EXPECT_TRUE(IsError(BuildIndex(RowMatrix(10, 0), {}).status(),
                      absl::StatusCode::kInvalidArgument, {"no columns"}));
  IndexOptions bad;
  bad.hnsw_m = 1;
  EXPECT_TRUE(IsError(BuildIndex(ClusteredVectors(10, 4, 4), bad).status(),
                      absl::StatusCode::kInvalidArgument, {"hnsw_m", "1"}));
  IndexOptions ivf;
  ivf.kind = IndexKind::kIvf;
  ivf.ivf_nlist = 50;
  EXPECT_TRUE(IsError(BuildIndex(ClusteredVectors(20, 4, 5), ivf).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"50 cells", "got 20"}));
}

TEST(BuildIndexTest, AutoBuildsFlatForSmallCatalogues) {
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(ClusteredVectors(500, 4, 6), IndexOptions{});
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->kind(), IndexKind::kFlat);
}

TEST(BuildIndexTest, EmptyCataloguesSearchToNothing) {
  for (const IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw}) {
    IndexOptions options;
    options.kind = kind;
    absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
        BuildIndex(RowMatrix(0, 3), options);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ((*index)->size(), 0);
    const float q[] = {1, 2, 3};
    EXPECT_THAT((*index)->Search(q, 5, {}), IsEmpty());
  }
}

TEST(BuildIndexTest, HnswRanksByInnerProductNotByDistance) {
  // The longest vector is the best match by inner product, although others
  // are nearer to the query in Euclidean distance.
  RowMatrix vectors(4, 2);
  vectors << 1, 0, 0.9f, 0.1f, 5, 5, -1, 0;
  IndexOptions options;
  options.kind = IndexKind::kHnsw;
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(vectors, options);
  ASSERT_TRUE(index.ok()) << index.status();
  const float q[] = {1, 0};
  const std::vector<Candidate> got = (*index)->Search(q, 4, {});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].row, 2);
  EXPECT_FLOAT_EQ(got[0].score, 5);
  EXPECT_EQ(got[3].row, 3);
  EXPECT_FLOAT_EQ(got[3].score, -1);
}

}  // namespace
}  // namespace movierec
