#include "data/generic_format.h"

#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "data/csv_reader.h"
#include "data/movielens_fields.h"
#include "data/text_source.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// A column a file may have.
struct Column {
  absl::string_view name;
  bool required;
};

// The header of a file: each known column's position (-1 when absent), and
// the other columns' names (refused unless `others_allowed`).
struct Header {
  std::vector<int> position;        // by the index in the known columns
  std::vector<std::string> others;  // in file order, as UTF-8
  std::vector<int> other_position;  // others[i]'s position
  size_t size = 0;                  // fields per record
};

absl::StatusOr<Header> ReadHeader(CsvReader& reader,
                                  const std::vector<Column>& columns,
                                  bool others_allowed) {
  std::vector<std::string> names;
  for (const Column& column : columns) names.emplace_back(column.name);
  const std::string expected = absl::StrJoin(names, ",");
  std::vector<std::string> fields;
  if (!reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(reader.status());
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": empty file (expected a header naming ",
                     "the columns, of ", expected, ")"));
  }
  if (!fields.empty()) {
    absl::string_view first = fields[0];
    if (absl::ConsumePrefix(&first, "\xEF\xBB\xBF")) {
      fields[0] = std::string(first);
    }
  }
  Header header;
  header.size = fields.size();
  header.position.assign(columns.size(), -1);
  std::vector<std::string> unknown;
  absl::flat_hash_map<std::string, int> seen;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& field = fields[i];
    if (field.empty()) {
      return reader.Error("header: column ", i + 1, " has no name");
    }
    if (!seen.emplace(field, static_cast<int>(i)).second) {
      return reader.Error("header: column ", QuoteForError(field),
                          " appears twice");
    }
    bool known = false;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c].name == field) {
        header.position[c] = static_cast<int>(i);
        known = true;
      }
    }
    if (known) continue;
    if (others_allowed) {
      header.others.push_back(ToUtf8(field));
      header.other_position.push_back(static_cast<int>(i));
    } else {
      unknown.push_back(QuoteForError(field));
    }
  }
  if (!unknown.empty()) {
    return reader.Error("header: unknown column", unknown.size() > 1 ? "s" : "",
                        " ", absl::StrJoin(unknown, ", "), " (the columns are ",
                        expected, ")");
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].required && header.position[c] < 0) {
      return reader.Error("header: no ", columns[c].name,
                          " column (the header ", "is ",
                          QuoteForError(absl::StrJoin(fields, ",")),
                          "; the columns are ", expected, ")");
    }
  }
  return header;
}

absl::Status CheckFieldCount(const CsvReader& reader,
                             const std::vector<std::string>& fields,
                             const Header& header) {
  if (fields.size() != header.size) {
    return reader.Error("expected ", header.size,
                        " fields (as the header has), got ", fields.size());
  }
  return absl::OkStatus();
}

// The field of column `c`, empty when the column is absent.
absl::string_view FieldOf(const std::vector<std::string>& fields,
                          const Header& header, size_t c) {
  const int position = header.position[c];
  return position < 0 ? absl::string_view() : fields[position];
}

