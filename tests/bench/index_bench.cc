// index_bench: latency and recall of every candidate index kind over
// synthetic catalogues (tests/bench/synthetic.h), one query per Search call
// as the server makes them, k = 100 (the ranking stage's candidates).
//
// Benchmarks are named index/n:<movies>/d:<dim>/<setting>/excl:<mode>:
//   setting  flat | hnsw/ef:<efSearch> | ivf/nprobe:<nprobe>
//   excl     none (no exclusion); the user's seen movies (20-300) left out
//            by selector, overfetch or auto (index/index_options.h); or,
//            with a -wide suffix, the seen movies and --wide_exclusion random
//            others (as a catalogue filter would exclude), by the same modes.
//   faiss-flat: the baseline of flat, FAISS' own IndexFlatIP::search over
//            the same storage (excl: none and selector only).
// And batch/n:<movies>/d:<dim>/<flat|ivf/nprobe:N>/q:<queries>: FAISS' search
// of --batch_queries queries in one call (no exclusion, one OpenMP thread),
// which FAISS computes as matrix products through the BLAS (libblas.so.3)
// from 20 queries on: what a batch of requests could cost per query. The
// BLAS and its threads are in the JSON context ("blas"); --blas_threads
// sets OpenBLAS's.
// Counters (computed once per benchmark over every query, outside the timed
// loop): recall@10 and recall@100 against exact search with the same
// exclusion (Eigen, not FAISS), build_s and index_MB of the index, and
// queries that broke the contract (an excluded row returned, or fewer than
// k rows): any makes the benchmark fail.
//
// Built indexes are cached in --cache_dir (default $MOVIEREC_BENCH_CACHE,
// else ~/.cache/movierec-bench) so that reruns skip the minutes of building.
// tests/bench/run_benchmarks.sh runs it and makes the tables and plots.
#include <benchmark/benchmark.h>
#include <faiss/IndexIVF.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "index/candidate_index.h"
#include "index/faiss_index.h"
#include "index/index_factory.h"
#include "index/index_io.h"
#include "tests/bench/synthetic.h"
#include "util/blas.h"
#include "util/random.h"

ABSL_FLAG(std::string, sizes, "10000,100000,1000000",
          "Catalogue sizes (movies), comma-separated");
ABSL_FLAG(std::string, dims, "32,64", "Vector dimensions, comma-separated");
ABSL_FLAG(int, queries, 200, "Users (queries) per catalogue");
ABSL_FLAG(std::string, cache_dir, "",
          "Where built indexes and exact results are kept between runs; "
          "default $MOVIEREC_BENCH_CACHE, else ~/.cache/movierec-bench");
ABSL_FLAG(int, hnsw_m, 32, "HNSW M of the benchmarked graphs");
ABSL_FLAG(int, hnsw_ef_construction, 100, "HNSW efConstruction");
ABSL_FLAG(std::string, hnsw_ef, "64,128,256,512", "efSearch values");
ABSL_FLAG(int64_t, hnsw_max_movies, 100000,
          "HNSW is benchmarked up to this many movies: building the graph "
          "over a million vectors takes most of an hour on 2 shared cores "
          "(100,000 took 4 minutes)");
ABSL_FLAG(std::string, ivf_nprobe, "16,32,64,96,128", "nprobe values");
ABSL_FLAG(std::string, exclusions,
          "none,selector,overfetch,selector-wide,overfetch-wide",
          "Exclusion variants: none, selector, overfetch, auto, each of the "
          "last three optionally with -wide");
ABSL_FLAG(int, wide_exclusion, 3000,
          "Random rows added to the seen movies in -wide variants (at most a "
          "quarter of the catalogue)");
ABSL_FLAG(int, ivf_nlist, 0, "IVF cells; 0: round(2 * sqrt(movies))");
ABSL_FLAG(int, batch_queries, 100,
          "Queries per call of the batch/ benchmarks (0: none)");
