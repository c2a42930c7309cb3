// Small file helpers: whole-file reads, durable writes, PEM files.
#ifndef MOVIEREC_UTIL_FILE_UTIL_H_
#define MOVIEREC_UTIL_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

// Reads a whole file. NotFound when it does not exist, an error naming the
// path otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// The contents of a PEM file (a certificate, private key or CA bundle), called
// `what` in errors: NotFound naming the path when it cannot be read,
// InvalidArgument when it holds no PEM block. gRPC would accept garbage and
// fail only in the first TLS handshake, so callers check files up front.
absl::StatusOr<std::string> ReadPemFile(const std::string& path,
                                        absl::string_view what);

// Writes `contents` to `path` and flushes it to disk (fsync), replacing any
// file of that name.
absl::Status WriteFileDurably(const std::string& path,
                              absl::string_view contents);

// Calls fsync on a directory, so that renames inside it are durable.
absl::Status SyncDirectory(const std::string& path);

}  // namespace movierec

#endif  // MOVIEREC_UTIL_FILE_UTIL_H_
