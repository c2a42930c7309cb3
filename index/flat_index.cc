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
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"
#include "index/top_k.h"
#include "util/status_macros.h"

namespace movierec {
namespace internal {
namespace {

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
    top.SelectRows(scores.data(), n, k, &result);
    return result;
  }

  absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const override {
    MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
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
