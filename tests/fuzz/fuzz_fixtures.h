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

// The fuzz targets of the 1M, 10M and CSV formats (movielens_1m_fuzz,
// movielens_10m_fuzz, movielens_csv_fuzz) take a file name on the input's
// first line (movies.dat, users.dat (1M only), ratings.dat; movies.csv,
// ratings.csv) and the file's bytes after it, so that one target and its
// seeds cover every file of a format. Parses the file, checks the
// properties of what is accepted (every string valid UTF-8, ids unique and
// positive, genres and stars in range) and that an error is InvalidArgument
// naming the file, and returns the parser's status; a first line that names
// no file of the format gives NotFound.
absl::Status FuzzMovieLensFile(MovieLensFormat format, absl::string_view input);

// The generic format's fuzz target (generic_format_fuzz): the input's first
// line names the file (items.csv, users.csv or interactions.csv), the rest
// is its bytes. interactions.csv is read against the items of
// GenericFuzzItemsText() and without users.csv (its users are learnt).
// Checks what is accepted (ids non-empty, unique, at most 256 bytes of
// valid UTF-8; dense ids row + 1; strings valid UTF-8; genres sorted and in
// range; ratings 0.5-5 of known rows) and that an error is InvalidArgument
// naming the file; returns the parser's status (NotFound for a first line
// that names no file of the format).
absl::Status FuzzGenericFile(absl::string_view input);
// The items.csv the interactions are read against: ids "m1", "sku-9f3a",
// "m 3".
absl::string_view GenericFuzzItemsText();

// `payload` behind a valid model.bin header (magic, format version, CRC-32,
// length), so that a fuzzed payload reaches the message validation.
std::string FrameBundle(absl::string_view payload);

}  // namespace movierec::fuzz

#endif  // MOVIEREC_TESTS_FUZZ_FUZZ_FIXTURES_H_
