// One trained model version in memory: what the trainer writes and what the
// server and the offline evaluator read (see bundle.h for the disk form).
//
// A Model is a plain value; once built, share it as std::shared_ptr<const
// Model> and it is safe to read from any number of threads.
#ifndef MOVIEREC_MODEL_MODEL_H_
#define MOVIEREC_MODEL_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/movielens.h"
#include "index/index_io.h"
#include "model/item_neighbors.h"
#include "model/rating_model.h"
#include "model/reranker.h"
#include "model/retrieval_model.h"
#include "util/eigen_types.h"

namespace movierec {

// A candidate index saved in the version directory beside model.bin (proto
// IndexFile): what the bundle says of it.
struct SavedIndex {
  std::string file_name;  // in the version directory, e.g. "index.faiss"
  IndexFileInfo file;     // kind, size and CRC-32
  std::string description;
};

// The most candidates a Scorer retrieves before ranking (and a source
// adds).
inline constexpr int kMaxNumCandidates = 10000;

// The candidate sources of a version beside retrieval (model/scorer.h),
// each with its budget: how many candidates it adds at most.
struct CandidateSources {
  // Item-to-item: a user's score of movie i is the sum of the weights
  // towards i of the movies in their history, here indexed by i
  // (model/ease.h); empty: no item-to-item source.
  ItemNeighbors item_table;
  std::string item_kind;  // "ease" or "cooccurrence"; "" without the source
  int item_budget = 0;
  // Popularity: the most-rated movies the user has not seen.
  int popular_budget = 0;

  bool has_item_source() const { return !item_kind.empty(); }
};

struct Model {
  // Genres, movies and users (catalog.ratings is empty). Row i of every
  // per-movie (per-user) field below describes catalog.movies[i] (users[i]).
  MovieLens catalog;
  // Retrieval vectors: score(user, movie) = user_vectors.row(u) .
  // movie_vectors.row(m).
  RowMatrix user_vectors;
  RowMatrix movie_vectors;
  // The movies each user rated in training: never recommended to them.
  UserMovies seen;
  // Training ratings per movie.
  std::vector<int32_t> popularity;
  // The towers, to encode users the vectors do not cover.
  std::optional<RetrievalModel> retrieval;
  // The ranking stage: the rating model predicts stars (and ranks the
  // candidates when there is no reranker); the reranker orders them.
  std::optional<RatingModel> rating;
  std::optional<Reranker> reranker;
  // The candidate index the trainer saved (model/version_index.h); absent:
  // the server builds an exact index over movie_vectors.
  std::optional<SavedIndex> saved_index;
  // The reranker's co-rating neighbours of every movie, built by the
  // trainer from `seen`; absent (older versions): the Scorer builds them.
  std::optional<ItemNeighbors> item_neighbors;
  // The sources besides retrieval that give the ranking stage candidates
  // (Scorer::RetrieveCandidates); absent (older versions): retrieval alone.
  std::optional<CandidateSources> sources;

  // Provenance.
  std::string created_at;
  std::string code_version;
  std::string config_json;

  int num_users() const { return static_cast<int>(catalog.users.size()); }
  int num_movies() const { return static_cast<int>(catalog.movies.size()); }
};

// Training ratings per movie row.
std::vector<int32_t> Popularity(int num_movies,
                                const std::vector<Interaction>& train);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_MODEL_H_
