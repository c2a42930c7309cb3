#include "model/scorer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "index/top_k.h"
#include "util/prefetch.h"

namespace movierec {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Share of `movies` per genre.
RowVector GenreProfile(const Model& model, absl::Span<const int32_t> movies) {
  RowVector profile = RowVector::Zero(
      static_cast<Eigen::Index>(model.catalog.genre_names.size()));
  for (const int32_t movie : movies) {
    for (const int32_t g : model.catalog.movies[movie].genres) profile(g) += 1;
  }
  if (!movies.empty()) profile /= static_cast<float>(movies.size());
  return profile;
}

RowMatrix GenreProfiles(const Model& model) {
  const int genres = static_cast<int>(model.catalog.genre_names.size());
  RowMatrix profile = RowMatrix::Zero(model.num_users(), genres);
  for (int u = 0; u < model.num_users(); ++u) {
    profile.row(u) = GenreProfile(model, model.seen.Of(u));
  }
  return profile;
}

// The mean release year of `movies` that have one; 0 when none has.
float MeanReleaseYear(const Model& model, absl::Span<const int32_t> movies) {
  double sum = 0;
  int count = 0;
  for (const int32_t movie : movies) {
    const int32_t year = model.catalog.movies[movie].release_year;
    if (year > 0) {
      sum += year;
      ++count;
    }
  }
  return count > 0 ? static_cast<float>(sum / count) : 0.0f;
}

// Each user's mean release year over the seen movies (MeanReleaseYear).
std::vector<float> MeanReleaseYears(const Model& model) {
  std::vector<float> years(static_cast<size_t>(model.num_users()), 0.0f);
  for (int u = 0; u < model.num_users(); ++u) {
    years[u] = MeanReleaseYear(model, model.seen.Of(u));
  }
  return years;
}

// Sums of weights per movie over the movies one call touches, in an
// open-addressing table of about twice their number: the item source's way
// on a catalogue its weights cover little of. The catalogue-wide tables it
// replaces there (a float a movie for the sum, a byte to mark it touched,
// and, unless a filter excludes more movies than the call touches, `place`
// read for each movie touched, to leave out the excluded) are read at
// random over megabytes on a large catalogue; these slots stay in the
// caches. A movie's sum adds its weights in the order they come, as the
// catalogue-wide table does, so both give the same floats.
class SparseSums {
 public:
  // Empties the sums, with room for `movies` distinct movies.
  void Reset(int64_t movies) {
    for (const uint32_t slot : used_) slots_[slot].movie = kEmpty;
    used_.clear();
    bits_ = 4;
    while ((int64_t{1} << bits_) < 2 * movies) ++bits_;
    const size_t capacity = size_t{1} << bits_;
    // Only the first `capacity` slots are used; all are empty here.
    if (slots_.size() < capacity) slots_.resize(capacity, Slot{kEmpty, 0.0f});
    mask_ = static_cast<uint32_t>(capacity - 1);
  }

  void Add(int32_t movie, float weight) {
    const uint32_t slot = Probe(movie);
    Slot& s = slots_[slot];
    if (s.movie == movie) {
      s.sum += weight;
    } else {
      s = Slot{movie, weight};
      used_.push_back(slot);
    }
  }

  // Scores the movie -infinity if any of its weights was added, so that a
  // selection over the sums never takes it.
  void Exclude(int32_t movie) {
    Slot& s = slots_[Probe(movie)];
    if (s.movie == movie) s.sum = -std::numeric_limits<float>::infinity();
  }

  // The movie's sum; 0 when none of its weights was added.
  float Of(int32_t movie) const {
    const Slot& s = slots_[Probe(movie)];
    return s.movie == movie ? s.sum : 0.0f;
  }

  // The movies touched, in the order they first were, and their sums.
  size_t size() const { return used_.size(); }
  int32_t movie(size_t i) const { return slots_[used_[i]].movie; }
  float sum(size_t i) const { return slots_[used_[i]].sum; }

 private:
  static constexpr int32_t kEmpty = -1;
  struct Slot {
    int32_t movie;
    float sum;
  };

