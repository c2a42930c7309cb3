// The candidate index of a model version, as the server serves it: the index
// the trainer saved in the version directory, or an exact one built over the
// movie vectors when it saved none (small catalogues).
#ifndef MOVIEREC_MODEL_VERSION_INDEX_H_
#define MOVIEREC_MODEL_VERSION_INDEX_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "index/candidate_index.h"
#include "model/model.h"

namespace movierec {

/// The index of the version in `version_dir`, whose bundle `model` is (as
/// ReadModelVersion returned it). A saved index is checked against the
/// bundle (size and CRC-32 before it is parsed, then its kind) and against
/// the movie vectors (dimension and row count); any mismatch is
/// InvalidArgument naming the index file. Without a saved index, builds the
/// exact index (MakeFlatIndex); InvalidArgument when the vectors have no
/// columns.
absl::StatusOr<std::unique_ptr<CandidateIndex>> LoadVersionIndex(
    const std::string& version_dir, const Model& model);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_VERSION_INDEX_H_
