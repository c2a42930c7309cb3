// Tests of SoftmaxCrossEntropy (train/softmax.h): the loss against a
// double-precision reference, both gradients against central finite
// differences of the returned loss, blocking and OpenMP threads.
#include "train/softmax.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/random.h"

namespace movierec {
namespace {

constexpr float kEps = 1e-3f;     // finite-difference step
constexpr double kRelTol = 1e-2;  // relative tolerance of a gradient entry
constexpr double kAbsTol = 2e-3;  // float noise of (f(x+e) - f(x-e)) / 2e

// Restores the OpenMP thread count a test changed.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(omp_get_max_threads()) {}
  ~ThreadCountGuard() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

RowMatrix RandomMatrix(int rows, int cols, Rng& rng, float scale = 0.7f) {
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = scale * rng.Normal();
  }
  return m;
}

struct Problem {
  RowMatrix queries;
  RowMatrix candidates;
  std::vector<float> offsets;  // empty: no offsets
  std::vector<int32_t> labels;
  const float* offset_data() const {
    return offsets.empty() ? nullptr : offsets.data();
  }
};

Problem MakeProblem(int batch, int n, int dim, bool with_offsets,
                    uint64_t seed) {
  Rng rng(seed);
  Problem p;
  p.queries = RandomMatrix(batch, dim, rng);
  p.candidates = RandomMatrix(n, dim, rng);
  if (with_offsets) {
    for (int j = 0; j < n; ++j) p.offsets.push_back(rng.UniformFloat(-2, 1));
  }
  for (int i = 0; i < batch; ++i) {
    p.labels.push_back(static_cast<int32_t>(rng.Uniform(n)));
  }
  return p;
}

// The loss in double precision, straight from the definition.
double ReferenceLoss(const Problem& p) {
  double loss = 0;
  for (Eigen::Index i = 0; i < p.queries.rows(); ++i) {
    std::vector<double> logits;
    double max = -INFINITY;
    for (Eigen::Index j = 0; j < p.candidates.rows(); ++j) {
      double logit = 0;
      for (Eigen::Index k = 0; k < p.queries.cols(); ++k) {
        logit += static_cast<double>(p.queries(i, k)) * p.candidates(j, k);
      }
      if (!p.offsets.empty()) logit += p.offsets[j];
      logits.push_back(logit);
      max = std::max(max, logit);
    }
    double sum = 0;
    for (const double l : logits) sum += std::exp(l - max);
    loss += std::log(sum) + max - logits[p.labels[i]];
  }
  return loss;
}

double Loss(const Problem& p, int block_rows) {
  RowMatrix dq, dc;
  SoftmaxOptions options;
  options.block_rows = block_rows;
  return SoftmaxCrossEntropy(p.queries, p.candidates, p.offset_data(), p.labels,
                             &dq, &dc, options);
}

// Compares `analytic` with central differences of the loss in every entry
// of *weights (which belongs to `p`).
void CheckGradient(Problem& p, RowMatrix* weights, const RowMatrix& analytic,
                   int block_rows, const std::string& what) {
  ASSERT_EQ(analytic.rows(), weights->rows()) << what;
  ASSERT_EQ(analytic.cols(), weights->cols()) << what;
  for (Eigen::Index i = 0; i < weights->rows(); ++i) {
    for (Eigen::Index k = 0; k < weights->cols(); ++k) {
      const float saved = (*weights)(i, k);
      (*weights)(i, k) = saved + kEps;
      const double up = Loss(p, block_rows);
      (*weights)(i, k) = saved - kEps;
      const double down = Loss(p, block_rows);
      (*weights)(i, k) = saved;
      const double numeric = (up - down) / (2.0 * kEps);
      const double a = analytic(i, k);
      EXPECT_NEAR(a, numeric,
                  kAbsTol + kRelTol * std::max(std::abs(a), std::abs(numeric)))
          << what << " entry (" << i << ", " << k << ")";
    }
  }
}

struct GradientCase {
  int batch, n, dim;
  bool offsets;
  int block_rows;
};

class SoftmaxGradientTest : public ::testing::TestWithParam<GradientCase> {};

TEST_P(SoftmaxGradientTest, MatchesFiniteDifferences) {
  const GradientCase& c = GetParam();
  Problem p = MakeProblem(c.batch, c.n, c.dim, c.offsets, /*seed=*/17);
  RowMatrix dq, dc;
  SoftmaxOptions options;
  options.block_rows = c.block_rows;
  const double loss = SoftmaxCrossEntropy(
      p.queries, p.candidates, p.offset_data(), p.labels, &dq, &dc, options);
  const double reference = ReferenceLoss(p);
  EXPECT_NEAR(loss, reference, 1e-5 * std::abs(reference) + 1e-5);
  CheckGradient(p, &p.queries, dq, c.block_rows, "d_queries");
  CheckGradient(p, &p.candidates, dc, c.block_rows, "d_candidates");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SoftmaxGradientTest,
    ::testing::Values(
        GradientCase{6, 5, 4, false, 128}, GradientCase{6, 5, 4, true, 128},
        GradientCase{6, 5, 4, false, 1}, GradientCase{6, 5, 4, true, 1},
        GradientCase{7, 9, 3, true, 2}, GradientCase{7, 9, 3, false, 3},
        GradientCase{1, 4, 2, true, 1},
        GradientCase{5, 1, 3, false, 2},  // one candidate
        GradientCase{9, 9, 5, true, 4}),
    [](const ::testing::TestParamInfo<GradientCase>& info) {
      const GradientCase& c = info.param;
      return absl::StrCat("B", c.batch, "_n", c.n, "_d", c.dim,
                          c.offsets ? "_offsets" : "", "_block", c.block_rows);
    });

TEST(SoftmaxTest, InBatchLabelsOnTheDiagonal) {
  Problem p = MakeProblem(8, 8, 4, false, 5);
  for (int i = 0; i < 8; ++i) p.labels[i] = i;
  RowMatrix dq, dc;
  const double loss =
      SoftmaxCrossEntropy(p.queries, p.candidates, nullptr, p.labels, &dq, &dc);
  EXPECT_NEAR(loss, ReferenceLoss(p), 1e-5 * ReferenceLoss(p));
  CheckGradient(p, &p.queries, dq, 128, "d_queries");
  CheckGradient(p, &p.candidates, dc, 128, "d_candidates");
}

TEST(SoftmaxTest, OffsetsShiftLogits) {
  // A large offset on the label makes the loss of that row near zero.
  Problem p = MakeProblem(1, 3, 2, true, 8);
  p.labels = {1};
  p.offsets = {0, 50, 0};
  EXPECT_NEAR(Loss(p, 128), 0.0, 1e-6);
  p.offsets = {50, 0, 0};
  EXPECT_GT(Loss(p, 128), 40.0);
}

TEST(SoftmaxTest, SurvivesLargeLogits) {
  Problem p = MakeProblem(4, 6, 3, true, 9);
  p.queries *= 100.0f;  // logits in the hundreds: exp would overflow
  RowMatrix dq, dc;
  const double loss = SoftmaxCrossEntropy(p.queries, p.candidates,
                                          p.offset_data(), p.labels, &dq, &dc);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, ReferenceLoss(p), 1e-4 * std::abs(ReferenceLoss(p)) + 1e-3);
  EXPECT_TRUE(dq.allFinite());
  EXPECT_TRUE(dc.allFinite());
}