  // The slot that holds the movie, or the empty one where it would go:
  // linear probing from its Fibonacci hash (the top bits of the row times
  // 2^32 / phi).
  uint32_t Probe(int32_t movie) const {
    uint32_t slot =
        (static_cast<uint32_t>(movie) * 2654435769u) >> (32 - bits_);
    while (slots_[slot].movie != movie && slots_[slot].movie != kEmpty) {
      slot = (slot + 1) & mask_;
    }
    return slot;
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> used_;
  int bits_ = 4;
  uint32_t mask_ = 15;
};

}  // namespace

bool MovieFilter::Admits(const Movie& movie) const {
  if (min_release_year > 0 || max_release_year > 0) {
    if (movie.release_year <= 0) return false;
    if (min_release_year > 0 && movie.release_year < min_release_year) {
      return false;
    }
    if (max_release_year > 0 && movie.release_year > max_release_year) {
      return false;
    }
  }
  if (genres.empty()) return true;
  for (const int32_t g : movie.genres) {
    if (std::find(genres.begin(), genres.end(), g) != genres.end()) return true;
  }
  return false;
}

Scorer::Scorer(std::shared_ptr<const Model> model, ScorerOptions options)
    : Scorer(model, MakeFlatIndex(model->movie_vectors), options) {}

Scorer::Scorer(std::shared_ptr<const Model> model,
               std::unique_ptr<CandidateIndex> index, ScorerOptions options)
    : model_(std::move(model)), index_(std::move(index)), options_(options) {
  by_popularity_.resize(model_->popularity.size());
  std::iota(by_popularity_.begin(), by_popularity_.end(), 0);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(),
                   [this](int32_t a, int32_t b) {
                     return model_->popularity[a] > model_->popularity[b];
                   });
  if (model_->rating) {
    rating_users_ = model_->rating->UserVectors(model_->seen);
    rating_movies_ = model_->rating->MovieVectors(model_->popularity);
    mean_rating_user_ = rating_users_.rows() > 0
                            ? RowVector(rating_users_.colwise().mean())
                            : RowVector::Zero(rating_users_.cols());
  }
  // Always: reranker training computes features on models without one.
  genre_profile_ = GenreProfiles(*model_);
  user_year_ = MeanReleaseYears(*model_);
  if (model_->item_neighbors) {
    neighbors_ =
        std::shared_ptr<const ItemNeighbors>(model_, &*model_->item_neighbors);
  } else if (model_->reranker) {
    neighbors();  // an older version: built at load, not in the first call
  }
  if (model_->sources && model_->sources->has_item_source()) {
    // The item table's transpose: each movie's weights towards others.
    const ItemNeighbors by_source = model_->sources->item_table.Transposed();
    item_offsets_ = by_source.offsets();
    item_targets_ = by_source.rows();
    item_weights_ = by_source.all_similarities();
  }
  double ratings = 0;
  for (const int32_t count : model_->popularity) ratings += count;
  log_mean_popularity_ = static_cast<float>(
      std::log1p(ratings / std::max<size_t>(model_->popularity.size(), 1)));
  // Logarithms the features take per candidate, once per model rather than
  // once per candidate and call (log1pf stood out in a Recommend profile).
  movie_traits_.resize(model_->catalog.movies.size());
  for (size_t m = 0; m < movie_traits_.size(); ++m) {
    const Movie& movie = model_->catalog.movies[m];
    MovieTraits& traits = movie_traits_[m];
    if (m < model_->popularity.size()) {
      traits.relative_popularity =
          std::log1p(static_cast<float>(model_->popularity[m])) -
          log_mean_popularity_;
    }
    if (movie.release_year > 0) {
      traits.release_year = static_cast<float>(movie.release_year);
      traits.release_feature = std::clamp(
          static_cast<float>(movie.release_year - 1990) / 10.0f, -6.0f, 1.0f);
    }
    traits.genre_norm = std::sqrt(static_cast<float>(movie.genres.size()));
    traits.genres_begin = static_cast<int32_t>(movie_genres_.size());
    movie_genres_.insert(movie_genres_.end(), movie.genres.begin(),
                         movie.genres.end());
    traits.genres_end = static_cast<int32_t>(movie_genres_.size());
  }
  log_rank_.resize(static_cast<size_t>(std::max(options_.num_candidates, 0)));
  for (size_t i = 0; i < log_rank_.size(); ++i) {
    log_rank_[i] = std::log1p(static_cast<float>(i));
  }
}