absl::Status CheckId(const CsvReader& reader, absl::string_view id,
                     absl::string_view what) {
  if (id.empty()) return reader.Error("empty ", what);
  if (id.size() > kMaxExternalIdBytes) {
    return reader.Error(what, " ", QuoteForError(id), " is ", id.size(),
                        " bytes, longer than ", kMaxExternalIdBytes);
  }
  if (!IsValidUtf8(id)) {
    return reader.Error(what, " ", QuoteForError(id), " is not valid UTF-8");
  }
  for (const char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      return reader.Error(what, " ", QuoteForError(id),
                          " holds a control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TextSource> OpenDataFile(const std::string& path) {
  absl::StatusOr<TextSource> source = TextSource::OpenFile(path);
  if (!source.ok()) {
    return absl::Status(
        source.status().code(),
        absl::StrCat("generic data file: ", source.status().message()));
  }
  return source;
}

enum ItemColumn { kItemId, kTitle, kGenres, kYear };

absl::StatusOr<GenericItems> ParseItemsFrom(CsvReader& reader) {
  MOVIEREC_ASSIGN_OR_RETURN(const Header header,
                            ReadHeader(reader,
                                       {{"item_id", true},
                                        {"title", true},
                                        {"genres", false},
                                        {"year", false}},
                                       /*others_allowed=*/false));
  GenericItems items;
  GenreVocabulary vocabulary;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(CheckFieldCount(reader, fields, header));
    const absl::string_view id = FieldOf(fields, header, kItemId);
    MOVIEREC_RETURN_IF_ERROR(CheckId(reader, id, "item id"));
    const auto row = static_cast<int32_t>(items.movies.size());
    if (row == INT32_MAX - 1) return reader.Error("too many items");
    if (!items.row.emplace(std::string(id), row).second) {
      return reader.Error("duplicate item id ", QuoteForError(id));
    }
    Movie movie;
    movie.id = row + 1;
    movie.key = std::string(id);
    const absl::string_view title = FieldOf(fields, header, kTitle);
    if (title.empty()) return reader.Error("empty title");
    movie.title = ToUtf8(title);
    MOVIEREC_RETURN_IF_ERROR(ParseGenreList(
        reader, FieldOf(fields, header, kGenres), &vocabulary, &movie.genres));
    if (const absl::string_view year = FieldOf(fields, header, kYear);
        !year.empty()) {
      if (!absl::SimpleAtoi(year, &movie.release_year) ||
          movie.release_year < 1800 || movie.release_year > 2100) {
        return reader.Error("year ", QuoteForError(year),
                            " is not a year 1800-2100");
      }
    }
    items.movies.push_back(std::move(movie));
  }
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (items.movies.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no items"));
  }
  items.genre_names = vocabulary.Finish(&items.movies);
  return items;
}

enum UserColumn { kUserId, kAge, kGender, kOccupation, kZipCode };

absl::StatusOr<GenericUsers> ParseUsersFrom(CsvReader& reader) {
  MOVIEREC_ASSIGN_OR_RETURN(const Header header,
                            ReadHeader(reader,
                                       {{"user_id", true},
                                        {"age", false},
                                        {"gender", false},
                                        {"occupation", false},
                                        {"zip_code", false}},
                                       /*others_allowed=*/true));
  const int demographics = (header.position[kAge] >= 0) +
                           (header.position[kGender] >= 0) +
                           (header.position[kOccupation] >= 0);
  if (demographics != 0 && demographics != 3) {
    return reader.Error(
        "header: age, gender and occupation (the model's demographic "
        "features) come together; this header has ",
        demographics, " of them");
  }
  GenericUsers users;
  users.attribute_names = header.others;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(CheckFieldCount(reader, fields, header));
    const absl::string_view id = FieldOf(fields, header, kUserId);
    MOVIEREC_RETURN_IF_ERROR(CheckId(reader, id, "user id"));
    const auto row = static_cast<int32_t>(users.users.size());
    if (row == INT32_MAX - 1) return reader.Error("too many users");
    if (!users.row.emplace(std::string(id), row).second) {
      return reader.Error("duplicate user id ", QuoteForError(id));
    }
    User user;
    user.id = row + 1;
    user.key = std::string(id);
    if (demographics == 3) {
      const absl::string_view age = FieldOf(fields, header, kAge);
      if (!absl::SimpleAtoi(age, &user.age) || user.age < 1 || user.age > 120) {
        return reader.Error("age ", QuoteForError(age),
                            " is not an integer 1-120");
      }
      user.gender = std::string(FieldOf(fields, header, kGender));
      if (user.gender != "M" && user.gender != "F") {
        return reader.Error("gender ", QuoteForError(user.gender),
                            " is not M or F");
      }
      const absl::string_view occupation = FieldOf(fields, header, kOccupation);
      if (occupation.empty()) return reader.Error("empty occupation");
      user.occupation = ToUtf8(occupation);
    }
    user.zip_code = ToUtf8(FieldOf(fields, header, kZipCode));
    for (const int position : header.other_position) {
      user.attributes.push_back(ToUtf8(fields[position]));
    }
    users.users.push_back(std::move(user));
  }
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (users.users.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no users"));
  }
  return users;
}

