#include "server/http_api.h"

#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "util/json_escape.h"

namespace movierec {
namespace {

// The offset of the first byte of `text` that is not well-formed UTF-8
// (overlong forms, surrogates and code points past U+10FFFF included), or
// npos when all of it is.
size_t FirstBadUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t at) {
      return static_cast<unsigned char>(text[at]);
    };
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    int length = 0;
    uint32_t min = 0;
    uint32_t code = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, min = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, min = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, code = lead & 0x07;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (int k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return i;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return i;
    }
    i += length;
  }
  return absl::string_view::npos;
}

// `text` as a JSON string, quotes included; bytes that are not UTF-8
// become U+FFFD.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const size_t bad = FirstBadUtf8(text);
    AppendJsonEscaped(text.substr(0, bad), &out);
    if (bad == absl::string_view::npos) break;
    out += "\xEF\xBF\xBD";
    text.remove_prefix(bad + 1);
  }
  out += '"';
  return out;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

HttpReply ErrorReply(const absl::Status& status) {
  return {
      HttpStatusFor(status.code()),
      absl::StrCat(
          "{\"code\": ", JsonString(absl::StatusCodeToString(status.code())),
          ", \"message\": ", JsonString(CappedMessage(status.message())),
          "}\n")};
}

absl::Status ParseJsonBody(absl::string_view body,
                           google::protobuf::Message* message) {
  message->Clear();
  if (absl::StripAsciiWhitespace(body).empty()) {
    return absl::InvalidArgumentError(
        "the request body is empty: send a JSON object ({} at least)");
  }
  if (const size_t bad = FirstBadUtf8(body); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request body is not UTF-8: byte ", bad, " (0x",
        absl::Hex(static_cast<unsigned char>(body[bad]), absl::kZeroPad2),
        ") starts no valid character"));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), message,
      options);
  if (!status.ok()) {
    message->Clear();
    return absl::InvalidArgumentError(absl::StrCat(
        "the request body is no valid JSON ", message->GetDescriptor()->name(),
        ": ", std::string(status.message())));
  }
  return absl::OkStatus();
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  // Serializing a valid message cannot fail (its strings are UTF-8: they
  // came from checked JSON, gRPC or the model).
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  json += '\n';
  return json;
}

absl::StatusOr<absl::Duration> ParseGrpcTimeout(absl::string_view value) {
  const auto bad = [value] {
    return absl::InvalidArgumentError(absl::StrCat(
        "grpc-timeout \"", CappedMessage(value),
        "\" is not 1-8 digits and a unit (H, M, S, m, u, n), e.g. 100m"));
  };
  if (value.size() < 2 || value.size() > 9) return bad();
  const absl::string_view digits = value.substr(0, value.size() - 1);
  for (const char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad();
  }
  int64_t amount = 0;
  if (!absl::SimpleAtoi(digits, &amount)) return bad();
  switch (value.back()) {
    case 'H':
      return absl::Hours(amount);
    case 'M':
      return absl::Minutes(amount);
    case 'S':
      return absl::Seconds(amount);
    case 'm':
      return absl::Milliseconds(amount);
    case 'u':
      return absl::Microseconds(amount);
    case 'n':
      return absl::Nanoseconds(amount);
    default:
      return bad();
  }
}

absl::StatusOr<absl::Duration> ParseTimeoutMs(absl::string_view value) {
  int64_t ms = 0;
  bool digits = !value.empty() && value.size() <= 8;
  for (const char c : value) {
    digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (!digits || !absl::SimpleAtoi(value, &ms) || ms <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeout_ms \"", CappedMessage(value),
        "\" is not a positive whole number of milliseconds (at most 8 "
        "digits)"));
  }
  return absl::Milliseconds(ms);
}

}  // namespace movierec
