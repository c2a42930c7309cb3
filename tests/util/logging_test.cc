// util/logging.h: the JSON-lines format, levels from the flag and from
// SPDLOG_LEVEL, structured fields, and errors that name the flag.
#include "util/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace movierec {
namespace {

using ::testing::HasSubstr;

// A registered logger writing into a string stream, with the registry's
// formatter and level (as a logger made after InitLogging has).
class CapturedLogger {
 public:
  explicit CapturedLogger(const std::string& name) : name_(name) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    logger_ = std::make_shared<spdlog::logger>(name, sink);
    spdlog::initialize_logger(logger_);
  }
  ~CapturedLogger() { spdlog::drop(name_); }
  spdlog::logger& operator*() { return *logger_; }
  spdlog::logger* operator->() { return logger_.get(); }
  std::vector<std::string> Lines() const {
    return absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  }

 private:
  std::string name_;
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
};

class LoggingTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("SPDLOG_LEVEL");
    ASSERT_TRUE(InitLogging(LogOptions{}).ok());
  }
};

TEST_F(LoggingTest, JsonLinesParseWithTheExpectedKeys) {
  ASSERT_TRUE(InitLogging({LogFormat::kJson, "info"}).ok());
  EXPECT_EQ(CurrentLogFormat(), LogFormat::kJson);
  CapturedLogger log("json_test");
  log->info("plain \"quoted\" \\ message\twith\ncontrol \x01 bytes");
  LogFields(*log, spdlog::level::warn, "structured",
            {LogField("method", "Recommend"), LogField("count", 3),
             LogField("latency_ms", 1.23456), LogField::Null("user")});
  const std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 2u);
  const auto plain = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(plain["level"], "info");
  EXPECT_EQ(plain["logger"], "json_test");
  EXPECT_EQ(plain["msg"],
            "plain \"quoted\" \\ message\twith\ncontrol \x01 bytes");
  const std::string ts = plain["ts"];
  EXPECT_THAT(ts, ::testing::MatchesRegex(
                      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z"));
  const auto structured = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(structured["level"], "warning");
  EXPECT_EQ(structured["msg"], "structured");
  EXPECT_EQ(structured["method"], "Recommend");
  EXPECT_EQ(structured["count"], 3);
  EXPECT_DOUBLE_EQ(structured["latency_ms"].get<double>(), 1.235);
  EXPECT_TRUE(structured["user"].is_null());
}

TEST_F(LoggingTest, TextLinesCarryFieldsAsKeyValue) {
  ASSERT_TRUE(InitLogging({LogFormat::kText, "info"}).ok());
  CapturedLogger log("text_test");
  LogFields(*log, spdlog::level::info, "access",
            {LogField("method", "Recommend"), LogField("msg", "two words"),
             LogField::Null("user")});
  const std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("[text_test] [info] access method=Recommend "
                                  "msg=\"two words\" user=-"));
}

TEST_F(LoggingTest, WarnLevelHidesInfo) {
  ASSERT_TRUE(InitLogging({LogFormat::kText, "warn"}).ok());
  CapturedLogger log("level_test");
  log->info("hidden");
  LogFields(*log, spdlog::level::info, "hidden too", {LogField("a", 1)});
  log->warn("shown");
  const std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("shown"));
}

TEST_F(LoggingTest, SpdlogLevelIsHonouredAndTheFlagWins) {
  setenv("SPDLOG_LEVEL", "error", 1);
  ASSERT_TRUE(InitLogging({LogFormat::kText, ""}).ok());
  {
    CapturedLogger log("env_test");
    log->warn("hidden by SPDLOG_LEVEL=error");
    log->error("shown");
    ASSERT_EQ(log.Lines().size(), 1u);
  }
  ASSERT_TRUE(InitLogging({LogFormat::kText, "debug"}).ok());
  {
    CapturedLogger log("flag_test");
    log->debug("shown: --log_level wins over SPDLOG_LEVEL");
    EXPECT_EQ(log.Lines().size(), 1u);
  }
}

TEST_F(LoggingTest, SpdlogLevelPerLogger) {
  setenv("SPDLOG_LEVEL", "warn,chatty=trace", 1);
  ASSERT_TRUE(InitLogging({LogFormat::kText, ""}).ok());
  CapturedLogger chatty("chatty");
  CapturedLogger quiet("quiet");
  chatty->trace("shown");
  quiet->info("hidden");
  EXPECT_EQ(chatty.Lines().size(), 1u);
  EXPECT_EQ(quiet.Lines().size(), 0u);
}

TEST_F(LoggingTest, BadValuesNameTheirSource) {
  const auto format = ParseLogFormat("xml", "--log_format");
  ASSERT_FALSE(format.ok());
  EXPECT_THAT(format.status().message(), HasSubstr("--log_format \"xml\""));
  const absl::Status level = InitLogging({LogFormat::kText, "loud"});
  EXPECT_EQ(level.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(level.message(), HasSubstr("--log_level \"loud\""));
  setenv("SPDLOG_LEVEL", "info,access=loud", 1);
  const absl::Status env = InitLogging({LogFormat::kText, ""});
  EXPECT_EQ(env.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(env.message(), HasSubstr("SPDLOG_LEVEL"));
  // The flag, when given, is all that counts.
  EXPECT_TRUE(InitLogging({LogFormat::kText, "info"}).ok());
}

TEST_F(LoggingTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x1f"), "\"a\\\"b\\\\c\\n\\u001f\"");
}

}  // namespace
}  // namespace movierec
