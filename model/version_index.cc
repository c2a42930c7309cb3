#include "model/version_index.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "index/index_io.h"
#include "util/status_macros.h"

namespace movierec {

absl::StatusOr<std::unique_ptr<CandidateIndex>> LoadVersionIndex(
    const std::string& version_dir, const Model& model) {
  if (!model.saved_index) {
    std::unique_ptr<CandidateIndex> flat = MakeFlatIndex(model.movie_vectors);
    if (flat == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          version_dir, ": the movie vectors have no columns to index"));
    }
    return flat;
  }
  const std::string path =
      absl::StrCat(version_dir, "/", model.saved_index->file_name);
  MOVIEREC_ASSIGN_OR_RETURN(std::unique_ptr<CandidateIndex> index,
                            LoadIndex(path, &model.saved_index->file));
  if (index->dim() != model.movie_vectors.cols() ||
      index->size() != model.movie_vectors.rows()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the index holds ", index->size(), " vectors of dimension ",
        index->dim(), ", the bundle ", model.movie_vectors.rows(),
        " of dimension ", model.movie_vectors.cols()));
  }
  return index;
}

}  // namespace movierec
