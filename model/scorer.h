// The recommendation path over one model version, shared by the server and
// the offline evaluator so that what is measured is what is served:
//
//   context:   who the list is for (UserContext): a user row the model
//              knows, or a visitor described by the movies they watched;
//   candidates: the context's query vector -> index top N (retrieval), the
//              context's history and any filtered-out movie left out; then
//              the version's other sources (model.h, CandidateSources),
//              each adding its best few: item-to-item (the history's EASE^R
//              weights) and popularity. Merged without duplicates, each
//              candidate marked with its sources and scores (CandidateSet);
//   ranking:   each candidate scored by the reranker (or, without one, by
//              the predicted rating), the list re-sorted, the top `count`.
//
// Recommend(user, ...) runs the three steps for a known user, and
// Recommend(context, ...) for any context (a visitor's); callers that
// need to stop between stages (the server checks deadlines there) call
// ForUser / ForVisitor, Excluded, RetrieveCandidates and Rank themselves.
//
// A Scorer is immutable and safe for concurrent use from many threads.
#ifndef MOVIEREC_MODEL_SCORER_H_
#define MOVIEREC_MODEL_SCORER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/types/span.h"
#include "index/candidate_index.h"
#include "model/item_neighbors.h"
#include "model/model.h"

namespace movierec {

struct ScoredMovie {
  int32_t movie = 0;          // movie row
  float score = 0;            // what the list is ordered by
  float retrieval_score = 0;  // the retrieval model's inner product
};

// Where a candidate came from: bits of CandidateSet::sources.
enum CandidateSourceBit : uint8_t {
  kSourceRetrieval = 1,
  kSourceItems = 2,
  kSourcePopular = 4,
};

// The ranking stage's candidates: retrieval's, in its order, then those the
// other sources add, each movie once.
struct CandidateSet {
  // .score: the retrieval model's inner product, for every candidate.
  std::vector<Candidate> movies;
  // Per movie: the sources that proposed it (CandidateSourceBit).
  std::vector<uint8_t> sources;
  // Per movie: the item-to-item source's score, the sum of the history's
  // weights towards it (0 without that source).
  std::vector<float> item_scores;
  // movies[0, retrieved) are retrieval's.
  int retrieved = 0;

  size_t size() const { return movies.size(); }
};

struct ScorerOptions {
  // Candidates retrieved before ranking (the server's --num_candidates),
  // 1 to kMaxNumCandidates.
  int num_candidates = 100;
};

// Where a call spent its time; a stage that did not run stays < 0.
struct StageTimes {
  double retrieval_seconds = -1;
  double ranking_seconds = -1;
};

// Who a list is for, as both stages see it: everything the pipeline knows of
// the user. Built from a known user row (Scorer::ForUser) or from the movies
// a visitor watched (Scorer::ForVisitor), so that the same code ranks both.
// A new per-user feature of the ranking stage becomes a field here.
struct UserContext {
  int user = -1;            // the user row; -1 for a visitor
  RowVector query;          // retrieval query, movie_vectors.cols() floats
  RowVector rating_vector;  // the rating model's user vector (empty without)
  RowVector genre_profile;  // share of the history per genre
  float mean_release_year = 0;  // over the history's dated movies; 0: none
  // The movies the user rated in training (a visitor: watched), sorted and
  // distinct: never recommended; their number is the user's activity.
  std::vector<int32_t> history;
};

// How a visitor's vectors are folded in from the movies they watched.
enum class FoldIn {
  // The trained user tower over a history-only bag (features.h): the towers
  // have history features (the default preset).
  kUserTower,
  // The mean of the watched movies' vectors (the bias entry, if any, set to
  // 1): id-only towers (the tfrs preset), which cannot encode a visitor.
  kMeanOfMovies,
};

// Which movies a list may hold, besides the context's history. Every part is
// optional; they combine with AND.
struct MovieFilter {
  std::vector<int32_t> genres;   // genre indices: a movie passes with any one
  int32_t min_release_year = 0;  // inclusive; 0: open
  int32_t max_release_year = 0;  // inclusive; 0: open
  std::vector<int32_t> exclude;  // movie rows, any order, repeats allowed
  // An allow-list of movie rows (any order, repeats allowed): when not
  // empty, no other movie passes.
  std::vector<int32_t> include;

