#include "util/log_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "util/logging.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, log_format, "text",
          "Log line format: text (human-readable) or json (one JSON object "
          "a line: ts, level, msg, and the fields of structured lines)");
ABSL_FLAG(std::string, log_level, "",
          "Lowest level logged: trace, debug, info, warn, error, critical or "
          "off. Empty: the SPDLOG_LEVEL environment variable (e.g. warn, or "
          "info,access=off), else info; the flag wins over SPDLOG_LEVEL");

namespace movierec {

absl::Status InitLoggingFromFlags() {
  LogOptions options;
  auto format = ParseLogFormat(absl::GetFlag(FLAGS_log_format), "--log_format");
  if (!format.ok()) return AsUsageError(format.status());
  options.format = *format;
  options.level = absl::GetFlag(FLAGS_log_level);
  return AsUsageError(InitLogging(options));
}

}  // namespace movierec
