// A streaming reader of RFC 4180 CSV: records of fields separated by commas
// and ended by CRLF or LF.
//
// A field may be quoted ("..."); inside quotes, commas, CR and LF are data
// and "" is one quote. Refused, with the file, the line and the reason: a
// quote inside an unquoted field, anything but a separator or a line end
// after a closing quote, and a quoted field the file ends in. Beyond the RFC:
// a last record without a line end is a record, and empty lines are skipped
// (a data file's blank last lines are no records). Fields are bytes; the
// readers check their encoding.
//
// Debian's C++ CSV parser (libfccp-dev) splits lines before it reads quotes,
// so a quoted line break cannot be read with it; hence this one. Not
// thread-safe; one reader per file.
#ifndef MOVIEREC_DATA_CSV_READER_H_
#define MOVIEREC_DATA_CSV_READER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "data/text_source.h"

namespace movierec {

class CsvReader {
 public:
  explicit CsvReader(TextSource source, char separator = ',')
      : source_(std::move(source)), separator_(separator) {}

  // Reads the next record into *fields (resized to its field count). False
  // at the end or on an error (then status() says which line and why).
  bool Next(std::vector<std::string>* fields);
  const absl::Status& status() const { return status_; }

  const std::string& name() const { return source_.name(); }
  // The 1-based line on which the record Next returned last starts.
  int line_number() const { return record_line_; }

  // An InvalidArgument error "<name>:<record line>: <problem>".
  template <typename... Args>
  absl::Status Error(const Args&... problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(name(), ":", record_line_, ": ", problem...));
  }

 private:
  // The next byte, or -1 at the end of the input or on a read error.
  int Get() {
    if (pos_ == chunk_.size() && !Fill()) return -1;
    return static_cast<unsigned char>(chunk_[pos_++]);
  }
  int Peek() {
    if (pos_ == chunk_.size() && !Fill()) return -1;
    return static_cast<unsigned char>(chunk_[pos_]);
  }
  bool Fill();
  // Whether `c` (just read) ends the record: LF, CRLF, end of input, or a CR
  // at the end of input. Consumes the LF of a CRLF.
  bool EndsRecord(int c);
  // Reads a quoted field after its opening quote.
  bool ReadQuoted(std::string* field, int field_number);
  bool Fail(int line, absl::string_view problem);

  TextSource source_;
  const char separator_;
  absl::Status status_;
  absl::string_view chunk_;
  size_t pos_ = 0;
  bool at_end_ = false;
  int line_ = 1;  // the line being read
  int record_line_ = 0;
};

}  // namespace movierec

#endif  // MOVIEREC_DATA_CSV_READER_H_
