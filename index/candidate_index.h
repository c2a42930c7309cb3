// Candidate retrieval: top-k maximum-inner-product search over the movie
// vectors, leaving out movies the caller names (a user's seen movies).
//
// A CandidateIndex is immutable once built and safe for concurrent Search
// calls from many threads without external synchronisation.
#ifndef MOVIEREC_INDEX_CANDIDATE_INDEX_H_
#define MOVIEREC_INDEX_CANDIDATE_INDEX_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "model/eigen_types.h"

namespace movierec {

// A movie row of the index and its inner product with the query.
struct Candidate {
  int32_t row = 0;
  float score = 0;
};

class CandidateIndex {
 public:
  virtual ~CandidateIndex() = default;

  /// Dimension of the vectors.
  virtual int dim() const = 0;
  /// Number of indexed vectors (rows 0 .. size-1).
  virtual int64_t size() const = 0;

  /// The `k` rows with the highest inner product with `query` (dim() floats),
  /// best first, skipping every row in `exclude` (sorted ascending). Returns
  /// fewer than k when fewer rows are eligible, none when k <= 0. The order
  /// of rows with equal scores is unspecified but repeatable.
  virtual std::vector<Candidate> Search(
      const float* query, int k, absl::Span<const int32_t> exclude) const = 0;
};

/// Exact search with FAISS' IndexFlatIP over a copy of `vectors` (one row per
/// movie). Returns null when `vectors` has no columns.
std::unique_ptr<CandidateIndex> MakeFlatIndex(const RowMatrix& vectors);

}  // namespace movierec

#endif  // MOVIEREC_INDEX_CANDIDATE_INDEX_H_
