#include "index/top_k.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "index/faiss_index.h"

namespace movierec {
namespace internal {

namespace {

// KthLargest for any ordered type. Ties are split off the pivot, which
// guarantees progress; a run of bad pivots falls back to std::nth_element.
// On return v[0 .. k] holds the k + 1 largest: every step keeps what lies
// left of its range larger than the range.
template <typename T>
T KthLargestOf(T* v, size_t n, size_t k) {
  size_t lo = 0;
  size_t hi = n;
  for (int round = 0; hi - lo > 16; ++round) {
    if (round == 64) {
      std::nth_element(v + lo, v + k, v + hi, std::greater<T>());
      return v[k];
    }
    const T a = v[lo];
    const T b = v[lo + (hi - lo) / 2];
    const T c = v[hi - 1];
    const T pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
    // [lo, above): > pivot; then [above, equal): == pivot; then the rest.
    size_t above = lo;
    for (size_t i = lo; i < hi; ++i) {
      const T x = v[i];
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
      const T x = v[i];
      v[i] = v[equal];
      v[equal] = x;
      equal += x == pivot ? 1 : 0;
    }
    if (k < equal) return pivot;
    lo = equal;
  }
  std::sort(v + lo, v + hi, std::greater<T>());
  return v[k];
}

}  // namespace

float KthLargest(float* v, size_t n, size_t k) { return KthLargestOf(v, n, k); }

namespace {

#ifdef __AVX2__
// For each 8-bit mask, the positions of its set bits in increasing order
// (one byte each, the rest 0): the permutation that packs the lanes a
// comparison kept to the left.
constexpr std::array<uint64_t, 256> MakeLeftPack() {
  std::array<uint64_t, 256> table{};
  for (int mask = 0; mask < 256; ++mask) {
    uint64_t packed = 0;
    int out = 0;
    for (int lane = 0; lane < 8; ++lane) {
      if ((mask >> lane) & 1) {
        packed |= static_cast<uint64_t>(lane) << (8 * out++);
      }
    }
    table[mask] = packed;
  }
  return table;
}
constexpr std::array<uint64_t, 256> kLeftPack = MakeLeftPack();
#endif

// Slack after the reservoir's capacity (one entry: the scalar loop writes
// the entry past the last kept one).
constexpr size_t kSlack = 1;

// Appends the pairs of positions [begin, end) that pass the threshold to
// (out_rows, out_scores) from `size` on, in order; returns the new size.
// A pair's row is rows[i], or i itself when rows is null. It passes when
// its score beats the threshold, or with kTiesEnter when it ties it and is
// above -infinity. The caller leaves room for end - begin more pairs.
//
// Neither loop branches on the data: each writes every pair and advances by
// whether it passed. With AVX2, eight at a time: compare, pack the passing
// lanes to the left with one permutation, store all eight, advance by the
// number kept (a few instructions per eight pairs instead of a dozen per
// pair).
template <bool kTiesEnter>
size_t PackPassing(const int32_t* rows, const float* scores, int64_t begin,
                   int64_t end, float threshold, int32_t* out_rows,
                   float* out_scores, size_t size) {
  int64_t i = begin;
#ifdef __AVX2__
  const __m256 bar = _mm256_set1_ps(threshold);
  const __m256 bottom = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (; i + 8 <= end; i += 8) {
    const __m256 s = _mm256_loadu_ps(scores + i);
    const __m256 pass =
        kTiesEnter ? _mm256_and_ps(_mm256_cmp_ps(s, bar, _CMP_GE_OQ),
                                   _mm256_cmp_ps(s, bottom, _CMP_GT_OQ))
                   : _mm256_cmp_ps(s, bar, _CMP_GT_OQ);
    const int mask = _mm256_movemask_ps(pass);
    const __m256i pack = _mm256_cvtepu8_epi32(
        _mm_cvtsi64_si128(static_cast<int64_t>(kLeftPack[mask])));
    const __m256i ids =
        rows != nullptr
            ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + i))
            : _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(i)),
                               lanes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_rows + size),
                        _mm256_permutevar8x32_epi32(ids, pack));
    _mm256_storeu_ps(out_scores + size, _mm256_permutevar8x32_ps(s, pack));
    size += static_cast<size_t>(__builtin_popcount(mask));
  }
#endif
  for (; i < end; ++i) {
    out_rows[size] = rows != nullptr ? rows[i] : static_cast<int32_t>(i);
    out_scores[size] = scores[i];
    const bool pass =
        kTiesEnter ? scores[i] >= threshold &&
                         scores[i] > -std::numeric_limits<float>::infinity()
                   : scores[i] > threshold;
    size += pass ? 1 : 0;
  }
  return size;
}

}  // namespace

void TopK::Start(int k, float threshold, size_t capacity) {
  k_ = static_cast<size_t>(std::max(k, 0));
  capacity_ = std::max(capacity, 2 * k_);
  rows_.resize(capacity_ + kSlack);
  scores_.resize(capacity_ + kSlack);
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
  // bottom. The reservoir holds what a threshold sampled this way
  // usually lets through (a few k), so that it is rarely cut back.
  const size_t capacity = kExactScanCapacity;
  Start(k, start, capacity);
  if (!ScanRows(scores, n) && size_ < k_ && start > kBottom) {
    Start(k, kBottom, capacity);
    ScanRows(scores, n);
  }
  Take(out);
}

