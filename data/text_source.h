// Streaming input for the data readers: a file read in chunks, or text
// already in memory, and the line reader built on it.
//
// A reader of a 25M-line file holds one chunk and the line being parsed, not
// the file. Errors name the source ("<name>:<line>: <problem>"), which for a
// file is its path. Neither class is thread-safe; each is owned by one reader.
#ifndef MOVIEREC_DATA_TEXT_SOURCE_H_
#define MOVIEREC_DATA_TEXT_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace movierec {

// Bytes of a file or of a string, handed out a chunk at a time.
class TextSource {
 public:
  // The file at `path`, named by its path in errors. NotFound naming the
  // path when it does not exist; Internal naming it when it cannot be read.
  static absl::StatusOr<TextSource> OpenFile(const std::string& path);
  // `text`, which must outlive the source, called `name` in errors.
  static TextSource FromText(absl::string_view text, absl::string_view name);

  TextSource(TextSource&&) noexcept;
  TextSource& operator=(TextSource&&) noexcept;
  ~TextSource();

  const std::string& name() const { return name_; }

  // The next bytes (valid until the next call); empty at the end. Internal
  // naming the file on a read error.
  absl::StatusOr<absl::string_view> NextChunk();

  static constexpr size_t kChunkSize = 1 << 20;

 private:
  TextSource(std::string name, int fd, absl::string_view text);

  std::string name_;
  int fd_ = -1;  // -1: reading `text_`
  absl::string_view text_;
  bool text_given_ = false;
  std::unique_ptr<char[]> buffer_;
};

// The lines of a TextSource, one at a time. '\n' ends a line and a '\r'
// before it is dropped (LF and CRLF files read alike); a last line without a
// newline is a line; empty lines are skipped but counted.
class LineReader {
 public:
  explicit LineReader(TextSource source) : source_(std::move(source)) {}

  // The next non-empty line, valid until the next call; false at the end or
  // on a read error (then status() is not OK).
  bool Next(absl::string_view* line);
  const absl::Status& status() const { return status_; }

  const std::string& name() const { return source_.name(); }
  // The 1-based number of the line Next returned last.
  int line_number() const { return line_number_; }

  // An InvalidArgument error "<name>:<line>: <problem>".
  template <typename... Args>
  absl::Status Error(const Args&... problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), ":", line_number_, ": ", problem...));
  }

 private:
  bool Fill();

  TextSource source_;
  absl::Status status_;
  absl::string_view chunk_;    // unread part of the current chunk
  std::string partial_;        // a line split across chunks
  bool partial_used_ = false;  // partial_ was returned: clear it first
  bool at_end_ = false;
  int line_number_ = 0;
};

// `s` in double quotes for an error message, cut after 40 bytes.
std::string QuoteForError(absl::string_view s);

}  // namespace movierec

#endif  // MOVIEREC_DATA_TEXT_SOURCE_H_
