// Reader of the generic data format (docs/data.md, "The generic format"): a
// folder of RFC 4180 CSV files with a header line, columns found by name.
//
//   interactions.csv  user_id,item_id,rating[,timestamp]
//   items.csv         item_id,title[,genres][,year]   (optional: without it
//                     the items are the interactions' item ids, titled
//                     with their ids)
//   users.csv         user_id[,age,gender,occupation][,zip_code][,others]
//                     (optional)
//
// Ids are strings of any form ("sku-9f3a", "u138"): non-empty, at most
// kMaxExternalIdBytes, valid UTF-8 without control characters, unique in
// items.csv and users.csv. Internally a movie (user) gets the dense id
// row + 1, and its string is kept as Movie::key (User::key). Without
// users.csv, the users are the distinct user ids of interactions.csv in the
// order they first appear.
//
// Without a rating column the data is implicit: every interaction is a
// positive (kImplicitRating), repeats of a (user, item) pair count once, and
// the trainer fits no rating model. Without a timestamp column every
// timestamp is 0 and MovieLens::has_timestamps is false (a temporal or
// leave-last-N split is then refused: data/dataset.h). Without a year column
// no movie has a year; without a genres column none has genres. users.csv's
// age, gender and occupation columns (all three or none) are the model's
// demographic features, checked as u.user's are; zip_code is kept; every
// other column is a categorical user attribute (MovieLens::
// user_attribute_names, User::attributes: an empty field is no value), a
// feature of the user towers (FeatureOptions::user_attributes).
//
// Files are streamed through CsvReader. Each error names the file, the line
// and the problem; titles and genre names that are not valid UTF-8 are read
// as ISO-8859-1 and converted, as the MovieLens readers do.
#ifndef MOVIEREC_DATA_GENERIC_FORMAT_H_
#define MOVIEREC_DATA_GENERIC_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/movielens.h"

namespace movierec {

inline constexpr size_t kMaxExternalIdBytes = 256;

// The items of items.csv: movies in file order with id = row + 1 and key =
// item_id, and the genre vocabulary their genres name (ordered as the
// MovieLens readers order it: "unknown" first, then bytewise).
struct GenericItems {
  std::vector<std::string> genre_names;
  std::vector<Movie> movies;
  absl::flat_hash_map<std::string, int32_t> row;  // item_id -> row
};
absl::StatusOr<GenericItems> ParseGenericItems(absl::string_view text,
                                               absl::string_view name);
absl::StatusOr<GenericItems> ReadGenericItems(const std::string& path);

// The users of users.csv (file order, id = row + 1, key = user_id), or,
// growing while interactions.csv is read, those of the interactions.
struct GenericUsers {
  std::vector<User> users;
  absl::flat_hash_map<std::string, int32_t> row;  // user_id -> row
  // The columns that are not user_id, age, gender, occupation or zip_code:
  // the users' attributes (User::attributes), in file order.
  std::vector<std::string> attribute_names;
};
absl::StatusOr<GenericUsers> ParseGenericUsers(absl::string_view text,
                                               absl::string_view name);
absl::StatusOr<GenericUsers> ReadGenericUsers(const std::string& path);

// The ratings of interactions.csv, with the dense ids of `items` and
// `*users`. With `users_fixed` (users.csv was read) a user id not in *users
// is refused; otherwise each new user id is appended to *users.
// Without a rating column (implicit data) every interaction has rating
// kImplicitRating, and a (user, item) pair that repeats counts once, at its
// first row.
struct GenericInteractions {
  std::vector<Rating> ratings;
  bool has_timestamps = false;
  bool has_ratings = false;
  int64_t repeats_dropped = 0;  // implicit data: rows of a pair seen before
};
absl::StatusOr<GenericInteractions> ParseGenericInteractions(
    absl::string_view text, absl::string_view name, const GenericItems& items,
    GenericUsers* users, bool users_fixed);
// Without items.csv: each new item id of the interactions is appended to
// *items (first-seen order, id = row + 1, titled with its item id, no genres
// or year).
absl::StatusOr<GenericInteractions> ParseGenericInteractionsAndItems(
    absl::string_view text, absl::string_view name, GenericItems* items,
    GenericUsers* users, bool users_fixed);
// The file `path`: with `items_fixed` as ParseGenericInteractions, otherwise
// as ParseGenericInteractionsAndItems.
absl::StatusOr<GenericInteractions> ReadGenericInteractions(
    const std::string& path, GenericItems* items, bool items_fixed,
    GenericUsers* users, bool users_fixed);

// The dataset of the generic folder `dir`; without `ratings`, the catalogue
// only (interactions.csv is still read when there is no users.csv or no
// items.csv, to learn the users or the items).
absl::StatusOr<MovieLens> LoadGeneric(const std::string& dir, bool ratings);

}  // namespace movierec

#endif  // MOVIEREC_DATA_GENERIC_FORMAT_H_
