// How a candidate index is built and searched: the kind (exact, HNSW or IVF)
// and its tuning parameters, with the defaults measured in
// tests/bench/BENCHMARKS.md. Plain values; validate before use.
#ifndef MOVIEREC_INDEX_INDEX_OPTIONS_H_
#define MOVIEREC_INDEX_INDEX_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace movierec {

enum class IndexKind {
  // Flat up to kAutoFlatMaxVectors vectors, IVF above.
  kAuto,
  // Exact search (faiss::IndexFlatIP): no build cost, latency linear in the
  // catalogue size.
  kFlat,
  // Graph search (faiss::IndexHNSWFlat): the lowest latency at a given
  // recall; the longest build.
  kHnsw,
  // Inverted lists (faiss::IndexIVFFlat): k-means cells, a few of them
  // scanned per query; builds much faster than HNSW.
  kIvf,
};

// How Search leaves out the excluded rows (a user's seen movies). It matters
// for HNSW only: the exact and IVF kinds scan FAISS' storage themselves and
// mark the excluded rows, the same search under every mode.
enum class ExclusionMode {
  // Over-fetch for short exclusion lists, the selector for long ones (see
  // kOverFetchMaxExcluded); the measured best for every kind.
  kAuto,
  // A faiss::IDSelector in the search parameters: FAISS skips the rows
  // while it searches.
  kSelector,
  // Search for k + (number of excluded rows) results without a selector,
  // then drop the excluded ones.
  kOverFetch,
};

// Catalogues up to this many vectors get an exact index under kAuto: at
// this size exact search costs about as much as the ranking stage and needs
// no build; above it the exact latency grows linearly. Above it kAuto builds
// IVF: HNSW answers a little faster at the same recall, but building its
// graph over a million vectors takes far longer than IVF's k-means, and IVF
// meets the recall target there. The figures: tests/bench/BENCHMARKS.md.
inline constexpr int64_t kAutoFlatMaxVectors = 50000;

// Under ExclusionMode::kAuto, exclusion lists with at most this many rows
// inside the index are over-fetched; longer ones use the selector.
inline constexpr int64_t kOverFetchMaxExcluded = 1000;

struct IndexOptions {
  IndexKind kind = IndexKind::kAuto;

  // HNSW. Neighbours per node (FAISS' M; level 0 has 2*M). Memory per
  // vector grows by 8*M bytes; recall and build time grow with it.
  int hnsw_m = 32;
  // Candidate list size while building (efConstruction).
  int hnsw_ef_construction = 100;
  // Candidate list size while searching (efSearch): the recall/latency
  // dial. A search for k results uses max(k, hnsw_ef_search).
  int hnsw_ef_search = 256;

  // IVF. Number of k-means cells; 0 picks round(2 * sqrt(vectors)).
  int ivf_nlist = 0;
  // Cells scanned per query (nprobe): the recall/latency dial. The default
  // is the index benchmark's choice for a million synthetic vectors
  // (tests/bench/BENCHMARKS.md); movierec-train measures a trained model's
  // own (index/ivf_calibration.h), far fewer.
  int ivf_nprobe = 96;

  ExclusionMode exclusion = ExclusionMode::kAuto;
};

/// "auto", "flat", "hnsw" or "ivf" as an IndexKind. InvalidArgument naming
/// the text otherwise.
absl::StatusOr<IndexKind> ParseIndexKind(absl::string_view name);
/// The name ParseIndexKind reads.
const char* IndexKindName(IndexKind kind);

/// "auto", "selector" or "overfetch" as an ExclusionMode. InvalidArgument
/// naming the text otherwise.
absl::StatusOr<ExclusionMode> ParseExclusionMode(absl::string_view name);
const char* ExclusionModeName(ExclusionMode mode);

/// OK when every parameter is in range (M >= 2, efConstruction >= 1,
/// efSearch >= 1, nlist >= 0, nprobe >= 1); InvalidArgument naming the
/// first field out of range and its value otherwise.
absl::Status ValidateIndexOptions(const IndexOptions& options);

/// The kind built for `num_vectors` vectors: options.kind, or for kAuto,
/// kFlat up to kAutoFlatMaxVectors and kIvf above.
IndexKind ResolveIndexKind(const IndexOptions& options, int64_t num_vectors);

/// The number of IVF cells used for `num_vectors` vectors: options.ivf_nlist,
/// or when it is 0, round(2 * sqrt(num_vectors)), at least 1.
int ResolveIvfNlist(const IndexOptions& options, int64_t num_vectors);

/// "hnsw(M=32, efConstruction=100, efSearch=256, exclusion=auto)" and the
/// like: the parameters that matter for `kind`, for logs and reports.
std::string DescribeIndexOptions(IndexKind kind, const IndexOptions& options);

}  // namespace movierec

#endif  // MOVIEREC_INDEX_INDEX_OPTIONS_H_