const ItemNeighbors& Scorer::neighbors() const {
  absl::call_once(neighbors_once_, [this] {
    if (neighbors_ == nullptr) {
      neighbors_ = std::make_shared<const ItemNeighbors>(ItemNeighbors::Build(
          model_->seen, model_->num_movies(), kItemNeighbors));
    }
  });
  return *neighbors_;
}

UserContext Scorer::ForUser(int user) const {
  UserContext context;
  context.user = user;
  context.query = model_->user_vectors.row(user);
  if (model_->rating) context.rating_vector = rating_users_.row(user);
  context.genre_profile = genre_profile_.row(user);
  context.mean_release_year = user_year_[user];
  const absl::Span<const int32_t> seen = model_->seen.Of(user);
  context.history.assign(seen.begin(), seen.end());
  return context;
}

FoldIn Scorer::visitor_fold_in() const {
  return model_->retrieval && model_->retrieval->config().features.user_history
             ? FoldIn::kUserTower
             : FoldIn::kMeanOfMovies;
}

UserContext Scorer::ForVisitor(absl::Span<const int32_t> movies) const {
  UserContext context;
  context.history.assign(movies.begin(), movies.end());
  std::sort(context.history.begin(), context.history.end());
  context.history.erase(
      std::unique(context.history.begin(), context.history.end()),
      context.history.end());
  const std::vector<int32_t>& watched = context.history;
  Bag bag;

  const auto dim = model_->movie_vectors.cols();
  context.query = RowVector::Zero(dim);
  if (visitor_fold_in() == FoldIn::kUserTower) {
    model_->retrieval->featurizer().UserBag(-1, watched, -1, &bag);
    model_->retrieval->EncodeUser(bag, context.query.data());
  } else if (!watched.empty()) {
    for (const int32_t movie : watched) {
      context.query += model_->movie_vectors.row(movie);
    }
    context.query /= static_cast<float>(watched.size());
    // The user side of the bias column is a constant 1 (retrieval_model.h).
    if (model_->retrieval && model_->retrieval->config().movie_bias) {
      context.query(dim - 1) = 1.0f;
    }
  }

  if (model_->rating) {
    if (model_->rating->config().features.user_history) {
      bag.clear();
      model_->rating->featurizer().UserBag(-1, watched, -1, &bag);
      context.rating_vector.resize(model_->rating->tower_dim());
      model_->rating->EncodeUser(bag, context.rating_vector.data());
    } else {
      // An id-only rating model knows nothing of a visitor: the average user.
      context.rating_vector = mean_rating_user_;
    }
  }
  context.genre_profile = GenreProfile(*model_, watched);
  context.mean_release_year = MeanReleaseYear(*model_, watched);
  return context;
}

std::vector<int32_t> Scorer::Excluded(absl::Span<const int32_t> history,
                                      const MovieFilter& filter) const {
  if (filter.empty()) {
    return std::vector<int32_t>(history.begin(), history.end());
  }
  const std::vector<Movie>& movies = model_->catalog.movies;
  // With an allow-list every movie starts out excluded but those on it.
  std::vector<char> out(movies.size(), filter.include.empty() ? 0 : 1);
  for (const int32_t movie : filter.include) out[movie] = 0;
  for (const int32_t movie : history) out[movie] = 1;
  for (const int32_t movie : filter.exclude) out[movie] = 1;
  if (filter.restricts_catalogue()) {
    for (size_t m = 0; m < movies.size(); ++m) {
      if (!filter.Admits(movies[m])) out[m] = 1;
    }
  }
  std::vector<int32_t> excluded;
  for (size_t m = 0; m < out.size(); ++m) {
    if (out[m]) excluded.push_back(static_cast<int32_t>(m));
  }
  return excluded;
}

int Scorer::NumToRetrieve(int count) const {
  return ranks() ? std::max(count, options_.num_candidates) : count;
}

