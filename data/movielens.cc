#include "data/movielens.h"

#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "data/generic_format.h"
#include "data/movielens_csv.h"
#include "data/movielens_dat.h"
#include "data/movielens_fields.h"
#include "data/text_source.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

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
  return ParseIntField(reader, field, what);
}

absl::StatusOr<int32_t> ParseId(const LineReader& reader,
                                absl::string_view field,
                                absl::string_view what) {
  return ParseIdField(reader, field, what);
}

// "01-Jan-1995" -> 1995; "" -> 0.
absl::StatusOr<int32_t> ParseReleaseYear(const LineReader& reader,
                                         absl::string_view date) {
  if (date.empty()) return 0;
  std::vector<absl::string_view> parts = absl::StrSplit(date, '-');
  int32_t year = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[2], &year) || year < 1800 ||
      year > 2100) {
    return reader.Error("release date ", QuoteForError(date),
                        " is not of the form DD-Mon-YYYY");
  }
  return year;
}

}  // namespace

std::string ExternalId(const Movie& movie) {
  return movie.key.empty() ? absl::StrCat(movie.id) : movie.key;
}

std::string ExternalId(const User& user) {
  return user.key.empty() ? absl::StrCat(user.id) : user.key;
}

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

namespace {

absl::StatusOr<std::vector<std::string>> ParseGenresFrom(LineReader& reader) {
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
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (names.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no genres"));
  }
  return names;
}

absl::StatusOr<std::vector<Movie>> ParseMoviesFrom(LineReader& reader,
                                                   int num_genres) {
  if (num_genres < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        reader.name(), ": negative number of genres ", num_genres));
  }
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
        return reader.Error("genre flag ", g, " is ", QuoteForError(flag),
                            ", not 0 or 1");
      }
    }
    movies.push_back(std::move(movie));
  }
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (movies.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no movies"));
  }
  return movies;
}

absl::StatusOr<std::vector<User>> ParseUsersFrom(LineReader& reader) {
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
      return reader.Error("gender ", QuoteForError(user.gender),
                          " is not M or F");
    }
    if (fields[3].empty()) return reader.Error("empty occupation");
    user.occupation = std::string(fields[3]);
    user.zip_code = std::string(fields[4]);
    users.push_back(std::move(user));
  }
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (users.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no users"));
  }
  return users;
}

absl::StatusOr<std::vector<Rating>> ParseRatingsFrom(LineReader& reader,
                                                     const KnownIds& known) {
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
      return reader.Error("rating ", QuoteForError(fields[2]),
                          " is not a number");
    }
    if (rating.rating < 1 || rating.rating > 5) {
      return reader.Error("rating ", fields[2], " is outside 1-5");
    }
    MOVIEREC_ASSIGN_OR_RETURN(int64_t timestamp,
                              ParseInt(reader, fields[3], "timestamp"));
    rating.timestamp = timestamp;
    ratings.push_back(rating);
  }
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (ratings.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no ratings"));
  }
  return ratings;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseGenres(absl::string_view text,
                                                     absl::string_view name) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseGenresFrom(reader);
}

absl::StatusOr<std::vector<std::string>> ReadGenres(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseGenresFrom(reader);
}

absl::StatusOr<std::vector<Movie>> ParseMovies(absl::string_view text,
                                               absl::string_view name,
                                               int num_genres) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseMoviesFrom(reader, num_genres);
}

absl::StatusOr<std::vector<Movie>> ReadMovies(const std::string& path,
                                              int num_genres) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseMoviesFrom(reader, num_genres);
}

absl::StatusOr<std::vector<User>> ParseUsers(absl::string_view text,
                                             absl::string_view name) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseUsersFrom(reader);
}

absl::StatusOr<std::vector<User>> ReadUsers(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseUsersFrom(reader);
}

absl::StatusOr<std::vector<Rating>> ParseRatings(absl::string_view text,
                                                 absl::string_view name,
                                                 const KnownIds& known) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseRatingsFrom(reader, known);
}

absl::StatusOr<std::vector<Rating>> ReadRatings(const std::string& path,
                                                const KnownIds& known) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseRatingsFrom(reader, known);
}

