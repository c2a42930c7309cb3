// Selection of the k best (row, score) pairs: of a search, shared by the
// exact and the IVF kinds, and of the item source's scores (model/scorer.cc).
// Not part of the index's interface: CandidateIndex users need not see it.
#ifndef MOVIEREC_INDEX_TOP_K_H_
#define MOVIEREC_INDEX_TOP_K_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "index/candidate_index.h"

namespace movierec {
namespace internal {

// The k-th largest (k from 0) of v[0 .. n), reordering v. A quickselect
// whose partition swaps unconditionally and advances by a comparison, so it
// mispredicts no branch per element: std::nth_element was slower on the few
// hundred scores of a search.
float KthLargest(float* v, size_t n, size_t k);

// The k best (row, score) pairs by the search order (BetterCandidate: higher
// score, then lower row). A reservoir of 2k: a pair enters when it beats a
// threshold (one comparison, no branch to mispredict), and a full reservoir
// is cut back to its best k by a selection over 2k scores, which raises the
// threshold to the k-th best. A heap, or one selection over every score,
// mispredicted a branch per row and was slower (index_bench).
// Rows scored -infinity (or NaN) never enter.
//
// Keep one per thread (thread_local) and reuse it: its buffers then stay
// allocated from call to call.
class TopK {
 public:
  // The best k of rows 0 .. n-1 scored scores[0 .. n) (fewer if fewer are
  // above -infinity), best first, into *out: an exact search's selection.
  // The scan starts from a threshold sampled from the scores, so few rows
  // enter that cannot make the top k.
  void SelectRows(const float* scores, int64_t n, int k,
                  std::vector<Candidate>* out);

  // A selection fed in parts, rows in any order (the cells of an IVF
  // search): Reset, Add each part, Take.
  void Reset(int k);
  void Add(const int32_t* rows, const float* scores, int64_t n);
  // Rows added so far that are still candidates (at most 2k).
  size_t size() const { return size_; }
  // The best k added, best first, into *out; the selection is then empty.
  void Take(std::vector<Candidate>* out);

 private:
  static constexpr float kBottom = -std::numeric_limits<float>::infinity();
  // The exact search's reservoir: a threshold sampled for k = 100 lets some
  // 250 rows of a few thousand through, and a cut back (Compact) costs as
  // much as the rest of the selection.
  static constexpr size_t kExactScanCapacity = 1024;

  // The reservoir: room for max(capacity, 2k) pairs.
  void Start(int k, float threshold, size_t capacity = 0);
  float SampledThreshold(const float* scores, int64_t n);
  bool ScanRows(const float* scores, int64_t n);
  void Compact();

  size_t k_ = 0;
  size_t capacity_ = 0;
  size_t size_ = 0;
  float threshold_ = kBottom;
  bool filled_ = false;
  std::vector<int32_t> rows_;
  std::vector<float> scores_;
  std::vector<float> selection_;
  std::vector<int32_t> tied_rows_;
  std::vector<uint64_t> keys_;
};

}  // namespace internal
}  // namespace movierec

#endif  // MOVIEREC_INDEX_TOP_K_H_
