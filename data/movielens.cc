#include "data/movielens.h"

#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "util/file_util.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// Walks the lines of a text file, remembering where it is for error messages.
// Empty lines are skipped; a trailing '\r' is dropped.
class LineReader {
 public:
  LineReader(absl::string_view text, absl::string_view name)
      : text_(text), name_(name) {}

  bool Next(absl::string_view* line) {
    while (pos_ < text_.size()) {
      const size_t end = text_.find('\n', pos_);
      const size_t stop = end == absl::string_view::npos ? text_.size() : end;
      *line = text_.substr(pos_, stop - pos_);
      pos_ = stop + 1;
      ++line_number_;
      absl::ConsumeSuffix(line, "\r");
      if (!line->empty()) return true;
    }
    return false;
  }

  // An InvalidArgument error "<name>:<line>: <problem>".
  template <typename... Args>
  absl::Status Error(const Args&... problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ":", line_number_, ": ", problem...));
  }

 private:
  absl::string_view text_;
  std::string name_;
  size_t pos_ = 0;
  int line_number_ = 0;
};

std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() > kMax) return absl::StrCat("\"", s.substr(0, kMax), "...\"");
  return absl::StrCat("\"", s, "\"");
}

// Splits `line` on `sep` and checks the number of fields.
absl::StatusOr<std::vector<absl::string_view>> Fields(const LineReader& reader,
                                                      absl::string_view line,
                                                      char sep, size_t expected,
                                                      absl::string_view what) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, sep);
  if (fields.size() != expected) {
    return reader.Error("expected ", expected, " '",
                        sep == '\t' ? std::string("\\t") : std::string(1, sep),
                        "'-separated fields (", what, "), got ", fields.size());
  }
  return fields;
}

absl::StatusOr<int64_t> ParseInt(const LineReader& reader,
                                 absl::string_view field,
                                 absl::string_view what) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(field, &value)) {
    return reader.Error(what, " ", Quote(field), " is not an integer");
  }
  return value;
}

absl::StatusOr<int32_t> ParseId(const LineReader& reader,
                                absl::string_view field,
                                absl::string_view what) {
  MOVIEREC_ASSIGN_OR_RETURN(int64_t value, ParseInt(reader, field, what));
  if (value <= 0 || value > INT32_MAX) {
    return reader.Error(what, " ", value, " is not a positive 32-bit id");
  }
  return static_cast<int32_t>(value);
}

// "01-Jan-1995" -> 1995; "" -> 0.
absl::StatusOr<int32_t> ParseReleaseYear(const LineReader& reader,
                                         absl::string_view date) {
  if (date.empty()) return 0;
  std::vector<absl::string_view> parts = absl::StrSplit(date, '-');
  int32_t year = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[2], &year) || year < 1800 ||
      year > 2100) {
    return reader.Error("release date ", Quote(date),
                        " is not of the form DD-Mon-YYYY");
  }
  return year;
}

absl::StatusOr<std::string> ReadNamedFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(
        text.status().code(),
        absl::StrCat("MovieLens file: ", text.status().message()));
  }
  return text;
}

}  // namespace

KnownIds KnownIds::Of(const MovieLens& data) {
  KnownIds known;
  for (size_t i = 0; i < data.movies.size(); ++i) {
    known.movie_row.emplace(data.movies[i].id, static_cast<int32_t>(i));
  }
  for (size_t i = 0; i < data.users.size(); ++i) {
    known.user_row.emplace(data.users[i].id, static_cast<int32_t>(i));
  }
  return known;
}

std::string Latin1ToUtf8(absl::string_view latin1) {
  std::string out;
  out.reserve(latin1.size());
  for (const char c : latin1) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | (byte >> 6)));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseGenres(absl::string_view text,
                                                     absl::string_view name) {
  LineReader reader(text, name);
  std::vector<std::string> names;
  absl::string_view line;
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(std::vector<absl::string_view> fields,
                              Fields(reader, line, '|', 2, "name|index"));
    MOVIEREC_ASSIGN_OR_RETURN(int64_t index,
                              ParseInt(reader, fields[1], "index"));
    if (index != static_cast<int64_t>(names.size())) {
      return reader.Error("genre index ", index, " is out of order; expected ",
                          names.size());
    }
    if (fields[0].empty()) return reader.Error("empty genre name");
    names.emplace_back(fields[0]);
  }
  if (names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no genres"));
  }
  return names;
}

absl::StatusOr<std::vector<std::string>> ReadGenres(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(std::string text, ReadNamedFile(path));
  return ParseGenres(text, path);
}

absl::StatusOr<std::vector<Movie>> ParseMovies(absl::string_view text,
                                               absl::string_view name,
                                               int num_genres) {
  if (num_genres < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": negative number of genres ", num_genres));
  }
  LineReader reader(text, name);
  std::vector<Movie> movies;
  absl::flat_hash_set<int32_t> ids;
  absl::string_view line;
  const size_t expected = 5 + static_cast<size_t>(num_genres);
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(
        std::vector<absl::string_view> fields,
        Fields(reader, line, '|', expected,
               "id|title|release date|video date|url|genre flags"));
    Movie movie;
    MOVIEREC_ASSIGN_OR_RETURN(int32_t id,
                              ParseId(reader, fields[0], "movie id"));
    movie.id = id;
    if (!ids.insert(movie.id).second) {
      return reader.Error("duplicate movie id ", movie.id);
    }
    if (fields[1].empty()) return reader.Error("empty title");
    movie.title = Latin1ToUtf8(fields[1]);
    MOVIEREC_ASSIGN_OR_RETURN(int32_t year,
                              ParseReleaseYear(reader, fields[2]));
    movie.release_year = year;
    for (int g = 0; g < num_genres; ++g) {
      const absl::string_view flag = fields[5 + g];
      if (flag == "1") {
        movie.genres.push_back(g);
      } else if (flag != "0") {
        return reader.Error("genre flag ", g, " is ", Quote(flag),
                            ", not 0 or 1");
      }
    }
    movies.push_back(std::move(movie));
  }
  if (movies.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no movies"));
  }
  return movies;
}

