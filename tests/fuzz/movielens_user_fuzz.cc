// libFuzzer target: ParseUsers (u.user) on arbitrary bytes. An error is
// InvalidArgument and names the file; every user it accepts has a unique
// positive id, an age in 1-120, gender M or F and an occupation.
#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "data/movielens.h"
#include "tests/fuzz/fuzz_fixtures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace movierec;  // NOLINT(build/namespaces)
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<User>> users = ParseUsers(text, "u.user");
  if (!users.ok()) {
    MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(users.status()),
                        users.status().ToString());
    MOVIEREC_FUZZ_CHECK(absl::StartsWith(users.status().message(), "u.user:"),
                        users.status().ToString());
    return 0;
  }
  MOVIEREC_FUZZ_CHECK(!users->empty(), "no users accepted as OK");
  absl::flat_hash_set<int32_t> ids;
  for (const User& u : *users) {
    MOVIEREC_FUZZ_CHECK(u.id > 0 && ids.insert(u.id).second, "user id");
    MOVIEREC_FUZZ_CHECK(u.age >= 1 && u.age <= 120, "age");
    MOVIEREC_FUZZ_CHECK(u.gender == "M" || u.gender == "F", "gender");
    MOVIEREC_FUZZ_CHECK(!u.occupation.empty(), "occupation");
  }
  return 0;
}