enum InteractionColumn { kIUserId, kIItemId, kRating, kTimestamp };

// Exactly one of `fixed_items` and `learned_items` is given: with the first,
// an item id not among them is refused; with the second, each new item id is
// appended to it, titled with its id.
absl::StatusOr<GenericInteractions> ParseInteractionsFrom(
    CsvReader& reader, const GenericItems* fixed_items,
    GenericItems* learned_items, GenericUsers* users, bool users_fixed) {
  const GenericItems& items =
      fixed_items != nullptr ? *fixed_items : *learned_items;
  MOVIEREC_ASSIGN_OR_RETURN(const Header header,
                            ReadHeader(reader,
                                       {{"user_id", true},
                                        {"item_id", true},
                                        {"rating", false},
                                        {"timestamp", false}},
                                       /*others_allowed=*/false));
  GenericInteractions out;
  out.has_timestamps = header.position[kTimestamp] >= 0;
  out.has_ratings = header.position[kRating] >= 0;
  // Implicit data: the (user row, item row) pairs seen so far.
  absl::flat_hash_set<uint64_t> seen_pairs;
  std::vector<std::string> fields;
  while (reader.Next(&fields)) {
    MOVIEREC_RETURN_IF_ERROR(CheckFieldCount(reader, fields, header));
    Rating rating;
    const absl::string_view user = FieldOf(fields, header, kIUserId);
    MOVIEREC_RETURN_IF_ERROR(CheckId(reader, user, "user id"));
    const absl::string_view item = FieldOf(fields, header, kIItemId);
    MOVIEREC_RETURN_IF_ERROR(CheckId(reader, item, "item id"));
    const auto item_it = items.row.find(item);
    if (item_it != items.row.end()) {
      rating.movie_id = item_it->second + 1;
    } else if (fixed_items != nullptr) {
      return reader.Error("unknown item id ", QuoteForError(item),
                          " (not in items.csv)");
    } else {
      const auto row = static_cast<int32_t>(learned_items->movies.size());
      if (row == INT32_MAX - 1) return reader.Error("too many items");
      learned_items->row.emplace(std::string(item), row);
      Movie added;
      added.id = row + 1;
      added.key = std::string(item);
      added.title = std::string(item);
      learned_items->movies.push_back(std::move(added));
      rating.movie_id = row + 1;
    }
    const auto user_it = users->row.find(user);
    if (user_it != users->row.end()) {
      rating.user_id = user_it->second + 1;
    } else if (users_fixed) {
      return reader.Error("unknown user id ", QuoteForError(user),
                          " (not in users.csv)");
    } else {
      const auto row = static_cast<int32_t>(users->users.size());
      if (row == INT32_MAX - 1) return reader.Error("too many users");
      users->row.emplace(std::string(user), row);
      User added;
      added.id = row + 1;
      added.key = std::string(user);
      users->users.push_back(std::move(added));
      rating.user_id = row + 1;
    }
    if (out.has_ratings) {
      const absl::string_view stars = FieldOf(fields, header, kRating);
      if (!absl::SimpleAtof(stars, &rating.rating) ||
          !std::isfinite(rating.rating)) {
        return reader.Error("rating ", QuoteForError(stars),
                            " is not a number");
      }
      if (rating.rating < 0.5f || rating.rating > 5) {
        return reader.Error("rating ", QuoteForError(stars),
                            " is outside 0.5-5");
      }
    } else {
      rating.rating = kImplicitRating;
    }
    if (out.has_timestamps) {
      const absl::string_view time = FieldOf(fields, header, kTimestamp);
      if (!absl::SimpleAtoi(time, &rating.timestamp) || rating.timestamp < 0) {
        return reader.Error("timestamp ", QuoteForError(time),
                            " is not a non-negative integer (seconds)");
      }
    }
    if (!out.has_ratings &&
        !seen_pairs
             .insert(static_cast<uint64_t>(rating.user_id) << 32 |
                     static_cast<uint32_t>(rating.movie_id))
             .second) {
      ++out.repeats_dropped;
      continue;
    }
    out.ratings.push_back(rating);
  }
  MOVIEREC_RETURN_IF_ERROR(reader.status());
  if (out.ratings.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": no interactions"));
  }
  return out;
}