std::vector<Candidate> Scorer::RetrieveForQuery(
    const float* query, absl::Span<const int32_t> exclude, int count) const {
  return index_->Search(query, count, exclude);
}

CandidateSet Scorer::RetrieveCandidates(const UserContext& context,
                                        absl::Span<const int32_t> excluded,
                                        int count) const {
  return AddSourceCandidates(
      context, excluded,
      RetrieveForQuery(context.query.data(), excluded, count));
}

CandidateSet Scorer::AddSourceCandidates(
    const UserContext& context, absl::Span<const int32_t> excluded,
    std::vector<Candidate> retrieved) const {
  CandidateSet set;
  set.movies = std::move(retrieved);
  set.retrieved = static_cast<int>(set.movies.size());
  set.sources.assign(set.movies.size(), kSourceRetrieval);
  set.item_scores.assign(set.movies.size(), 0.0f);
  if (!model_->sources) return set;
  const CandidateSources& sources = *model_->sources;
  const size_t num_movies = model_->popularity.size();
  // Per-thread tables of one entry per movie, left all 0 between calls (a
  // call resets only the entries it set, or the whole score table when it
  // used it, so it costs O(what it touches), not O(catalogue)): the item
  // source's score (when its weights outnumber an eighth of the catalogue;
  // otherwise the sums are kept in `sparse`); the movie's place in the set
  // + 1, or -1 when excluded. The loops below read them through plain
  // pointers: through the thread_local vectors themselves the compiler
  // reloaded each one's address on every weight (the top of a Recommend
  // profile).
  thread_local std::vector<float> item_score_table;
  thread_local std::vector<int32_t> place_table;
  thread_local SparseSums sparse;
  thread_local std::vector<int32_t> touched;
  thread_local std::vector<float> touched_scores;
  thread_local internal::TopK top;
  thread_local std::vector<Candidate> chosen;
  if (item_score_table.size() < num_movies) {
    item_score_table.assign(num_movies, 0.0f);
    place_table.assign(num_movies, 0);
  }
  float* const item_score = item_score_table.data();
  int32_t* const place = place_table.data();
  // Where the item scores are: item_score (reset whole after the call),
  // `sparse`, or neither (all 0 in item_score).
  enum class Sums { kNone, kWholeTable, kSparse } sums = Sums::kNone;
  float item_scale = 1;  // history / movies read (kMaxItemSourceHistory)
  for (const int32_t movie : excluded) place[movie] = -1;
  for (size_t i = 0; i < set.movies.size(); ++i) {
    place[set.movies[i].row] = static_cast<int32_t>(i) + 1;
  }
  // Proposes `movie` (not excluded) for `bit`: marks it if the set holds
  // it, else appends it.
  const auto propose = [&](int32_t movie, CandidateSourceBit bit) {
    if (place[movie] > 0) {
      set.sources[place[movie] - 1] |= bit;
      return;
    }
    set.movies.push_back(
        {movie, model_->movie_vectors.row(movie).dot(context.query)});
    set.sources.push_back(bit);
    set.item_scores.push_back(0.0f);
    place[movie] = static_cast<int32_t>(set.movies.size());
  };
  if (!item_offsets_.empty()) {
    // The history's weights, summed per movie they point to; then the
    // item_budget best movies of positive sum, not excluded (higher sum
    // first, lower row on ties). Two ways there, with the same result:
    // when the weights outnumber an eighth of the catalogue, the loop over
    // them only adds into the table of the whole catalogue, and one
    // selection runs over it (the excluded movies scored -infinity);
    // otherwise they are summed in a hash table of the movies they touch
    // (SparseSums), and the selection runs over those.
    const int32_t* const targets = item_targets_.data();
    const float* const weights = item_weights_.data();
    // The history movies read (kMaxItemSourceHistory): all, or an even
    // sample of a longer history.
    thread_local std::vector<int32_t> sample;
    absl::Span<const int32_t> read = context.history;
    const size_t history = context.history.size();
    if (history > static_cast<size_t>(kMaxItemSourceHistory)) {
      const size_t used = kMaxItemSourceHistory;
      sample.resize(used);
      for (size_t k = 0; k < used; ++k) {
        sample[k] = context.history[k * history / used];
      }
      read = sample;
      item_scale = static_cast<float>(history) / static_cast<float>(used);
    }
    int64_t entries = 0;
    for (const int32_t j : read) {
      entries += item_offsets_[j + 1] - item_offsets_[j];
    }
    constexpr float kNever = -std::numeric_limits<float>::infinity();
    if (entries * 8 >= static_cast<int64_t>(num_movies)) {
      sums = Sums::kWholeTable;
      for (const int32_t j : read) {
        const int64_t end = item_offsets_[j + 1];
        for (int64_t e = item_offsets_[j]; e < end; ++e) {
          item_score[targets[e]] += weights[e];
        }
      }
      for (const int32_t movie : excluded) item_score[movie] = kNever;
      top.SelectRows(item_score, static_cast<int64_t>(num_movies),
                     sources.item_budget, &chosen);
    } else {
      sums = Sums::kSparse;
      sparse.Reset(entries);
      // A large catalogue's weights are far apart in memory: the lists of
      // the history movies kAhead places on are requested while this one
      // is summed.
      constexpr size_t kAhead = 4;
      const auto prefetch = [&](size_t k) {
        const int32_t j = read[k];
        const int64_t begin = item_offsets_[j];
        const auto bytes =
            static_cast<size_t>(item_offsets_[j + 1] - begin) * 4;
        PrefetchForRead(targets + begin, bytes);
        PrefetchForRead(weights + begin, bytes);
      };
      for (size_t k = 0; k < std::min(kAhead, read.size()); ++k) prefetch(k);
      for (size_t k = 0; k < read.size(); ++k) {
        if (k + kAhead < read.size()) prefetch(k + kAhead);
        const int32_t j = read[k];
        const int64_t end = item_offsets_[j + 1];
        for (int64_t e = item_offsets_[j]; e < end; ++e) {
          sparse.Add(targets[e], weights[e]);
        }
      }
      // The excluded movies left out by the fewer lookups: each excluded
      // movie among the touched (a history), or each touched movie in the
      // catalogue-wide `place` (a filter that excludes most of the
      // catalogue).
      const bool few_excluded = excluded.size() <= sparse.size();
      if (few_excluded) {
        for (const int32_t movie : excluded) sparse.Exclude(movie);
      }
      touched.resize(sparse.size());
      touched_scores.resize(sparse.size());
      for (size_t t = 0; t < sparse.size(); ++t) {
        const int32_t movie = sparse.movie(t);
        touched[t] = movie;
        touched_scores[t] =
            few_excluded || place[movie] >= 0 ? sparse.sum(t) : kNever;
      }
      top.Reset(sources.item_budget);
      top.Add(touched.data(), touched_scores.data(),
              static_cast<int64_t>(touched.size()));
      top.Take(&chosen);
    }
    for (const Candidate& c : chosen) {
      if (!(c.score > 0)) break;  // best first: the rest are not positive
      propose(c.row, kSourceItems);
    }
  }
  int popular = 0;
  for (const int32_t movie : by_popularity_) {
    if (popular >= sources.popular_budget) break;
    if (place[movie] < 0) continue;
    propose(movie, kSourcePopular);
    ++popular;
  }
  for (size_t i = 0; i < set.movies.size(); ++i) {
    const int32_t movie = set.movies[i].row;
    const float sum =
        sums == Sums::kSparse ? sparse.Of(movie) : item_score[movie];
    set.item_scores[i] = sum * item_scale;
    place[movie] = 0;
  }
  for (const int32_t movie : excluded) place[movie] = 0;
  if (sums == Sums::kWholeTable) {
    std::fill(item_score, item_score + num_movies, 0.0f);
  }
  return set;
}

