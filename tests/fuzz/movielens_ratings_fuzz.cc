// libFuzzer target: ParseRatings (u.data) on arbitrary bytes. Whatever the
// input, it returns; an error is InvalidArgument and names the file; every
// rating it accepts is in 1-5 and names known ids.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "data/movielens.h"
#include "tests/fuzz/fuzz_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace movierec;  // NOLINT(build/namespaces)
  static const KnownIds* const known = new KnownIds(fuzz::Known());
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<Rating>> ratings =
      ParseRatings(text, "u.data", *known);
  if (!ratings.ok()) {
    MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(ratings.status()),
                        ratings.status().ToString());
    MOVIEREC_FUZZ_CHECK(absl::StartsWith(ratings.status().message(), "u.data:"),
                        ratings.status().ToString());
    return 0;
  }
  MOVIEREC_FUZZ_CHECK(!ratings->empty(), "no ratings accepted as OK");
  for (const Rating& r : *ratings) {
    MOVIEREC_FUZZ_CHECK(r.rating >= 1 && r.rating <= 5, "rating range");
    MOVIEREC_FUZZ_CHECK(known->user_row.contains(r.user_id), "user id");
    MOVIEREC_FUZZ_CHECK(known->movie_row.contains(r.movie_id), "movie id");
  }
  return 0;
}