  // Whether a movie passes the genre and year parts (not `exclude` nor
  // `include`). With a year bound, a movie of unknown year does not pass.
  bool Admits(const Movie& movie) const;
  bool restricts_catalogue() const {
    return !genres.empty() || min_release_year > 0 || max_release_year > 0;
  }
  // Whether the filter lets every movie through: no part of it is set.
  bool empty() const {
    return !restricts_catalogue() && exclude.empty() && include.empty();
  }
};

class Scorer {
 public:
  // Neighbours kept per movie for the item-affinity features: the training
  // config's default (reranker.item_neighbors; a version saves its table),
  // and the table built at load for a version saved without one. Chosen on
  // validation parts of the training data, never on test: over 10, 20, 50,
  // 100 and 200, 20 had the best mean served recall@10 and NDCG@10 on
  // MovieLens 100K (seeds 42, 1, 2; docs/models.md, "Item neighbours"),
  // though every value was within 0.002 NDCG@10 of it.
  static constexpr int kItemNeighbors = 20;
  // The most history movies the item-to-item source reads. A longer
  // history is read as an even sample of this many of its (sorted) movies,
  // its sums scaled by history / sample so that the item scores keep their
  // scale: a call's work is bounded whatever the user's activity (100
  // weights a movie; a synthetic user with 10,000 ratings cost a 100,000-
  // movie server tens of milliseconds, the p99 of every call around it).
  // The trainer's lists, the evaluator and the server read the same sample.
  // Of MovieLens 100K's 943 users, 3 have more than 625 ratings (500 in an
  // 80% training split).
  static constexpr int kMaxItemSourceHistory = 500;

  // Builds the exact index over `model`'s movie vectors.
  explicit Scorer(std::shared_ptr<const Model> model,
                  ScorerOptions options = {});
  Scorer(std::shared_ptr<const Model> model,
         std::unique_ptr<CandidateIndex> index, ScorerOptions options = {});

  const Model& model() const { return *model_; }
  const CandidateIndex& index() const { return *index_; }
  const ScorerOptions& options() const { return options_; }
  // Whether Recommend ranks (the model has a ranking stage).
  bool ranks() const { return model_->rating || model_->reranker; }

  // The served pipeline for user row `user`: the top `count` movies the user
  // has not seen, best first.
  std::vector<ScoredMovie> Recommend(int user, int count,
                                     StageTimes* times = nullptr) const;
  // The served pipeline for `context` (ForUser or ForVisitor) with no
  // filter: retrieval skipping the context's history, then ranking. A
  // request with recent_movie_ids and no user id is answered by the same
  // calls (server/recommender.cc makes them one by one, checking its
  // deadline in between).
  std::vector<ScoredMovie> Recommend(const UserContext& context, int count,
                                     StageTimes* times = nullptr) const;

  // Retrieval alone: the top `count` unseen movies by retrieval score.
  std::vector<ScoredMovie> Retrieve(int user, int count) const;

  /// The context of user row `user` (0 <= user < model().num_users()).
  UserContext ForUser(int user) const;
  /// The context of a visitor who watched `movies` (valid movie rows; order
  /// and repeats do not matter). With no movies the vectors are all zero.
  UserContext ForVisitor(absl::Span<const int32_t> movies) const;
  /// How ForVisitor builds the retrieval query of this model.
  FoldIn visitor_fold_in() const;

  /// The sorted, distinct movie rows that retrieval must skip: `history`
  /// (sorted), filter.exclude, every movie the filter does not admit and,
  /// with an allow-list (filter.include), every movie not on it. An
  /// allow-list thus reaches the index as the exclusion of its complement,
  /// so that every index kind applies it inside its search (its selector or
  /// bitmap) and returns `count` movies whenever that many are allowed.
  std::vector<int32_t> Excluded(absl::Span<const int32_t> history,
                                const MovieFilter& filter) const;

  /// How many candidates the retrieval stage fetches for a list of `count`.
  int NumToRetrieve(int count) const;

  /// Candidate stage: the top `count` movies by inner product with the
  /// context's query, skipping `excluded` (sorted), best first; then what
  /// the model's other sources add (AddSourceCandidates).
  CandidateSet RetrieveCandidates(const UserContext& context,
                                  absl::Span<const int32_t> excluded,
                                  int count) const;