std::vector<CandidateSet> Scorer::RetrieveCandidatesBatch(
    absl::Span<const UserContext* const> contexts,
    absl::Span<const absl::Span<const int32_t>> excluded,
    absl::Span<const int> counts) const {
  thread_local RowMatrix queries;
  queries.resize(static_cast<Eigen::Index>(contexts.size()),
                 model_->movie_vectors.cols());
  for (size_t i = 0; i < contexts.size(); ++i) {
    queries.row(static_cast<Eigen::Index>(i)) = contexts[i]->query;
  }
  std::vector<std::vector<Candidate>> retrieved =
      index_->SearchBatch(queries.data(), counts, excluded);
  std::vector<CandidateSet> sets;
  sets.reserve(retrieved.size());
  for (size_t i = 0; i < retrieved.size(); ++i) {
    sets.push_back(AddSourceCandidates(*contexts[i], excluded[i],
                                       std::move(retrieved[i])));
  }
  return sets;
}

std::vector<ScoredMovie> Scorer::Retrieve(int user, int count) const {
  std::vector<ScoredMovie> result;
  for (const Candidate& c :
       RetrieveForQuery(model_->user_vectors.row(user).data(),
                        model_->seen.Of(user), count)) {
    result.push_back({c.row, c.score, c.score});
  }
  return result;
}

