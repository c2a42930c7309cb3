// The HTTP/JSON mapping of the API, with no socket: what server/http_server.h
// does with a request's bytes before and after the shared dispatch path
// (CallDispatcher), so that tests and the fuzzer run it directly.
//
// Bodies are the request and response messages in proto3's canonical JSON
// mapping (field names in lowerCamelCase; the proto names are accepted too;
// fields at their default value are left out of answers). Errors are
// {"code": "<absl::StatusCode name>", "message": "..."} with the HTTP status
// of Google's API design guide (HttpStatusFor).
//
// Stateless functions: safe from any thread.
#ifndef MOVIEREC_SERVER_HTTP_API_H_
#define MOVIEREC_SERVER_HTTP_API_H_

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace movierec {

// An answer: its HTTP status and JSON body.
struct HttpReply {
  int status = 200;
  std::string body;
};

// The HTTP status of a code, as Google's API design guide maps them: OK 200,
// INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE 400,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, ABORTED and
// ALREADY_EXISTS 409, RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED
// 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, anything else 500.
int HttpStatusFor(absl::StatusCode code);

// A non-OK status as an answer: HttpStatusFor its code, and the body
// {"code": "INVALID_ARGUMENT", "message": "..."}, the message cut as
// ToGrpcStatus cuts it (kMaxGrpcMessageBytes).
HttpReply ErrorReply(const absl::Status& status);

// Reads `body` (JSON in the canonical mapping) into `message`, which is
// cleared first. InvalidArgument, saying what is wrong, for an empty body,
// bytes that are not UTF-8 (with the offset of the first bad byte), JSON
// that does not parse (malformed or truncated), a field the message does not
// have (named), and a value of the wrong type or out of its field's range.
absl::Status ParseJsonBody(absl::string_view body,
                           google::protobuf::Message* message);

// `message` in the canonical JSON mapping.
std::string ToJson(const google::protobuf::Message& message);

// The time a call may take, as gRPC's `grpc-timeout` header writes it:
// 1 to 8 digits and a unit, H (hours), M (minutes), S (seconds), m (ms),
// u (us) or n (ns), e.g. "100m". InvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseGrpcTimeout(absl::string_view value);

// The `timeout_ms` query parameter: a positive whole number of
// milliseconds, at most 8 digits. InvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseTimeoutMs(absl::string_view value);

}  // namespace movierec

#endif  // MOVIEREC_SERVER_HTTP_API_H_
