#include "index/faiss_index.h"

#include <faiss/index_io.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace movierec {
namespace internal {

void FaissIndex::Write(faiss::IOWriter* writer) const {
  faiss::write_index(&faiss_index(), writer);
}

bool SortedExclusion::is_member(faiss_idx_t id) const {
  if (excluded_.empty() || id < excluded_.front() || id > excluded_.back()) {
    return true;
  }
  return !std::binary_search(excluded_.begin(), excluded_.end(),
                             static_cast<int32_t>(id));
}

OneOpenMpThread::OneOpenMpThread() : previous_(omp_get_max_threads()) {
  omp_set_num_threads(1);
}

OneOpenMpThread::~OneOpenMpThread() { omp_set_num_threads(previous_); }

SearchPlan PlanSearch(int k, int64_t size, absl::Span<const int32_t> exclude,
                      ExclusionMode mode) {
  SearchPlan plan;
  const auto first = std::lower_bound(exclude.begin(), exclude.end(), 0);
  const auto last = std::lower_bound(first, exclude.end(), size);
  for (auto it = first; it != last; ++it) {
    if (it == first || *it != *(it - 1)) ++plan.excluded;
  }
  plan.want = std::max<int64_t>(0, std::min<int64_t>(k, size - plan.excluded));
  if (plan.excluded == 0) {
    plan.fetch = plan.want;
    return plan;
  }
  plan.use_selector =
      mode == ExclusionMode::kSelector ||
      (mode == ExclusionMode::kAuto && plan.excluded > kOverFetchMaxExcluded);
  plan.fetch = plan.use_selector
                   ? plan.want
                   : std::min<int64_t>(size, plan.want + plan.excluded);
  return plan;
}

void AppendEligible(const faiss_idx_t* rows, const float* scores, int64_t n,
                    const SortedExclusion& exclusion, int64_t want,
                    std::vector<Candidate>* out) {
  for (int64_t i = 0; i < n && static_cast<int64_t>(out->size()) < want; ++i) {
    if (rows[i] < 0) break;  // FAISS pads missing results with -1
    if (exclusion.excludes(rows[i])) continue;
    out->push_back({static_cast<int32_t>(rows[i]), scores[i]});
  }
}

void SortCandidates(std::vector<Candidate>* candidates) {
  std::sort(candidates->begin(), candidates->end(), BetterCandidate());
}

absl::Status CheckVectors(const RowMatrix& vectors) {
  if (vectors.cols() == 0) {
    return absl::InvalidArgumentError("the vectors have no columns");
  }
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    for (Eigen::Index c = 0; c < vectors.cols(); ++c) {
      if (!std::isfinite(vectors(r, c))) {
        return absl::InvalidArgumentError(
            absl::StrCat("vector row ", r, " column ", c, " is ", vectors(r, c),
                         ", not a finite number"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace movierec