TEST(SoftmaxTest, ShiftingEveryOffsetLeavesTheLoss) {
  // Softmax is invariant to adding a constant to every logit of a row.
  Problem p = MakeProblem(5, 7, 3, true, 10);
  const double before = Loss(p, 2);
  for (float& o : p.offsets) o += 3.0f;
  EXPECT_NEAR(Loss(p, 2), before, 1e-4);
}

// Results for every block size are the same up to float rounding.
TEST(SoftmaxTest, BlockRowsDoNotChangeTheResult) {
  const Problem p = MakeProblem(37, 23, 6, true, 11);
  RowMatrix dq_ref, dc_ref;
  SoftmaxOptions options;
  options.block_rows = 1000;
  const double ref =
      SoftmaxCrossEntropy(p.queries, p.candidates, p.offset_data(), p.labels,
                          &dq_ref, &dc_ref, options);
  for (const int block : {1, 2, 5, 36, 37, 38, 128}) {
    RowMatrix dq, dc;
    options.block_rows = block;
    const double loss = SoftmaxCrossEntropy(
        p.queries, p.candidates, p.offset_data(), p.labels, &dq, &dc, options);
    EXPECT_NEAR(loss, ref, 1e-5 * std::abs(ref)) << "block " << block;
    EXPECT_LT((dq - dq_ref).cwiseAbs().maxCoeff(), 1e-5) << "block " << block;
    EXPECT_LT((dc - dc_ref).cwiseAbs().maxCoeff(), 1e-5) << "block " << block;
  }
}

