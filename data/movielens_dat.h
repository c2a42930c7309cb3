// Readers of MovieLens 1M and 10M: "::"-separated .dat files.
//
//   movies.dat   MovieID::Title::Genres     genres "A|B"; the year is the
//                                           title's trailing "(YYYY)"
//   users.dat    UserID::Gender::Age::Occupation::Zip-code      (1M only)
//   ratings.dat  UserID::MovieID::Rating::Timestamp
//
// 1M's ratings are whole stars 1-5, 10M's half stars 0.5-5. 10M has no
// users.dat: its users are the ids its ratings name. Text that is not valid
// UTF-8 (1M's titles are ISO-8859-1) is read as ISO-8859-1 and converted.
//
// users.dat onto User: gender "M"/"F" as is; age is the 1M age group's code
// (1 = under 18, 18 = 18-24, 25, 35, 45, 50, 56 = 56+), which
// Featurizer::AgeBucket maps to the same seven groups; occupation is the
// name of the code (0 "other or not specified", 1 "academic/educator", ...,
// 20 "writer", as 1M's README lists them); the zip code as is.
//
// Each error names the file, the line and the problem.
#ifndef MOVIEREC_DATA_MOVIELENS_DAT_H_
#define MOVIEREC_DATA_MOVIELENS_DAT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/movielens.h"
#include "data/movielens_fields.h"

namespace movierec {

// Movies and the genre vocabulary their files name (no u.genre): sorted, but
// "unknown" first (GenreVocabulary in movielens_fields.h).

// The 21 occupations of users.dat, by code.
const std::vector<std::string>& Ml1mOccupations();
// The age codes of users.dat.
bool IsMl1mAgeCode(int age);

// Parses movies.dat from `text`, called `name` in errors.
absl::StatusOr<MovieTable> ParseDatMovies(absl::string_view text,
                                          absl::string_view name);
absl::StatusOr<MovieTable> ReadDatMovies(const std::string& path);

// Parses 1M's users.dat.
absl::StatusOr<std::vector<User>> ParseDatUsers(absl::string_view text,
                                                absl::string_view name);
absl::StatusOr<std::vector<User>> ReadDatUsers(const std::string& path);

// Parses ratings.dat: 1M's when `known` has users (each user and movie id
// must be known, stars whole), 10M's when it has none (any positive user
// id, half stars).
absl::StatusOr<std::vector<Rating>> ParseDatRatings(absl::string_view text,
                                                    absl::string_view name,
                                                    const KnownIds& known);
absl::StatusOr<std::vector<Rating>> ReadDatRatings(const std::string& path,
                                                   const KnownIds& known);

}  // namespace movierec

#endif  // MOVIEREC_DATA_MOVIELENS_DAT_H_
