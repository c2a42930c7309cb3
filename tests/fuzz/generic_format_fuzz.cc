// libFuzzer target: the generic format's readers (data/generic_format.h) on
// arbitrary bytes. The first line names the file (see FuzzGenericFile in
// fuzz_fixtures.h); an error is InvalidArgument naming it; what is accepted
// is checked there.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  movierec::fuzz::FuzzGenericFile(input).IgnoreError();
  return 0;
}