std::vector<ScoredMovie> Scorer::Recommend(int user, int count,
                                           StageTimes* times) const {
  StageTimes ignored;
  if (times == nullptr) times = &ignored;
  const auto start = std::chrono::steady_clock::now();
  const UserContext context = ForUser(user);
  const double context_seconds = SecondsSince(start);
  std::vector<ScoredMovie> result = Recommend(context, count, times);
  // Building the context is part of the retrieval stage.
  times->retrieval_seconds += context_seconds;
  return result;
}

std::vector<ScoredMovie> Scorer::Recommend(const UserContext& context,
                                           int count, StageTimes* times) const {
  StageTimes ignored;
  if (times == nullptr) times = &ignored;
  auto start = std::chrono::steady_clock::now();
  const CandidateSet candidates =
      RetrieveCandidates(context, context.history, NumToRetrieve(count));
  times->retrieval_seconds = SecondsSince(start);
  if (!ranks()) return Rank(context, candidates, count);
  start = std::chrono::steady_clock::now();
  std::vector<ScoredMovie> result = Rank(context, candidates, count);
  times->ranking_seconds = SecondsSince(start);
  return result;
}

std::vector<ScoredMovie> Scorer::Rank(const UserContext& context,
                                      const CandidateSet& set,
                                      int count) const {
  const std::vector<Candidate>& candidates = set.movies;
  const size_t keep =
      std::min(candidates.size(), static_cast<size_t>(std::max(count, 0)));
  if (!ranks()) {
    std::vector<ScoredMovie> result;
    result.reserve(keep);
    for (size_t i = 0; i < keep; ++i) {
      result.push_back(
          {candidates[i].row, candidates[i].score, candidates[i].score});
    }
    return result;
  }
  const auto n = static_cast<Eigen::Index>(candidates.size());
  // Per-thread scratch: a serving call allocates only its result.
  thread_local Vector scores;
  thread_local RowMatrix features;
  thread_local std::vector<int32_t> rows;
  thread_local std::vector<ScoredMovie> ranked;
  scores.resize(n);
  if (model_->reranker) {
    CandidateFeatures(context, set, &features);
    model_->reranker->Score(features, &scores);
  } else {
    rows.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) rows[i] = candidates[i].row;
    model_->rating->Predict(context.rating_vector.data(), rating_movies_, rows,
                            scores.data());
  }
  ranked.resize(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    ranked[i] = {candidates[i].row, scores(static_cast<Eigen::Index>(i)),
                 candidates[i].score};
  }
  // Ties fall back to the retrieval order, so the result is deterministic.
  const auto better = [](const ScoredMovie& a, const ScoredMovie& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.retrieval_score != b.retrieval_score) {
      return a.retrieval_score > b.retrieval_score;
    }
    return a.movie < b.movie;
  };
  std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(),
                    better);
  return std::vector<ScoredMovie>(ranked.begin(), ranked.begin() + keep);
}

