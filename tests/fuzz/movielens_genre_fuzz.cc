// libFuzzer target: ParseGenres (u.genre) on arbitrary bytes. An error is
// InvalidArgument and names the file; the names it accepts are not empty.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "data/movielens.h"
#include "tests/fuzz/fuzz_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace movierec;  // NOLINT(build/namespaces)
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<std::string>> genres =
      ParseGenres(text, "u.genre");
  if (!genres.ok()) {
    MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(genres.status()),
                        genres.status().ToString());
    MOVIEREC_FUZZ_CHECK(absl::StartsWith(genres.status().message(), "u.genre:"),
                        genres.status().ToString());
    return 0;
  }
  MOVIEREC_FUZZ_CHECK(!genres->empty(), "no genres accepted as OK");
  for (const std::string& name : *genres) {
    MOVIEREC_FUZZ_CHECK(!name.empty(), "empty genre name");
  }
  return 0;
}