ABSL_FLAG(int, blas_threads, 0,
          "OpenBLAS threads (0: its default, one per core, or "
          "OPENBLAS_NUM_THREADS)");
ABSL_FLAG(bool, smoke, false,
          "A seconds-long run for ctest: 2000 movies of dimension 8, 20 "
          "queries, one setting per kind (other size flags are ignored)");

namespace movierec::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kK = 100;
constexpr int kTopForTruth = 1000;
constexpr uint64_t kSeed = 20240601;

// Benchmarks that broke the index contract; main fails when any did.
int failures = 0;

std::vector<int64_t> ParseList(const std::string& text, const char* flag) {
  std::vector<int64_t> values;
  for (const absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(part, &value) || value <= 0) {
      std::fprintf(stderr, "--%s: \"%s\" is not a positive integer\n", flag,
                   std::string(part).c_str());
      std::exit(2);
    }
    values.push_back(value);
  }
  return values;
}

std::string CacheDir() {
  std::string dir = absl::GetFlag(FLAGS_cache_dir);
  if (dir.empty()) {
    if (const char* env = std::getenv("MOVIEREC_BENCH_CACHE")) dir = env;
  }
  if (dir.empty()) {
    const char* home = std::getenv("HOME");
    dir =
        absl::StrCat(home != nullptr ? home : "/tmp", "/.cache/movierec-bench");
  }
  fs::create_directories(dir);
  return dir;
}

// One synthetic catalogue with its queries, exact answers and seen lists.
struct Dataset {
  SyntheticVectors vectors;
  std::vector<std::vector<int32_t>> top;   // exact top kTopForTruth per user
  std::vector<std::vector<int32_t>> seen;  // per user, sorted
  std::vector<std::vector<int32_t>> wide;  // seen + random rows, sorted
};