absl::StatusOr<std::vector<Movie>> ReadMovies(const std::string& path,
                                              int num_genres) {
  MOVIEREC_ASSIGN_OR_RETURN(std::string text, ReadNamedFile(path));
  return ParseMovies(text, path, num_genres);
}

absl::StatusOr<std::vector<User>> ParseUsers(absl::string_view text,
                                             absl::string_view name) {
  LineReader reader(text, name);
  std::vector<User> users;
  absl::flat_hash_set<int32_t> ids;
  absl::string_view line;
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(
        std::vector<absl::string_view> fields,
        Fields(reader, line, '|', 5, "id|age|gender|occupation|zip code"));
    User user;
    MOVIEREC_ASSIGN_OR_RETURN(int32_t id,
                              ParseId(reader, fields[0], "user id"));
    user.id = id;
    if (!ids.insert(user.id).second) {
      return reader.Error("duplicate user id ", user.id);
    }
    MOVIEREC_ASSIGN_OR_RETURN(int64_t age, ParseInt(reader, fields[1], "age"));
    if (age < 1 || age > 120) {
      return reader.Error("age ", age, " is outside 1-120");
    }
    user.age = static_cast<int32_t>(age);
    user.gender = std::string(fields[2]);
    if (user.gender != "M" && user.gender != "F") {
      return reader.Error("gender ", Quote(user.gender), " is not M or F");
    }
    if (fields[3].empty()) return reader.Error("empty occupation");
    user.occupation = std::string(fields[3]);
    user.zip_code = std::string(fields[4]);
    users.push_back(std::move(user));
  }
  if (users.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no users"));
  }
  return users;
}

absl::StatusOr<std::vector<User>> ReadUsers(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(std::string text, ReadNamedFile(path));
  return ParseUsers(text, path);
}

absl::StatusOr<std::vector<Rating>> ParseRatings(absl::string_view text,
                                                 absl::string_view name,
                                                 const KnownIds& known) {
  LineReader reader(text, name);
  std::vector<Rating> ratings;
  absl::string_view line;
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(
        std::vector<absl::string_view> fields,
        Fields(reader, line, '\t', 4, "user, movie, rating, timestamp"));
    Rating rating;
    MOVIEREC_ASSIGN_OR_RETURN(int32_t user,
                              ParseId(reader, fields[0], "user id"));
    MOVIEREC_ASSIGN_OR_RETURN(int32_t movie,
                              ParseId(reader, fields[1], "movie id"));
    if (!known.user_row.contains(user)) {
      return reader.Error("unknown user id ", user, " (not in u.user)");
    }
    if (!known.movie_row.contains(movie)) {
      return reader.Error("unknown movie id ", movie, " (not in u.item)");
    }
    rating.user_id = user;
    rating.movie_id = movie;
    if (!absl::SimpleAtof(fields[2], &rating.rating) ||
        !std::isfinite(rating.rating)) {
      return reader.Error("rating ", Quote(fields[2]), " is not a number");
    }
    if (rating.rating < 1 || rating.rating > 5) {
      return reader.Error("rating ", fields[2], " is outside 1-5");
    }
    MOVIEREC_ASSIGN_OR_RETURN(int64_t timestamp,
                              ParseInt(reader, fields[3], "timestamp"));
    rating.timestamp = timestamp;
    ratings.push_back(rating);
  }
  if (ratings.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no ratings"));
  }
  return ratings;
}

absl::StatusOr<std::vector<Rating>> ReadRatings(const std::string& path,
                                                const KnownIds& known) {
  MOVIEREC_ASSIGN_OR_RETURN(std::string text, ReadNamedFile(path));
  return ParseRatings(text, path, known);
}

absl::StatusOr<MovieLens> LoadCatalog(const std::string& dir) {
  MovieLens data;
  MOVIEREC_ASSIGN_OR_RETURN(data.genre_names,
                            ReadGenres(absl::StrCat(dir, "/u.genre")));
  MOVIEREC_ASSIGN_OR_RETURN(
      data.movies, ReadMovies(absl::StrCat(dir, "/u.item"),
                              static_cast<int>(data.genre_names.size())));
  MOVIEREC_ASSIGN_OR_RETURN(data.users,
                            ReadUsers(absl::StrCat(dir, "/u.user")));
  return data;
}

absl::StatusOr<MovieLens> LoadMovieLens(const std::string& dir) {
  MOVIEREC_ASSIGN_OR_RETURN(MovieLens data, LoadCatalog(dir));
  MOVIEREC_ASSIGN_OR_RETURN(
      data.ratings,
      ReadRatings(absl::StrCat(dir, "/u.data"), KnownIds::Of(data)));
  return data;
}

}  // namespace movierec
