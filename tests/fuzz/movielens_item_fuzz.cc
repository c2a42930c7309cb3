// libFuzzer target: ParseMovies (u.item, 19 genre columns) on arbitrary
// bytes. An error is InvalidArgument and names the file; every movie it
// accepts has a unique positive id, a title, a known genre index and a
// release year of 0 (unknown) or 1800-2100.
#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "data/movielens.h"
#include "tests/fuzz/fuzz_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace movierec;  // NOLINT(build/namespaces)
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<Movie>> movies =
      ParseMovies(text, "u.item", fuzz::kNumGenres);
  if (!movies.ok()) {
    MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(movies.status()),
                        movies.status().ToString());
    MOVIEREC_FUZZ_CHECK(absl::StartsWith(movies.status().message(), "u.item:"),
                        movies.status().ToString());
    return 0;
  }
  MOVIEREC_FUZZ_CHECK(!movies->empty(), "no movies accepted as OK");
  absl::flat_hash_set<int32_t> ids;
  for (const Movie& m : *movies) {
    MOVIEREC_FUZZ_CHECK(m.id > 0 && ids.insert(m.id).second, "movie id");
    MOVIEREC_FUZZ_CHECK(!m.title.empty(), "empty title");
    MOVIEREC_FUZZ_CHECK(m.release_year == 0 ||
                            (m.release_year >= 1800 && m.release_year <= 2100),
                        "release year");
    for (const int32_t g : m.genres) {
      MOVIEREC_FUZZ_CHECK(g >= 0 && g < fuzz::kNumGenres, "genre index");
    }
  }
  return 0;
}
