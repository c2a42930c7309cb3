// Log output of every movierec binary, on spdlog: the format of a line (text
// or JSON lines), the level (a flag, else the SPDLOG_LEVEL environment
// variable, else info), and structured lines (a message and named fields).
//
//   text  spdlog's default pattern: [2026-12-05 09:41:34.123] [info] message
//         (a named logger adds [name]); a structured line appends its fields
//         as key=value.
//   json  one JSON object a line:
//         {"ts":"2026-12-05T09:41:34.123456Z","level":"info","msg":"..."}
//         plus "logger" for a named logger (e.g. "access") and, for a
//         structured line, each field as a key of its own.
//
// InitLogging is called once, from main, before any thread logs. LogFields
// and the formatter are safe from any thread after that.
#ifndef MOVIEREC_UTIL_LOGGING_H_
#define MOVIEREC_UTIL_LOGGING_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "spdlog/common.h"
#include "spdlog/formatter.h"
#include "spdlog/logger.h"

namespace movierec {

enum class LogFormat { kText, kJson };

// "text" or "json"; InvalidArgument naming `flag` otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view value,
                                         absl::string_view flag);

// One of trace, debug, info, warn, error, critical, off ("warning" and "err"
// too); InvalidArgument naming `flag` otherwise.
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view value,
                                                        absl::string_view flag);

struct LogOptions {
  LogFormat format = LogFormat::kText;
  // Empty: the level that SPDLOG_LEVEL gives (spdlog's syntax, e.g. "warn"
  // or "info,access=off"), else info. Given: this level for every logger,
  // whatever SPDLOG_LEVEL says (the flag wins).
  std::string level;
};

// Sets the format of every logger (those made later too) and the levels.
// InvalidArgument naming --log_level for a bad `options.level`, or naming
// SPDLOG_LEVEL for a bad environment value (only read when options.level is
// empty).
absl::Status InitLogging(const LogOptions& options);

// The format InitLogging set (text before it is called).
LogFormat CurrentLogFormat();

// The level SPDLOG_LEVEL gave `logger` by name ("info,access=off" gives
// "access" off), when InitLogging took the levels from it; nullopt
// otherwise. For a logger that keeps a level of its own unless told.
std::optional<spdlog::level::level_enum> EnvLevelOf(absl::string_view logger);

// The JSON-lines formatter (see the file comment).
std::unique_ptr<spdlog::formatter> MakeJsonFormatter();

// `text` as a JSON string, quotes included (", \ and control characters
// escaped; other bytes as they are).
std::string JsonQuote(absl::string_view text);

// A field of a structured line: a string, a whole number, a real number
// (written with 3 decimals), or null.
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value)
      : key_(key), kind_(Kind::kString), text_(value) {}
  LogField(absl::string_view key, const char* value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, const std::string& value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, int64_t value)
      : key_(key), kind_(Kind::kInt), int_(value) {}
  LogField(absl::string_view key, int value)
      : LogField(key, static_cast<int64_t>(value)) {}
  LogField(absl::string_view key, double value)
      : key_(key), kind_(Kind::kReal), real_(value) {}
  // A field whose value is unknown: null in JSON, "-" in text.
  static LogField Null(absl::string_view key) {
    LogField field(key, int64_t{0});
    field.kind_ = Kind::kNull;
    return field;
  }

  // Appends ,"key":value (JSON) or  key=value (text; a string with a space,
  // a quote or '=' is quoted).
  void AppendTo(LogFormat format, std::string* out) const;

 private:
  enum class Kind { kString, kInt, kReal, kNull };
  absl::string_view key_;
  Kind kind_;
  absl::string_view text_;
  int64_t int_ = 0;
  double real_ = 0;
};

// Logs `message` with `fields` at `level` on `logger`, in the current format.
// Formats nothing when the logger would drop the level.
void LogFields(spdlog::logger& logger, spdlog::level::level_enum level,
               absl::string_view message,
               std::initializer_list<LogField> fields);

}  // namespace movierec

#endif  // MOVIEREC_UTIL_LOGGING_H_
