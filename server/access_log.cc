#include "server/access_log.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/http_api.h"
#include "spdlog/spdlog.h"
#include "util/logging.h"

namespace movierec {
namespace {

constexpr char kLoggerName[] = "access";

bool IsLowerHex(absl::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZeros(absl::string_view text) {
  return text.find_first_not_of('0') == absl::string_view::npos;
}

// splitmix64: a fast generator whose state is one word, per thread.
uint64_t NextRandom() {
  thread_local uint64_t state =
      static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<uintptr_t>(&state);
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::shared_ptr<spdlog::logger> AccessLogger() {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto logger = spdlog::get(kLoggerName)) return logger;
  const auto& sinks = spdlog::default_logger()->sinks();
  auto logger =
      std::make_shared<spdlog::logger>(kLoggerName, sinks.begin(), sinks.end());
  // The registry's formatter (InitLogging's format), and registered.
  spdlog::initialize_logger(logger);
  // Info whatever --log_level says, unless SPDLOG_LEVEL names "access".
  logger->set_level(EnvLevelOf(kLoggerName).value_or(spdlog::level::info));
  return logger;
}

LogField Millis(absl::string_view key, double seconds) {
  if (seconds < 0) return LogField::Null(key);
  return LogField(key, seconds * 1e3);
}

LogField Text(absl::string_view key, const std::string& value) {
  if (value.empty()) return LogField::Null(key);
  return LogField(key, value);
}

}  // namespace

bool IsValidTraceparent(absl::string_view value) {
  if (value.size() < 55) return false;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  const absl::string_view version = value.substr(0, 2);
  const absl::string_view trace_id = value.substr(3, 32);
  const absl::string_view parent_id = value.substr(36, 16);
  const absl::string_view flags = value.substr(53, 2);
  if (!IsLowerHex(version) || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags)) {
    return false;
  }
  if (version == "ff" || AllZeros(trace_id) || AllZeros(parent_id)) {
    return false;
  }
  if (version == "00") return value.size() == 55;
  return value.size() == 55 || value[55] == '-';
}

std::string UserIdHash(absl::string_view user_id) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : user_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
}

void AccessRecord::AddStages(const RecommendTrace& trace) {
  const auto add = [](double* total, double seconds) {
    if (seconds < 0) return;
    *total = *total < 0 ? seconds : *total + seconds;
  };
  add(&retrieval_seconds, trace.retrieval_seconds);
  add(&ranking_seconds, trace.ranking_seconds);
}

void AccessRecord::Note(const movierec::v1::RecommendRequest& request,
                        const movierec::v1::RecommendResponse& response) {
  if (!request.user_id().empty()) user_hash = UserIdHash(request.user_id());
  model_version = response.model_version();
}

void AccessRecord::Note(const movierec::v1::SimilarMoviesRequest&,
                        const movierec::v1::SimilarMoviesResponse& response) {
  model_version = response.model_version();
}

void AccessRecord::Note(const movierec::v1::RecommendBatchRequest& request,
                        const movierec::v1::RecommendBatchResponse& response) {
  if (request.requests_size() > 0 && !request.requests(0).user_id().empty()) {
    user_hash = UserIdHash(request.requests(0).user_id());
  }
  model_version = response.model_version();
}

AccessLog::AccessLog(double sample, std::shared_ptr<spdlog::logger> logger)
    : logger_(logger != nullptr ? std::move(logger) : AccessLogger()) {
  if (sample >= 1) {
    all_ = true;
  } else if (sample > 0) {
    threshold_ = static_cast<uint64_t>(std::ldexp(sample, 64));
  }
}

bool AccessLog::Sample() const {
  if (all_) return true;
  if (threshold_ == 0) return false;
  return NextRandom() < threshold_;
}

void AccessLog::Write(const AccessRecord& record, absl::StatusCode code,
                      double seconds) const {
  const bool http = record.transport == Transport::kHttp;
  const LogField traceparent = record.traceparent.empty()
                                   ? LogField::Null("traceparent")
                               : IsValidTraceparent(record.traceparent)
                                   ? LogField("traceparent", record.traceparent)
                                   : LogField("traceparent", "invalid");
  const std::string code_name = absl::StatusCodeToString(code);
  LogFields(
      *logger_, spdlog::level::info, "access",
      {LogField("transport", TransportName(record.transport)),
       LogField("method", MethodName(record.method)),
       LogField("code", code_name),
       LogField("status", http ? HttpStatusFor(code) : static_cast<int>(code)),
       Millis("latency_ms", seconds), Millis("queue_ms", record.queue_seconds),
       Millis("retrieval_ms", record.retrieval_seconds),
       Millis("ranking_ms", record.ranking_seconds),
       Text("model_version", record.model_version),
       Text("user", record.user_hash), traceparent});
}

}  // namespace movierec
