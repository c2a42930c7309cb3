#include "tests/fuzz/fuzz_fixtures.h"

#include <zlib.h>

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "data/generic_format.h"
#include "data/movielens_csv.h"
#include "data/movielens_dat.h"
#include "data/movielens_fields.h"
#include "model/bundle.h"
#include "tests/test_util.h"

namespace movierec::fuzz {

KnownIds Known() {
  KnownIds known;
  for (int32_t id = 1; id <= 50; ++id) {
    known.user_row.emplace(id, id - 1);
    known.movie_row.emplace(id, id - 1);
  }
  return known;
}

namespace {

Model RankedModel(int num_users, int num_movies, int per_user) {
  Model model = test::MakeRandomModel(
      test::SmallMovieLens(num_users, num_movies, per_user),
      test::SmallRetrievalConfig(/*all_features=*/true), 11);
  test::AddRankingStage(&model, /*with_reranker=*/true, 12);
  return model;
}

}  // namespace

Model ServedModel() {
  absl::StatusOr<Model> loaded =
      DecodeBundle(EncodeBundle(RankedModel(10, 40, 8)), "served/model.bin");
  MOVIEREC_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
  return *std::move(loaded);
}

Model SeedModel() { return RankedModel(3, 5, 2); }

namespace {

void CheckMovies(const MovieTable& table) {
  MOVIEREC_FUZZ_CHECK(!table.movies.empty(), "no movies accepted as OK");
  const absl::flat_hash_set<std::string> names(table.genre_names.begin(),
                                               table.genre_names.end());
  MOVIEREC_FUZZ_CHECK(names.size() == table.genre_names.size(),
                      "genre names repeat");
  for (size_t g = 0; g < table.genre_names.size(); ++g) {
    MOVIEREC_FUZZ_CHECK(
        !table.genre_names[g].empty() && IsValidUtf8(table.genre_names[g]),
        "genre name");
    MOVIEREC_FUZZ_CHECK(table.genre_names[g] != "unknown" || g == 0,
                        "unknown is not the first genre");
  }
  absl::flat_hash_set<int32_t> ids;
  for (const Movie& m : table.movies) {
    MOVIEREC_FUZZ_CHECK(m.id > 0 && ids.insert(m.id).second, "movie id");
    MOVIEREC_FUZZ_CHECK(!m.title.empty() && IsValidUtf8(m.title), m.title);
    MOVIEREC_FUZZ_CHECK(m.release_year == 0 ||
                            (m.release_year >= 1800 && m.release_year <= 2100),
                        "release year");
    for (size_t i = 0; i < m.genres.size(); ++i) {
      MOVIEREC_FUZZ_CHECK(
          m.genres[i] >= 0 && m.genres[i] < static_cast<int32_t>(names.size()),
          "genre index");
      MOVIEREC_FUZZ_CHECK(i == 0 || m.genres[i - 1] < m.genres[i],
                          "genres not sorted and distinct");
    }
  }
}

void CheckUsers(const std::vector<User>& users) {
  MOVIEREC_FUZZ_CHECK(!users.empty(), "no users accepted as OK");
  absl::flat_hash_set<int32_t> ids;
  for (const User& u : users) {
    MOVIEREC_FUZZ_CHECK(u.id > 0 && ids.insert(u.id).second, "user id");
    MOVIEREC_FUZZ_CHECK(u.gender == "M" || u.gender == "F", "gender");
    MOVIEREC_FUZZ_CHECK(IsMl1mAgeCode(u.age), "age");
    MOVIEREC_FUZZ_CHECK(!u.occupation.empty(), "occupation");
    MOVIEREC_FUZZ_CHECK(IsValidUtf8(u.zip_code), "zip code");
  }
}

void CheckRatings(const std::vector<Rating>& ratings, const KnownIds& known,
                  float min_stars) {
  MOVIEREC_FUZZ_CHECK(!ratings.empty(), "no ratings accepted as OK");
  for (const Rating& r : ratings) {
    MOVIEREC_FUZZ_CHECK(r.user_id > 0, "user id");
    MOVIEREC_FUZZ_CHECK(
        known.user_row.empty() || known.user_row.contains(r.user_id),
        "unknown user");
    MOVIEREC_FUZZ_CHECK(known.movie_row.contains(r.movie_id), "unknown movie");
    MOVIEREC_FUZZ_CHECK(r.rating >= min_stars && r.rating <= 5 &&
                            2 * r.rating == static_cast<int>(2 * r.rating),
                        "rating");
  }
}

// Checks *result's properties, or that its error names `file`; its status.
template <typename T, typename Check>
absl::Status CheckResult(const absl::StatusOr<T>& result,
                         absl::string_view file, Check check) {
  if (!result.ok()) {
    MOVIEREC_FUZZ_CHECK(absl::IsInvalidArgument(result.status()),
                        result.status().ToString());
    MOVIEREC_FUZZ_CHECK(
        absl::StartsWith(result.status().message(), absl::StrCat(file, ":")),
        result.status().ToString());
    return result.status();
  }
  check(*result);
  return absl::OkStatus();
}

}  // namespace

absl::Status FuzzMovieLensFile(MovieLensFormat format,
                               absl::string_view input) {
  const size_t newline = input.find('\n');
  if (newline == absl::string_view::npos) {
    return absl::NotFoundError("no file name line");
  }
  const absl::string_view file = input.substr(0, newline);
  const absl::string_view text = input.substr(newline + 1);
  const bool csv = format == MovieLensFormat::kCsv;
  const bool has_users = format == MovieLensFormat::k1M;
  KnownIds known = Known();
  if (!has_users) known.user_row.clear();
  if (file == (csv ? "movies.csv" : "movies.dat")) {
    return CheckResult(
        csv ? ParseCsvMovies(text, file) : ParseDatMovies(text, file), file,
        CheckMovies);
  }
  if (has_users && file == "users.dat") {
    return CheckResult(ParseDatUsers(text, file), file, CheckUsers);
  }
  if (file == (csv ? "ratings.csv" : "ratings.dat")) {
    return CheckResult(csv ? ParseCsvRatings(text, file, known)
                           : ParseDatRatings(text, file, known),
                       file, [&](const std::vector<Rating>& ratings) {
                         CheckRatings(ratings, known, has_users ? 1.0f : 0.5f);
                       });
  }
  return absl::NotFoundError(absl::StrCat("no file ", file, " in format ",
                                          MovieLensFormatName(format)));
}

namespace {

// Ids of rows 0, 1, ...: row + 1, keys unique and valid.
template <typename Row>
void CheckKeyedRows(const std::vector<Row>& rows,
                    const absl::flat_hash_map<std::string, int32_t>& index) {
  MOVIEREC_FUZZ_CHECK(rows.size() == index.size(), "index size");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    MOVIEREC_FUZZ_CHECK(row.id == static_cast<int32_t>(i) + 1, "dense id");
    MOVIEREC_FUZZ_CHECK(!row.key.empty() &&
                            row.key.size() <= kMaxExternalIdBytes &&
                            IsValidUtf8(row.key),
                        row.key);
    const auto it = index.find(row.key);
    MOVIEREC_FUZZ_CHECK(
        it != index.end() && it->second == static_cast<int32_t>(i),
        "key not unique or not indexed");
  }
}

}  // namespace

