#include "data/movielens_dat.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "data/movielens_fields.h"
#include "data/text_source.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

absl::StatusOr<std::vector<absl::string_view>> DatFields(
    const LineReader& reader, absl::string_view line, size_t expected,
    absl::string_view what) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, "::");
  if (fields.size() != expected) {
    return reader.Error("expected ", expected, " '::'-separated fields (", what,
                        "), got ", fields.size());
  }
  return fields;
}

absl::StatusOr<MovieTable> ParseMoviesFrom(LineReader& reader) {
  MovieTableBuilder table;
  absl::string_view line;
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(
        std::vector<absl::string_view> fields,
        DatFields(reader, line, 3, "MovieID::Title::Genres"));
    MOVIEREC_RETURN_IF_ERROR(
        table.Add(reader, fields[0], fields[1], fields[2]));
  }
  return std::move(table).Finish(reader);
}

absl::StatusOr<std::vector<User>> ParseUsersFrom(LineReader& reader) {
  const std::vector<std::string>& occupations = Ml1mOccupations();
  std::vector<User> users;
  absl::flat_hash_set<int32_t> ids;
  absl::string_view line;
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(
        std::vector<absl::string_view> fields,
        DatFields(reader, line, 5, "UserID::Gender::Age::Occupation::Zip"));
    User user;
    MOVIEREC_ASSIGN_OR_RETURN(user.id,
                              ParseIdField(reader, fields[0], "user id"));
    if (!ids.insert(user.id).second) {
      return reader.Error("duplicate user id ", user.id);
    }
    if (fields[1] != "M" && fields[1] != "F") {
      return reader.Error("gender ", QuoteForError(fields[1]),
                          " is not M or F");
    }
    user.gender = std::string(fields[1]);
    MOVIEREC_ASSIGN_OR_RETURN(int64_t age,
                              ParseIntField(reader, fields[2], "age"));
    if (age < 1 || age > 56 || !IsMl1mAgeCode(static_cast<int>(age))) {
      return reader.Error("age ", age,
                          " is not a 1M age code (1, 18, 25, 35, 45, 50, 56)");
    }
    user.age = static_cast<int32_t>(age);
    MOVIEREC_ASSIGN_OR_RETURN(int64_t occupation,
                              ParseIntField(reader, fields[3], "occupation"));
    if (occupation < 0 ||
        occupation >= static_cast<int64_t>(occupations.size())) {
      return reader.Error("occupation ", occupation, " is outside 0-",
                          occupations.size() - 1);
    }
    user.occupation = occupations[static_cast<size_t>(occupation)];
    user.zip_code = ToUtf8(fields[4]);
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
  const bool known_users = !known.user_row.empty();
  const StarScale scale =
      known_users ? StarScale::kWhole1To5 : StarScale::kHalf05To5;
  std::vector<Rating> ratings;
  absl::string_view line;
  while (reader.Next(&line)) {
    MOVIEREC_ASSIGN_OR_RETURN(
        std::vector<absl::string_view> fields,
        DatFields(reader, line, 4, "UserID::MovieID::Rating::Timestamp"));
    Rating rating;
    MOVIEREC_ASSIGN_OR_RETURN(rating.user_id,
                              ParseIdField(reader, fields[0], "user id"));
    MOVIEREC_ASSIGN_OR_RETURN(rating.movie_id,
                              ParseIdField(reader, fields[1], "movie id"));
    if (known_users && !known.user_row.contains(rating.user_id)) {
      return reader.Error("unknown user id ", rating.user_id,
                          " (not in users.dat)");
    }
    if (!known.movie_row.contains(rating.movie_id)) {
      return reader.Error("unknown movie id ", rating.movie_id,
                          " (not in movies.dat)");
    }
    MOVIEREC_ASSIGN_OR_RETURN(rating.rating,
                              ParseStarsField(reader, fields[2], scale));
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

const std::vector<std::string>& Ml1mOccupations() {
  static const auto* const kOccupations =
      new std::vector<std::string>{"other or not specified",
                                   "academic/educator",
                                   "artist",
                                   "clerical/admin",
                                   "college/grad student",
                                   "customer service",
                                   "doctor/health care",
                                   "executive/managerial",
                                   "farmer",
                                   "homemaker",
                                   "K-12 student",
                                   "lawyer",
                                   "programmer",
                                   "retired",
                                   "sales/marketing",
                                   "scientist",
                                   "self-employed",
                                   "technician/engineer",
                                   "tradesman/craftsman",
                                   "unemployed",
                                   "writer"};
  return *kOccupations;
}

bool IsMl1mAgeCode(int age) {
  switch (age) {
    case 1:
    case 18:
    case 25:
    case 35:
    case 45:
    case 50:
    case 56:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<MovieTable> ParseDatMovies(absl::string_view text,
                                          absl::string_view name) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseMoviesFrom(reader);
}

absl::StatusOr<MovieTable> ReadDatMovies(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseMoviesFrom(reader);
}

absl::StatusOr<std::vector<User>> ParseDatUsers(absl::string_view text,
                                                absl::string_view name) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseUsersFrom(reader);
}

absl::StatusOr<std::vector<User>> ReadDatUsers(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseUsersFrom(reader);
}

absl::StatusOr<std::vector<Rating>> ParseDatRatings(absl::string_view text,
                                                    absl::string_view name,
                                                    const KnownIds& known) {
  LineReader reader(TextSource::FromText(text, name));
  return ParseRatingsFrom(reader, known);
}

absl::StatusOr<std::vector<Rating>> ReadDatRatings(const std::string& path,
                                                   const KnownIds& known) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenMovieLensFile(path));
  LineReader reader(std::move(source));
  return ParseRatingsFrom(reader, known);
}

}  // namespace movierec