struct Result {
  double loss;
  RowMatrix dq, dc;
};

Result RunSoftmax(const Problem& p, int block_rows, int threads) {
  omp_set_num_threads(threads);
  Result r;
  SoftmaxOptions options;
  options.block_rows = block_rows;
  r.loss = SoftmaxCrossEntropy(p.queries, p.candidates, p.offset_data(),
                               p.labels, &r.dq, &r.dc, options);
  return r;
}

// With a fixed thread count the results are identical, bit for bit, from
// run to run; one and two threads agree up to float rounding, and exactly
// when there is a single block (then only one thread works).
TEST(SoftmaxTest, OpenMpThreads) {
  ThreadCountGuard guard;
  const Problem p = MakeProblem(50, 31, 8, true, 12);
  for (const int block : {1, 4, 7, 128}) {
    const Result one = RunSoftmax(p, block, 1);
    const Result one_again = RunSoftmax(p, block, 1);
    const Result two = RunSoftmax(p, block, 2);
    const Result two_again = RunSoftmax(p, block, 2);
    EXPECT_EQ(one.loss, one_again.loss) << "block " << block;
    EXPECT_EQ(one.dq, one_again.dq) << "block " << block;
    EXPECT_EQ(one.dc, one_again.dc) << "block " << block;
    EXPECT_EQ(two.loss, two_again.loss) << "block " << block;
    EXPECT_EQ(two.dq, two_again.dq) << "block " << block;
    EXPECT_EQ(two.dc, two_again.dc) << "block " << block;
    // Each query row is computed by one thread alone: d_queries is exact.
    EXPECT_EQ(one.dq, two.dq) << "block " << block;
    EXPECT_NEAR(one.loss, two.loss, 1e-9 * std::abs(one.loss))
        << "block " << block;
    EXPECT_LT((one.dc - two.dc).cwiseAbs().maxCoeff(), 1e-5)
        << "block " << block;
    if (block >= 50) {
      EXPECT_EQ(one.loss, two.loss);
      EXPECT_EQ(one.dc, two.dc);
    }
  }
}

TEST(SoftmaxTest, GradientsAreFiniteDifferencesWithTwoThreads) {
  ThreadCountGuard guard;
  omp_set_num_threads(2);
  Problem p = MakeProblem(6, 5, 3, true, 13);
  RowMatrix dq, dc;
  SoftmaxOptions options;
  options.block_rows = 1;
  SoftmaxCrossEntropy(p.queries, p.candidates, p.offset_data(), p.labels, &dq,
                      &dc, options);
  CheckGradient(p, &p.queries, dq, 1, "d_queries");
  CheckGradient(p, &p.candidates, dc, 1, "d_candidates");
}

TEST(SoftmaxTest, Flops) { EXPECT_EQ(SoftmaxFlops(2, 3, 4), 6.0 * 2 * 3 * 4); }

}  // namespace
}  // namespace movierec
