#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace movierec {

UserMovies::UserMovies(int num_users,
                       absl::Span<const Interaction> interactions) {
  std::vector<std::vector<int32_t>> per_user(static_cast<size_t>(num_users));
  for (const Interaction& x : interactions) per_user[x.user].push_back(x.movie);
  offsets_.assign(1, 0);
  offsets_.reserve(per_user.size() + 1);
  for (std::vector<int32_t>& movies : per_user) {
    std::sort(movies.begin(), movies.end());
    movies.erase(std::unique(movies.begin(), movies.end()), movies.end());
    movies_.insert(movies_.end(), movies.begin(), movies.end());
    offsets_.push_back(static_cast<int32_t>(movies_.size()));
  }
}

bool UserMovies::Contains(int user, int32_t movie) const {
  const absl::Span<const int32_t> movies = Of(user);
  return std::binary_search(movies.begin(), movies.end(), movie);
}

absl::StatusOr<std::vector<Interaction>> ToInteractions(
    const std::vector<Rating>& ratings, const KnownIds& known) {
  std::vector<Interaction> out;
  out.reserve(ratings.size());
  for (const Rating& r : ratings) {
    const auto user = known.user_row.find(r.user_id);
    const auto movie = known.movie_row.find(r.movie_id);
    if (user == known.user_row.end() || movie == known.movie_row.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("rating of user ", r.user_id, " for movie ", r.movie_id,
                       " names an id not in the catalogue"));
    }
    out.push_back({user->second, movie->second, r.rating, r.timestamp});
  }
  return out;
}

SplitParts RandomSplit(std::vector<Interaction> interactions, uint64_t seed,
                       double holdout_fraction) {
  Rng rng(seed);
  Shuffle(interactions, rng);
  const auto kept = static_cast<size_t>(std::llround(
      static_cast<double>(interactions.size()) * (1.0 - holdout_fraction)));
  SplitParts parts;
  parts.held_out.assign(interactions.begin() + static_cast<ptrdiff_t>(kept),
                        interactions.end());
  interactions.resize(kept);
  parts.kept = std::move(interactions);
  return parts;
}

absl::StatusOr<Dataset> MakeRandomSplit(MovieLens data, uint64_t seed,
                                        double test_fraction) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("test fraction ", test_fraction, " is not in (0, 1)"));
  }
  MOVIEREC_ASSIGN_OR_RETURN(std::vector<Interaction> all,
                            ToInteractions(data.ratings, KnownIds::Of(data)));
  data.ratings.clear();
  data.ratings.shrink_to_fit();
  SplitParts parts = RandomSplit(std::move(all), seed, test_fraction);
  Dataset dataset;
  dataset.catalog = std::move(data);
  dataset.train = std::move(parts.kept);
  dataset.test = std::move(parts.held_out);
  return dataset;
}

absl::StatusOr<Dataset> MakeExplicitSplit(MovieLens catalog,
                                          const std::string& train_path,
                                          const std::string& test_path) {
  const KnownIds known = KnownIds::Of(catalog);
  MOVIEREC_ASSIGN_OR_RETURN(std::vector<Rating> train,
                            ReadRatings(train_path, known));
  MOVIEREC_ASSIGN_OR_RETURN(std::vector<Rating> test,
                            ReadRatings(test_path, known));
  Dataset dataset;
  MOVIEREC_ASSIGN_OR_RETURN(dataset.train, ToInteractions(train, known));
  MOVIEREC_ASSIGN_OR_RETURN(dataset.test, ToInteractions(test, known));
  catalog.ratings.clear();
  dataset.catalog = std::move(catalog);
  return dataset;
}

}  // namespace movierec
