// synthetic_model: writes a model version with a synthetic catalogue
// (tests/bench/synthetic.h) through the normal bundle writer, with a saved
// index as movierec-train would build it, so that start-up time and memory
// can be measured at sizes MovieLens 100K does not reach (load_bench).
//
//   synthetic_model --model_base /tmp/big --movies 1000000 --index_kind hnsw
//
// The bundle holds what a trained one holds except the towers and the
// ranking stage (optional in the format): titles, genres and years, users
// with demographics, vectors, seen lists (20-300 random movies per user)
// and popularity.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "index/index_factory.h"
#include "index/index_options.h"
#include "model/bundle.h"
#include "model/scorer.h"
#include "tests/bench/synthetic.h"
#include "util/random.h"

ABSL_FLAG(std::string, model_base, "", "Where to write the version");
ABSL_FLAG(int64_t, movies, 1000000, "Catalogue size");
ABSL_FLAG(int, users, 100000, "Known users");
ABSL_FLAG(int, dim, 33, "Vector columns, the last being the movie bias");
ABSL_FLAG(uint64_t, seed, 7, "Seed of the vectors, catalogue and seen lists");
ABSL_FLAG(std::string, index_kind, "hnsw",
          "Index saved with the version: flat (none saved), hnsw, ivf, auto");
ABSL_FLAG(int, hnsw_m, movierec::IndexOptions{}.hnsw_m, "HNSW M");
ABSL_FLAG(int, hnsw_ef_construction,
          movierec::IndexOptions{}.hnsw_ef_construction, "efConstruction");
ABSL_FLAG(int, hnsw_ef_search, movierec::IndexOptions{}.hnsw_ef_search,
          "efSearch");
ABSL_FLAG(int, ivf_nlist, movierec::IndexOptions{}.ivf_nlist, "IVF nlist");
ABSL_FLAG(int, ivf_nprobe, movierec::IndexOptions{}.ivf_nprobe, "nprobe");

namespace movierec::bench {
namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

Model MakeModel(int64_t movies, int users, int dim, uint64_t seed) {
  SyntheticVectors vectors = MakeSyntheticVectors({movies, dim, users, seed});
  Rng rng(seed ^ 0xCA7A1060ull);
  Model model;
  for (int g = 0; g < 19; ++g) {
    model.catalog.genre_names.push_back(absl::StrCat("Genre ", g));
  }
  model.catalog.movies.resize(static_cast<size_t>(movies));
  for (int64_t i = 0; i < movies; ++i) {
    Movie& movie = model.catalog.movies[static_cast<size_t>(i)];
    movie.id = static_cast<int32_t>(i + 1);
    movie.release_year = 1920 + static_cast<int32_t>(rng.Uniform(100));
    movie.title =
        absl::StrCat("Synthetic movie ", i + 1, " (", movie.release_year, ")");
    const int genres = 1 + static_cast<int>(rng.Uniform(3));
    for (int g = 0; g < genres; ++g) {
      movie.genres.push_back(static_cast<int32_t>(rng.Uniform(19)));
    }
    std::sort(movie.genres.begin(), movie.genres.end());
    movie.genres.erase(std::unique(movie.genres.begin(), movie.genres.end()),
                       movie.genres.end());
  }
  const char* occupations[] = {"engineer", "student", "writer", "other"};
  std::vector<Interaction> seen;
  model.catalog.users.resize(static_cast<size_t>(users));
  for (int u = 0; u < users; ++u) {
    User& user = model.catalog.users[static_cast<size_t>(u)];
    user.id = u + 1;
    user.age = 18 + static_cast<int32_t>(rng.Uniform(50));
    user.gender = rng.Uniform(2) == 0 ? "F" : "M";
    user.occupation = occupations[rng.Uniform(4)];
    const auto count =
        static_cast<int>(20 * std::pow(15.0, rng.UniformFloat()));
    for (int i = 0; i < count; ++i) {
      seen.push_back({u, static_cast<int32_t>(rng.Uniform(movies)), 4, 0});
    }
  }
  model.popularity = Popularity(static_cast<int>(movies), seen);
  model.seen = UserMovies(users, seen);
  model.movie_vectors = std::move(vectors.movies);
  model.user_vectors = std::move(vectors.users);
  // As the trainer does: the reranker's neighbour table is in the version.
  model.item_neighbors = ItemNeighbors::Build(
      model.seen, static_cast<int>(movies), Scorer::kItemNeighbors);
  model.code_version = "synthetic";
  model.config_json =
      absl::StrCat("{\"synthetic\": {\"movies\": ", movies,
                   ", \"users\": ", users, ", \"seed\": ", seed, "}}");
  return model;
}

int Run() {
  const std::string model_base = absl::GetFlag(FLAGS_model_base);
  if (model_base.empty()) {
    std::fprintf(stderr, "--model_base is required\n");
    return 2;
  }
  IndexOptions options;
  absl::StatusOr<IndexKind> kind =
      ParseIndexKind(absl::GetFlag(FLAGS_index_kind));
  if (!kind.ok()) {
    std::fprintf(stderr, "--index_kind: %s\n",
                 std::string(kind.status().message()).c_str());
    return 2;
  }
  options.kind = *kind;
  options.hnsw_m = absl::GetFlag(FLAGS_hnsw_m);
  options.hnsw_ef_construction = absl::GetFlag(FLAGS_hnsw_ef_construction);
  options.hnsw_ef_search = absl::GetFlag(FLAGS_hnsw_ef_search);
  options.ivf_nlist = absl::GetFlag(FLAGS_ivf_nlist);
  options.ivf_nprobe = absl::GetFlag(FLAGS_ivf_nprobe);
  if (absl::Status status = ValidateIndexOptions(options); !status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return 2;
  }
  const int64_t movies = absl::GetFlag(FLAGS_movies);
  const int users = absl::GetFlag(FLAGS_users);
  const int dim = absl::GetFlag(FLAGS_dim);
  if (movies < 1 || users < 1 || dim < 2) {
    std::fprintf(stderr, "need --movies >= 1, --users >= 1, --dim >= 2\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  const Model model = MakeModel(movies, users, dim, absl::GetFlag(FLAGS_seed));
  std::fprintf(stderr, "generated %lld movies and %d users in %.1f s\n",
               static_cast<long long>(movies), users, Since(start));
  std::unique_ptr<CandidateIndex> index;
  if (ResolveIndexKind(options, movies) != IndexKind::kFlat) {
    start = std::chrono::steady_clock::now();
    absl::StatusOr<std::unique_ptr<CandidateIndex>> built =
        BuildIndex(model.movie_vectors, options);
    if (!built.ok()) {
      std::fprintf(stderr, "cannot build the index: %s\n",
                   built.status().ToString().c_str());
      return 1;
    }
    index = *std::move(built);
    std::fprintf(stderr, "built %s in %.1f s\n", index->Describe().c_str(),
                 Since(start));
  }
  absl::StatusOr<int64_t> version =
      WriteModelVersion(model_base, model, "", index.get());
  if (!version.ok()) {
    std::fprintf(stderr, "cannot write: %s\n",
                 version.status().ToString().c_str());
    return 1;
  }
  std::printf("%s/%lld\n", model_base.c_str(),
              static_cast<long long>(*version));
  return 0;
}

}  // namespace
}  // namespace movierec::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return movierec::bench::Run();
}
