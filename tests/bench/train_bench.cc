// Training speed against this machine's limit, measured side by side in one
// run: Eigen's single-precision matrix-multiply peak (the ceiling any Eigen
// training code can reach here) and the kernels and trainings of movierec.
//
//   build/bin/train_bench --benchmark_counters_tabular=true
//
// Every benchmark reports GFLOP/s (counter "GFLOPS"); the tfrs preset's share
// of the peak is GFLOPS(BM_TfrsRetrievalEpochs) / GFLOPS(BM_EigenGemmPeak).
// Beside the wall time, the CPU time is the whole process' (all threads), so
// that GFLOPS x real_time / cpu_time is the GFLOP per CPU-second, a figure
// that other work on the machine does not lower. BM_BlasGemmPeak runs the
// same product through the BLAS the process loaded (libblas.so.3, FAISS's:
// the reference BLAS or OpenBLAS through Debian's alternatives).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "train/retrieval_trainer.h"
#include "train/softmax.h"
#include "train/train_config.h"
#include "util/random.h"

namespace movierec {
namespace {

extern "C" void sgemm_(const char* transa, const char* transb, const int* m,
                       const int* n, const int* k, const float* alpha,
                       const float* a, const int* lda, const float* b,
                       const int* ldb, const float* beta, float* c,
                       const int* ldc);

RowMatrix RandomMatrix(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  Rng rng(seed);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = rng.UniformFloat(-1, 1);
  }
  return m;
}

// The peak: a large square product, Eigen's best case, on every core.
void BM_EigenGemmPeak(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const RowMatrix a = RandomMatrix(n, n, 1);
  const RowMatrix b = RandomMatrix(n, n, 2);
  RowMatrix c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["threads"] = Eigen::nbThreads();
}
BENCHMARK(BM_EigenGemmPeak)
    ->Arg(1024)
    ->Arg(2048)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// The same square product through libblas.so.3's sgemm, on the BLAS's own
// threads (OpenBLAS: one per core unless OPENBLAS_NUM_THREADS says else;
// the reference BLAS: one).
void BM_BlasGemmPeak(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const RowMatrix a = RandomMatrix(n, n, 1);
  const RowMatrix b = RandomMatrix(n, n, 2);
  RowMatrix c(n, n);
  const float one = 1, zero = 0;
  for (auto _ : state) {
    // Column-major C^T = B^T A^T is the row-major C = A B.
    sgemm_("N", "N", &n, &n, &n, &one, b.data(), &n, a.data(), &n, &zero,
           c.data(), &n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BlasGemmPeak)
    ->Arg(2048)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// One in-batch softmax step of the tfrs preset: batch 8192, dimension 32.
void BM_SoftmaxInBatch(benchmark::State& state) {
  const Eigen::Index batch = 8192;
  const Eigen::Index dim = 32;
  const RowMatrix queries = RandomMatrix(batch, dim, 3) * 0.1f;
  const RowMatrix candidates = RandomMatrix(batch, dim, 4) * 0.1f;
  std::vector<int32_t> labels(batch);
  for (Eigen::Index i = 0; i < batch; ++i) labels[i] = static_cast<int32_t>(i);
  SoftmaxOptions options;
  options.block_rows = static_cast<int>(state.range(0));
  RowMatrix d_queries, d_candidates;
  for (auto _ : state) {
    benchmark::DoNotOptimize(SoftmaxCrossEntropy(queries, candidates, nullptr,
                                                 labels, &d_queries,
                                                 &d_candidates, options));
  }
  state.counters["GFLOPS"] = benchmark::Counter(
      SoftmaxFlops(batch, batch, dim) * state.iterations() / 1e9,
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SoftmaxInBatch)
    ->Arg(32)
    ->Arg(64)
    ->Arg(128)
    ->Arg(256)
    ->Arg(512)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// A MovieLens-100K-shaped training set without the data: 943 users, 1682
// movies, 80,000 ratings with a skewed movie popularity.
Dataset SyntheticMovieLens() {
  Dataset dataset;
  for (int u = 0; u < 943; ++u) {
    dataset.catalog.users.push_back({u + 1, 30, "M", "other", "00000"});
  }
  for (int m = 0; m < 1682; ++m) {
    dataset.catalog.movies.push_back({m + 1, "movie", 1995, {1}});
  }
  dataset.catalog.genre_names = {"unknown", "Drama"};
  Rng rng(5);
  for (int i = 0; i < 80000; ++i) {
    const auto user = static_cast<int32_t>(rng.Uniform(943));
    // Squaring a uniform draw skews it towards low rows: popular movies.
    const float u = rng.UniformFloat();
    const auto movie = static_cast<int32_t>(u * u * 1682);
    dataset.train.push_back({user, movie, 4.0f, 0});
  }
  return dataset;
}

// The tfrs preset's retrieval training, 3 epochs, end to end (bags, softmax,
// sparse Adagrad): what the trainer reports as its GFLOP/s.
void BM_TfrsRetrievalEpochs(benchmark::State& state) {
  const Dataset dataset = SyntheticMovieLens();
  const RetrievalTraining training = PresetConfig("tfrs")->retrieval;
  double flops = 0;
  for (auto _ : state) {
    RetrievalModel model(training.model, dataset.catalog);
    Rng init(1);
    model.InitRandom(init);
    Progress silent = Progress::Silent();
    const StageTrainingResult result =
        TrainRetrieval(training, dataset.train, nullptr, 2, &model, &silent);
    flops += result.flops;
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TfrsRetrievalEpochs)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kSecond);

// Peak resident memory of this process so far, in MiB (VmHWM).
double PeakRssMiB() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return -1;
  char line[256];
  double kib = -1;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
  }
  std::fclose(status);
  return kib / 1024;
}

// The scale test: one epoch over 10M synthetic interactions of 100k users and
// 50k movies (Zipf-like popularity), with the sampled softmax (batch 1024,
// 1024 popularity-sampled negatives, log-Q correction), 32-d id embeddings
// and a movie bias: the configuration for catalogues a full softmax cannot
// afford. Reports examples per second and the process's peak memory.
void BM_ScaleSampledSoftmaxEpoch(benchmark::State& state) {
  constexpr int kUsers = 100000;
  constexpr int kMovies = 50000;
  constexpr int64_t kInteractions = 10000000;
  MovieLens catalog;
  catalog.genre_names = {"unknown"};
  for (int u = 0; u < kUsers; ++u) {
    catalog.users.push_back({u + 1, 30, "F", "other", "00000"});
  }
  for (int m = 0; m < kMovies; ++m) {
    catalog.movies.push_back({m + 1, "movie", 1995, {0}});
  }
  std::vector<Interaction> train;
  train.reserve(kInteractions);
  Rng rng(11);
  for (int64_t i = 0; i < kInteractions; ++i) {
    const auto user = static_cast<int32_t>(rng.Uniform(kUsers));
    // u^3 puts most of the mass on low rows: a long-tailed popularity.
    const float u = rng.UniformFloat();
    const auto movie = static_cast<int32_t>(u * u * u * kMovies);
    train.push_back({user, movie, 4.0f, 0});
  }
  RetrievalTraining training;
  training.model.embedding_dim = 32;
  training.model.movie_bias = true;
  training.softmax = "sampled";
  training.sampled_negatives = 1024;
  training.batch_size = 1024;
  training.epochs = 1;
  training.l2 = 0.01f;
  double examples = 0, flops = 0;
  for (auto _ : state) {
    RetrievalModel model(training.model, catalog);
    Rng init(1);
    model.InitRandom(init);
    Progress silent = Progress::Silent();
    const StageTrainingResult result =
        TrainRetrieval(training, train, nullptr, 2, &model, &silent);
    examples += static_cast<double>(train.size());
    flops += result.flops;
  }
  state.counters["examples_per_second"] =
      benchmark::Counter(examples, benchmark::Counter::kIsRate);
  state.counters["GFLOPS"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
}
BENCHMARK(BM_ScaleSampledSoftmaxEpoch)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace movierec

BENCHMARK_MAIN();
