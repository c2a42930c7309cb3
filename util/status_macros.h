// Early-return helpers for absl::Status and absl::StatusOr, in the style of
// the macros Google's codebases use (Abseil 20220623 does not ship them).
#ifndef MOVIEREC_UTIL_STATUS_MACROS_H_
#define MOVIEREC_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the calling function
// when it is not OK.
#define MOVIEREC_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    const ::absl::Status movierec_status_ = (expr);      \
    if (!movierec_status_.ok()) return movierec_status_; \
  } while (false)

#define MOVIEREC_STATUS_CONCAT_INNER_(a, b) a##b
#define MOVIEREC_STATUS_CONCAT_(a, b) MOVIEREC_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::StatusOr<T>); returns its status from the calling
// function when it is not OK, and otherwise moves its value into `lhs`, which
// may be a declaration ("auto x") or an existing variable.
#define MOVIEREC_ASSIGN_OR_RETURN(lhs, expr) \
  MOVIEREC_ASSIGN_OR_RETURN_IMPL_(           \
      MOVIEREC_STATUS_CONCAT_(movierec_statusor_, __LINE__), lhs, expr)

#define MOVIEREC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return statusor.status();              \
  lhs = *std::move(statusor)

#endif  // MOVIEREC_UTIL_STATUS_MACROS_H_
