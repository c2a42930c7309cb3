#include "data/movielens_fields.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace movierec {

int32_t GenreVocabulary::Add(absl::string_view name) {
  const std::string utf8 = ToUtf8(name);
  const auto [it, added] =
      index_.try_emplace(utf8, static_cast<int32_t>(names_.size()));
  if (added) names_.push_back(utf8);
  return it->second;
}

std::vector<std::string> GenreVocabulary::Finish(
    std::vector<Movie>* movies) const {
  std::vector<int32_t> order(names_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  const auto key = [this](int32_t i) {
    return std::make_pair(names_[i] != "unknown", names_[i]);
  };
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return key(a) < key(b); });
  std::vector<int32_t> final_index(names_.size());
  std::vector<std::string> sorted;
  sorted.reserve(names_.size());
  for (size_t rank = 0; rank < order.size(); ++rank) {
    final_index[order[rank]] = static_cast<int32_t>(rank);
    sorted.push_back(names_[order[rank]]);
  }
  for (Movie& movie : *movies) {
    for (int32_t& genre : movie.genres) genre = final_index[genre];
    std::sort(movie.genres.begin(), movie.genres.end());
  }
  return sorted;
}

int32_t YearFromTitle(absl::string_view title) {
  title = absl::StripTrailingAsciiWhitespace(title);
  if (title.size() < 6 || title.back() != ')' ||
      title[title.size() - 6] != '(') {
    return 0;
  }
  int32_t year = 0;
  for (size_t i = title.size() - 5; i < title.size() - 1; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(title[i]))) return 0;
    year = 10 * year + (title[i] - '0');
  }
  return year >= 1800 && year <= 2100 ? year : 0;
}

bool IsValidUtf8(absl::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t code = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > bytes.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string ToUtf8(absl::string_view bytes) {
  if (IsValidUtf8(bytes)) return std::string(bytes);
  return Latin1ToUtf8(bytes);
}

std::vector<User> UsersOfRatings(const std::vector<Rating>& ratings) {
  absl::flat_hash_set<int32_t> seen;
  std::vector<int32_t> ids;
  for (const Rating& rating : ratings) {
    if (seen.insert(rating.user_id).second) ids.push_back(rating.user_id);
  }
  std::sort(ids.begin(), ids.end());
  std::vector<User> users(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) users[i].id = ids[i];
  return users;
}

absl::StatusOr<TextSource> OpenMovieLensFile(const std::string& path) {
  absl::StatusOr<TextSource> source = TextSource::OpenFile(path);
  if (!source.ok()) {
    return absl::Status(
        source.status().code(),
        absl::StrCat("MovieLens file: ", source.status().message()));
  }
  return source;
}

}  // namespace movierec
