// The reranker's cost per call, its two kinds side by side in one run:
// Reranker::Score over one call's candidates (160: retrieval's 100, the item
// source's 50, popularity's 10) for the listwise linear model and for
// LambdaMART ensembles of full trees of the depths and counts the trainer
// may choose (train/train_config.h: at most 300 trees; depth 2 by default).
//
//   build/bin/reranker_bench
//
// The trees are random (features, thresholds and leaves): a walk's cost is
// its depth, whatever the splits.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "model/reranker.h"
#include "model/tree_ensemble.h"
#include "util/random.h"

namespace movierec {
namespace {

constexpr int kCandidates = 160;

RowMatrix RandomRows(uint64_t seed) {
  Rng rng(seed);
  RowMatrix rows(kCandidates, kNumRerankFeatures);
  for (Eigen::Index i = 0; i < rows.size(); ++i) {
    rows.data()[i] = rng.UniformFloat(-2.0f, 2.0f);
  }
  return rows;
}

// A full binary tree of `depth` levels of splits, in XGBoost's form.
TreeEnsemble::Tree FullTree(int depth, Rng& rng) {
  TreeEnsemble::Tree tree;
  const int nodes = (1 << (depth + 1)) - 1;
  for (int i = 0; i < nodes; ++i) {
    const bool leaf = 2 * i + 1 >= nodes;
    tree.left.push_back(leaf ? -1 : 2 * i + 1);
    tree.right.push_back(leaf ? -1 : 2 * i + 2);
    tree.feature.push_back(
        leaf ? 0 : static_cast<int32_t>(rng.Uniform(kNumRerankFeatures)));
    tree.value.push_back(rng.UniformFloat(-1.0f, 1.0f));
  }
  return tree;
}

// Times `reranker` scoring one call's candidates.
void ScoreCalls(const Reranker& reranker, benchmark::State& state) {
  const RowMatrix rows = RandomRows(2);
  Vector scores;
  for (auto _ : state) {
    reranker.Score(rows, &scores);
    benchmark::DoNotOptimize(scores.data());
  }
  state.counters["candidates"] = kCandidates;
}

void BM_ListwiseLinear(benchmark::State& state) {
  Reranker reranker{RerankerConfig{}};
  Rng rng(1);
  reranker.InitRandom(rng);
  ScoreCalls(reranker, state);
}
BENCHMARK(BM_ListwiseLinear);

// Arguments: trees, depth.
void BM_LambdaMartTrees(benchmark::State& state) {
  Rng rng(3);
  std::vector<TreeEnsemble::Tree> trees;
  for (int t = 0; t < state.range(0); ++t) {
    trees.push_back(FullTree(static_cast<int>(state.range(1)), rng));
  }
  absl::StatusOr<TreeEnsemble> ensemble =
      TreeEnsemble::FromTrees(trees, 0.5f, kNumRerankFeatures);
  if (!ensemble.ok()) std::abort();
  RerankerConfig config;
  config.kind = kLambdaMartReranker;
  Reranker reranker(config);
  reranker.set_trees(*std::move(ensemble));
  ScoreCalls(reranker, state);
  state.counters["ns_per_walk"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kCandidates * state.range(0),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_LambdaMartTrees)
    ->ArgNames({"trees", "depth"})
    ->Args({4, 2})
    ->Args({50, 2})
    ->Args({300, 2})
    ->Args({50, 6})
    ->Args({300, 6});

}  // namespace
}  // namespace movierec

BENCHMARK_MAIN();
