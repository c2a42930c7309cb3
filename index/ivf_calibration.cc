#include "index/ivf_calibration.h"

#include <faiss/IndexIVF.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "index/faiss_index.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

// The rows of each query's top k, sorted ascending (for the intersection).
// Queries are searched in parallel over OpenMP's threads.
std::vector<std::vector<int32_t>> TopRows(const CandidateIndex& index,
                                          const RowMatrix& queries, int k) {
  const int64_t m = queries.rows();
  std::vector<std::vector<int32_t>> rows(static_cast<size_t>(m));
  constexpr int64_t kChunk = 16;
  const int64_t chunks = (m + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(dynamic)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    const int64_t n = std::min(kChunk, m - begin);
    const std::vector<int> ks(static_cast<size_t>(n), k);
    const std::vector<absl::Span<const int32_t>> none(static_cast<size_t>(n));
    const std::vector<std::vector<Candidate>> found =
        index.SearchBatch(queries.row(begin).data(), ks, none);
    for (int64_t q = 0; q < n; ++q) {
      std::vector<int32_t>& out = rows[static_cast<size_t>(begin + q)];
      for (const Candidate& candidate : found[static_cast<size_t>(q)]) {
        out.push_back(candidate.row);
      }
      std::sort(out.begin(), out.end());
    }
  }
  return rows;
}

double MeanRecall(const std::vector<std::vector<int32_t>>& found,
                  const std::vector<std::vector<int32_t>>& exact) {
  double sum = 0;
  for (size_t q = 0; q < exact.size(); ++q) {
    if (exact[q].empty()) {
      sum += 1;
      continue;
    }
    std::vector<int32_t> common;
    std::set_intersection(found[q].begin(), found[q].end(), exact[q].begin(),
                          exact[q].end(), std::back_inserter(common));
    sum += static_cast<double>(common.size()) / exact[q].size();
  }
  return sum / exact.size();
}

// 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, ... then nlist.
std::vector<int> Ladder(int nlist) {
  std::vector<int> ladder;
  for (int power = 1; power < nlist; power *= 2) {
    ladder.push_back(power);
    if (power >= 2 && power + power / 2 < nlist) {
      ladder.push_back(power + power / 2);
    }
  }
  ladder.push_back(nlist);
  return ladder;
}

}  // namespace

absl::StatusOr<NprobeChoice> ChooseIvfNprobe(
    const CandidateIndex& ivf, const RowMatrix& vectors,
    const RowMatrix& queries, const NprobeCalibrationOptions& options) {
  const auto* faiss_backed = dynamic_cast<const internal::FaissIndex*>(&ivf);
  const auto* inverted =
      faiss_backed == nullptr
          ? nullptr
          : dynamic_cast<const faiss::IndexIVF*>(&faiss_backed->faiss_index());
  if (ivf.kind() != IndexKind::kIvf || inverted == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "nprobe is calibrated for IVF indexes; got ", ivf.Describe()));
  }
  if (vectors.rows() != ivf.size() || vectors.cols() != ivf.dim() ||
      queries.cols() != ivf.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calibrating ", ivf.Describe(), " of ", ivf.size(), " vectors of ",
        ivf.dim(), " dimensions with ", vectors.rows(), " vectors of ",
        vectors.cols(), " and queries of ", queries.cols()));
  }
  if (queries.rows() == 0) {
    return absl::InvalidArgumentError("calibrating nprobe without queries");
  }
  if (options.k < 1 || !(options.target_recall > 0) ||
      options.target_recall > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calibrating nprobe for recall@", options.k,
        " >= ", options.target_recall, ": need k >= 1, target in (0, 1]"));
  }
  const std::unique_ptr<CandidateIndex> exact = MakeFlatIndex(vectors);
  const std::vector<std::vector<int32_t>> truth =
      TopRows(*exact, queries, options.k);

  NprobeChoice choice;
  choice.nlist = static_cast<int>(inverted->nlist);
  IndexOptions search;
  for (const int nprobe : Ladder(choice.nlist)) {
    search.ivf_nprobe = nprobe;
    MOVIEREC_ASSIGN_OR_RETURN(const std::unique_ptr<CandidateIndex> view,
                              ivf.WithSearchOptions(search));
    const double recall = MeanRecall(TopRows(*view, queries, options.k), truth);
    choice.ladder.push_back({nprobe, recall});
    // The mean of at most k * queries hits, compared with a small slack
    // for the rounding of the division.
    if (recall + 1e-9 >= options.target_recall) {
      choice.nprobe = nprobe;
      choice.recall = recall;
      break;
    }
  }
  if (choice.nprobe == 0) {
    // Every cell scanned and still short: ties at the k-th score, which an
    // exact scan may break differently. Nothing scans more.
    choice.nprobe = choice.ladder.back().nprobe;
    choice.recall = choice.ladder.back().recall;
  }
  return choice;
}

}  // namespace movierec
