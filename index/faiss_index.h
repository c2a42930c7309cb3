// Internal to index/: what the three FAISS-backed kinds share (the exclusion
// selector, the one-thread guard, result filtering) and the constructors that
// the factory and the loader call. Not for use outside index/.
#ifndef MOVIEREC_INDEX_FAISS_INDEX_H_
#define MOVIEREC_INDEX_FAISS_INDEX_H_

#include <faiss/Index.h>
#include <faiss/impl/IDSelector.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "index/candidate_index.h"
#include "index/index_options.h"
#include "util/eigen_types.h"

namespace faiss {
struct IOWriter;
struct IndexFlat;
struct IndexHNSWFlat;
struct IndexIVFFlat;
}  // namespace faiss

namespace movierec {
namespace internal {

using faiss_idx_t = faiss::Index::idx_t;

// A CandidateIndex backed by one FAISS index, which SaveIndex writes.
class FaissIndex : public CandidateIndex {
 public:
  virtual const faiss::Index& faiss_index() const = 0;
  // Writes faiss_index() with faiss::write_index, as LoadIndex reads it. The
  // IVF kind writes the nprobe this view searches with (a WithSearchOptions
  // view's, not the shared index's); HNSW writes the efSearch it was built
  // with. Throws what FAISS throws.
  virtual void Write(faiss::IOWriter* writer) const;
};

// Admits every id that is not in a sorted list, without copying the list.
class SortedExclusion final : public faiss::IDSelector {
 public:
  explicit SortedExclusion(absl::Span<const int32_t> excluded)
      : excluded_(excluded) {}
  bool is_member(faiss_idx_t id) const override;
  bool excludes(faiss_idx_t id) const { return !is_member(id); }

 private:
  absl::Span<const int32_t> excluded_;
};

// Sets the calling thread's OpenMP thread count to one for its lifetime and
// restores it after: FAISS opens a parallel region even for one query, which
// costs more than the query itself and oversubscribes the cores when many
// requests search at once. The count is per thread, so this does not affect
// other threads.
class OneOpenMpThread {
 public:
  OneOpenMpThread();
  ~OneOpenMpThread();
  OneOpenMpThread(const OneOpenMpThread&) = delete;
  OneOpenMpThread& operator=(const OneOpenMpThread&) = delete;

 private:
  int previous_;
};

// What one Search call must return, given the index size and the exclusion.
struct SearchPlan {
  int64_t excluded = 0;  // distinct excluded rows inside 0..size-1
  int64_t want = 0;      // min(k, size - excluded): the results owed
  int64_t fetch = 0;     // results to ask FAISS for
  bool use_selector = false;
};
SearchPlan PlanSearch(int k, int64_t size, absl::Span<const int32_t> exclude,
                      ExclusionMode mode);

// Appends FAISS results (rows[i], scores[i]) to *out, in order, stopping at
// the first -1 row or when *out holds `want`; skips excluded rows.
void AppendEligible(const faiss_idx_t* rows, const float* scores, int64_t n,
                    const SortedExclusion& exclusion, int64_t want,
                    std::vector<Candidate>* out);

// The search order: higher score first, then lower row (so ties repeat). A
// function object, so the standard algorithms inline it.
struct BetterCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score != b.score ? a.score > b.score : a.row < b.row;
  }
};

// Sorts best first (BetterCandidate).
void SortCandidates(std::vector<Candidate>* candidates);

// Non-empty columns and finite values; InvalidArgument naming the first bad
// row and column otherwise.
absl::Status CheckVectors(const RowMatrix& vectors);

// The kinds, from FAISS indexes built or read elsewhere (ownership shared
// between an index and its WithSearchOptions views).
std::unique_ptr<CandidateIndex> WrapFlat(
    std::shared_ptr<const faiss::IndexFlat> index, ExclusionMode exclusion);
// `index` holds the vectors augmented for MIPS (hnsw_index.cc); InvalidArgument
// when it does not.
absl::StatusOr<std::unique_ptr<CandidateIndex>> WrapHnsw(
    std::shared_ptr<const faiss::IndexHNSWFlat> index,
    const IndexOptions& search_options);
std::unique_ptr<CandidateIndex> WrapIvf(
    std::shared_ptr<const faiss::IndexIVFFlat> index,
    const IndexOptions& search_options);

// Builders (inputs already checked by BuildIndex).
absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildFlat(
    const RowMatrix& vectors, const IndexOptions& options);
absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildHnsw(
    const RowMatrix& vectors, const IndexOptions& options);
absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildIvf(
    const RowMatrix& vectors, const IndexOptions& options);

}  // namespace internal
}  // namespace movierec

#endif  // MOVIEREC_INDEX_FAISS_INDEX_H_
