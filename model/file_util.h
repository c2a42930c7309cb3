// Small file helpers shared by the readers and writers of model/.
#ifndef MOVIEREC_MODEL_FILE_UTIL_H_
#define MOVIEREC_MODEL_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

// Reads a whole file. NotFound when it does not exist, an error naming the
// path otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `contents` to `path` and flushes it to disk (fsync), replacing any
// file of that name.
absl::Status WriteFileDurably(const std::string& path,
                              absl::string_view contents);

// Calls fsync on a directory, so that renames inside it are durable.
absl::Status SyncDirectory(const std::string& path);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_FILE_UTIL_H_
