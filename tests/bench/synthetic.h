// Synthetic retrieval vectors for the benchmarks: a catalogue of movie
// vectors, user (query) vectors and each user's seen movies, shaped like the
// vectors movierec-train learns from MovieLens 100K, at any size.
//
// Why this shape: uniform noise would make every method look either perfect
// or hopeless; the trained vectors are not like that. Measured on the
// default preset's model (32 + 1 columns), the movie vectors have
//   - a spectrum that decays like 1 / (1 + i / 4) (singular value i over the
//     first), i.e. a few strong taste directions and a long tail;
//   - a common offset (mean norm 0.61 against a median norm of 1.76), and
//     user vectors whose mean points the other way (cosine -0.77);
//   - a bias column with mean -0.18 and standard deviation 0.38, the user
//     side of which is a constant 1;
//   - user norms about 1.6 times the movie norms.
// The generator reproduces these, and adds genre-like clusters (about
// sqrt(movies) of them, each movie in one, each user liking two) so that the
// neighbourhoods the approximate indexes exploit exist, as they do in real
// catalogues. Seen lists hold 20 to 300 movies (log-uniform; MovieLens users
// rate 20 to 737, median 65), 70% of them among the user's exact top 1000
// (people watch what they like, so the exclusion removes good candidates)
// and 30% anywhere.
//
// Everything is deterministic for a seed.
#ifndef MOVIEREC_TESTS_BENCH_SYNTHETIC_H_
#define MOVIEREC_TESTS_BENCH_SYNTHETIC_H_

#include <cstdint>
#include <vector>

#include "util/eigen_types.h"

namespace movierec::bench {

struct SyntheticSpec {
  int64_t movies = 10000;
  // Columns, the last being the bias; >= 2.
  int dim = 32;
  int users = 500;
  uint64_t seed = 1;
};

// The bump when the generator changes, so that cached files are not reused.
inline constexpr int kSyntheticVersion = 1;

struct SyntheticVectors {
  RowMatrix movies;  // [movies, dim]
  RowMatrix users;   // [users, dim], last column 1
};

// Movie and user vectors as described above.
SyntheticVectors MakeSyntheticVectors(const SyntheticSpec& spec);

// The `k` rows of `movies` with the highest inner product with each row of
// `users`, best first (ties: lower row first): [users][k]. Computed with
// Eigen, independently of FAISS, using every OpenMP thread.
std::vector<std::vector<int32_t>> ExactTopK(const RowMatrix& movies,
                                            const RowMatrix& users, int k);

// Each user's seen movies (sorted, distinct), drawn from their exact top
// list `top` (at least 1000 long, or the whole catalogue) and the catalogue.
std::vector<std::vector<int32_t>> MakeSeenLists(
    const std::vector<std::vector<int32_t>>& top, int64_t movies,
    uint64_t seed);

// The first k rows of `top` not in `seen` (sorted).
std::vector<int32_t> TopExcluding(const std::vector<int32_t>& top,
                                  const std::vector<int32_t>& seen, int k);

}  // namespace movierec::bench

#endif  // MOVIEREC_TESTS_BENCH_SYNTHETIC_H_
