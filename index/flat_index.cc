// Exact inner-product search. faiss::IndexFlatIP holds the vectors (and is
// what SaveIndex writes), but the search does not go through it: for one
// query, Debian's generic (SSE2) build of FAISS scores row by row with its
// scalar fvec_inner_product_ref and then keeps the top k in a reservoir, which
// perf showed as over half of a Recommend call's own CPU. Here one Eigen
// matrix-vector product over the index's own storage (vectorised for this CPU,
// see MOVIEREC_NATIVE) scores every row, one pass over the sorted exclusion
// list marks the excluded rows, and a reservoir (TopK) keeps the best k.
// Both exclusion modes are therefore the same, exact search.
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"

namespace movierec {
namespace internal {
namespace {

// The k-th largest (k from 0) of v[0 .. n), reordering v: a quickselect
// whose partition swaps unconditionally and advances by a comparison, so it
// mispredicts no branch per element (std::nth_element took 2-3 times as
// long on the few hundred scores of a search). Ties are split off the
// pivot, which guarantees progress; a run of bad pivots falls back to
// std::nth_element.
float KthLargest(float* v, size_t n, size_t k) {
  size_t lo = 0;
  size_t hi = n;
  for (int round = 0; hi - lo > 16; ++round) {
    if (round == 64) {
      std::nth_element(v + lo, v + k, v + hi, std::greater<float>());
      return v[k];
    }
    const float a = v[lo];
    const float b = v[lo + (hi - lo) / 2];
    const float c = v[hi - 1];
    const float pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
    // [lo, above): > pivot; then [above, equal): == pivot; then the rest.
    size_t above = lo;
    for (size_t i = lo; i < hi; ++i) {
      const float x = v[i];
      v[i] = v[above];
      v[above] = x;
      above += x > pivot ? 1 : 0;
    }
    if (k < above) {
      hi = above;
      continue;
    }
    size_t equal = above;
    for (size_t i = above; i < hi; ++i) {
      const float x = v[i];
      v[i] = v[equal];
      v[equal] = x;
      equal += x == pivot ? 1 : 0;
    }
    if (k < equal) return pivot;
    lo = equal;
  }
  std::sort(v + lo, v + hi, std::greater<float>());
  return v[k];
}

// The k best (row, score) pairs of rows 0 .. n-1, by the search order
// (BetterCandidate), for an exact search. A reservoir of 2k: a row enters
// when it beats a threshold (one comparison, no branch to mispredict), and a
// full reservoir is cut back to its best k by a selection over 2k scores,
// which raises the threshold to the k-th best. The scan starts from a
// threshold sampled from the scores, so few rows enter that cannot make the
// top k. A heap, or one selection over every score, mispredicted a branch
// per row and cost two to three times as much.
class TopK {
 public:
  // The best k of scores[0 .. n) (fewer if fewer are above -infinity),
  // best first, into *out; rows scored -infinity (or NaN) never.
  void Select(const float* scores, int64_t n, int k,
              std::vector<Candidate>* out) {
    out->clear();
    k_ = static_cast<size_t>(std::max(k, 0));
    if (k_ == 0 || n <= 0) return;
    capacity_ = 2 * k_;
    rows_.resize(capacity_ + 1);
    scores_.resize(capacity_ + 1);
    const float start = SampledThreshold(scores, n);
    // Every row of the top k beats `start` when k rows did; otherwise the
    // sample was unlucky (or most rows are excluded): scan again from the
    // bottom.
    if (!Scan(scores, n, start) && size_ < k_ && start > kBottom) {
      Scan(scores, n, kBottom);
    }
    if (size_ > k_) Compact();
    out->reserve(size_);
    for (size_t i = 0; i < size_; ++i) out->push_back({rows_[i], scores_[i]});
    std::sort(out->begin(), out->end(), BetterCandidate());
  }

 private:
  static constexpr float kBottom = -std::numeric_limits<float>::infinity();

  // A score that about 1.6 k of the n rows beat, estimated from every
  // stride-th row (the k-th best expected at rank k S / n of a sample of S,
  // plus three standard deviations); kBottom when n is too small to sample.
  float SampledThreshold(const float* scores, int64_t n) {
    const int64_t stride = n / static_cast<int64_t>(4 * k_);
    if (stride < 2) return kBottom;
    selection_.clear();
    for (int64_t row = 0; row < n; row += stride) {
      selection_.push_back(scores[row]);
    }
    const double expected = static_cast<double>(k_) *
                            static_cast<double>(selection_.size()) /
                            static_cast<double>(n);
    const size_t rank = std::min(
        selection_.size(),
        static_cast<size_t>(std::ceil(expected + 3 * std::sqrt(expected) + 1)));
    return KthLargest(selection_.data(), selection_.size(), rank - 1);
  }

