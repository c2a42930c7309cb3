// An immutable, loaded model version: the model, its indexes (retrieval and
// movie similarity) and the id and genre-name lookups. The server swaps whole
// snapshots; a request keeps the snapshot it started with until it ends, so a
// reload never changes a request midway.
//
// Safe to share between threads (everything is const after Load).
#ifndef MOVIEREC_SERVER_SNAPSHOT_H_
#define MOVIEREC_SERVER_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "model/model.h"
#include "model/movie_similarity.h"
#include "model/scorer.h"
#include "server/result_cache.h"

namespace movierec {

class Snapshot {
 public:
  // Reads and validates MODEL_BASE/<version>/ and loads its saved index, or
  // builds an exact one when it has none (model/version_index.h). An IVF
  // index searches with `ivf_nprobe` cells when it is above 0, else with
  // the nprobe saved in the version. Its result cache keeps up to
  // `result_cache_bytes` (0: none).
  static absl::StatusOr<std::shared_ptr<const Snapshot>> Load(
      const std::string& model_base, int64_t version,
      const ScorerOptions& options = {}, int ivf_nprobe = 0,
      int64_t result_cache_bytes = 0);

  // Wraps an already built model (tests, benchmarks), with an exact index.
  Snapshot(int64_t version, std::shared_ptr<const Model> model,
           const ScorerOptions& options = {}, int64_t result_cache_bytes = 0);
  // Wraps a model and its index (not null; over model->movie_vectors).
  Snapshot(int64_t version, std::shared_ptr<const Model> model,
           std::unique_ptr<CandidateIndex> index,
           const ScorerOptions& options = {}, int64_t result_cache_bytes = 0);

  int64_t version() const { return version_; }
  const std::string& version_string() const { return version_string_; }
  const Model& model() const { return scorer_.model(); }
  const Scorer& scorer() const { return scorer_; }
  const MovieSimilarity& similarity() const { return similarity_; }
  // The known users' plain Recommend answers (server/result_cache.h).
  const ResultCache& result_cache() const { return result_cache_; }
  // An estimate of the memory the snapshot holds: its user and movie
  // vectors, the index's and the similarity search's copies of the movie
  // vectors, the lookups, and the most its result cache may hold (every
  // known user's list of ten, within its budget). For the memory budget
  // (server/memory_limit.h).
  int64_t model_bytes() const { return model_bytes_; }

  // The row of a user id as the API spells it (ExternalId: "138" for
  // MovieLens, the generic format's string, e.g. "u-abc"), or -1 when the id
  // is not a known user.
  int UserRow(const std::string& user_id) const;
  // The row of a movie id as the API spells it, or -1.
  int MovieRow(const std::string& movie_id) const;
  // The index of a genre name as in u.genre ("Comedy"; exact case), or -1.
  int GenreIndex(const std::string& name) const;
  // The API's id of the movie at `row` (0 <= row < movies): ExternalId
  // (its MovieLens id as text, or its string id), made once per snapshot
  // rather than once per answer.
  const std::string& MovieId(int row) const { return movie_ids_[row]; }
  // Whether any movie of the catalogue has a release year (data without
  // years, e.g. the generic format's items.csv without its year column,
  // has none: a year filter then cannot be met).
  bool has_release_years() const { return has_release_years_; }

 private:
  int64_t version_;
  std::string version_string_;
  int64_t model_bytes_ = 0;
  Scorer scorer_;
  MovieSimilarity similarity_;
  ResultCache result_cache_;
  absl::flat_hash_map<std::string, int32_t> user_rows_;
  absl::flat_hash_map<std::string, int32_t> movie_rows_;
  std::vector<std::string> movie_ids_;  // by row
  absl::flat_hash_map<std::string, int32_t> genres_;
  bool has_release_years_ = false;
};

}  // namespace movierec

#endif  // MOVIEREC_SERVER_SNAPSHOT_H_
