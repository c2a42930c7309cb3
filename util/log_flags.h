// The logging flags every movierec binary that logs shares (defined in
// log_flags.cc; ParseCommandLine lists them in --help):
//
//   --log_format=text|json   the line format (util/logging.h)
//   --log_level=LEVEL        trace, debug, info, warn, error, critical or
//                            off; empty (the default): the SPDLOG_LEVEL
//                            environment variable, else info. The flag wins
//                            over SPDLOG_LEVEL.
#ifndef MOVIEREC_UTIL_LOG_FLAGS_H_
#define MOVIEREC_UTIL_LOG_FLAGS_H_

#include "absl/status/status.h"

namespace movierec {

// The file that defines the flags, for ParseCommandLine's --help filter.
inline constexpr char kLogFlagsFile[] = "util/log_flags.cc";

// InitLogging with the flags' values, after absl::ParseCommandLine. A usage
// error (exit status 2) naming the flag for a bad value.
absl::Status InitLoggingFromFlags();

}  // namespace movierec

#endif  // MOVIEREC_UTIL_LOG_FLAGS_H_
