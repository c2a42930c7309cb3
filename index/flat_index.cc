// Exact inner-product search over a copy of the vectors.
//
// Not faiss::IndexFlatIP: for one query, FAISS scores row by row with its
// scalar fvec_inner_product_ref in Debian's generic (SSE2) build, and tests
// every row against an IDSelector (a binary search each); under load that
// was ~40% of a Recommend call's own CPU (perf,
// tests/bench/serving_results.md). Here one Eigen matrix-vector product
// (vectorised for this CPU, see MOVIEREC_NATIVE) scores every row, a single
// pass over the sorted exclusion list keeps the eligible ones, and a partial
// selection takes the top k.
#include <algorithm>
#include <limits>
#include <utility>

#include "index/candidate_index.h"

namespace movierec {
namespace {

class FlatIndex final : public CandidateIndex {
 public:
  explicit FlatIndex(const RowMatrix& vectors) : vectors_(vectors) {}

  int dim() const override { return static_cast<int>(vectors_.cols()); }
  int64_t size() const override { return vectors_.rows(); }

  std::vector<Candidate> Search(
      const float* query, int k,
      absl::Span<const int32_t> exclude) const override {
    std::vector<Candidate> result;
    const Eigen::Index n = vectors_.rows();
    if (k <= 0 || n == 0) return result;
    // Per-thread buffers: a search allocates only its result.
    thread_local Vector scores;
    thread_local std::vector<Candidate> eligible;
    scores.noalias() =
        vectors_ * Eigen::Map<const Vector>(query, vectors_.cols());
    eligible.clear();
    eligible.reserve(static_cast<size_t>(n));
    auto next = exclude.begin();
    for (Eigen::Index row = 0; row < n; ++row) {
      while (next != exclude.end() && *next < row) ++next;
      if (next != exclude.end() && *next == row) continue;
      eligible.push_back({static_cast<int32_t>(row), scores(row)});
    }
    // Best first; equal scores by lower row, so ties are repeatable.
    const auto better = [](const Candidate& a, const Candidate& b) {
      return a.score > b.score || (a.score == b.score && a.row < b.row);
    };
    const size_t want = std::min(static_cast<size_t>(k), eligible.size());
    std::nth_element(eligible.begin(), eligible.begin() + want, eligible.end(),
                     better);
    std::sort(eligible.begin(), eligible.begin() + want, better);
    result.assign(eligible.begin(), eligible.begin() + want);
    return result;
  }

 private:
  const RowMatrix vectors_;
};

}  // namespace

std::unique_ptr<CandidateIndex> MakeFlatIndex(const RowMatrix& vectors) {
  if (vectors.cols() == 0) return nullptr;
  return std::make_unique<FlatIndex>(vectors);
}

}  // namespace movierec
