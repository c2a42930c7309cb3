// Candidate retrieval: top-k maximum-inner-product search over the movie
// vectors, leaving out movies the caller names (a user's seen movies).
//
// Three kinds implement it, one file each: exact search (flat_index.cc),
// HNSW (hnsw_index.cc) and IVF (ivf_index.cc). BuildIndex
// (index/index_factory.h) builds any of them from IndexOptions; SaveIndex and
// LoadIndex (index/index_io.h) store them with faiss::write_index.
//
// A CandidateIndex is immutable once built and safe for concurrent Search
// calls from many threads without external synchronisation. Search runs
// FAISS on the calling thread only (one OpenMP thread): a server gets its
// parallelism from concurrent requests.
#ifndef MOVIEREC_INDEX_CANDIDATE_INDEX_H_
#define MOVIEREC_INDEX_CANDIDATE_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "index/index_options.h"
#include "util/eigen_types.h"

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
  /// kFlat, kHnsw or kIvf (never kAuto).
  virtual IndexKind kind() const = 0;
  /// The kind and the parameters in effect, e.g. "hnsw(M=32,
  /// efConstruction=100, efSearch=256, exclusion=auto)".
  virtual std::string Describe() const = 0;

  /// The `k` rows with the highest inner product with `query` (dim() finite
  /// floats), best first, skipping every row in `exclude` (sorted ascending;
  /// rows outside 0..size-1 are ignored). Returns fewer than k only when
  /// fewer rows are eligible; none when k <= 0. Never returns an excluded
  /// row. Scores are exact inner products. Exact for kFlat; for kHnsw and
  /// kIvf the rows are approximately the best (recall in BENCHMARKS.md).
  /// The order of rows with equal scores is unspecified but repeatable.
  virtual std::vector<Candidate> Search(
      const float* query, int k, absl::Span<const int32_t> exclude) const = 0;

  /// Search for each of a batch of queries: row q of `queries` (k.size()
  /// rows of dim() floats) with k[q] and exclude[q] (k and exclude the same
  /// size). The results are Search's for each query, in order. The exact
  /// kind scores the batch in one pass over the vectors per few queries;
  /// the others search the queries one by one.
  virtual std::vector<std::vector<Candidate>> SearchBatch(
      const float* queries, absl::Span<const int> k,
      absl::Span<const absl::Span<const int32_t>> exclude) const;

  /// A second index over the same data (shared, not copied; it stays valid
  /// after this one is destroyed) that searches with the search-time fields
  /// of `options`: hnsw_ef_search, ivf_nprobe and exclusion. The other
  /// fields are ignored. InvalidArgument when `options` do not validate.
  virtual absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const = 0;
};

/// Exact search with FAISS' IndexFlatIP over a copy of `vectors` (one row per
/// movie). Returns null when `vectors` has no columns.
std::unique_ptr<CandidateIndex> MakeFlatIndex(const RowMatrix& vectors);

}  // namespace movierec

#endif  // MOVIEREC_INDEX_CANDIDATE_INDEX_H_