void Scorer::CandidateFeatures(const UserContext& context,
                               const CandidateSet& set,
                               RowMatrix* features) const {
  const std::vector<Candidate>& candidates = set.movies;
  const auto n = static_cast<Eigen::Index>(candidates.size());
  features->setZero(n, kNumRerankFeatures);
  if (n == 0) return;
  // Per-thread scratch: a serving call allocates none of these.
  thread_local Vector retrieval;
  thread_local Vector predicted;
  thread_local Vector item_source;
  thread_local std::vector<int32_t> rows;
  thread_local std::vector<ItemNeighbors::Affinity> affinities;
  retrieval.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) retrieval(i) = candidates[i].score;
  const float mean = retrieval.mean();
  const float deviation =
      std::max(1e-6f, std::sqrt((retrieval.array() - mean).square().mean()));
  const float best = retrieval.maxCoeff();
  predicted.setZero(n);
  rows.resize(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) rows[i] = candidates[i].row;
  if (model_->rating) {
    model_->rating->Predict(context.rating_vector.data(), rating_movies_, rows,
                            predicted.data());
  }
  const float mean_predicted = predicted.mean();
  const absl::Span<const int32_t> history = context.history;
  const float activity = std::log1p(static_cast<float>(history.size()));
  // The item source's scores, per sqrt(history) like kItemAffinity.
  item_source.resize(n);
  const float per_history =
      history.empty() ? 0.0f
                      : 1.0f / std::sqrt(static_cast<float>(history.size()));
  for (Eigen::Index i = 0; i < n; ++i) {
    item_source(i) = set.item_scores[i] * per_history;
  }
  const float item_mean = item_source.mean();
  const float item_deviation = std::max(
      1e-6f, std::sqrt((item_source.array() - item_mean).square().mean()));
  const float log_beyond_retrieval =
      std::log1p(static_cast<float>(set.retrieved));
  affinities.resize(candidates.size());
  neighbors().AffinitiesTo(rows, history, affinities.data());
  for (Eigen::Index i = 0; i < n; ++i) {
    const Candidate& c = candidates[i];
    const MovieTraits& movie = movie_traits_[c.row];
    auto f = features->row(i);
    f(kRetrievalZ) = (c.score - mean) / deviation;
    f(kRetrievalGap) = (c.score - best) / deviation;
    f(kLogRank) = i >= set.retrieved ? log_beyond_retrieval
                  : static_cast<size_t>(i) < log_rank_.size()
                      ? log_rank_[i]
                      : std::log1p(static_cast<float>(i));
    f(kPredictedRating) = predicted(i);
    f(kRelativeRating) = predicted(i) - mean_predicted;
    f(kRelativePopularity) = movie.relative_popularity;
    f(kLogUserActivity) = activity;
    if (movie.genres_end > movie.genres_begin) {
      float overlap = 0;
      for (int32_t g = movie.genres_begin; g < movie.genres_end; ++g) {
        overlap += context.genre_profile(movie_genres_[g]);
      }
      f(kGenreAffinity) = overlap / movie.genre_norm;
    }
    f(kItemAffinity) = affinities[i].sum;
    f(kItemClosest) = affinities[i].closest;
    if (movie.release_year > 0) {
      f(kReleaseYear) = movie.release_feature;
      if (context.mean_release_year > 0) {
        f(kYearDistance) =
            std::abs(movie.release_year - context.mean_release_year) / 10.0f;
      }
    }
    f(kPopularityActivity) = f(kRelativePopularity) * activity;
    f(kItemSourceScore) = item_source(i);
    f(kItemSourceZ) = (item_source(i) - item_mean) / item_deviation;
    f(kFromRetrieval) = (set.sources[i] & kSourceRetrieval) ? 1.0f : 0.0f;
    f(kFromItems) = (set.sources[i] & kSourceItems) ? 1.0f : 0.0f;
    f(kFromPopular) = (set.sources[i] & kSourcePopular) ? 1.0f : 0.0f;
  }
}

std::vector<ScoredMovie> Scorer::Popular(
    int count, absl::Span<const int32_t> exclude) const {
  std::vector<ScoredMovie> result;
  for (const int32_t movie : by_popularity_) {
    if (static_cast<int>(result.size()) >= count) break;
    if (std::binary_search(exclude.begin(), exclude.end(), movie)) continue;
    const auto score = static_cast<float>(model_->popularity[movie]);
    result.push_back({movie, score, 0.0f});
  }
  return result;
}

}  // namespace movierec
