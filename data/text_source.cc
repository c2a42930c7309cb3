#include "data/text_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/strip.h"

namespace movierec {

TextSource::TextSource(std::string name, int fd, absl::string_view text)
    : name_(std::move(name)), fd_(fd), text_(text) {
  if (fd_ >= 0) buffer_ = std::make_unique<char[]>(kChunkSize);
}

TextSource::TextSource(TextSource&& other) noexcept
    : name_(std::move(other.name_)),
      fd_(std::exchange(other.fd_, -1)),
      text_(std::exchange(other.text_, {})),
      text_given_(other.text_given_),
      buffer_(std::move(other.buffer_)) {}

TextSource& TextSource::operator=(TextSource&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    name_ = std::move(other.name_);
    fd_ = std::exchange(other.fd_, -1);
    text_ = std::exchange(other.text_, {});
    text_given_ = other.text_given_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

TextSource::~TextSource() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<TextSource> TextSource::OpenFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string message =
        absl::StrCat("cannot open ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message)
                         : absl::InternalError(message);
  }
  return TextSource(path, fd, {});
}

TextSource TextSource::FromText(absl::string_view text,
                                absl::string_view name) {
  return TextSource(std::string(name), -1, text);
}

absl::StatusOr<absl::string_view> TextSource::NextChunk() {
  if (fd_ < 0) {
    if (text_given_) return absl::string_view();
    text_given_ = true;
    return text_;
  }
  for (;;) {
    const ssize_t n = ::read(fd_, buffer_.get(), kChunkSize);
    if (n >= 0) return absl::string_view(buffer_.get(), static_cast<size_t>(n));
    if (errno != EINTR) {
      return absl::InternalError(
          absl::StrCat("cannot read ", name_, ": ", std::strerror(errno)));
    }
  }
}

bool LineReader::Fill() {
  absl::StatusOr<absl::string_view> chunk = source_.NextChunk();
  if (!chunk.ok()) {
    status_ = chunk.status();
    return false;
  }
  if (chunk->empty()) at_end_ = true;
  chunk_ = *chunk;
  return true;
}

bool LineReader::Next(absl::string_view* line) {
  for (;;) {
    if (partial_used_) {
      partial_.clear();
      partial_used_ = false;
    }
    if (chunk_.empty() && !at_end_ && !Fill()) return false;
    const size_t newline = chunk_.find('\n');
    absl::string_view got;
    if (newline != absl::string_view::npos) {
      if (partial_.empty()) {
        got = chunk_.substr(0, newline);
      } else {
        partial_.append(chunk_.data(), newline);
        got = partial_;
        partial_used_ = true;
      }
      chunk_.remove_prefix(newline + 1);
    } else if (!at_end_) {
      partial_.append(chunk_.data(), chunk_.size());
      chunk_ = {};
      continue;
    } else if (partial_.empty()) {
      return false;
    } else {
      got = partial_;
      partial_used_ = true;
    }
    ++line_number_;
    absl::ConsumeSuffix(&got, "\r");
    if (!got.empty()) {
      *line = got;
      return true;
    }
  }
}

std::string QuoteForError(absl::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() > kMax) return absl::StrCat("\"", s.substr(0, kMax), "...\"");
  return absl::StrCat("\"", s, "\"");
}

}  // namespace movierec
