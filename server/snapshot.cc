#include "server/snapshot.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "model/version_index.h"
#include "util/status_macros.h"

namespace movierec {

absl::StatusOr<std::shared_ptr<const Snapshot>> Snapshot::Load(
    const std::string& model_base, int64_t version,
    const ScorerOptions& options, int ivf_nprobe, int64_t result_cache_bytes) {
  const std::string dir = absl::StrCat(model_base, "/", version);
  MOVIEREC_ASSIGN_OR_RETURN(Model model, ReadModelVersion(dir));
  MOVIEREC_ASSIGN_OR_RETURN(std::unique_ptr<CandidateIndex> index,
                            LoadVersionIndex(dir, model));
  if (ivf_nprobe > 0 && index->kind() == IndexKind::kIvf) {
    IndexOptions search;
    search.ivf_nprobe = ivf_nprobe;
    MOVIEREC_ASSIGN_OR_RETURN(index, index->WithSearchOptions(search));
  }
  return std::make_shared<const Snapshot>(
      version, std::make_shared<const Model>(std::move(model)),
      std::move(index), options, result_cache_bytes);
}

Snapshot::Snapshot(int64_t version, std::shared_ptr<const Model> model,
                   const ScorerOptions& options, int64_t result_cache_bytes)
    : Snapshot(version, model, MakeFlatIndex(model->movie_vectors), options,
               result_cache_bytes) {}

Snapshot::Snapshot(int64_t version, std::shared_ptr<const Model> model,
                   std::unique_ptr<CandidateIndex> index,
                   const ScorerOptions& options, int64_t result_cache_bytes)
    : version_(version),
      version_string_(absl::StrCat(version)),
      scorer_(std::move(model), std::move(index), options),
      similarity_(scorer_.model()),
      result_cache_(static_cast<int>(scorer_.model().catalog.users.size()),
                    result_cache_bytes) {
  const Model& m = scorer_.model();
  user_rows_.reserve(m.catalog.users.size());
  for (size_t i = 0; i < m.catalog.users.size(); ++i) {
    user_rows_.emplace(ExternalId(m.catalog.users[i]), static_cast<int32_t>(i));
  }
  movie_rows_.reserve(m.catalog.movies.size());
  movie_ids_.reserve(m.catalog.movies.size());
  for (size_t i = 0; i < m.catalog.movies.size(); ++i) {
    movie_ids_.push_back(ExternalId(m.catalog.movies[i]));
    movie_rows_.emplace(movie_ids_.back(), static_cast<int32_t>(i));
    has_release_years_ |= m.catalog.movies[i].release_year > 0;
  }
  for (size_t g = 0; g < m.catalog.genre_names.size(); ++g) {
    genres_.emplace(m.catalog.genre_names[g], static_cast<int32_t>(g));
  }
  // Per user: its vector and its id's lookup entry (~64 bytes); per movie:
  // three copies of its vector, its title, genres and lookups (~256 bytes).
  const int64_t vector_bytes =
      static_cast<int64_t>(m.movie_vectors.cols()) * sizeof(float);
  model_bytes_ =
      static_cast<int64_t>(m.catalog.users.size()) * (vector_bytes + 64) +
      static_cast<int64_t>(m.catalog.movies.size()) * (3 * vector_bytes + 256);
  // The result cache, every known user's list of ten (the API's default
  // count) kept.
  constexpr size_t kListMovies = 10;
  model_bytes_ += result_cache_.MostBytes(kListMovies);
}

int Snapshot::UserRow(const std::string& user_id) const {
  const auto it = user_rows_.find(user_id);
  return it == user_rows_.end() ? -1 : it->second;
}

int Snapshot::MovieRow(const std::string& movie_id) const {
  const auto it = movie_rows_.find(movie_id);
  return it == movie_rows_.end() ? -1 : it->second;
}

int Snapshot::GenreIndex(const std::string& name) const {
  const auto it = genres_.find(name);
  return it == genres_.end() ? -1 : it->second;
}

}  // namespace movierec
