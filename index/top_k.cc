#include "index/top_k.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "index/faiss_index.h"

namespace movierec {
namespace internal {

// Ties are split off the pivot, which guarantees progress; a run of bad
// pivots falls back to std::nth_element.
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

void TopK::Start(int k, float threshold) {
  k_ = static_cast<size_t>(std::max(k, 0));
  capacity_ = 2 * k_;
  rows_.resize(capacity_ + 1);
  scores_.resize(capacity_ + 1);
  size_ = 0;
  threshold_ = threshold;
  filled_ = false;
}

void TopK::SelectRows(const float* scores, int64_t n, int k,
                      std::vector<Candidate>* out) {
  out->clear();
  Start(k, kBottom);
  if (k_ == 0 || n <= 0) return;
  const float start = SampledThreshold(scores, n);
  // Every row of the top k beats `start` when k rows did; otherwise the
  // sample was unlucky (or most rows are excluded): scan again from the
  // bottom.
  Start(k, start);
  if (!ScanRows(scores, n) && size_ < k_ && start > kBottom) {
    Start(k, kBottom);
    ScanRows(scores, n);
  }
  Take(out);
}

// A score that about 1.6 k of the n rows beat, estimated from every
// stride-th row (the k-th best expected at rank k S / n of a sample of S,
// plus three standard deviations); kBottom when n is too small to sample.
float TopK::SampledThreshold(const float* scores, int64_t n) {
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

// Rows in increasing order, so a row that ties the k-th best loses to it:
// strictly greater enters. True when the reservoir filled (so at least 2k
// rows beat the starting threshold). The inner loop runs only as many rows
// as the reservoir has room for, so it needs no check and makes no call
// (with Compact inside it, the compiler reloaded its pointers every row).
bool TopK::ScanRows(const float* scores, int64_t n) {
  int32_t* const rows = rows_.data();
  float* const kept = scores_.data();
  size_t size = size_;
  float threshold = threshold_;
  int64_t row = 0;
  while (row < n) {
    const int64_t end =
        std::min(n, row + static_cast<int64_t>(capacity_ - size));
    for (; row < end; ++row) {
      // Written always, kept only when it beats the threshold.
      rows[size] = static_cast<int32_t>(row);
      kept[size] = scores[row];
      size += scores[row] > threshold ? 1 : 0;
    }
    if (size == capacity_) {
      size_ = size;
      Compact();
      size = size_;
      threshold = threshold_;
    }
  }
  size_ = size;
  return filled_;
}

void TopK::Reset(int k) { Start(k, kBottom); }

// Rows in any order: a row that ties the threshold may still be better (a
// lower row), so ties enter and Compact settles them.
void TopK::Add(const int32_t* rows, const float* scores, int64_t n) {
  if (k_ == 0) return;
  int32_t* const kept_rows = rows_.data();
  float* const kept = scores_.data();
  size_t size = size_;
  float threshold = threshold_;
  int64_t i = 0;
  while (i < n) {
    const int64_t end = std::min(n, i + static_cast<int64_t>(capacity_ - size));
    for (; i < end; ++i) {
      kept_rows[size] = rows[i];
      kept[size] = scores[i];
      size += scores[i] >= threshold && scores[i] > kBottom ? 1 : 0;
    }
    if (size == capacity_) {
      size_ = size;
      Compact();
      size = size_;
      threshold = threshold_;
    }
  }
  size_ = size;
}

void TopK::Take(std::vector<Candidate>* out) {
  if (size_ > k_) Compact();
  out->clear();
  out->reserve(size_);
  for (size_t i = 0; i < size_; ++i) out->push_back({rows_[i], scores_[i]});
  std::sort(out->begin(), out->end(), BetterCandidate());
  size_ = 0;
}

// Keeps the best k of the reservoir (every pair above the k-th best score,
// and of those that tie it, the lowest rows) in their order, and raises the
// threshold to that score.
void TopK::Compact() {
  filled_ = true;
  selection_.assign(scores_.begin(), scores_.begin() + size_);
  const float kth = KthLargest(selection_.data(), size_, k_ - 1);
  size_t above = 0;
  tied_rows_.clear();
  for (size_t i = 0; i < size_; ++i) {
    above += scores_[i] > kth ? 1 : 0;
    if (scores_[i] == kth) tied_rows_.push_back(rows_[i]);
  }
  // Ties keep their lowest rows: those up to the needed-th lowest.
  const size_t needed = k_ - above;
  int32_t last_tied_row = std::numeric_limits<int32_t>::max();
  if (needed < tied_rows_.size()) {
    std::nth_element(tied_rows_.begin(), tied_rows_.begin() + (needed - 1),
                     tied_rows_.end());
    last_tied_row = tied_rows_[needed - 1];
  }
  size_t kept = 0;
  for (size_t i = 0; i < size_; ++i) {
    const bool keep =
        scores_[i] > kth || (scores_[i] == kth && rows_[i] <= last_tied_row);
    rows_[kept] = rows_[i];
    scores_[kept] = scores_[i];
    kept += keep ? 1 : 0;
  }
  size_ = kept;
  threshold_ = kth;
}

}  // namespace internal
}  // namespace movierec
