#include "index/candidate_index.h"

namespace movierec {

std::vector<std::vector<Candidate>> CandidateIndex::SearchBatch(
    const float* queries, absl::Span<const int> k,
    absl::Span<const absl::Span<const int32_t>> exclude) const {
  std::vector<std::vector<Candidate>> results;
  results.reserve(k.size());
  for (size_t q = 0; q < k.size(); ++q) {
    results.push_back(
        Search(queries + static_cast<int64_t>(q) * dim(), k[q], exclude[q]));
  }
  return results;
}

}  // namespace movierec
