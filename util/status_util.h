// absl::Status helpers shared by the binaries: a context prefix that keeps the
// code, usage errors, and the one mapping from a main's status to its exit
// status.
#ifndef MOVIEREC_UTIL_STATUS_UTIL_H_
#define MOVIEREC_UTIL_STATUS_UTIL_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

// Exit statuses of every movierec binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the work failed
inline constexpr int kExitUsage = 2;    // a bad command line

// `status` with its message prefixed by "`context`: ", the same code and
// payloads. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

template <typename T>
absl::StatusOr<T> Annotate(absl::StatusOr<T> value, absl::string_view context) {
  if (value.ok()) return value;
  return Annotate(value.status(), context);
}

// An InvalidArgument error that the binary reports as a bad command line
// (exit status 2).
absl::Status UsageError(absl::string_view message);

// `status` marked as a bad command line (OK stays OK).
absl::Status AsUsageError(absl::Status status);

template <typename T>
absl::StatusOr<T> AsUsageError(absl::StatusOr<T> value) {
  if (value.ok()) return value;
  return AsUsageError(value.status());
}

bool IsUsageError(const absl::Status& status);

// The exit status of a main whose work ended with `status`: kExitOk when OK,
// kExitUsage for a usage error, kExitFailure otherwise.
int ExitStatus(const absl::Status& status);

}  // namespace movierec

#endif  // MOVIEREC_UTIL_STATUS_UTIL_H_