  // Scans every row from `threshold`; true when the reservoir filled (so
  // at least 2k rows beat `threshold`). The inner loop runs only as many rows
  // as the reservoir has room for, so it needs no check and makes no call
  // (with Compact inside it, the compiler reloaded its pointers every row).
  bool Scan(const float* scores, int64_t n, float threshold) {
    int32_t* const rows = rows_.data();
    float* const kept = scores_.data();
    const size_t capacity = capacity_;
    size_t size = 0;
    bool filled = false;
    int64_t row = 0;
    while (row < n) {
      const int64_t end =
          std::min(n, row + static_cast<int64_t>(capacity - size));
      for (; row < end; ++row) {
        // Written always, kept only when it beats the threshold: a later
        // row that ties the k-th best loses to it, so strictly greater.
        rows[size] = static_cast<int32_t>(row);
        kept[size] = scores[row];
        size += scores[row] > threshold ? 1 : 0;
      }
      if (size == capacity) {
        size_ = size;
        Compact();
        size = size_;
        threshold = threshold_;
        filled = true;
      }
    }
    size_ = size;
    return filled;
  }

  // Keeps the best k of the reservoir, in row order, and sets the threshold
  // to the k-th best score.
  void Compact() {
    selection_.assign(scores_.begin(), scores_.begin() + size_);
    const float kth = KthLargest(selection_.data(), size_, k_ - 1);
    size_t above = 0;
    for (size_t i = 0; i < size_; ++i) above += scores_[i] > kth ? 1 : 0;
    // Every pair above the k-th score, and the lowest rows that tie it.
    size_t ties = k_ - above;
    size_t kept = 0;
    for (size_t i = 0; i < size_; ++i) {
      const bool keep = scores_[i] > kth || (scores_[i] == kth && ties > 0);
      if (scores_[i] == kth && keep) --ties;
      rows_[kept] = rows_[i];
      scores_[kept] = scores_[i];
      kept += keep ? 1 : 0;
    }
    size_ = kept;
    threshold_ = kth;
  }

  size_t k_ = 0;
  size_t capacity_ = 0;
  size_t size_ = 0;
  float threshold_ = kBottom;
  std::vector<int32_t> rows_;
  std::vector<float> scores_;
  std::vector<float> selection_;
};

class FlatIndex final : public FaissIndex {
 public:
  FlatIndex(std::shared_ptr<const faiss::IndexFlat> index,
            ExclusionMode exclusion)
      : index_(std::move(index)), exclusion_(exclusion) {}

  int dim() const override { return index_->d; }
  int64_t size() const override { return index_->ntotal; }
  IndexKind kind() const override { return IndexKind::kFlat; }
  std::string Describe() const override {
    return absl::StrCat("flat(exclusion=", ExclusionModeName(exclusion_), ")");
  }
  const faiss::Index& faiss_index() const override { return *index_; }

  std::vector<Candidate> Search(
      const float* query, int k,
      absl::Span<const int32_t> exclude) const override {
    std::vector<Candidate> result;
    const int64_t n = size();
    if (k <= 0 || n == 0) return result;
    const Eigen::Map<const RowMatrix> vectors(index_->get_xb(), n, dim());
    // Per-thread buffers: a search allocates only its result.
    thread_local Vector scores;
    thread_local TopK top;
    scores.noalias() = vectors * Eigen::Map<const Vector>(query, dim());
    // Excluded rows score -infinity, which never enters the top k.
    for (const int32_t row : exclude) {
      if (row >= 0 && row < n)
        scores(row) = -std::numeric_limits<float>::infinity();
    }
    top.Select(scores.data(), n, k, &result);
    return result;
  }

  absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const override {
    if (absl::Status status = ValidateIndexOptions(options); !status.ok()) {
      return status;
    }
    return WrapFlat(index_, options.exclusion);
  }

 private:
  std::shared_ptr<const faiss::IndexFlat> index_;
  ExclusionMode exclusion_;
};

}  // namespace

std::unique_ptr<CandidateIndex> WrapFlat(
    std::shared_ptr<const faiss::IndexFlat> index, ExclusionMode exclusion) {
  return std::make_unique<FlatIndex>(std::move(index), exclusion);
}

absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildFlat(
    const RowMatrix& vectors, const IndexOptions& options) {
  auto index = std::make_shared<faiss::IndexFlatIP>(
      static_cast<faiss_idx_t>(vectors.cols()));
  index->add(vectors.rows(), vectors.data());
  return WrapFlat(std::move(index), options.exclusion);
}

}  // namespace internal

std::unique_ptr<CandidateIndex> MakeFlatIndex(const RowMatrix& vectors) {
  if (vectors.cols() == 0) return nullptr;
  return *internal::BuildFlat(vectors, IndexOptions{});
}

}  // namespace movierec