bool Exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

}  // namespace

absl::StatusOr<GenericItems> ParseGenericItems(absl::string_view text,
                                               absl::string_view name) {
  CsvReader reader(TextSource::FromText(text, name));
  return ParseItemsFrom(reader);
}

absl::StatusOr<GenericItems> ReadGenericItems(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenDataFile(path));
  CsvReader reader(std::move(source));
  return ParseItemsFrom(reader);
}

absl::StatusOr<GenericUsers> ParseGenericUsers(absl::string_view text,
                                               absl::string_view name) {
  CsvReader reader(TextSource::FromText(text, name));
  return ParseUsersFrom(reader);
}

absl::StatusOr<GenericUsers> ReadGenericUsers(const std::string& path) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenDataFile(path));
  CsvReader reader(std::move(source));
  return ParseUsersFrom(reader);
}

absl::StatusOr<GenericInteractions> ParseGenericInteractions(
    absl::string_view text, absl::string_view name, const GenericItems& items,
    GenericUsers* users, bool users_fixed) {
  CsvReader reader(TextSource::FromText(text, name));
  return ParseInteractionsFrom(reader, &items, nullptr, users, users_fixed);
}

absl::StatusOr<GenericInteractions> ParseGenericInteractionsAndItems(
    absl::string_view text, absl::string_view name, GenericItems* items,
    GenericUsers* users, bool users_fixed) {
  CsvReader reader(TextSource::FromText(text, name));
  return ParseInteractionsFrom(reader, nullptr, items, users, users_fixed);
}

absl::StatusOr<GenericInteractions> ReadGenericInteractions(
    const std::string& path, GenericItems* items, bool items_fixed,
    GenericUsers* users, bool users_fixed) {
  MOVIEREC_ASSIGN_OR_RETURN(TextSource source, OpenDataFile(path));
  CsvReader reader(std::move(source));
  return ParseInteractionsFrom(reader, items_fixed ? items : nullptr,
                               items_fixed ? nullptr : items, users,
                               users_fixed);
}

absl::StatusOr<MovieLens> LoadGeneric(const std::string& dir, bool ratings) {
  const std::string items_path = absl::StrCat(dir, "/items.csv");
  const bool items_file = Exists(items_path);
  GenericItems items;
  if (items_file) {
    MOVIEREC_ASSIGN_OR_RETURN(items, ReadGenericItems(items_path));
  }
  const std::string users_path = absl::StrCat(dir, "/users.csv");
  const bool users_file = Exists(users_path);
  GenericUsers users;
  if (users_file) {
    MOVIEREC_ASSIGN_OR_RETURN(users, ReadGenericUsers(users_path));
  }
  MovieLens data;
  if (ratings || !users_file || !items_file) {
    MOVIEREC_ASSIGN_OR_RETURN(
        GenericInteractions interactions,
        ReadGenericInteractions(absl::StrCat(dir, "/interactions.csv"), &items,
                                items_file, &users, users_file));
    data.has_timestamps = interactions.has_timestamps;
    data.has_ratings = interactions.has_ratings;
    data.implicit_repeats_dropped = interactions.repeats_dropped;
    if (ratings) data.ratings = std::move(interactions.ratings);
  }
  data.genre_names = std::move(items.genre_names);
  data.movies = std::move(items.movies);
  data.users = std::move(users.users);
  data.user_attribute_names = std::move(users.attribute_names);
  return data;
}

}  // namespace movierec
