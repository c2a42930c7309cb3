// The MovieLens data model (genres, movies, users, ratings), the readers of
// the MovieLens 100K files (u.data, u.item, u.user, u.genre), and the loader
// of a MovieLens folder in any release's format: 100K here, 1M and 10M in
// movielens_dat.h, 20M, 25M, 32M and "latest" in movielens_csv.h (see
// docs/data.md).
//
// Every reader streams its file and validates each line, returning an error
// naming the file, the 1-based line number and the problem (a short line, a
// non-number, a rating outside 1-5, an unknown movie or user id, a missing
// file); none throws or aborts on bad input. Titles in u.item are
// ISO-8859-1 and come out as UTF-8.
#ifndef MOVIEREC_DATA_MOVIELENS_H_
#define MOVIEREC_DATA_MOVIELENS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

// One line of u.data, with the raw MovieLens ids.
struct Rating {
  int32_t user_id = 0;
  int32_t movie_id = 0;
  float rating = 0;
  int64_t timestamp = 0;
};

// One line of u.item.
struct Movie {
  int32_t id = 0;
  std::string title;            // UTF-8
  int32_t release_year = 0;     // 0 when the release date is missing
  std::vector<int32_t> genres;  // indices into MovieLens::genre_names
  // The external id the API spells (the generic format's item_id, e.g.
  // "sku-9f3a"); empty: the decimal of `id` (MovieLens).
  std::string key;
};

// One line of u.user.
struct User {
  int32_t id = 0;
  int32_t age = 0;
  std::string gender;      // "M" or "F"
  std::string occupation;  // as written in u.user
  std::string zip_code;
  // The values of the categorical attributes MovieLens::user_attribute_names
  // names, in that order ("" where the user has none): the generic format's
  // extra users.csv columns, e.g. a plan or a country.
  std::vector<std::string> attributes;
  // The external id (the generic format's user_id, e.g. "u-abc"); empty:
  // the decimal of `id` (MovieLens).
  std::string key;
};

// The id the API spells for a movie or a user: its key, or the decimal of
// its id when it has none.
std::string ExternalId(const Movie& movie);
std::string ExternalId(const User& user);

// The rating every interaction of implicit data carries.
inline constexpr float kImplicitRating = 1.0f;

// The whole dataset as read from a MovieLens 100K directory.
struct MovieLens {
  std::vector<std::string> genre_names;  // u.genre, in index order
  std::vector<Movie> movies;             // u.item, in file order
  std::vector<User> users;               // u.user, in file order
  std::vector<Rating> ratings;           // u.data, in file order
  // False when the ratings carry no time (the generic format without its
  // timestamp column: every timestamp is 0).
  bool has_timestamps = true;
  // False for implicit data (the generic format without its rating column):
  // every interaction is a positive of rating kImplicitRating, and the
  // trainer fits no rating model.
  bool has_ratings = true;
  // Implicit data: interactions dropped as repeats of a (user, movie) pair.
  int64_t implicit_repeats_dropped = 0;
  // The names of the users' categorical attributes (User::attributes): the
  // generic format's users.csv columns beyond user_id, age, gender,
  // occupation and zip_code. Empty for the MovieLens releases.
  std::vector<std::string> user_attribute_names;
};

// Ids of the known movies and users, used to reject ratings that name others.
struct KnownIds {
  absl::flat_hash_map<int32_t, int32_t> movie_row;  // movie id -> row
  absl::flat_hash_map<int32_t, int32_t> user_row;   // user id -> row

  static KnownIds Of(const MovieLens& data);
};

// Reads u.genre: "name|index" lines with indices 0, 1, 2, ... in order.
absl::StatusOr<std::vector<std::string>> ReadGenres(const std::string& path);
// Parses u.genre from `text` as if read from a file called `name`.
absl::StatusOr<std::vector<std::string>> ParseGenres(absl::string_view text,
                                                     absl::string_view name);

// Reads u.item. `num_genres` is the number of genre flag columns expected
// (InvalidArgument when negative).
absl::StatusOr<std::vector<Movie>> ReadMovies(const std::string& path,
                                              int num_genres);
// Parses u.item from `text` as if read from a file called `name`.
absl::StatusOr<std::vector<Movie>> ParseMovies(absl::string_view text,
                                               absl::string_view name,
                                               int num_genres);

// Reads u.user.
absl::StatusOr<std::vector<User>> ReadUsers(const std::string& path);
// Parses u.user from `text` as if read from a file called `name`.
absl::StatusOr<std::vector<User>> ParseUsers(absl::string_view text,
                                             absl::string_view name);

// Reads ratings in u.data format (tab-separated user, movie, rating,
// timestamp). Every user and movie id must be in `known`.
absl::StatusOr<std::vector<Rating>> ReadRatings(const std::string& path,
                                                const KnownIds& known);

// Parses ratings from `text` as if read from a file called `name`.
absl::StatusOr<std::vector<Rating>> ParseRatings(absl::string_view text,
                                                 absl::string_view name,
                                                 const KnownIds& known);

// The MovieLens releases' file formats.
enum class MovieLensFormat {
  kAuto,     // detect from the folder's files (DetectMovieLensFormat)
  k100K,     // u.data, u.item, u.user, u.genre
  k1M,       // ratings.dat, movies.dat, users.dat ("::"-separated)
  k10M,      // ratings.dat, movies.dat; no users.dat
  kCsv,      // ratings.csv, movies.csv: 20M, 25M, 32M and latest
  kGeneric,  // interactions.csv, items.csv[, users.csv]: generic_format.h
};

// "auto", "ml-100k", "ml-1m", "ml-10m", "ml-csv" or "generic"; InvalidArgument
// naming the value and the choices otherwise.
absl::StatusOr<MovieLensFormat> ParseMovieLensFormat(absl::string_view name);
// The name ParseMovieLensFormat reads.
std::string MovieLensFormatName(MovieLensFormat format);

// The format of the files in `dir`: u.data -> ml-100k; ratings.dat with
// users.dat -> ml-1m, without -> ml-10m; ratings.csv -> ml-csv;
// interactions.csv or items.csv -> generic. NotFound
// naming `dir` when it is no directory or holds none of these;
// InvalidArgument when it holds more than one (choose with --format).
absl::StatusOr<MovieLensFormat> DetectMovieLensFormat(const std::string& dir);

// The movies, genres and users of `dir` in `format` (kAuto: detected);
// `ratings` stays empty. Formats without a users file read the ratings to
// learn the user ids.
absl::StatusOr<MovieLens> LoadCatalog(
    const std::string& dir, MovieLensFormat format = MovieLensFormat::k100K);

// The whole dataset of `dir` in `format` (kAuto: detected). Movies and
// ratings keep their files' order; users too, or, for formats without a
// users file, are the ids of the ratings in ascending order, without
// demographics.
absl::StatusOr<MovieLens> LoadMovieLens(
    const std::string& dir, MovieLensFormat format = MovieLensFormat::k100K);

// Whether the users have demographics (gender, age, occupation): false for
// the formats without a users file.
bool HasDemographics(const MovieLens& data);

// Converts ISO-8859-1 (Latin-1) bytes to UTF-8.
std::string Latin1ToUtf8(absl::string_view latin1);

}  // namespace movierec

#endif  // MOVIEREC_DATA_MOVIELENS_H_
