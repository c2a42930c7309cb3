#include "index/index_factory.h"

#include "index/faiss_index.h"

namespace movierec {

absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildIndex(
    const RowMatrix& vectors, const IndexOptions& options) {
  if (absl::Status status = ValidateIndexOptions(options); !status.ok()) {
    return status;
  }
  if (absl::Status status = internal::CheckVectors(vectors); !status.ok()) {
    return status;
  }
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
