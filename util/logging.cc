#include "util/logging.h"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spdlog/cfg/env.h"
#include "spdlog/details/registry.h"
#include "spdlog/spdlog.h"
#include "util/json_escape.h"

namespace movierec {
namespace {

std::atomic<LogFormat> current_format{LogFormat::kText};

// The levels SPDLOG_LEVEL gave loggers by name, when InitLogging used it.
absl::Mutex env_levels_mutex;
std::map<std::string, spdlog::level::level_enum, std::less<>>* env_levels
    ABSL_GUARDED_BY(env_levels_mutex) = nullptr;

// Starts the payload of a structured line in JSON: the rest is the quoted
// message and the fields, ready to go into the object. A plain message never
// starts with this control character.
constexpr char kStructuredMark = '\x1e';

constexpr std::array<std::pair<absl::string_view, spdlog::level::level_enum>, 9>
    kLevels = {{{"trace", spdlog::level::trace},
                {"debug", spdlog::level::debug},
                {"info", spdlog::level::info},
                {"warn", spdlog::level::warn},
                {"warning", spdlog::level::warn},
                {"error", spdlog::level::err},
                {"err", spdlog::level::err},
                {"critical", spdlog::level::critical},
                {"off", spdlog::level::off}}};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string line = "{\"ts\":\"";
    line += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromChrono(msg.time),
                             absl::UTCTimeZone());
    line += "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += '"';
    if (msg.logger_name.size() > 0) {
      line += ",\"logger\":";
      line += JsonQuote(
          absl::string_view(msg.logger_name.data(), msg.logger_name.size()));
    }
    line += ",\"msg\":";
    const absl::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload[0] == kStructuredMark) {
      absl::StrAppend(&line, payload.substr(1));
    } else {
      line += JsonQuote(payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Checks SPDLOG_LEVEL as spdlog::cfg::load_env_levels reads it: levels, or
// logger=level, separated by commas (spdlog itself turns a misspelt level
// into "off", silencing the logger), and fills `named` with the levels given
// by logger name.
absl::Status CheckEnvLevels(
    absl::string_view value,
    std::map<std::string, spdlog::level::level_enum, std::less<>>* named) {
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const absl::string_view level =
        eq == absl::string_view::npos ? item : item.substr(eq + 1);
    const auto parsed =
        ParseLogLevel(absl::AsciiStrToLower(level), "SPDLOG_LEVEL");
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable SPDLOG_LEVEL=\"", value,
                       "\": ", parsed.status().message()));
    }
    if (eq != absl::string_view::npos) {
      (*named)[std::string(absl::StripAsciiWhitespace(item.substr(0, eq)))] =
          *parsed;
    }
  }
  return absl::OkStatus();
}

bool NeedsQuotes(absl::string_view text) {
  if (text.empty()) return true;
  for (const char c : text) {
    if (c == ' ' || c == '"' || c == '=' ||
        static_cast<unsigned char>(c) < 0x20)
      return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view value,
                                         absl::string_view flag) {
  if (value == "text") return LogFormat::kText;
  if (value == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " \"", value, "\" is not a log format: text or json"));
}

absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(
    absl::string_view value, absl::string_view flag) {
  for (const auto& [name, level] : kLevels) {
    if (value == name) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag, " \"", value,
      "\" is not a log level: trace, debug, info, warn, error, critical or "
      "off"));
}

absl::Status InitLogging(const LogOptions& options) {
  spdlog::level::level_enum level = spdlog::level::info;
  auto named = std::make_unique<
      std::map<std::string, spdlog::level::level_enum, std::less<>>>();
  if (!options.level.empty()) {
    auto parsed = ParseLogLevel(options.level, "--log_level");
    if (!parsed.ok()) return parsed.status();
    level = *parsed;
  } else if (const char* env = std::getenv("SPDLOG_LEVEL");
             env != nullptr && *env != '\0') {
    if (absl::Status s = CheckEnvLevels(env, named.get()); !s.ok()) return s;
  }
  {
    absl::MutexLock lock(&env_levels_mutex);
    delete env_levels;
    env_levels = named.release();
  }
  current_format = options.format;
  if (options.format == LogFormat::kJson) {
    spdlog::set_formatter(MakeJsonFormatter());
  } else {
    spdlog::set_pattern("%+");
  }
  // Every logger, and those made later, at `level`, forgetting the levels by
  // name of an earlier call; then SPDLOG_LEVEL's when the flag is not given.
  spdlog::details::registry::instance().set_levels({}, &level);
  if (options.level.empty()) spdlog::cfg::load_env_levels();
  return absl::OkStatus();
}

LogFormat CurrentLogFormat() { return current_format.load(); }

std::optional<spdlog::level::level_enum> EnvLevelOf(absl::string_view logger) {
  absl::MutexLock lock(&env_levels_mutex);
  if (env_levels == nullptr) return std::nullopt;
  const auto it = env_levels->find(std::string(logger));
  if (it == env_levels->end()) return std::nullopt;
  return it->second;
}

std::unique_ptr<spdlog::formatter> MakeJsonFormatter() {
  return std::make_unique<JsonFormatter>();
}

std::string JsonQuote(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  AppendJsonEscaped(text, &out);
  out += '"';
  return out;
}

void LogField::AppendTo(LogFormat format, std::string* out) const {
  const bool json = format == LogFormat::kJson;
  if (json) {
    absl::StrAppend(out, ",", JsonQuote(key_), ":");
  } else {
    absl::StrAppend(out, " ", key_, "=");
  }
  switch (kind_) {
    case Kind::kString:
      if (json || NeedsQuotes(text_)) {
        *out += JsonQuote(text_);
      } else {
        out->append(text_.data(), text_.size());
      }
      break;
    case Kind::kInt:
      absl::StrAppend(out, int_);
      break;
    case Kind::kReal:
      if (std::isfinite(real_)) {
        absl::StrAppend(out, absl::StrFormat("%.3f", real_));
      } else {
        *out += json ? "null" : "-";
      }
      break;
    case Kind::kNull:
      *out += json ? "null" : "-";
      break;
  }
}

void LogFields(spdlog::logger& logger, spdlog::level::level_enum level,
               absl::string_view message,
               std::initializer_list<LogField> fields) {
  if (!logger.should_log(level)) return;
  const LogFormat format = CurrentLogFormat();
  std::string payload;
  if (format == LogFormat::kJson) {
    payload += kStructuredMark;
    payload += JsonQuote(message);
  } else {
    payload.append(message.data(), message.size());
  }
  for (const LogField& field : fields) field.AppendTo(format, &payload);
  logger.log(level, "{}", payload);
}

}  // namespace movierec
