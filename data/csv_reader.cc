#include "data/csv_reader.h"

namespace movierec {

bool CsvReader::Fill() {
  if (at_end_ || !status_.ok()) return false;
  absl::StatusOr<absl::string_view> chunk = source_.NextChunk();
  if (!chunk.ok()) {
    status_ = chunk.status();
    return false;
  }
  chunk_ = *chunk;
  pos_ = 0;
  if (chunk_.empty()) at_end_ = true;
  return !at_end_;
}

bool CsvReader::Fail(int line, absl::string_view problem) {
  status_ = absl::InvalidArgumentError(
      absl::StrCat(name(), ":", line, ": ", problem));
  return false;
}

bool CsvReader::EndsRecord(int c) {
  if (c == -1) return true;
  if (c == '\n') {
    ++line_;
    return true;
  }
  if (c == '\r') {
    const int next = Peek();
    if (next == '\n') {
      Get();
      ++line_;
      return true;
    }
    return next == -1;
  }
  return false;
}

bool CsvReader::ReadQuoted(std::string* field, int field_number) {
  const int opened = line_;
  for (;;) {
    const int c = Get();
    if (c == -1) {
      if (!status_.ok()) return false;
      return Fail(opened, absl::StrCat("field ", field_number,
                                       ": unterminated quoted field (the "
                                       "file ends inside the quotes)"));
    }
    if (c == '"') {
      if (Peek() != '"') return true;
      Get();
    } else if (c == '\n') {
      ++line_;
    }
    field->push_back(static_cast<char>(c));
  }
}

bool CsvReader::Next(std::vector<std::string>* fields) {
  if (!status_.ok()) return false;
  for (;;) {
    record_line_ = line_;
    if (Peek() == -1) return false;
    size_t count = 0;
    bool done = false;
    bool quoted = false;
    while (!done) {
      if (fields->size() <= count) fields->emplace_back();
      std::string& field = (*fields)[count++];
      field.clear();
      int c = Get();
      if (c == '"') {
        quoted = true;
        if (!ReadQuoted(&field, static_cast<int>(count))) return false;
        c = Get();
        if (c == separator_) continue;
        if (EndsRecord(c)) break;
        return Fail(line_, absl::StrCat("field ", count, ": ",
                                        QuoteForError(std::string(1, c)),
                                        " after the closing quote (expected '",
                                        std::string(1, separator_),
                                        "' or the end of the line)"));
      }
      for (;;) {
        if (c == separator_) break;
        if (EndsRecord(c)) {
          done = true;
          break;
        }
        if (c == '"') {
          return Fail(line_, absl::StrCat("field ", count,
                                          ": a quote inside an unquoted field "
                                          "(quote the field and double the "
                                          "quote)"));
        }
        field.push_back(static_cast<char>(c));
        c = Get();
      }
    }
    if (!status_.ok()) return false;
    // An empty line is no record ("" alone is a record of one empty field).
    if (count == 1 && !quoted && (*fields)[0].empty()) continue;
    fields->resize(count);
    return true;
  }
}

}  // namespace movierec
