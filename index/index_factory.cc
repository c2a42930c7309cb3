#include "index/index_factory.h"

#include "index/faiss_index.h"
#include "util/status_macros.h"

namespace movierec {

absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildIndex(
    const RowMatrix& vectors, const IndexOptions& options) {
  MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
  MOVIEREC_RETURN_IF_ERROR(internal::CheckVectors(vectors));
  switch (ResolveIndexKind(options, vectors.rows())) {
    case IndexKind::kHnsw:
      return internal::BuildHnsw(vectors, options);
    case IndexKind::kIvf:
      return internal::BuildIvf(vectors, options);
    case IndexKind::kFlat:
    case IndexKind::kAuto:
      break;
  }
  return internal::BuildFlat(vectors, options);
}

}  // namespace movierec
