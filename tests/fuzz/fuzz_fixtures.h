// What the fuzz targets (tests/fuzz/*_fuzz.cc) run against, shared with the
// test that checks their seed corpus (corpus_test.cc) and with the program
// that writes the binary seeds (make_corpus.cc): the known ids given to
// ParseRatings, the genre count given to ParseMovies, the small model the
// request fuzzer serves, and the bundle framing for fuzzed payloads.
//
// A property a fuzz target checks fails through MOVIEREC_FUZZ_CHECK, which
// prints the condition and aborts: libFuzzer reports it as a crash.
#ifndef MOVIEREC_TESTS_FUZZ_FUZZ_FIXTURES_H_
#define MOVIEREC_TESTS_FUZZ_FUZZ_FIXTURES_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "data/movielens.h"
#include "model/model.h"

#define MOVIEREC_FUZZ_CHECK(condition, what)                                   \
  do {                                                                         \
    if (!(condition)) {                                                        \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s (%s)\n", __FILE__, \
                   __LINE__, #condition, std::string(what).c_str());           \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace movierec::fuzz {

// The genre columns of the u.item fuzzer: MovieLens 100K has 19.
inline constexpr int kNumGenres = 19;

// The ids ParseRatings accepts in the fuzzer: users and movies 1-50.
KnownIds Known();

// The model of the request fuzzer (users 1, 4, 7, ...; movies 1, 3, 5, ...)
// with both ranking stages, passed through EncodeBundle and DecodeBundle
// as a server would load it. Deterministic.
Model ServedModel();

// The small model of the bundle seeds: same shape, fewer users and movies.
Model SeedModel();

// `payload` behind a valid model.bin header (magic, format version, CRC-32,
// length), so that a fuzzed payload reaches the message validation.
std::string FrameBundle(absl::string_view payload);

}  // namespace movierec::fuzz

#endif  // MOVIEREC_TESTS_FUZZ_FUZZ_FIXTURES_H_