absl::string_view GenericFuzzItemsText() {
  return "item_id,title,genres\nm1,A,Drama\nsku-9f3a,\"B, The\",\nm 3,C,"
         "Comedy|Drama\n";
}

absl::Status FuzzGenericFile(absl::string_view input) {
  const size_t newline = input.find('\n');
  if (newline == absl::string_view::npos) {
    return absl::NotFoundError("no file name line");
  }
  const absl::string_view file = input.substr(0, newline);
  const absl::string_view text = input.substr(newline + 1);
  if (file == "items.csv") {
    return CheckResult(ParseGenericItems(text, file), file,
                       [](const GenericItems& items) {
                         CheckMovies({items.genre_names, items.movies});
                         CheckKeyedRows(items.movies, items.row);
                       });
  }
  if (file == "users.csv") {
    return CheckResult(
        ParseGenericUsers(text, file), file, [](const GenericUsers& users) {
          MOVIEREC_FUZZ_CHECK(!users.users.empty(), "no users accepted as OK");
          CheckKeyedRows(users.users, users.row);
          for (const User& u : users.users) {
            MOVIEREC_FUZZ_CHECK(u.gender.empty()
                                    ? u.age == 0 && u.occupation.empty()
                                    : (u.gender == "M" || u.gender == "F") &&
                                          u.age >= 1 && u.age <= 120 &&
                                          !u.occupation.empty(),
                                "demographics");
            MOVIEREC_FUZZ_CHECK(
                IsValidUtf8(u.occupation) && IsValidUtf8(u.zip_code), "text");
          }
          for (const std::string& column : users.attribute_names) {
            MOVIEREC_FUZZ_CHECK(!column.empty() && IsValidUtf8(column),
                                "column name");
          }
          for (const User& u : users.users) {
            MOVIEREC_FUZZ_CHECK(
                u.attributes.size() == users.attribute_names.size(),
                "attribute count");
            for (const std::string& value : u.attributes) {
              MOVIEREC_FUZZ_CHECK(IsValidUtf8(value), "attribute text");
            }
          }
        });
  }
  if (file == "interactions.csv") {
    absl::StatusOr<GenericItems> items =
        ParseGenericItems(GenericFuzzItemsText(), "items.csv");
    MOVIEREC_FUZZ_CHECK(items.ok(), items.status().ToString());
    GenericUsers users;
    return CheckResult(
        ParseGenericInteractions(text, file, *items, &users,
                                 /*users_fixed=*/false),
        file, [&](const GenericInteractions& read) {
          MOVIEREC_FUZZ_CHECK(!read.ratings.empty(),
                              "no interactions accepted as OK");
          CheckKeyedRows(users.users, users.row);
          for (const Rating& r : read.ratings) {
            MOVIEREC_FUZZ_CHECK(
                r.user_id >= 1 &&
                    r.user_id <= static_cast<int32_t>(users.users.size()),
                "user id");
            MOVIEREC_FUZZ_CHECK(
                r.movie_id >= 1 &&
                    r.movie_id <= static_cast<int32_t>(items->movies.size()),
                "item id");
            MOVIEREC_FUZZ_CHECK(r.rating >= 0.5f && r.rating <= 5, "rating");
            MOVIEREC_FUZZ_CHECK(r.timestamp >= 0, "timestamp");
            MOVIEREC_FUZZ_CHECK(read.has_timestamps || r.timestamp == 0,
                                "timestamp without the column");
          }
        });
  }
  return absl::NotFoundError(
      absl::StrCat("no file ", file, " in the generic format"));
}

std::string FrameBundle(absl::string_view payload) {
  std::string bytes = "MRBUNDLE";
  const auto put = [&bytes](uint64_t value, int n) {
    for (int i = 0; i < n; ++i) {
      bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
  };
  // Version 1: the payloads the fuzzers build have no keys (a payload with
  // keys is then refused for its version, which the fuzzer also covers).
  put(kOldestBundleFormatVersion, 4);
  put(crc32_z(0L, reinterpret_cast<const Bytef*>(payload.data()),
              payload.size()),
      4);
  put(payload.size(), 8);
  bytes.append(payload.data(), payload.size());
  return bytes;
}

}  // namespace movierec::fuzz