// Each user's seen movies and `extra` random rows, sorted and distinct.
std::vector<std::vector<int32_t>> WidenLists(
    const std::vector<std::vector<int32_t>>& seen, int64_t movies,
    int64_t extra) {
  Rng rng(kSeed ^ 0x51DE51DEull);
  std::vector<std::vector<int32_t>> wide = seen;
  for (std::vector<int32_t>& list : wide) {
    for (int64_t i = 0; i < extra; ++i) {
      list.push_back(static_cast<int32_t>(rng.Uniform(movies)));
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return wide;
}

int NumQueries() {
  return absl::GetFlag(FLAGS_smoke) ? 20 : absl::GetFlag(FLAGS_queries);
}

// The movie vectors depend on these; the users (generated after them) also
// on the number of queries.
std::string CatalogueKey(int64_t n, int d) {
  return absl::StrCat("v", kSyntheticVersion, "-n", n, "-d", d, "-s", kSeed);
}

std::string DatasetKey(int64_t n, int d) {
  return absl::StrCat(CatalogueKey(n, d), "-q", NumQueries());
}

// Exact top lists are cached: at a million movies they take a while.
std::vector<std::vector<int32_t>> LoadOrComputeTop(const Dataset& data,
                                                   const std::string& path) {
  const size_t users = static_cast<size_t>(data.vectors.users.rows());
  const size_t keep = static_cast<size_t>(
      std::min<int64_t>(kTopForTruth, data.vectors.movies.rows()));
  std::vector<std::vector<int32_t>> top(users, std::vector<int32_t>(keep));
  std::ifstream in(path, std::ios::binary);
  if (in) {
    for (auto& row : top) {
      in.read(reinterpret_cast<char*>(row.data()),
              static_cast<std::streamsize>(keep * sizeof(int32_t)));
    }
    if (in && in.peek() == EOF) return top;
  }
  top = ExactTopK(data.vectors.movies, data.vectors.users, kTopForTruth);
  std::ofstream out(path + ".tmp", std::ios::binary);
  for (const auto& row : top) {
    out.write(reinterpret_cast<const char*>(row.data()),
              static_cast<std::streamsize>(row.size() * sizeof(int32_t)));
  }
  out.close();
  fs::rename(path + ".tmp", path);
  return top;
}

const Dataset& GetDataset(int64_t n, int d) {
  static auto* cache = new std::map<std::pair<int64_t, int>, Dataset>();
  auto [it, inserted] = cache->try_emplace({n, d});
  if (inserted) {
    Dataset& data = it->second;
    data.vectors = MakeSyntheticVectors(
        {n, d, NumQueries(), kSeed + static_cast<uint64_t>(d)});
    data.top = LoadOrComputeTop(
        data, absl::StrCat(CacheDir(), "/", DatasetKey(n, d), "-top.bin"));
    data.seen = MakeSeenLists(data.top, n, kSeed);
    data.wide = WidenLists(
        data.seen, n,
        std::min<int64_t>(absl::GetFlag(FLAGS_wide_exclusion), n / 4));
  }
  return it->second;
}

// A built index, its build time and file size.
struct Built {
  std::unique_ptr<CandidateIndex> index;
  double build_seconds = 0;
  double megabytes = 0;
};

// Builds the index of `options` over the catalogue, or loads it from the
// cache. Flat indexes are not cached: building one is a copy.
const Built& GetBuilt(int64_t n, int d, const IndexOptions& options) {
  static auto* cache = new std::map<std::string, Built>();
  const std::string key =
      absl::StrCat(CatalogueKey(n, d), "-", IndexKindName(options.kind), "-M",
                   options.hnsw_m, "-efc", options.hnsw_ef_construction,
                   "-nlist", ResolveIvfNlist(options, n));
  auto [it, inserted] = cache->try_emplace(key);
  if (!inserted) return it->second;
  Built& built = it->second;
  // The index's own efSearch only sizes FAISS' queue when it exceeds the
  // per-call one (index/hnsw_index.cc): keep it minimal so that each
  // benchmark's efSearch alone decides.
  IndexOptions build = options;
  build.hnsw_ef_search = 1;
  const std::string path = absl::StrCat(CacheDir(), "/", key, ".faiss");
  const std::string seconds_path = path + ".build_seconds";
  if (options.kind != IndexKind::kFlat && fs::exists(seconds_path)) {
    absl::StatusOr<std::unique_ptr<CandidateIndex>> loaded =
        LoadIndex(path, nullptr);
    std::ifstream seconds(seconds_path);
    if (loaded.ok() && (seconds >> built.build_seconds)) {
      built.index = *std::move(loaded);
      built.megabytes = static_cast<double>(fs::file_size(path)) / 1e6;
      return built;
    }
  }
  std::fprintf(stderr, "building %s ...\n", key.c_str());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<CandidateIndex>> index =
      BuildIndex(GetDataset(n, d).vectors.movies, build);
  built.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!index.ok()) {
    std::fprintf(stderr, "cannot build %s: %s\n", key.c_str(),
                 index.status().ToString().c_str());
    std::exit(1);
  }
  built.index = *std::move(index);
  absl::StatusOr<IndexFileInfo> saved = SaveIndex(*built.index, path);
  if (!saved.ok()) {
    std::fprintf(stderr, "cannot cache %s: %s\n", key.c_str(),
                 saved.status().ToString().c_str());
    std::exit(1);
  }
  built.megabytes = static_cast<double>(saved->size_bytes) / 1e6;
  if (options.kind != IndexKind::kFlat) {
    std::ofstream(seconds_path) << built.build_seconds << "\n";
  } else {
    fs::remove(path);
  }
  std::fprintf(stderr, "built %s in %.1f s\n", key.c_str(),
               built.build_seconds);
  return built;
}

enum class Exclusion { kNone, kSeen, kWide };

const std::vector<int32_t>& Excluded(const Dataset& data, Exclusion exclusion,
                                     int user) {
  static const auto* none = new std::vector<int32_t>();
  switch (exclusion) {
    case Exclusion::kSeen:
      return data.seen[static_cast<size_t>(user)];
    case Exclusion::kWide:
      return data.wide[static_cast<size_t>(user)];
    case Exclusion::kNone:
      break;
  }
  return *none;
}

struct Config {
  std::string name;
  int64_t n = 0;
  int d = 0;
  IndexOptions options;  // kind, build and search parameters
  Exclusion exclusion = Exclusion::kNone;
};

// Quality of one configuration over every query.
struct Quality {
  double recall10 = 0;
  double recall100 = 0;
  int excluded_returned = 0;  // excluded rows returned, over all queries
  int short_lists = 0;        // queries answered with fewer than k rows
};

double Overlap(const std::vector<Candidate>& got,
               const std::vector<int32_t>& truth, int k) {
  const std::set<int32_t> want(
      truth.begin(), truth.begin() + std::min<size_t>(k, truth.size()));
  int hits = 0;
  for (size_t i = 0; i < got.size() && static_cast<int>(i) < k; ++i) {
    hits += want.count(got[i].row);
  }
  return want.empty() ? 1.0 : static_cast<double>(hits) / want.size();
}

Quality Measure(const CandidateIndex& index, const Dataset& data,
                Exclusion exclusion) {
  Quality q;
  const auto users = static_cast<int>(data.vectors.users.rows());
  for (int u = 0; u < users; ++u) {
    const std::vector<int32_t>& seen = Excluded(data, exclusion, u);
    const std::vector<Candidate> got =
        index.Search(data.vectors.users.row(u).data(), kK, seen);
    const std::vector<int32_t> truth = TopExcluding(data.top[u], seen, kK);
    for (const Candidate& c : got) {
      q.excluded_returned +=
          std::binary_search(seen.begin(), seen.end(), c.row) ? 1 : 0;
    }
    q.short_lists += got.size() < truth.size() ? 1 : 0;
    q.recall10 += Overlap(got, truth, 10);
    q.recall100 += Overlap(got, truth, kK);
  }
  q.recall10 /= users;
  q.recall100 /= users;
  return q;
}

void BM_Search(benchmark::State& state, const Config& config) {
  const Dataset& data = GetDataset(config.n, config.d);
  const Built& built = GetBuilt(config.n, config.d, config.options);
  absl::StatusOr<std::unique_ptr<CandidateIndex>> view =
      built.index->WithSearchOptions(config.options);
  if (!view.ok()) {
    state.SkipWithError(view.status().ToString().c_str());
    return;
  }
  const CandidateIndex& index = **view;
  const auto users = static_cast<int>(data.vectors.users.rows());
  int u = 0;
  for (auto _ : state) {
    const std::vector<Candidate> result =
        index.Search(data.vectors.users.row(u).data(), kK,
                     Excluded(data, config.exclusion, u));
    benchmark::DoNotOptimize(result.data());
    u = u + 1 == users ? 0 : u + 1;
  }
  // Measured once per configuration, reused by the repetitions.
  static auto* qualities = new std::map<std::string, Quality>();
  auto [it, inserted] = qualities->try_emplace(config.name);
  if (inserted) it->second = Measure(index, data, config.exclusion);
  const Quality& quality = it->second;
  state.counters["recall@10"] = quality.recall10;
  state.counters["recall@100"] = quality.recall100;
  state.counters["build_s"] = built.build_seconds;
  state.counters["index_MB"] = built.megabytes;
  state.SetLabel(index.Describe());
  if (quality.excluded_returned > 0 || quality.short_lists > 0) {
    ++failures;
    state.SkipWithError(
        absl::StrCat(quality.excluded_returned, " excluded rows returned, ",
                     quality.short_lists, " queries short of ", kK, " rows")
            .c_str());
  }
}

// The baseline of the exact search: the same queries through FAISS' own
// IndexFlatIP::search (the storage the flat kind holds), with the seen movies
// left out by an IDSelector. The flat kind scans that storage with Eigen
// instead (index/flat_index.cc); this measures what that saves.
void BM_FaissFlatSearch(benchmark::State& state, const Config& config) {
  const Dataset& data = GetDataset(config.n, config.d);
  const Built& built = GetBuilt(config.n, config.d, config.options);
  const auto* flat =
      dynamic_cast<const internal::FaissIndex*>(built.index.get());
  if (flat == nullptr) {
    state.SkipWithError("the flat index is not FAISS-backed");
    return;
  }
  const faiss::Index& index = flat->faiss_index();
  const auto users = static_cast<int>(data.vectors.users.rows());
  std::vector<float> scores(kK);
  std::vector<internal::faiss_idx_t> rows(kK);
  internal::OneOpenMpThread one_thread;
  int u = 0;
  for (auto _ : state) {
    internal::SortedExclusion exclusion(Excluded(data, config.exclusion, u));
    faiss::SearchParameters params;
    params.sel = config.exclusion == Exclusion::kNone ? nullptr : &exclusion;
    index.search(1, data.vectors.users.row(u).data(), kK, scores.data(),
                 rows.data(), &params);
    benchmark::DoNotOptimize(rows.data());
    u = u + 1 == users ? 0 : u + 1;
  }
  state.SetLabel("faiss::IndexFlatIP::search, IDSelector");
}

// FAISS' own search of --batch_queries users in one call, no exclusion:
// the flat storage (IndexFlatIP) or the IVF (its coarse quantizer and the
// cells' scan), on one OpenMP thread as a server worker runs it.
void BM_FaissBatchSearch(benchmark::State& state, const Config& config) {
  const Dataset& data = GetDataset(config.n, config.d);
  const Built& built = GetBuilt(config.n, config.d, config.options);
  const auto* backed =
      dynamic_cast<const internal::FaissIndex*>(built.index.get());
  if (backed == nullptr) {
    state.SkipWithError("the index is not FAISS-backed");
    return;
  }
  const faiss::Index& index = backed->faiss_index();
  const auto users = static_cast<int>(data.vectors.users.rows());
  const int queries = std::min(absl::GetFlag(FLAGS_batch_queries), users);
  std::vector<float> scores(static_cast<size_t>(queries) * kK);
  std::vector<internal::faiss_idx_t> rows(scores.size());
  faiss::SearchParametersIVF ivf_params;
  ivf_params.nprobe = static_cast<size_t>(config.options.ivf_nprobe);
  const faiss::SearchParameters* params =
      config.options.kind == IndexKind::kIvf ? &ivf_params : nullptr;
  internal::OneOpenMpThread one_thread;
  for (auto _ : state) {
    index.search(queries, data.vectors.users.data(), kK, scores.data(),
                 rows.data(), params);
    benchmark::DoNotOptimize(rows.data());
  }
  state.counters["queries_per_call"] = queries;
  state.counters["us_per_query"] = benchmark::Counter(
      static_cast<double>(queries) * state.iterations() / 1e6,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["build_s"] = built.build_seconds;
  state.SetLabel(built.index->Describe());
}

void RegisterBatch(Config config, const std::string& setting) {
  config.name =
      absl::StrCat("batch/n:", config.n, "/d:", config.d, "/", setting,
                   "/q:", absl::GetFlag(FLAGS_batch_queries));
  benchmark::RegisterBenchmark(config.name.c_str(), BM_FaissBatchSearch, config)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

void Register(Config config, const std::string& setting,
              const std::string& exclusion) {
  config.name = absl::StrCat("index/n:", config.n, "/d:", config.d, "/",
                             setting, "/excl:", exclusion);
  benchmark::RegisterBenchmark(config.name.c_str(), BM_Search, config)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

void RegisterAll() {
  const bool smoke = absl::GetFlag(FLAGS_smoke);
  const std::vector<int64_t> sizes =
      smoke ? std::vector<int64_t>{2000}
            : ParseList(absl::GetFlag(FLAGS_sizes), "sizes");
  const std::vector<int64_t> dims =
      smoke ? std::vector<int64_t>{8}
            : ParseList(absl::GetFlag(FLAGS_dims), "dims");
  const std::vector<int64_t> efs =
      smoke ? std::vector<int64_t>{100}
            : ParseList(absl::GetFlag(FLAGS_hnsw_ef), "hnsw_ef");
  const std::vector<int64_t> nprobes =
      smoke ? std::vector<int64_t>{8}
            : ParseList(absl::GetFlag(FLAGS_ivf_nprobe), "ivf_nprobe");
  std::vector<std::string> exclusions =
      absl::StrSplit(absl::GetFlag(FLAGS_exclusions), ',');
  if (smoke) {
    exclusions = {"none",          "selector",       "overfetch", "auto",
                  "selector-wide", "overfetch-wide", "auto-wide"};
  }
  for (const int64_t n : sizes) {
    for (const int64_t d : dims) {
      for (const std::string& exclusion : exclusions) {
        Config config;
        config.n = n;
        config.d = static_cast<int>(d);
        const bool wide = absl::EndsWith(exclusion, "-wide");
        const absl::string_view mode_name =
            absl::StripSuffix(exclusion, "-wide");
        config.exclusion = mode_name == "none" ? Exclusion::kNone
                           : wide              ? Exclusion::kWide
                                               : Exclusion::kSeen;
        if (config.exclusion != Exclusion::kNone) {
          absl::StatusOr<ExclusionMode> mode = ParseExclusionMode(mode_name);
          if (!mode.ok()) {
            std::fprintf(stderr, "--exclusions: %s\n",
                         mode.status().ToString().c_str());
            std::exit(2);
          }
          config.options.exclusion = *mode;
        }
        config.options.kind = IndexKind::kFlat;
        Register(config, "flat", exclusion);
        const bool batch =
            mode_name == "none" && absl::GetFlag(FLAGS_batch_queries) > 0;
        if (batch) RegisterBatch(config, "flat");
        if (mode_name == "none" || mode_name == "selector") {
          Config baseline = config;
          baseline.name = absl::StrCat("index/n:", n, "/d:", d,
                                       "/faiss-flat/excl:", exclusion);
          benchmark::RegisterBenchmark(baseline.name.c_str(),
                                       BM_FaissFlatSearch, baseline)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        }
        config.options.kind = IndexKind::kHnsw;
        config.options.hnsw_m = absl::GetFlag(FLAGS_hnsw_m);
        config.options.hnsw_ef_construction =
            absl::GetFlag(FLAGS_hnsw_ef_construction);
        const bool hnsw = smoke || n <= absl::GetFlag(FLAGS_hnsw_max_movies);
        for (const int64_t ef : hnsw ? efs : std::vector<int64_t>{}) {
          config.options.hnsw_ef_search = static_cast<int>(ef);
          Register(config, absl::StrCat("hnsw/ef:", ef), exclusion);
        }
        config.options.kind = IndexKind::kIvf;
        config.options.ivf_nlist = absl::GetFlag(FLAGS_ivf_nlist);
        for (const int64_t nprobe : nprobes) {
          config.options.ivf_nprobe = static_cast<int>(nprobe);
          Register(config, absl::StrCat("ivf/nprobe:", nprobe), exclusion);
          if (batch) {
            RegisterBatch(config, absl::StrCat("ivf/nprobe:", nprobe));
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace movierec::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  if (const int threads = absl::GetFlag(FLAGS_blas_threads); threads > 0) {
    movierec::SetBlasThreads(threads);
  }
  movierec::bench::RegisterAll();
  benchmark::AddCustomContext("omp_max_threads",
                              std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext(
      "blas", movierec::BlasDescription(movierec::LoadedBlas()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return movierec::bench::failures == 0 ? 0 : 1;
}
