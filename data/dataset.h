// The training view of MovieLens: ratings turned into (user row, movie row)
// interactions and split into train and test: at random, by a global time
// cut, or each user's last N held out (SplitSpec).
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
#include "absl/strings/string_view.h"
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

// How interactions are divided into a kept part and a held-out part: train
// and test, and (ValidationSplitOf) train into fit and validation.
struct SplitSpec {
  enum class Kind {
    // A seeded permutation; the last holdout_fraction is held out.
    kRandom,
    // A global time cut: the latest holdout_fraction of the interactions
    // (TemporalSplit) is held out.
    kTemporal,
    // Each user's last `last_n` interactions are held out (LeaveLastNSplit).
    kLeaveLastN,
    // Train and test read from files (MakeExplicitSplit); not a rule that
    // SplitBy can apply.
    kExplicit,
  };
  Kind kind = Kind::kRandom;
  double holdout_fraction = 0.2;  // kRandom and kTemporal, in (0, 1)
  int last_n = 0;                 // kLeaveLastN, >= 1

  // The --split spelling: "random", "temporal", "leave_last_n=N",
  // "explicit".
  std::string Name() const;
};

// Parses --split: "random", "temporal" or "leave_last_n=N" with N >= 1 (the
// fractions are 0.2). InvalidArgument naming the value and the choices.
absl::StatusOr<SplitSpec> ParseSplitSpec(absl::string_view text);

struct Dataset {
  MovieLens catalog;  // genres, movies and users; catalog.ratings is empty
  std::vector<Interaction> train;
  std::vector<Interaction> test;
  SplitSpec split;  // how train and test were made

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

// A global time cut: interactions ordered by (timestamp, user row, movie
// row, input position), the first round(size * (1 - holdout_fraction))
// `kept`, the rest `held_out`. Both parts keep the input order.
SplitParts TemporalSplit(std::vector<Interaction> interactions,
                         double holdout_fraction);

// Each user's last `n` interactions, ordered by (timestamp, movie row, input
// position), are `held_out`; a user with n or fewer interactions keeps all
// of them (none held out: there would be nothing left to learn the user
// from). Both parts keep the input order. `n` must be >= 1.
SplitParts LeaveLastNSplit(std::vector<Interaction> interactions, int n);

// The split `spec` describes (seed: kRandom's permutation). `spec` must not
// be kExplicit.
SplitParts SplitBy(std::vector<Interaction> interactions, const SplitSpec& spec,
                   uint64_t seed);

// The split of a training part into fit and validation that follows the
// kind of `split`, so that choices made on validation face the test's kind
// of held-out data: random (also for kExplicit) and temporal with
// `validation_fraction`; leave_last_n with the same N (the fraction is not
// used).
SplitSpec ValidationSplitOf(const SplitSpec& split, double validation_fraction);

// All of `data`'s ratings split as `spec` says (not kExplicit).
// InvalidArgument for a temporal or leave-last-N split of data without
// timestamps (MovieLens::has_timestamps).
absl::StatusOr<Dataset> MakeSplit(MovieLens data, const SplitSpec& spec,
                                  uint64_t seed);

// The seeded random 80/20 split of all of `data`'s ratings.
absl::StatusOr<Dataset> MakeRandomSplit(MovieLens data, uint64_t seed,
                                        double test_fraction = 0.2);

// Train and test read from explicit u.data-format files, with the catalogue
// (movies, users, genres) of `catalog`. InvalidArgument when the catalogue
// has string ids (Movie::key): u.data names integer ids.
absl::StatusOr<Dataset> MakeExplicitSplit(MovieLens catalog,
                                          const std::string& train_path,
                                          const std::string& test_path);

// What a split left cold: test users (movies) with no training interaction,
// which the model can only meet through its cold paths.
struct SplitSummary {
  int64_t train = 0;
  int64_t test = 0;
  int64_t test_users = 0;  // users with at least one test interaction
  int64_t cold_users = 0;  // ... and none in train
  int64_t cold_user_test_interactions = 0;
  int64_t test_movies = 0;  // movies with at least one test interaction
  int64_t cold_movies = 0;  // ... and none in train
  int64_t cold_movie_test_interactions = 0;
  // Temporal: the earliest test timestamp (train ends at or before it).
  int64_t cut_timestamp = 0;
  // Leave-last-N: users with test interactions, and users with 1 to N
  // interactions, all kept in train.
  int64_t users_held_out = 0;
  int64_t users_all_in_train = 0;
};
SplitSummary SummarizeSplit(const Dataset& dataset);

}  // namespace movierec

#endif  // MOVIEREC_DATA_DATASET_H_
