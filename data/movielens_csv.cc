#include "data/movielens_csv.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "data/csv_reader.h"
#include "data/movielens_fields.h"
#include "data/text_source.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// Reads the header record and checks it is `expected` (a UTF-8 byte order
// mark before it is allowed).
absl::Status ReadHeader(CsvReader& reader,
                        const std::vector<std::string>& expected) {
  std::vector<std::string> fields;
  if (!reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(reader.status());
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": empty file (expected the header ",
                     absl::StrJoin(expected, ","), ")"));
  }
  if (!fields.empty()) {
    absl::string_view first = fields[0];
    if (absl::ConsumePrefix(&first, "\xEF\xBB\xBF")) {
      fields[0] = std::string(first);
    }
  }
  if (fields != expected) {
    return reader.Error("header ", QuoteForError(absl::StrJoin(fields, ",")),
                        " is not ", absl::StrJoin(expected, ","));
  }
  return absl::OkStatus();
}

absl::Status CheckFieldCount(const CsvReader& reader,
                             const std::vector<std::string>& fields,
                             size_t expected, absl::string_view what) {
  if (fields.size() != expected) {
    return reader.Error("expected ", expected, " fields (", what, "), got ",
                        fields.size());
  }
  return absl::OkStatus();
}

absl::StatusOr<MovieTable> ParseMoviesFrom(CsvReader& reader) {
  MOVIEREC_RETURN_IF_ERROR(ReadHeader(reader, {"movieId", "title", "genres"}));
  MovieTableBuilder table;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(
        CheckFieldCount(reader, fields, 3, "movieId,title,genres"));
    MOVIEREC_RETURN_IF_ERROR(
        table.Add(reader, fields[0], fields[1], fields[2]));
  }
  return std::move(table).Finish(reader);
}

absl::StatusOr<std::vector<Rating>> ParseRatingsFrom(CsvReader& reader,
                                                     const KnownIds& known) {
  MOVIEREC_RETURN_IF_ERROR(
      ReadHeader(reader, {"userId", "movieId", "rating", "timestamp"}));
  std::vector<Rating> ratings;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(
        CheckFieldCount(reader, fields, 4, "userId,movieId,rating,timestamp"));
    Rating rating;
    MOVIEREC_ASSIGN_OR_RETURN(rating.user_id,
                              ParseIdField(reader, fields[0], "user id"));
    MOVIEREC_ASSIGN_OR_RETURN(rating.movie_id,
                              ParseIdField(reader, fields[1], "movie id"));
    if (!known.movie_row.contains(rating.movie_id)) {
      return reader.Error("unknown movie id ", rating.movie_id,
                          " (not in movies.csv)");
    }
    MOVIEREC_ASSIGN_OR_RETURN(
        rating.rating,
        ParseStarsField(reader, fields[2], StarScale::kHalf05To5));
    MOVIEREC_ASSIGN_OR_RETURN(rating.timestamp,
                              ParseIntField(reader, fields[3], "timestamp"));
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

absl::StatusOr<MovieTable> ParseCsvMovies(absl::string_view text,
                                          absl::string_view name) {
  CsvReader reader(TextSource::FromText(text, name));
  return ParseMoviesFrom(reader);
}

absl::StatusOr<MovieTable> ReadCsvMovies(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  CsvReader reader(std::move(source));
  return ParseMoviesFrom(reader);
}

absl::StatusOr<std::vector<Rating>> ParseCsvRatings(absl::string_view text,
                                                    absl::string_view name,
                                                    const KnownIds& known) {
  CsvReader reader(TextSource::FromText(text, name));
  return ParseRatingsFrom(reader, known);
}

absl::StatusOr<std::vector<Rating>> ReadCsvRatings(const std::string& path,
                                                   const KnownIds& known) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  CsvReader reader(std::move(source));
  return ParseRatingsFrom(reader, known);
}

}  // namespace movierec
