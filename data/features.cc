#include "data/features.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace movierec {
namespace {

int AddTable(std::vector<TableSpec>* tables, std::string name, int rows) {
  tables->push_back({std::move(name), rows});
  return static_cast<int>(tables->size()) - 1;
}

// `values` sorted, each once.
std::vector<std::string> SortedDistinct(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

}  // namespace

int32_t VocabularyRow(const std::vector<std::string>& vocabulary,
                      absl::string_view value) {
  return static_cast<int32_t>(
      std::lower_bound(vocabulary.begin(), vocabulary.end(), value) -
      vocabulary.begin());
}

std::vector<std::string> OccupationVocabulary(const std::vector<User>& users) {
  std::vector<std::string> occupations;
  for (const User& user : users) occupations.push_back(user.occupation);
  return SortedDistinct(std::move(occupations));
}

std::vector<std::string> AttributeVocabulary(const std::vector<User>& users,
                                             size_t a) {
  std::vector<std::string> values;
  for (const User& user : users) {
    if (!user.attributes[a].empty()) values.push_back(user.attributes[a]);
  }
  return SortedDistinct(std::move(values));
}

std::string AttributeTableName(absl::string_view name) {
  return absl::StrCat("user_attribute/", name);
}

int Featurizer::AgeBucket(int age) {
  // The MovieLens 1M age groups.
  static constexpr int kUpper[] = {17, 24, 34, 44, 49, 55};
  int bucket = 0;
  while (bucket < 6 && age > kUpper[bucket]) ++bucket;
  return bucket;
}

int Featurizer::YearBucket(int year) {
  if (year <= 0) return 0;                               // unknown
  if (year < 1940) return 1;                             // before 1940
  if (year < 1990) return 2 + (year - 1940) / 10;        // 1940s .. 1980s: 2..6
  return std::min(7 + (year - 1990), kYearBuckets - 1);  // 1990 .. 1998+
}

Featurizer::Featurizer(const FeatureOptions& options, const MovieLens& catalog)
    : options_(options) {
  const int num_users = static_cast<int>(catalog.users.size());
  const int num_movies = static_cast<int>(catalog.movies.size());
  if (options.user_id) user_id_ = AddTable(&user_tables_, "user_id", num_users);
  if (options.user_demographics) {
    const std::vector<std::string> occupations =
        OccupationVocabulary(catalog.users);
    age_ = AddTable(&user_tables_, "user_age", kAgeBuckets);
    gender_ = AddTable(&user_tables_, "user_gender", 2);
    occupation_ = AddTable(&user_tables_, "user_occupation",
                           static_cast<int>(occupations.size()));
    for (const User& user : catalog.users) {
      user_age_.push_back(AgeBucket(user.age));
      user_gender_.push_back(user.gender == "F" ? 1 : 0);
      user_occupation_.push_back(VocabularyRow(occupations, user.occupation));
    }
  }
  if (options.user_attributes) {
    const size_t attributes = catalog.user_attribute_names.size();
    user_attribute_rows_.assign(attributes * catalog.users.size(), -1);
    for (size_t a = 0; a < attributes; ++a) {
      const std::vector<std::string> values =
          AttributeVocabulary(catalog.users, a);
      // A column no user has a value in is no feature.
      attribute_tables_.push_back(
          values.empty()
              ? -1
              : AddTable(&user_tables_,
                         AttributeTableName(catalog.user_attribute_names[a]),
                         static_cast<int>(values.size())));
      has_attributes_ |= !values.empty();
      for (size_t u = 0; u < catalog.users.size(); ++u) {
        const std::string& value = catalog.users[u].attributes[a];
        if (value.empty()) continue;
        user_attribute_rows_[u * attributes + a] = VocabularyRow(values, value);
      }
    }
  }
  if (options.user_history) {
    history_ = AddTable(&user_tables_, "user_history", num_movies);
  }
  if (options.movie_id) {
    movie_id_ = AddTable(&movie_tables_, "movie_id", num_movies);
  }
  if (options.movie_genres) {
    genre_ = AddTable(&movie_tables_, "movie_genre",
                      static_cast<int>(catalog.genre_names.size()));
    for (const Movie& movie : catalog.movies) {
      movie_genres_.push_back(movie.genres);
    }
  }
  if (options.movie_year) {
    year_ = AddTable(&movie_tables_, "movie_year", kYearBuckets);
    for (const Movie& movie : catalog.movies) {
      movie_year_.push_back(YearBucket(movie.release_year));
    }
  }
}

void Featurizer::UserBag(int user, absl::Span<const int32_t> history,
                         int exclude, Bag* bag, bool with_id) const {
  if (user >= 0) {
    if (user_id_ >= 0 && with_id) bag->push_back({user_id_, user, 1.0f});
    if (age_ >= 0) {
      bag->push_back({age_, user_age_[user], 1.0f});
      bag->push_back({gender_, user_gender_[user], 1.0f});
      bag->push_back({occupation_, user_occupation_[user], 1.0f});
    }
    const size_t attributes = attribute_tables_.size();
    for (size_t a = 0; a < attributes; ++a) {
      const int32_t row = user_attribute_rows_[user * attributes + a];
      if (row >= 0) bag->push_back({attribute_tables_[a], row, 1.0f});
    }
  }
  if (history_ >= 0) {
    size_t count = history.size();
    for (const int32_t movie : history) count -= movie == exclude;
    if (count == 0) return;
    const float weight = 1.0f / std::sqrt(static_cast<float>(count));
    for (const int32_t movie : history) {
      if (movie != exclude) bag->push_back({history_, movie, weight});
    }
  }
}

void Featurizer::SampledUserBag(int user, absl::Span<const int32_t> history,
                                int exclude, int sample, Rng& rng,
                                Bag* bag) const {
  size_t count = history.size();
  for (const int32_t movie : history) count -= movie == exclude;
  if (history_ < 0 || sample <= 0 || count <= static_cast<size_t>(sample)) {
    UserBag(user, history, exclude, bag);
    return;
  }
  UserBag(user, {}, exclude, bag);
  const float weight =
      std::sqrt(static_cast<float>(count)) / static_cast<float>(sample);
  for (int i = 0; i < sample; ++i) {
    int32_t movie = exclude;
    while (movie == exclude) movie = history[rng.Uniform(history.size())];
    bag->push_back({history_, movie, weight});
  }
}

void Featurizer::MovieBag(int movie, Bag* bag, bool with_id) const {
  if (movie_id_ >= 0 && with_id) bag->push_back({movie_id_, movie, 1.0f});
  if (genre_ >= 0 && !movie_genres_[movie].empty()) {
    const float weight =
        1.0f / std::sqrt(static_cast<float>(movie_genres_[movie].size()));
    for (const int32_t genre : movie_genres_[movie]) {
      bag->push_back({genre_, genre, weight});
    }
  }
  if (year_ >= 0) bag->push_back({year_, movie_year_[movie], 1.0f});
}

}  // namespace movierec
