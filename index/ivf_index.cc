// Approximate search with faiss::IndexIVFFlat: k-means splits the vectors
// into nlist cells (spherical k-means, as FAISS does for inner product); a
// query scans the vectors of the nprobe cells whose centroids have the
// highest inner product with it. The vectors are stored whole, so scores are
// exact inner products.
//
// FAISS trains the cells and holds the inverted lists (and is what SaveIndex
// writes); Search scans them with Eigen (IvfIndex::ScanCells), every
// excluded row marked in a bitmap, so both exclusion modes are the same
// search. When the scanned cells hold fewer eligible rows than owed, Search
// doubles nprobe and tries again, up to every cell (an exact scan), so it
// returns k rows whenever k rows are eligible.
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"
#include "index/top_k.h"
#include "util/status_macros.h"

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

  void Write(faiss::IOWriter* writer) const override {
    // The shared index is const (other views search it): a shallow copy of
    // its header, pointing at the same quantizer and lists and owning
    // neither, carries this view's nprobe into the file.
    faiss::IndexIVFFlat header(*index_);
    header.own_fields = false;
    header.own_invlists = false;
    header.nprobe = nprobe_;
    faiss::write_index(&header, writer);
  }

  std::vector<Candidate> Search(
      const float* query, int k,
      absl::Span<const int32_t> exclude) const override {
    std::vector<Candidate> result;
    const SearchPlan plan = PlanSearch(k, size(), exclude, exclusion_);
    if (plan.want <= 0) return result;
    // Every cell scanned when the scanned cells hold fewer eligible rows
    // than owed: nprobe doubles, up to every cell (an exact scan).
    for (size_t nprobe = std::max<size_t>(nprobe_, 1);;
         nprobe = std::min(2 * nprobe, index_->nlist)) {
      if (centroids_ != nullptr) {
        ScanCells(query, nprobe, plan.want, exclude, &result);
      } else {
        FaissSearch(query, nprobe, plan, exclude, &result);
      }
      if (static_cast<int64_t>(result.size()) >= plan.want ||
          nprobe >= index_->nlist) {
        break;
      }
    }
    return result;
  }

  absl::StatusOr<std::unique_ptr<CandidateIndex>> WithSearchOptions(
      const IndexOptions& options) const override {
    MOVIEREC_RETURN_IF_ERROR(ValidateIndexOptions(options));
    return WrapIvf(index_, options);
  }

 private:
  // The nprobe cells whose centroids score highest, scanned with Eigen over
  // FAISS' own inverted lists (IVFFlat stores the vectors whole): the
  // centroids and each cell's vectors scored by a matrix-vector product, the
  // excluded rows marked in a per-thread bitmap, the best `want` kept by a
  // TopK reservoir. Debian's generic build of FAISS scores row by row with
  // its scalar fvec_inner_product_ref, which is much slower (index_bench).
  void ScanCells(const float* query, size_t nprobe, int64_t want,
                 absl::Span<const int32_t> exclude,
                 std::vector<Candidate>* result) const {
    const Eigen::Map<const Vector> q(query, dim());
    thread_local Vector centroid_scores;
    thread_local TopK cell_top;
    thread_local std::vector<Candidate> cells;
    thread_local Vector scores;
    thread_local std::vector<int32_t> rows;
    thread_local TopK top;
    thread_local std::vector<uint64_t> excluded;
    const auto nlist = static_cast<int64_t>(index_->nlist);
    centroid_scores.noalias() =
        Eigen::Map<const RowMatrix>(centroids_, nlist, dim()) * q;
    cell_top.SelectRows(centroid_scores.data(), nlist, static_cast<int>(nprobe),
                        &cells);

    const int64_t n = size();
    // All zero between calls: only the excluded rows' bits are set, and
    // cleared again below, so a call costs O(excluded), not O(catalogue).
    if (excluded.size() < static_cast<size_t>((n + 63) / 64)) {
      excluded.assign(static_cast<size_t>((n + 63) / 64), 0);
    }
    for (const int32_t row : exclude) {
      if (row >= 0 && row < n) excluded[row >> 6] |= uint64_t{1} << (row & 63);
    }
    top.Reset(static_cast<int>(want));
    const faiss::InvertedLists& lists = *index_->invlists;
    for (const Candidate& cell : cells) {
      const auto count = static_cast<int64_t>(lists.list_size(cell.row));
      if (count == 0) continue;
      faiss::InvertedLists::ScopedCodes codes(&lists, cell.row);
      faiss::InvertedLists::ScopedIds ids(&lists, cell.row);
      scores.noalias() =
          Eigen::Map<const RowMatrix>(
              reinterpret_cast<const float*>(codes.get()), count, dim()) *
          q;
      rows.resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        const faiss_idx_t id = ids.get()[i];
        rows[i] = static_cast<int32_t>(id);
        if ((excluded[id >> 6] >> (id & 63)) & 1) {
          scores(i) = -std::numeric_limits<float>::infinity();
        }
      }
      top.Add(rows.data(), scores.data(), count);
    }
    top.Take(result);
    for (const int32_t row : exclude) {
      if (row >= 0 && row < n) excluded[row >> 6] = 0;
    }
  }

  // FAISS' own search, for an index whose quantizer is not a flat one (not
  // written by this code).
  void FaissSearch(const float* query, size_t nprobe, const SearchPlan& plan,
                   absl::Span<const int32_t> exclude,
                   std::vector<Candidate>* result) const {
    SortedExclusion exclusion(exclude);
    std::vector<float> scores(static_cast<size_t>(plan.fetch));
    std::vector<faiss_idx_t> rows(static_cast<size_t>(plan.fetch));
    OneOpenMpThread one_thread;
    faiss::SearchParametersIVF params;
    params.sel = plan.use_selector ? &exclusion : nullptr;
    params.nprobe = nprobe;
    index_->search(1, query, plan.fetch, scores.data(), rows.data(), &params);
    result->clear();
    AppendEligible(rows.data(), scores.data(), plan.fetch, exclusion, plan.want,
                   result);
  }

  static const float* FlatCentroids(const faiss::IndexIVFFlat& index) {
    const auto* flat = dynamic_cast<const faiss::IndexFlat*>(index.quantizer);
    return flat != nullptr &&
                   static_cast<size_t>(flat->ntotal) == index.nlist &&
                   flat->d == index.d
               ? flat->get_xb()
               : nullptr;
  }

  std::shared_ptr<const faiss::IndexIVFFlat> index_;
  size_t nprobe_;
  ExclusionMode exclusion_;
  const float* centroids_ = FlatCentroids(*index_);
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
