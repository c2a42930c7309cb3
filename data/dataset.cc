#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

namespace {

// Moves interactions[i] to `held_out` where held[i], else to `kept`, in the
// input order.
SplitParts Partition(std::vector<Interaction> interactions,
                     const std::vector<bool>& held) {
  SplitParts parts;
  for (size_t i = 0; i < interactions.size(); ++i) {
    (held[i] ? parts.held_out : parts.kept).push_back(interactions[i]);
  }
  return parts;
}

}  // namespace

std::string SplitSpec::Name() const {
  switch (kind) {
    case Kind::kRandom:
      return "random";
    case Kind::kTemporal:
      return "temporal";
    case Kind::kLeaveLastN:
      return absl::StrCat("leave_last_n=", last_n);
    case Kind::kExplicit:
      return "explicit";
  }
  return "unknown";
}

absl::StatusOr<SplitSpec> ParseSplitSpec(absl::string_view text) {
  SplitSpec spec;
  if (text == "random") return spec;
  if (text == "temporal") {
    spec.kind = SplitSpec::Kind::kTemporal;
    return spec;
  }
  constexpr absl::string_view kLastN = "leave_last_n=";
  if (absl::StartsWith(text, kLastN)) {
    const absl::string_view n = text.substr(kLastN.size());
    int value = 0;
    if (!absl::SimpleAtoi(n, &value) || value < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("split \"", text,
                       "\": N in leave_last_n=N must be an integer >= 1, "
                       "got \"",
                       n, "\""));
    }
    spec.kind = SplitSpec::Kind::kLeaveLastN;
    spec.last_n = value;
    return spec;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown split \"", text,
                   "\": expected random, temporal or leave_last_n=N"));
}

SplitParts TemporalSplit(std::vector<Interaction> interactions,
                         double holdout_fraction) {
  std::vector<size_t> order(interactions.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Interaction& x = interactions[a];
    const Interaction& y = interactions[b];
    return std::tie(x.timestamp, x.user, x.movie) <
           std::tie(y.timestamp, y.user, y.movie);
  });
  const auto kept = static_cast<size_t>(std::llround(
      static_cast<double>(interactions.size()) * (1.0 - holdout_fraction)));
  std::vector<bool> held(interactions.size(), false);
  for (size_t i = kept; i < order.size(); ++i) held[order[i]] = true;
  return Partition(std::move(interactions), held);
}

SplitParts LeaveLastNSplit(std::vector<Interaction> interactions, int n) {
  std::vector<size_t> order(interactions.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Interaction& x = interactions[a];
    const Interaction& y = interactions[b];
    return std::tie(x.user, x.timestamp, x.movie) <
           std::tie(y.user, y.timestamp, y.movie);
  });
  std::vector<bool> held(interactions.size(), false);
  // Each user's interactions are a run of `order`, oldest first.
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    while (end < order.size() &&
           interactions[order[end]].user == interactions[order[begin]].user) {
      ++end;
    }
    if (end - begin > static_cast<size_t>(n)) {
      for (size_t i = end - static_cast<size_t>(n); i < end; ++i) {
        held[order[i]] = true;
      }
    }
    begin = end;
  }
  return Partition(std::move(interactions), held);
}

SplitParts SplitBy(std::vector<Interaction> interactions, const SplitSpec& spec,
                   uint64_t seed) {
  switch (spec.kind) {
    case SplitSpec::Kind::kTemporal:
      return TemporalSplit(std::move(interactions), spec.holdout_fraction);
    case SplitSpec::Kind::kLeaveLastN:
      return LeaveLastNSplit(std::move(interactions), spec.last_n);
    case SplitSpec::Kind::kRandom:
    case SplitSpec::Kind::kExplicit:
      break;
  }
  return RandomSplit(std::move(interactions), seed, spec.holdout_fraction);
}

SplitSpec ValidationSplitOf(const SplitSpec& split,
                            double validation_fraction) {
  SplitSpec validation = split;
  if (validation.kind == SplitSpec::Kind::kExplicit) {
    validation.kind = SplitSpec::Kind::kRandom;
  }
  validation.holdout_fraction = validation_fraction;
  return validation;
}

