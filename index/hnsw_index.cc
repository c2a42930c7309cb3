// Approximate search with faiss::IndexHNSWFlat, a navigable small-world graph
// over the vectors (Malkov and Yashunin, 2018).
//
// The graph is built for Euclidean distance over vectors augmented for
// maximum inner product search (Bachrach et al., 2014): with phi the largest
// vector norm, row x is stored as [x, sqrt(phi^2 - |x|^2)] and a query q is
// searched as [q, 0], so that |q' - x'|^2 = |q|^2 + phi^2 - 2 q.x and the
// nearest stored vector is the one with the highest inner product. HNSW built
// directly on inner products (our vectors are not normalised: a bias column
// is folded in) makes large-norm vectors hubs: on clustered Gaussian vectors
// with varied norms its recall stalled, however large efSearch, well below the
// augmented graph's. Scores are
// recomputed exactly from the stored vectors.
//
// FAISS 1.7.3 sizes the candidate queue from max(k, the index's own
// efSearch), and reads the stopping rule from the search parameters; Search
// asks for max(k, efSearch) results so that the per-call efSearch governs
// both, and keeps the best k. The index's own efSearch (saved with it) is the
// default; a WithSearchOptions view may raise it, while a lower value still
// gets a queue of the saved size.
//
// Exclusion: the selector makes FAISS skip excluded rows while still walking
// through them; over-fetch raises k (and so efSearch) by the number of
// excluded rows. Either way, if the graph walk finds fewer eligible rows than
// owed, Search falls back to an exact scan of the stored vectors with the
// selector, so it returns k rows whenever k rows are eligible.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/HNSW.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"
#include "util/status_macros.h"

namespace movierec {
namespace internal {
namespace {

// Rows added to FAISS per call while building: bounds the augmented copy.
constexpr int64_t kBuildChunkRows = 65536;

class HnswIndex final : public FaissIndex {
 public:
  HnswIndex(std::shared_ptr<const faiss::IndexHNSWFlat> index, int ef_search,
            ExclusionMode exclusion)
      : index_(std::move(index)),
        storage_(dynamic_cast<const faiss::IndexFlat*>(index_->storage)),
        ef_search_(ef_search),
        exclusion_(exclusion) {}

  int dim() const override { return index_->d - 1; }
  int64_t size() const override { return index_->ntotal; }
  IndexKind kind() const override { return IndexKind::kHnsw; }
  std::string Describe() const override {
    return absl::StrCat("hnsw(M=", index_->hnsw.nb_neighbors(1),
                        ", efConstruction=", index_->hnsw.efConstruction,
                        ", efSearch=", ef_search_,
                        ", exclusion=", ExclusionModeName(exclusion_), ")");
  }
  const faiss::Index& faiss_index() const override { return *index_; }

  std::vector<Candidate> Search(
      const float* query, int k,
      absl::Span<const int32_t> exclude) const override {
    std::vector<Candidate> result;
    const SearchPlan plan = PlanSearch(k, size(), exclude, exclusion_);
    if (plan.want <= 0) return result;
    const int d = dim();
    std::vector<float> augmented(query, query + d);
    augmented.push_back(0);
    SortedExclusion exclusion(exclude);
    const int64_t fetch =
        std::min<int64_t>(size(), std::max<int64_t>(plan.fetch, ef_search_));
    std::vector<float> distances(static_cast<size_t>(fetch));
    std::vector<faiss_idx_t> rows(static_cast<size_t>(fetch));
    result.reserve(static_cast<size_t>(plan.want));
    {
      OneOpenMpThread one_thread;
      faiss::SearchParametersHNSW params;
      params.efSearch = static_cast<int>(fetch);
      params.sel = plan.use_selector ? &exclusion : nullptr;
      index_->search(1, augmented.data(), fetch, distances.data(), rows.data(),
                     &params);
      AppendEligible(rows.data(), distances.data(), fetch, exclusion, plan.want,
                     &result);
      if (static_cast<int64_t>(result.size()) < plan.want) {
        // The walk missed eligible rows: scan them all.
        faiss::SearchParameters exact;
        exact.sel = &exclusion;
        storage_->search(1, augmented.data(), plan.want, distances.data(),
                         rows.data(), &exact);
        result.clear();
        AppendEligible(rows.data(), distances.data(), plan.want, exclusion,
                       plan.want, &result);
      }
    }
    const float* stored = storage_->get_xb();
    for (Candidate& c : result) {
      const float* x = stored + static_cast<int64_t>(c.row) * (d + 1);
      float score = 0;
      for (int j = 0; j < d; ++j) score += query[j] * x[j];
      c.score = score;
    }
    SortCandidates(&result);
    return result;
  }

  absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const override {
    MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
    return std::make_unique<HnswIndex>(index_, options.hnsw_ef_search,
                                       options.exclusion);
  }

 private:
  std::shared_ptr<const faiss::IndexHNSWFlat> index_;
  const faiss::IndexFlat* storage_;  // owned by index_
  int ef_search_;
  ExclusionMode exclusion_;
};

// Checks that `index` holds augmented vectors: an L2 flat storage whose rows
// all have the same norm.
absl::Status CheckAugmented(const faiss::IndexHNSWFlat& index) {
  const auto* storage = dynamic_cast<const faiss::IndexFlat*>(index.storage);
  if (index.metric_type != faiss::METRIC_L2 || storage == nullptr ||
      index.d < 2) {
    return absl::InvalidArgumentError(
        "not a movierec HNSW index: expected an L2 IndexHNSWFlat over "
        "vectors augmented by one column");
  }
  const float* x = storage->get_xb();
  double phi2 = -1;
  for (faiss_idx_t r = 0; r < storage->ntotal; ++r) {
    double norm2 = 0;
    for (int j = 0; j < index.d; ++j) {
      const double v = x[r * index.d + j];
      norm2 += v * v;
    }
    if (r == 0) phi2 = norm2;
    if (std::abs(norm2 - phi2) > 1e-4 * std::max(phi2, 1e-12) + 1e-12) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a movierec HNSW index: stored row ", r, " has squared norm ",
          norm2, ", row 0 has ", phi2, " (vectors not augmented for MIPS)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CandidateIndex>> WrapHnsw(
    std::shared_ptr<const faiss::IndexHNSWFlat> index,
    const IndexOptions& search_options) {
  MOVIEREC_RETURN_IF_ERROR(CheckAugmented(*index));
  return std::make_unique<HnswIndex>(std::move(index),
                                     search_options.hnsw_ef_search,
                                     search_options.exclusion);
}

absl::StatusOr<std::unique_ptr<CandidateIndex>> BuildHnsw(
    const RowMatrix& vectors, const IndexOptions& options) {
  const auto d = static_cast<int>(vectors.cols());
  std::vector<double> norms2(static_cast<size_t>(vectors.rows()));
  double phi2 = 0;
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    double norm2 = 0;
    for (int j = 0; j < d; ++j) norm2 += double{vectors(r, j)} * vectors(r, j);
    norms2[static_cast<size_t>(r)] = norm2;
    phi2 = std::max(phi2, norm2);
  }
  try {
    auto index = std::make_shared<faiss::IndexHNSWFlat>(d + 1, options.hnsw_m,
                                                        faiss::METRIC_L2);
    index->hnsw.efConstruction = options.hnsw_ef_construction;
    index->hnsw.efSearch = options.hnsw_ef_search;
    RowMatrix chunk;
    for (int64_t start = 0; start < vectors.rows(); start += kBuildChunkRows) {
      const int64_t rows =
          std::min<int64_t>(kBuildChunkRows, vectors.rows() - start);
      chunk.resize(rows, d + 1);
      chunk.leftCols(d) = vectors.middleRows(start, rows);
      for (int64_t r = 0; r < rows; ++r) {
        chunk(r, d) = static_cast<float>(std::sqrt(
            std::max(0.0, phi2 - norms2[static_cast<size_t>(start + r)])));
      }
      index->add(rows, chunk.data());
    }
    return std::make_unique<HnswIndex>(std::move(index), options.hnsw_ef_search,
                                       options.exclusion);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("building the HNSW index failed: ", e.what()));
  }
}

}  // namespace internal
}  // namespace movierec