namespace {

absl::StatusOr<MovieLens> Load100K(const std::string& dir, bool ratings) {
  MovieLens data;
  MOVIEREC_ASSIGN_OR_RETURN(data.genre_names,
                            ReadGenres(absl::StrCat(dir, "/u.genre")));
  MOVIEREC_ASSIGN_OR_RETURN(
      data.movies, ReadMovies(absl::StrCat(dir, "/u.item"),
                              static_cast<int>(data.genre_names.size())));
  MOVIEREC_ASSIGN_OR_RETURN(data.users,
                            ReadUsers(absl::StrCat(dir, "/u.user")));
  if (ratings) {
    MOVIEREC_ASSIGN_OR_RETURN(
        data.ratings,
        ReadRatings(absl::StrCat(dir, "/u.data"), KnownIds::Of(data)));
  }
  return data;
}

// 1M, 10M and the CSV releases. Without a users file, the ratings are read
// even for the catalogue, to learn the user ids.
absl::StatusOr<MovieLens> LoadLater(const std::string& dir,
                                    MovieLensFormat format, bool ratings) {
  const bool csv = format == MovieLensFormat::kCsv;
  const std::string extension = csv ? ".csv" : ".dat";
  const std::string movies_path = absl::StrCat(dir, "/movies", extension);
  MOVIEREC_ASSIGN_OR_RETURN(MovieTable table, csv ? ReadCsvMovies(movies_path)
                                                  : ReadDatMovies(movies_path));
  MovieLens data;
  data.genre_names = std::move(table.genre_names);
  data.movies = std::move(table.movies);
  if (format == MovieLensFormat::k1M) {
    MOVIEREC_ASSIGN_OR_RETURN(data.users,
                              ReadDatUsers(absl::StrCat(dir, "/users.dat")));
    if (!ratings) return data;
  }
  const KnownIds known = KnownIds::Of(data);
  const std::string ratings_path = absl::StrCat(dir, "/ratings", extension);
  MOVIEREC_ASSIGN_OR_RETURN(data.ratings,
                            csv ? ReadCsvRatings(ratings_path, known)
                                : ReadDatRatings(ratings_path, known));
  if (format != MovieLensFormat::k1M) data.users = UsersOfRatings(data.ratings);
  if (!ratings) {
    data.ratings.clear();
    data.ratings.shrink_to_fit();
  }
  return data;
}

absl::StatusOr<MovieLens> Load(const std::string& dir, MovieLensFormat format,
                               bool ratings) {
  if (format == MovieLensFormat::kAuto) {
    MOVIEREC_ASSIGN_OR_RETURN(format, DetectMovieLensFormat(dir));
  }
  if (format == MovieLensFormat::k100K) return Load100K(dir, ratings);
  if (format == MovieLensFormat::kGeneric) return LoadGeneric(dir, ratings);
  return LoadLater(dir, format, ratings);
}

bool Exists(const std::string& dir, absl::string_view file) {
  std::error_code error;
  return std::filesystem::exists(absl::StrCat(dir, "/", file), error);
}

}  // namespace

absl::StatusOr<MovieLensFormat> ParseMovieLensFormat(absl::string_view name) {
  for (const MovieLensFormat format :
       {MovieLensFormat::kAuto, MovieLensFormat::k100K, MovieLensFormat::k1M,
        MovieLensFormat::k10M, MovieLensFormat::kCsv,
        MovieLensFormat::kGeneric}) {
    if (name == MovieLensFormatName(format)) return format;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "data format ", QuoteForError(name),
      " is not one of auto, ml-100k, ml-1m, ml-10m, ml-csv, generic"));
}

std::string MovieLensFormatName(MovieLensFormat format) {
  switch (format) {
    case MovieLensFormat::kAuto:
      return "auto";
    case MovieLensFormat::k100K:
      return "ml-100k";
    case MovieLensFormat::k1M:
      return "ml-1m";
    case MovieLensFormat::k10M:
      return "ml-10m";
    case MovieLensFormat::kCsv:
      return "ml-csv";
    case MovieLensFormat::kGeneric:
      return "generic";
  }
  return "unknown";
}

absl::StatusOr<MovieLensFormat> DetectMovieLensFormat(const std::string& dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::NotFoundError(
        absl::StrCat("data directory ", dir, " does not exist"));
  }
  std::vector<MovieLensFormat> found;
  std::vector<std::string> why;
  if (Exists(dir, "u.data") || Exists(dir, "u.item")) {
    found.push_back(MovieLensFormat::k100K);
    why.push_back("u.data/u.item: ml-100k");
  }
  if (Exists(dir, "ratings.dat") || Exists(dir, "movies.dat")) {
    const bool users = Exists(dir, "users.dat");
    found.push_back(users ? MovieLensFormat::k1M : MovieLensFormat::k10M);
    why.push_back(users ? "ratings.dat/movies.dat with users.dat: ml-1m"
                        : "ratings.dat/movies.dat without users.dat: ml-10m");
  }
  if (Exists(dir, "ratings.csv") || Exists(dir, "movies.csv")) {
    found.push_back(MovieLensFormat::kCsv);
    why.push_back("ratings.csv/movies.csv: ml-csv");
  }
  if (Exists(dir, "interactions.csv") || Exists(dir, "items.csv")) {
    found.push_back(MovieLensFormat::kGeneric);
    why.push_back("interactions.csv/items.csv: generic");
  }
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "data directory ", dir,
        " holds no MovieLens files (u.data and u.item for 100K; ratings.dat "
        "and movies.dat for 1M and 10M; ratings.csv and movies.csv for 20M "
        "and later; interactions.csv and items.csv for the generic "
        "format)"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data directory ", dir, " holds the files of more than one format (",
        absl::StrJoin(why, "; "), "): choose one with --format"));
  }
  return found[0];
}

absl::StatusOr<MovieLens> LoadCatalog(const std::string& dir,
                                      MovieLensFormat format) {
  return Load(dir, format, /*ratings=*/false);
}

absl::StatusOr<MovieLens> LoadMovieLens(const std::string& dir,
                                        MovieLensFormat format) {
  return Load(dir, format, /*ratings=*/true);
}

bool HasDemographics(const MovieLens& data) {
  for (const User& user : data.users) {
    if (!user.gender.empty() || !user.occupation.empty() || user.age != 0) {
      return true;
    }
  }
  return false;
}

}  // namespace movierec