absl::StatusOr<Dataset> MakeSplit(MovieLens data, const SplitSpec& spec,
                                  uint64_t seed) {
  switch (spec.kind) {
    case SplitSpec::Kind::kRandom:
    case SplitSpec::Kind::kTemporal:
      if (!(spec.holdout_fraction > 0 && spec.holdout_fraction < 1)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "test fraction ", spec.holdout_fraction, " is not in (0, 1)"));
      }
      break;
    case SplitSpec::Kind::kLeaveLastN:
      if (spec.last_n < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "leave_last_n=", spec.last_n, ": N must be an integer >= 1"));
      }
      break;
    case SplitSpec::Kind::kExplicit:
      return absl::InvalidArgumentError(
          "an explicit split is read from files (MakeExplicitSplit)");
  }
  if (!data.has_timestamps && spec.kind != SplitSpec::Kind::kRandom) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", spec.Name(),
        " split orders interactions by time, and the data has no timestamps "
        "(interactions.csv has no timestamp column): use the random split"));
  }
  MOVIEREC_ASSIGN_OR_RETURN(std::vector<Interaction> all,
                            ToInteractions(data.ratings, KnownIds::Of(data)));
  data.ratings.clear();
  data.ratings.shrink_to_fit();
  SplitParts parts = SplitBy(std::move(all), spec, seed);
  Dataset dataset;
  dataset.catalog = std::move(data);
  dataset.train = std::move(parts.kept);
  dataset.test = std::move(parts.held_out);
  dataset.split = spec;
  return dataset;
}

absl::StatusOr<Dataset> MakeRandomSplit(MovieLens data, uint64_t seed,
                                        double test_fraction) {
  SplitSpec spec;
  spec.holdout_fraction = test_fraction;
  return MakeSplit(std::move(data), spec, seed);
}

absl::StatusOr<Dataset> MakeExplicitSplit(MovieLens catalog,
                                          const std::string& train_path,
                                          const std::string& test_path) {
  for (const Movie& movie : catalog.movies) {
    if (!movie.key.empty()) {
      return absl::InvalidArgumentError(
          "explicit train and test files (u.data format) name movies and "
          "users by MovieLens integer ids, and this catalogue has string ids "
          "(the generic format): split with --split instead");
    }
  }
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
  dataset.split.kind = SplitSpec::Kind::kExplicit;
  return dataset;
}

SplitSummary SummarizeSplit(const Dataset& dataset) {
  SplitSummary summary;
  summary.train = static_cast<int64_t>(dataset.train.size());
  summary.test = static_cast<int64_t>(dataset.test.size());
  std::vector<int64_t> train_of_user(static_cast<size_t>(dataset.num_users()));
  std::vector<bool> trained_movie(static_cast<size_t>(dataset.num_movies()));
  for (const Interaction& x : dataset.train) {
    ++train_of_user[x.user];
    trained_movie[x.movie] = true;
  }
  std::vector<bool> test_user(train_of_user.size());
  std::vector<bool> test_movie(trained_movie.size());
  summary.cut_timestamp = dataset.test.empty() ? 0 : dataset.test[0].timestamp;
  for (const Interaction& x : dataset.test) {
    summary.cut_timestamp = std::min(summary.cut_timestamp, x.timestamp);
    const bool cold_user = train_of_user[x.user] == 0;
    const bool cold_movie = !trained_movie[x.movie];
    summary.cold_user_test_interactions += cold_user;
    summary.cold_movie_test_interactions += cold_movie;
    if (!test_user[x.user]) {
      test_user[x.user] = true;
      ++summary.test_users;
      summary.cold_users += cold_user;
    }
    if (!test_movie[x.movie]) {
      test_movie[x.movie] = true;
      ++summary.test_movies;
      summary.cold_movies += cold_movie;
    }
  }
  if (dataset.split.kind == SplitSpec::Kind::kLeaveLastN) {
    summary.users_held_out = summary.test_users;
    for (size_t u = 0; u < train_of_user.size(); ++u) {
      summary.users_all_in_train += !test_user[u] && train_of_user[u] > 0;
    }
  }
  return summary;
}

}  // namespace movierec
