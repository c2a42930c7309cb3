// The one conversion from absl::Status (used everywhere inside movierec) to
// grpc::Status, at the RPC boundary, in the style of TF Serving's
// ToGRPCStatus.
#ifndef MOVIEREC_SERVER_GRPC_STATUS_H_
#define MOVIEREC_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace movierec {

// The longest error message a call returns, in bytes. gRPC sends it in the
// grpc-message trailer, and a peer refuses metadata past its limit (8 KiB by
// default) with an error that hides the real one; a message naming a field
// and a value never needs more.
inline constexpr size_t kMaxGrpcMessageBytes = 1024;

// `message` cut to at most kMaxGrpcMessageBytes: a longer one is cut at a
// UTF-8 character boundary and ends in " [... N bytes cut]".
std::string CappedMessage(absl::string_view message);

// The same code (absl::StatusCode and grpc::StatusCode share their
// numbering) and message. A message longer than kMaxGrpcMessageBytes is cut
// at a UTF-8 character boundary and ends in " [... N bytes cut]".
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace movierec

#endif  // MOVIEREC_SERVER_GRPC_STATUS_H_