  /// The candidate stage of many contexts at once: RetrieveCandidates of
  /// contexts[i], excluded[i] and counts[i] for each i (the same results),
  /// retrieval as one batch search of the index.
  std::vector<CandidateSet> RetrieveCandidatesBatch(
      absl::Span<const UserContext* const> contexts,
      absl::Span<const absl::Span<const int32_t>> excluded,
      absl::Span<const int> counts) const;

  /// Retrieval's `retrieved` (for `context`, skipping `excluded`, in its
  /// order) as a CandidateSet, with what the model's other sources add:
  /// the item-to-item source's best item_budget (only movies towards which
  /// the history's weights sum above 0) and the popularity source's
  /// popular_budget movies not in `excluded`, those retrieval did not
  /// propose appended in that order. Retrieval's alone when the model has
  /// no other sources (the trainer gives them to models with a reranker).
  CandidateSet AddSourceCandidates(const UserContext& context,
                                   absl::Span<const int32_t> excluded,
                                   std::vector<Candidate> retrieved) const;

  /// Ranking stage: the best `count` of `candidates` (RetrieveCandidates
  /// for `context`) by the ranking score; without a ranking stage, the
  /// first `count` by retrieval score.
  std::vector<ScoredMovie> Rank(const UserContext& context,
                                const CandidateSet& candidates,
                                int count) const;

  // The top `count` movies by retrieval score for a query vector
  // (model().movie_vectors.cols() floats), excluding `exclude` (sorted rows).
  std::vector<Candidate> RetrieveForQuery(const float* query,
                                          absl::Span<const int32_t> exclude,
                                          int count) const;

  // The reranker's raw features (reranker.h) of `candidates`
  // (RetrieveCandidates for `context`), in this order, as rows of
  // *features.
  void CandidateFeatures(const UserContext& context,
                         const CandidateSet& candidates,
                         RowMatrix* features) const;

  // The `count` most popular movies (most training ratings first, then lower
  // row) not in `exclude` (sorted). Their score is the rating count.
  std::vector<ScoredMovie> Popular(int count,
                                   absl::Span<const int32_t> exclude) const;

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<CandidateIndex> index_;
  ScorerOptions options_;
  std::vector<int32_t> by_popularity_;
  // The item-to-item source's weights by the movie they come from (the
  // transpose of CandidateSources::item_table): movie j's are
  // item_targets_[item_offsets_[j] .. item_offsets_[j + 1]), beside
  // item_weights_.
  std::vector<int64_t> item_offsets_;
  std::vector<int32_t> item_targets_;
  std::vector<float> item_weights_;
  // Serving caches of the ranking stage.
  RowMatrix rating_users_;      // rating-model user vectors
  RowMatrix rating_movies_;     // rating-model movie vectors
  RowVector mean_rating_user_;  // their mean: an id-only visitor's vector
  RowMatrix genre_profile_;     // [users, genres]: share of seen per genre
  // Co-occurrence neighbours of the seen movies (a reranker feature): the
  // model's, sharing its ownership, or for a model without them, built on
  // first use (never, when nothing computes reranker features).
  const ItemNeighbors& neighbors() const;
  mutable absl::once_flag neighbors_once_;
  mutable std::shared_ptr<const ItemNeighbors> neighbors_;
  std::vector<float> user_year_;  // mean release year of each user's movies
  float log_mean_popularity_ = 0;
  // What the features read of each movie, side by side in one small table
  // (24 bytes a movie), so that a candidate's features cost one
  // cache line, not a walk through the catalogue's Movie (its strings and
  // a separately allocated genre list: two misses per candidate under
  // load).
  struct MovieTraits {
    float relative_popularity = 0;  // log1p(rating count) - log mean
    float release_feature = 0;      // kReleaseYear's value; 0: undated
    float release_year = 0;         // 0: undated
    float genre_norm = 0;           // sqrt(number of genres)
    int32_t genres_begin = 0;       // the genres: movie_genres_[begin, end)
    int32_t genres_end = 0;
  };
  std::vector<MovieTraits> movie_traits_;
  std::vector<int32_t> movie_genres_;
  // log1p(i) for the first num_candidates ranks (a feature).
  std::vector<float> log_rank_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_SCORER_H_
