// Small file helpers: whole-file reads, durable writes, PEM files.
#ifndef MOVIEREC_UTIL_FILE_UTIL_H_
#define MOVIEREC_UTIL_FILE_UTIL_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

// Reads a whole file. NotFound when it does not exist, an error naming the
// path otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// A whole file mapped read-only into memory: its bytes without a copy, read
// from the page cache as they are touched. Unmapped when destroyed.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  absl::string_view bytes() const {
    return {static_cast<const char*>(data_), size_};
  }

 private:
  friend absl::StatusOr<MappedFile> MapFile(const std::string& path);
  MappedFile(void* data, size_t size) : data_(data), size_(size) {}

  void* data_ = nullptr;  // null for an empty file
  size_t size_ = 0;
};

// Maps a whole file (MappedFile), its pages read ahead. NotFound when it
// does not exist, an error naming the path otherwise. For large files read
// once, such as model bundles: ReadFile would copy them into fresh memory,
// twice the page faults. The file must not be truncated while it is mapped
// (reading past its new end raises SIGBUS): model versions are written
// once and renamed into place, never rewritten.
absl::StatusOr<MappedFile> MapFile(const std::string& path);

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
