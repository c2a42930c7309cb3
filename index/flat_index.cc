// Exact inner-product search. faiss::IndexFlatIP holds the vectors (and is
// what SaveIndex writes), but the search does not go through it: for one
// query, Debian's generic (SSE2) build of FAISS scores row by row with its
// scalar fvec_inner_product_ref and then keeps the top k in a reservoir, which
// perf showed as over half of a Recommend call's own CPU. Here a transposed
// copy of the vectors (inner_products.h, vectorised for this CPU, see
// MOVIEREC_NATIVE) scores every row, for one query or for a batch, one pass
// over the sorted exclusion list marks the excluded rows, and a reservoir
// (TopK) keeps the best k. Both exclusion modes are therefore the same,
// exact search.
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"
#include "index/inner_products.h"
#include "index/top_k.h"
#include "util/status_macros.h"

namespace movierec {
namespace internal {
namespace {

class FlatIndex final : public FaissIndex {
 public:
  FlatIndex(std::shared_ptr<const faiss::IndexFlat> index,
            ExclusionMode exclusion,
            std::shared_ptr<const TransposedVectors> columns)
      : index_(std::move(index)),
        exclusion_(exclusion),
        columns_(std::move(columns)) {}

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
    if (k <= 0 || size() == 0) return result;
    // Per-thread buffers: a search allocates only its result.
    thread_local std::vector<float> scores;
    scores.resize(static_cast<size_t>(columns_->stride()));
    columns_->Score(query, 1, scores.data());
    Select(scores.data(), k, exclude, &result);
    return result;
  }

  std::vector<std::vector<Candidate>> SearchBatch(
      const float* queries, absl::Span<const int> k,
      absl::Span<const absl::Span<const int32_t>> exclude) const override {
    const int64_t m = static_cast<int64_t>(k.size());
    std::vector<std::vector<Candidate>> results(k.size());
    if (size() == 0) return results;
    // Queries scored per call of Score: their scores stay in the cache
    // until selected.
    constexpr int64_t kChunk = 16;
    thread_local std::vector<float> scores;
    scores.resize(static_cast<size_t>(kChunk * columns_->stride()));
    for (int64_t begin = 0; begin < m; begin += kChunk) {
      const int64_t rows = std::min(kChunk, m - begin);
      columns_->Score(queries + begin * dim(), rows, scores.data());
      for (int64_t q = 0; q < rows; ++q) {
        const size_t i = static_cast<size_t>(begin + q);
        if (k[i] <= 0) continue;
        Select(scores.data() + q * columns_->stride(), k[i], exclude[i],
               &results[i]);
      }
    }
    return results;
  }

  absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const override {
    MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
    return std::make_unique<FlatIndex>(index_, options.exclusion, columns_);
  }

 private:
  // The best k of `scores` (size() of them, overwritten) but `exclude`.
  void Select(float* scores, int k, absl::Span<const int32_t> exclude,
              std::vector<Candidate>* result) const {
    const int64_t n = size();
    // Excluded rows score -infinity, which never enters the top k.
    for (const int32_t row : exclude) {
      if (row >= 0 && row < n)
        scores[row] = -std::numeric_limits<float>::infinity();
    }
    thread_local TopK top;
    top.SelectRows(scores, n, k, result);
  }

  std::shared_ptr<const faiss::IndexFlat> index_;
  ExclusionMode exclusion_;
  std::shared_ptr<const TransposedVectors> columns_;  // shared by copies
};

}  // namespace

std::unique_ptr<CandidateIndex> WrapFlat(
    std::shared_ptr<const faiss::IndexFlat> index, ExclusionMode exclusion) {
  auto columns = std::make_shared<const TransposedVectors>(
      index->get_xb(), index->ntotal, static_cast<int>(index->d));
  return std::make_unique<FlatIndex>(std::move(index), exclusion,
                                     std::move(columns));
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
