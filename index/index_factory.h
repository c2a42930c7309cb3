// Builds a CandidateIndex of any kind from the movie vectors.
#ifndef MOVIEREC_INDEX_INDEX_FACTORY_H_
#define MOVIEREC_INDEX_INDEX_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "index/candidate_index.h"
#include "index/index_options.h"
#include "util/eigen_types.h"

namespace movierec {

/// Builds the index of kind ResolveIndexKind(options, vectors.rows()) over a
/// copy of `vectors` (one row per movie; inner-product scores). Building
/// HNSW or IVF uses the calling thread's OpenMP threads and takes minutes
/// for a million vectors (tests/bench/BENCHMARKS.md).
///
/// InvalidArgument when `options` do not validate, `vectors` has no columns
/// or a non-finite value (naming its row and column), or an IVF index has
/// fewer vectors than cells. Internal when FAISS fails (its message kept);
/// FAISS exceptions never escape.
absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildIndex(
    const RowMatrix& vectors, const IndexOptions& options);

}  // namespace movierec

#endif  // MOVIEREC_INDEX_INDEX_FACTORY_H_
