// Tests of index/ivf_calibration.h: the chosen nprobe is the first of the
// ladder whose measured recall reaches the target (the step before it does
// not), the recall is what searching the queries at that nprobe really
// finds, a target of 1 may take every cell, and bad arguments are refused
// naming what was wrong.
#include "index/ivf_calibration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "index/index_factory.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::ClusteredVectors;
using ::movierec::test::IsError;

class IvfCalibrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IndexOptions options;
    options.kind = IndexKind::kIvf;
    options.ivf_nlist = 64;
    options.ivf_nprobe = 64;
    absl::StatusOr<std::unique_ptr<CandidateIndex>> built =
        BuildIndex(vectors_, options);
    ASSERT_TRUE(built.ok()) << built.status();
    ivf_ = *std::move(built);
  }

  // Mean recall@k of `ivf_` at `nprobe` against an exact search, computed
  // here one query at a time.
  double RecallAt(int nprobe, int k) const {
    IndexOptions search;
    search.ivf_nprobe = nprobe;
    const std::unique_ptr<CandidateIndex> view =
        *ivf_->WithSearchOptions(search);
    const std::unique_ptr<CandidateIndex> exact = MakeFlatIndex(vectors_);
    double sum = 0;
    for (int q = 0; q < queries_.rows(); ++q) {
      std::set<int32_t> truth;
      for (const Candidate& c : exact->Search(queries_.row(q).data(), k, {})) {
        truth.insert(c.row);
      }
      int hits = 0;
      for (const Candidate& c : view->Search(queries_.row(q).data(), k, {})) {
        hits += static_cast<int>(truth.count(c.row));
      }
      sum += static_cast<double>(hits) / truth.size();
    }
    return sum / queries_.rows();
  }

  RowMatrix vectors_ = ClusteredVectors(4000, 8, 1);
  RowMatrix queries_ = ClusteredVectors(50, 8, 2);
  std::unique_ptr<CandidateIndex> ivf_;
};

TEST_F(IvfCalibrationTest, ChoosesTheFirstNprobeReachingTheTarget) {
  NprobeCalibrationOptions options;
  options.k = 50;
  options.target_recall = 0.9;
  absl::StatusOr<NprobeChoice> choice =
      ChooseIvfNprobe(*ivf_, vectors_, queries_, options);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->nlist, 64);
  ASSERT_GE(choice->ladder.size(), 2u) << "the test wants steps below it";
  // The ladder: 1, 2, 3, 4, 6, 8, ... as measured, ending at the choice.
  const std::vector<int> ladder = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};
  for (size_t i = 0; i < choice->ladder.size(); ++i) {
    EXPECT_EQ(choice->ladder[i].nprobe, ladder[i]);
    EXPECT_NEAR(choice->ladder[i].recall, RecallAt(ladder[i], 50), 1e-9);
  }
  EXPECT_EQ(choice->nprobe, choice->ladder.back().nprobe);
  EXPECT_EQ(choice->recall, choice->ladder.back().recall);
  EXPECT_GE(choice->recall, 0.9);
  EXPECT_LT(choice->ladder[choice->ladder.size() - 2].recall, 0.9);
  EXPECT_LT(choice->nprobe, 64);
}

TEST_F(IvfCalibrationTest, AHigherTargetNeverChoosesFewerCells) {
  int previous = 0;
  for (const double target : {0.5, 0.8, 0.95, 0.99, 1.0}) {
    NprobeCalibrationOptions options;
    options.target_recall = target;
    absl::StatusOr<NprobeChoice> choice =
        ChooseIvfNprobe(*ivf_, vectors_, queries_, options);
    ASSERT_TRUE(choice.ok()) << choice.status();
    EXPECT_GE(choice->recall, target - 1e-9) << target;
    EXPECT_GE(choice->nprobe, previous) << target;
    previous = choice->nprobe;
  }
}

TEST_F(IvfCalibrationTest, BadArgumentsAreRefusedNamingThem) {
  EXPECT_TRUE(IsError(
      ChooseIvfNprobe(*MakeFlatIndex(vectors_), vectors_, queries_).status(),
      absl::StatusCode::kInvalidArgument, {"IVF", "flat"}));
  EXPECT_TRUE(
      IsError(ChooseIvfNprobe(*ivf_, vectors_.topRows(10), queries_).status(),
              absl::StatusCode::kInvalidArgument, {"10 vectors"}));
  EXPECT_TRUE(
      IsError(ChooseIvfNprobe(*ivf_, vectors_, RowMatrix(3, 5)).status(),
              absl::StatusCode::kInvalidArgument, {"queries of 5"}));
  EXPECT_TRUE(
      IsError(ChooseIvfNprobe(*ivf_, vectors_, RowMatrix(0, 8)).status(),
              absl::StatusCode::kInvalidArgument, {"without queries"}));
  for (const auto& [k, target] :
       std::vector<std::pair<int, double>>{{0, 0.9}, {10, 0}, {10, 1.5}}) {
    NprobeCalibrationOptions options;
    options.k = k;
    options.target_recall = target;
    EXPECT_TRUE(
        IsError(ChooseIvfNprobe(*ivf_, vectors_, queries_, options).status(),
                absl::StatusCode::kInvalidArgument, {"need k >= 1"}))
        << k << " " << target;
  }
}

}  // namespace
}  // namespace movierec
