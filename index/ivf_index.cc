// Approximate search with faiss::IndexIVFFlat: k-means splits the vectors
// into nlist cells (spherical k-means, as FAISS does for inner product); a
// query scans the vectors of the nprobe cells whose centroids have the
// highest inner product with it. The vectors are stored whole, so scores are
// exact inner products.
//
// Exclusion: the selector makes FAISS skip excluded rows inside the scanned
// cells; over-fetch asks for k + (excluded rows) results. When the scanned
// cells hold fewer eligible rows than owed, Search doubles nprobe and tries
// again, up to every cell (an exact scan), so it returns k rows whenever k
// rows are eligible.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"

namespace movierec {
namespace internal {
namespace {

// Training points per cell: k-means on more is slower and no better here.
constexpr int kTrainingPointsPerCell = 64;

class IvfIndex final : public FaissIndex {
 public:
  IvfIndex(std::shared_ptr<const faiss::IndexIVFFlat> index, int nprobe,
           ExclusionMode exclusion)
      : index_(std::move(index)),
        nprobe_(std::min<int64_t>(nprobe, index_->nlist)),
        exclusion_(exclusion) {}

  int dim() const override { return index_->d; }
  int64_t size() const override { return index_->ntotal; }
  IndexKind kind() const override { return IndexKind::kIvf; }
  std::string Describe() const override {
    return absl::StrCat("ivf(nlist=", index_->nlist, ", nprobe=", nprobe_,
                        ", exclusion=", ExclusionModeName(exclusion_), ")");
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
    OneOpenMpThread one_thread;
    faiss::SearchParametersIVF params;
    params.sel = plan.use_selector ? &exclusion : nullptr;
    for (size_t nprobe = std::max<size_t>(nprobe_, 1);;
         nprobe = std::min(2 * nprobe, index_->nlist)) {
      params.nprobe = nprobe;
      index_->search(1, query, plan.fetch, scores.data(), rows.data(), &params);
      result.clear();
      AppendEligible(rows.data(), scores.data(), plan.fetch, exclusion,
                     plan.want, &result);
      if (static_cast<int64_t>(result.size()) >= plan.want ||
          nprobe >= index_->nlist) {
        break;
      }
    }
    return result;
  }

  absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const override {
    if (absl::Status status = ValidateIndexOptions(options); !status.ok()) {
      return status;
    }
    return WrapIvf(index_, options);
  }

 private:
  std::shared_ptr<const faiss::IndexIVFFlat> index_;
  size_t nprobe_;
  ExclusionMode exclusion_;
};

}  // namespace

std::unique_ptr<CandidateIndex> WrapIvf(
    std::shared_ptr<const faiss::IndexIVFFlat> index,
    const IndexOptions& search_options) {
  return std::make_unique<IvfIndex>(std::move(index), search_options.ivf_nprobe,
                                    search_options.exclusion);
}

absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildIvf(
    const RowMatrix& vectors, const IndexOptions& options) {
  const int nlist = ResolveIvfNlist(options, vectors.rows());
  if (vectors.rows() < nlist) {
    return absl::InvalidArgumentError(
        absl::StrCat("an IVF index of ", nlist, " cells needs at least ", nlist,
                     " vectors; got ", vectors.rows()));
  }
  const auto d = static_cast<faiss_idx_t>(vectors.cols());
  try {
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(d);
    auto index = std::make_shared<faiss::IndexIVFFlat>(
        quantizer.get(), d, nlist, faiss::METRIC_INNER_PRODUCT);
    quantizer.release();
    index->own_fields = true;
    index->cp.max_points_per_centroid = kTrainingPointsPerCell;
    index->nprobe = std::min(options.ivf_nprobe, nlist);
    index->train(vectors.rows(), vectors.data());
    index->add(vectors.rows(), vectors.data());
    return WrapIvf(std::move(index), options);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("building the IVF index failed: ", e.what()));
  }
}

}  // namespace internal
}  // namespace movierec
