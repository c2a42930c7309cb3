#include "server/grpc_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace movierec {

std::string CappedMessage(absl::string_view message) {
  if (message.size() <= kMaxGrpcMessageBytes) return std::string(message);
  // The marker's length depends on the count it states; 40 bytes hold any.
  size_t keep = kMaxGrpcMessageBytes - 40;
  // Back off to the first byte of a UTF-8 character (not 10xxxxxx).
  while (keep > 0 &&
         (static_cast<unsigned char>(message[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  return absl::StrCat(message.substr(0, keep), " [... ", message.size() - keep,
                      " bytes cut]");
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      CappedMessage(status.message()));
}

}  // namespace movierec
