// Exact inner-product search with faiss::IndexFlatIP.
#include <faiss/IndexFlat.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>

#include "index/candidate_index.h"

namespace movierec {
namespace {

using faiss_idx_t = faiss::Index::idx_t;

// Admits every id that is not in a sorted list, without copying the list.
class SortedExclusion final : public faiss::IDSelector {
 public:
  explicit SortedExclusion(absl::Span<const int32_t> excluded)
      : excluded_(excluded) {}
  bool is_member(faiss_idx_t id) const override {
    return !std::binary_search(excluded_.begin(), excluded_.end(),
                               static_cast<int32_t>(id));
  }

 private:
  absl::Span<const int32_t> excluded_;
};

class FlatIndex final : public CandidateIndex {
 public:
  explicit FlatIndex(const RowMatrix& vectors)
      : index_(static_cast<faiss_idx_t>(vectors.cols())) {
    index_.add(vectors.rows(), vectors.data());
  }

  int dim() const override { return index_.d; }
  int64_t size() const override { return index_.ntotal; }

  std::vector<Candidate> Search(
      const float* query, int k,
      absl::Span<const int32_t> exclude) const override {
    std::vector<Candidate> result;
    const faiss_idx_t eligible = index_.ntotal;
    const faiss_idx_t want = std::min<faiss_idx_t>(k, eligible);
    if (want <= 0) return result;
    std::vector<float> scores(static_cast<size_t>(want));
    std::vector<faiss_idx_t> rows(static_cast<size_t>(want));
    SortedExclusion selector(exclude);
    faiss::SearchParameters params;
    params.sel = exclude.empty() ? nullptr : &selector;
    index_.search(1, query, want, scores.data(), rows.data(), &params);
    result.reserve(static_cast<size_t>(want));
    for (faiss_idx_t i = 0; i < want; ++i) {
      if (rows[i] < 0) break;  // fewer eligible rows than k
      result.push_back({static_cast<int32_t>(rows[i]), scores[i]});
    }
    return result;
  }

 private:
  faiss::IndexFlatIP index_;
};

}  // namespace

std::unique_ptr<CandidateIndex> MakeFlatIndex(const RowMatrix& vectors) {
  if (vectors.cols() == 0) return nullptr;
  return std::make_unique<FlatIndex>(vectors);
}

}  // namespace movierec
