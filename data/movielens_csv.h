// Readers of MovieLens 20M, 25M, 32M and "latest": RFC 4180 CSV files with
// a header line (csv_reader.h).
//
//   movies.csv   movieId,title,genres      titles quoted when they hold
//                                          commas or quotes; genres "A|B",
//                                          "(no genres listed)" for none;
//                                          the year is the title's "(YYYY)"
//   ratings.csv  userId,movieId,rating,timestamp      half stars 0.5-5
//
// There is no users file: the users are the ids the ratings name, without
// demographics. Text that is not valid UTF-8 is read as ISO-8859-1 and
// converted. Each error names the file, the line and the problem.
#ifndef MOVIEREC_DATA_MOVIELENS_CSV_H_
#define MOVIEREC_DATA_MOVIELENS_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/movielens.h"
#include "data/movielens_dat.h"

namespace movierec {

// Parses movies.csv from `text`, called `name` in errors.
absl::StatusOr<MovieTable> ParseCsvMovies(absl::string_view text,
                                          absl::string_view name);
absl::StatusOr<MovieTable> ReadCsvMovies(const std::string& path);

// Parses ratings.csv; every movie id must be in `known` (its users are not
// checked).
absl::StatusOr<std::vector<Rating>> ParseCsvRatings(absl::string_view text,
                                                    absl::string_view name,
                                                    const KnownIds& known);
absl::StatusOr<std::vector<Rating>> ReadCsvRatings(const std::string& path,
                                                   const KnownIds& known);

}  // namespace movierec

#endif  // MOVIEREC_DATA_MOVIELENS_CSV_H_
