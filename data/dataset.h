// The training view of MovieLens: ratings turned into (user row, movie row)
// interactions and split into train and test.
//
// Rows are positions in MovieLens::users and MovieLens::movies, so every id in
// u.user and u.item has a row whether or not it has ratings (as the TFRS
// tutorials build their vocabularies from the whole catalogue).
#ifndef MOVIEREC_DATA_DATASET_H_
#define MOVIEREC_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/movielens.h"

namespace movierec {

struct Interaction {
  int32_t user = 0;   // row in MovieLens::users
  int32_t movie = 0;  // row in MovieLens::movies
  float rating = 0;
  int64_t timestamp = 0;
};

// Each user's distinct movies, sorted, in compressed sparse row form.
class UserMovies {
 public:
  UserMovies() = default;
  UserMovies(int num_users, absl::Span<const Interaction> interactions);

  int num_users() const { return static_cast<int>(offsets_.size()) - 1; }
  absl::Span<const int32_t> Of(int user) const {
    return absl::MakeConstSpan(movies_.data() + offsets_[user],
                               movies_.data() + offsets_[user + 1]);
  }
  // True when `movie` is among the movies of `user` (binary search).
  bool Contains(int user, int32_t movie) const;

  const std::vector<int32_t>& offsets() const { return offsets_; }
  const std::vector<int32_t>& movies() const { return movies_; }

 private:
  std::vector<int32_t> offsets_ = {0};
  std::vector<int32_t> movies_;
};

struct Dataset {
  MovieLens catalog;  // genres, movies and users; catalog.ratings is empty
  std::vector<Interaction> train;
  std::vector<Interaction> test;

  int num_users() const { return static_cast<int>(catalog.users.size()); }
  int num_movies() const { return static_cast<int>(catalog.movies.size()); }
};

// Maps ratings to rows. Every id must be in the catalogue (ReadRatings already
// checks this); an unknown one gives InvalidArgument.
absl::StatusOr<std::vector<Interaction>> ToInteractions(
    const std::vector<Rating>& ratings, const KnownIds& known);

// Splits `interactions` by a permutation seeded with `seed`: the first
// round(size * (1 - holdout_fraction)) permuted interactions are `kept`, the
// rest `held_out`. The same seed and input give the same split everywhere.
struct SplitParts {
  std::vector<Interaction> kept;
  std::vector<Interaction> held_out;
};
SplitParts RandomSplit(std::vector<Interaction> interactions, uint64_t seed,
                       double holdout_fraction);

// The seeded random 80/20 split of all of `data`'s ratings.
absl::StatusOr<Dataset> MakeRandomSplit(MovieLens data, uint64_t seed,
                                        double test_fraction = 0.2);

// Train and test read from explicit u.data-format files, with the catalogue
// (movies, users, genres) of `catalog`.
absl::StatusOr<Dataset> MakeExplicitSplit(MovieLens catalog,
                                          const std::string& train_path,
                                          const std::string& test_path);

}  // namespace movierec

#endif  // MOVIEREC_DATA_DATASET_H_