// A score that somewhat more than k of the n rows beat, estimated from every
// stride-th row (the k-th best expected at rank k S / n of a sample of S,
// plus three standard deviations); kBottom when n is too small to sample.
// The sample is 4k rows, or one row in 16 when that is fewer: selecting in
// a larger sample cost more than the rows it kept out (a
// side-by-side run at 500 to 100,000 rows, k = 100).
float TopK::SampledThreshold(const float* scores, int64_t n) {
  const int64_t stride =
      std::max<int64_t>(16, n / static_cast<int64_t>(4 * k_));
  if (n / stride < 16) return kBottom;
  selection_.clear();
  for (int64_t row = 0; row < n; row += stride) {
    // A NaN row never enters; sampled as is it could become the threshold,
    // which nothing beats (and then the search returned nothing at all).
    const float score = scores[row];
    selection_.push_back(std::isnan(score) ? kBottom : score);
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
// rows beat the starting threshold). Each pass packs only as many rows as
// the reservoir has room for, so the packing loop needs no check and makes
// no call (with Compact inside it, the compiler reloaded its pointers every
// row).
bool TopK::ScanRows(const float* scores, int64_t n) {
  int64_t row = 0;
  while (row < n) {
    const int64_t end =
        std::min(n, row + static_cast<int64_t>(capacity_ - size_));
    size_ =
        PackPassing</*kTiesEnter=*/false>(nullptr, scores, row, end, threshold_,
                                          rows_.data(), scores_.data(), size_);
    row = end;
    if (size_ == capacity_) Compact();
  }
  return filled_;
}

void TopK::Reset(int k) { Start(k, kBottom, 0); }

// Rows in any order: a row that ties the threshold may still be better (a
// lower row), so ties enter and Compact settles them.
void TopK::Add(const int32_t* rows, const float* scores, int64_t n) {
  if (k_ == 0) return;
  int64_t i = 0;
  while (i < n) {
    const int64_t end =
        std::min(n, i + static_cast<int64_t>(capacity_ - size_));
    size_ = PackPassing</*kTiesEnter=*/true>(
        rows, scores, i, end, threshold_, rows_.data(), scores_.data(), size_);
    i = end;
    if (size_ == capacity_) Compact();
  }
}

namespace {

// One integer per (score, row) whose descending order is the search order
// (BetterCandidate): the score's bits made order-preserving in the high
// half, the row inverted in the low half. -0 becomes +0, which compares
// equal to it. Distinct rows give distinct keys.
uint64_t SearchOrderKey(float score, int32_t row) {
  const float zeroed = score + 0.0f;
  uint32_t bits;
  std::memcpy(&bits, &zeroed, sizeof(bits));
  const uint32_t ascending =
      (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
  return (static_cast<uint64_t>(ascending) << 32) |
         static_cast<uint32_t>(~static_cast<uint32_t>(row));
}

Candidate FromSearchOrderKey(uint64_t key) {
  const auto ascending = static_cast<uint32_t>(key >> 32);
  const uint32_t bits =
      (ascending & 0x80000000u) != 0 ? ascending & 0x7FFFFFFFu : ~ascending;
  float score;
  std::memcpy(&score, &bits, sizeof(score));
  return {static_cast<int32_t>(~static_cast<uint32_t>(key)), score};
}

// Up to this many kept pairs are put in order by counting, for each, the
// keys above it (n^2 comparisons, which vectorise and never mispredict);
// more by std::sort.
constexpr size_t kMaxRankedByCounting = 128;

}  // namespace

// The reservoir (at most 2k pairs) as integers in search order:
// the best k by one branch-free selection, then put in order. Up to
// kMaxRankedByCounting of them, each one's place is the number of keys
// above it, so that neither step mispredicts a branch per pair; the
// std::nth_element and std::sort this replaced mispredicted about every
// other comparison, and were a fifth of a RecommendBatch's CPU.
void TopK::Take(std::vector<Candidate>* out) {
  keys_.resize(size_);
  for (size_t i = 0; i < size_; ++i) {
    keys_[i] = SearchOrderKey(scores_[i], rows_[i]);
  }
  const size_t keep = std::min(size_, k_);
  if (keep > 0 && keep < size_) KthLargestOf(keys_.data(), size_, keep - 1);
  out->resize(keep);
  if (keep <= kMaxRankedByCounting) {
    const uint64_t* keys = keys_.data();
    for (size_t i = 0; i < keep; ++i) {
      // Equal keys (the same row added twice) take consecutive places, in
      // the reservoir's order, so that every place is filled.
      const uint64_t key = keys[i];
      size_t above = 0;
      for (size_t j = 0; j < i; ++j) above += keys[j] >= key ? 1 : 0;
      for (size_t j = i + 1; j < keep; ++j) above += keys[j] > key ? 1 : 0;
      (*out)[above] = FromSearchOrderKey(key);
    }
  } else {
    std::sort(keys_.begin(), keys_.begin() + keep, std::greater<uint64_t>());
    for (size_t i = 0; i < keep; ++i) (*out)[i] = FromSearchOrderKey(keys_[i]);
  }
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
