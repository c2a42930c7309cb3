// JSON string escaping shared by the JSON log lines (util/logging) and the
// HTTP API's error bodies (server/http_api).
#ifndef MOVIEREC_UTIL_JSON_ESCAPE_H_
#define MOVIEREC_UTIL_JSON_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace movierec {

// Appends `text` to `out` escaped for the inside of a JSON string: quote,
// backslash and control characters (\n, \r, \t, else \u00XX); every other
// byte as it is (callers that need valid UTF-8 check it themselves).
inline void AppendJsonEscaped(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += "\\u00";
          *out += kHex[(c >> 4) & 0xF];
          *out += kHex[c & 0xF];
        } else {
          *out += c;
        }
    }
  }
}

}  // namespace movierec

#endif  // MOVIEREC_UTIL_JSON_ESCAPE_H_
