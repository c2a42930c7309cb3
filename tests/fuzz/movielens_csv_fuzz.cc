// libFuzzer target: the MovieLens 20M-and-later CSV readers on arbitrary bytes.
// The first line names the file (see FuzzMovieLensFile in fuzz_fixtures.h); an
// error is InvalidArgument naming it; what is accepted is checked there.
#include <cstddef>
#include <cstdint>

#include "data/movielens.h"
#include "tests/fuzz/fuzz_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  movierec::fuzz::FuzzMovieLensFile(movierec::MovieLensFormat::kCsv, input)
      .IgnoreError();
  return 0;
}
