// Exact inner-product search with faiss::IndexFlatIP: every query scans every
// vector. Over-fetching k + (excluded rows) results and dropping the excluded
// ones is exact here, so both exclusion modes return the same rows.
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"

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
    const SearchPlan plan = PlanSearch(k, size(), exclude, exclusion_);
    if (plan.want <= 0) return result;
    SortedExclusion exclusion(exclude);
    std::vector<float> scores(static_cast<size_t>(plan.fetch));
    std::vector<faiss_idx_t> rows(static_cast<size_t>(plan.fetch));
    faiss::SearchParameters params;
    params.sel = plan.use_selector ? &exclusion : nullptr;
    {
      OneOpenMpThread one_thread;
      index_->search(1, query, plan.fetch, scores.data(), rows.data(), &params);
    }
    result.reserve(static_cast<size_t>(plan.want));
    AppendEligible(rows.data(), scores.data(), plan.fetch, exclusion, plan.want,
                   &result);
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
