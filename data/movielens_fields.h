// The field parsers and catalogue builders the MovieLens readers share
// (movielens.cc, movielens_dat.cc, movielens_csv.cc). `Reader` is a
// LineReader or a CsvReader: errors come out as "<file>:<line>: <problem>".
#ifndef MOVIEREC_DATA_MOVIELENS_FIELDS_H_
#define MOVIEREC_DATA_MOVIELENS_FIELDS_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "data/movielens.h"
#include "data/text_source.h"

namespace movierec {

template <typename Reader>
absl::StatusOr<int64_t> ParseIntField(const Reader& reader,
                                      absl::string_view field,
                                      absl::string_view what) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(field, &value)) {
    return reader.Error(what, " ", QuoteForError(field), " is not an integer");
  }
  return value;
}

template <typename Reader>
absl::StatusOr<int32_t> ParseIdField(const Reader& reader,
                                     absl::string_view field,
                                     absl::string_view what) {
  absl::StatusOr<int64_t> value = ParseIntField(reader, field, what);
  if (!value.ok()) return value.status();
  if (*value <= 0 || *value > INT32_MAX) {
    return reader.Error(what, " ", *value, " is not a positive 32-bit id");
  }
  return static_cast<int32_t>(*value);
}

// The stars a format allows.
enum class StarScale {
  kAny1To5,    // MovieLens 100K: any number in 1-5
  kWhole1To5,  // MovieLens 1M: 1, 2, 3, 4 or 5
  kHalf05To5,  // MovieLens 10M and later: 0.5, 1, ..., 5
};

template <typename Reader>
absl::StatusOr<float> ParseStarsField(const Reader& reader,
                                      absl::string_view field,
                                      StarScale scale) {
  float stars = 0;
  if (!absl::SimpleAtof(field, &stars) || !std::isfinite(stars)) {
    return reader.Error("rating ", QuoteForError(field), " is not a number");
  }
  switch (scale) {
    case StarScale::kAny1To5:
      if (stars < 1 || stars > 5) {
        return reader.Error("rating ", field, " is outside 1-5");
      }
      break;
    case StarScale::kWhole1To5:
      if (stars < 1 || stars > 5 || stars != std::floor(stars)) {
        return reader.Error("rating ", field,
                            " is not a whole number of stars 1-5");
      }
      break;
    case StarScale::kHalf05To5:
      if (stars < 0.5f || stars > 5 || 2 * stars != std::floor(2 * stars)) {
        return reader.Error("rating ", field,
                            " is not 0.5-5 in steps of half a star");
      }
      break;
  }
  return stars;
}

// Builds a genre vocabulary from the names the movies list. Movies hold
// provisional indices while reading; Finish orders the vocabulary and
// renumbers them.
class GenreVocabulary {
 public:
  // The provisional index of `name`.
  int32_t Add(absl::string_view name);
  // The names sorted bytewise, except that "unknown" (MovieLens 100K's genre
  // of movies without one, its u.genre's first) comes first: the order of
  // u.genre, so a 100K catalogue written in another format reads back with
  // the same genre indices. Renumbers each movie's genres and sorts them.
  std::vector<std::string> Finish(std::vector<Movie>* movies) const;

 private:
  absl::flat_hash_map<std::string, int32_t> index_;
  std::vector<std::string> names_;
};

// Parses a "|"-separated genre list into *genres (provisional indices of
// *vocabulary). Empty and "(no genres listed)" mean none; an empty name or a
// genre listed twice is an error.
template <typename Reader>
absl::Status ParseGenreList(const Reader& reader, absl::string_view field,
                            GenreVocabulary* vocabulary,
                            std::vector<int32_t>* genres) {
  genres->clear();
  if (field.empty() || field == "(no genres listed)") return absl::OkStatus();
  for (absl::string_view name : absl::StrSplit(field, '|')) {
    if (name.empty()) {
      return reader.Error("empty genre name in ", QuoteForError(field));
    }
    const int32_t index = vocabulary->Add(name);
    for (const int32_t seen : *genres) {
      if (seen == index) {
        return reader.Error("genre ", QuoteForError(name), " listed twice");
      }
    }
    genres->push_back(index);
  }
  return absl::OkStatus();
}

// The year of a title that ends in "(YYYY)" (trailing spaces allowed), 0 for
// other titles and years outside 1800-2100.
int32_t YearFromTitle(absl::string_view title);

// `bytes` as UTF-8: unchanged when they are valid UTF-8, else read as
// ISO-8859-1 (Latin-1) and converted.
std::string ToUtf8(absl::string_view bytes);
bool IsValidUtf8(absl::string_view bytes);

// The users of a format without a users file: one per user id of `ratings`,
// sorted by id, with no demographics.
std::vector<User> UsersOfRatings(const std::vector<Rating>& ratings);

// A "MovieLens file" error for a file that cannot be opened.
absl::StatusOr<TextSource> OpenMovieLensFile(const std::string& path);

// The movies of a movies file (1M/10M movies.dat, 20M+ movies.csv), as
// their genre names came.
struct MovieTable {
  std::vector<std::string> genre_names;
  std::vector<Movie> movies;  // in file order
};

// Reads a movies file row by row: each row's id, title and genre fields
// (Add), then the table with its genre vocabulary ordered (Finish). The
// same checks for every format: a unique positive id, a title, a genre
// list; at least one movie.
class MovieTableBuilder {
 public:
  template <typename Reader>
  absl::Status Add(const Reader& reader, absl::string_view id,
                   absl::string_view title, absl::string_view genres) {
    Movie movie;
    absl::StatusOr<int32_t> parsed = ParseIdField(reader, id, "movie id");
    if (!parsed.ok()) return parsed.status();
    movie.id = *parsed;
    if (!ids_.insert(movie.id).second) {
      return reader.Error("duplicate movie id ", movie.id);
    }
    if (title.empty()) return reader.Error("empty title");
    movie.title = ToUtf8(title);
    movie.release_year = YearFromTitle(movie.title);
    if (absl::Status s =
            ParseGenreList(reader, genres, &vocabulary_, &movie.genres);
        !s.ok()) {
      return s;
    }
    table_.movies.push_back(std::move(movie));
    return absl::OkStatus();
  }

  // The table once `reader` is done (its status is the first error).
  template <typename Reader>
  absl::StatusOr<MovieTable> Finish(const Reader& reader) && {
    if (!reader.status().ok()) return reader.status();
    if (table_.movies.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(reader.name(), ": no movies"));
    }
    table_.genre_names = vocabulary_.Finish(&table_.movies);
    return std::move(table_);
  }

 private:
  absl::flat_hash_set<int32_t> ids_;
  GenreVocabulary vocabulary_;
  MovieTable table_;
};

}  // namespace movierec

#endif  // MOVIEREC_DATA_MOVIELENS_FIELDS_H_
