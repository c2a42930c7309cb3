// Turns users and movies into bags of embedding-table rows: the input of the
// two retrieval towers (and of the ranking model's embeddings).
//
// A tower's output is the weighted sum of the rows in its bag, so one tower
// serves every preset: the TFRS replica uses only the id rows; the default
// adds demographics and history to the user and genres and release year to
// the movie. A user or movie without an id row (a visitor the model does not
// know, a movie without ratings) is still encoded from its other features.
#ifndef MOVIEREC_DATA_FEATURES_H_
#define MOVIEREC_DATA_FEATURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "data/movielens.h"
#include "util/random.h"

namespace movierec {

struct FeatureOptions {
  bool user_id = true;             // one row per user
  bool user_demographics = false;  // age bucket, gender, occupation
  bool user_history = false;       // the movies the user rated in training
  bool movie_id = true;            // one row per movie
  bool movie_genres = false;       // u.item's genre flags
  bool movie_year = false;         // release-year bucket
  // One table per categorical user attribute (MovieLens::
  // user_attribute_names: the generic format's extra users.csv columns), a
  // row per distinct value. Nothing when the data has none.
  bool user_attributes = false;
};

// One row of one table, weighted.
struct BagEntry {
  int32_t table = 0;
  int32_t row = 0;
  float weight = 1.0f;
};
using Bag = std::vector<BagEntry>;

struct TableSpec {
  std::string name;
  int rows = 0;
};

// Maps users and movies of a catalogue to bags. Immutable after construction,
// so safe to share between threads.
class Featurizer {
 public:
  Featurizer(const FeatureOptions& options, const MovieLens& catalog);

  const FeatureOptions& options() const { return options_; }

  // The tables of each tower, in table-index order.
  const std::vector<TableSpec>& user_tables() const { return user_tables_; }
  const std::vector<TableSpec>& movie_tables() const { return movie_tables_; }

  // The bag of user row `user` (or of an unknown visitor when `user` < 0)
  // whose training history is `history` (movie rows), leaving `exclude` out
  // of the history (pass the training target; -1 for none). Appends to *bag.
  void UserBag(int user, absl::Span<const int32_t> history, int exclude,
               Bag* bag, bool with_id = true) const;

  // Training's cheaper estimate of UserBag for long histories: when more
  // than `sample` history movies remain after `exclude`, `sample` of them
  // drawn uniformly with replacement, each weighted count / sample times
  // UserBag's history weight, so that the bag's expected encoding (and its
  // L2 penalty) is UserBag's. Otherwise, or with `sample` <= 0, UserBag.
  void SampledUserBag(int user, absl::Span<const int32_t> history, int exclude,
                      int sample, Rng& rng, Bag* bag) const;

  // The bag of movie row `movie`. Appends to *bag. Without `with_id`, the
  // movie's id row is left out (see ColdMovieFromFeatures).
  void MovieBag(int movie, Bag* bag, bool with_id = true) const;

  // Cold start: whether a user (movie) with no training ratings is encoded
  // from its other features alone, its id row (never trained) left out.
  // Only when the tower has features besides the id; an id-only tower (the
  // TFRS replica) keeps the id row as the tutorial does.
  bool ColdUserFromFeatures() const {
    return options_.user_demographics || options_.user_history ||
           has_attributes_;
  }
  bool ColdMovieFromFeatures() const {
    return options_.movie_genres || options_.movie_year;
  }

  static int AgeBucket(int age);
  static int YearBucket(int year);
  static constexpr int kAgeBuckets = 7;
  static constexpr int kYearBuckets = 16;

 private:
  FeatureOptions options_;
  std::vector<TableSpec> user_tables_;
  std::vector<TableSpec> movie_tables_;
  // Table indices, or -1 when the feature is off.
  int user_id_ = -1, age_ = -1, gender_ = -1, occupation_ = -1, history_ = -1;
  int movie_id_ = -1, genre_ = -1, year_ = -1;
  // The attributes' tables, by attribute (-1 for one without values);
  // empty when the option is off.
  std::vector<int> attribute_tables_;
  bool has_attributes_ = false;
  // Per-user and per-movie feature rows; user_attribute_rows_ holds each
  // user's rows of the attributes in turn, -1 where it has no value.
  std::vector<int32_t> user_age_, user_gender_, user_occupation_;
  std::vector<int32_t> user_attribute_rows_;
  std::vector<std::vector<int32_t>> movie_genres_;
  std::vector<int32_t> movie_year_;
};

// The row of `value` in `vocabulary` (sorted, and holding it): a vocabulary
// below, or a bundle's copy of one.
int32_t VocabularyRow(const std::vector<std::string>& vocabulary,
                      absl::string_view value);

// The sorted distinct occupations of `users`: the occupation vocabulary.
std::vector<std::string> OccupationVocabulary(const std::vector<User>& users);

// The sorted distinct non-empty values of attribute `a` of `users` (each
// user holds at least a + 1 attributes): the rows of its table.
std::vector<std::string> AttributeVocabulary(const std::vector<User>& users,
                                             size_t a);

// The name of attribute `name`'s embedding table (and, with a stage's
// prefix, of its tensor in the version).
std::string AttributeTableName(absl::string_view name);

}  // namespace movierec

#endif  // MOVIEREC_DATA_FEATURES_H_
