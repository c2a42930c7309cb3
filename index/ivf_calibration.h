// Choosing an IVF index's nprobe for the vectors it will actually be asked
// about: the fewest cells scanned per query that still find a target share
// of the exact top k. The default nprobe (IndexOptions) is the index
// benchmark's choice for a million synthetic vectors; a trained model's
// movies and users cluster differently, so the trainer measures its own.
#ifndef MOVIEREC_INDEX_IVF_CALIBRATION_H_
#define MOVIEREC_INDEX_IVF_CALIBRATION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "index/candidate_index.h"
#include "util/eigen_types.h"

namespace movierec {

struct NprobeCalibrationOptions {
  // Results per query compared with the exact search's (the server's
  // --num_candidates default).
  int k = 100;
  // The share of the exact top k the chosen nprobe must find, averaged over
  // the queries: the index benchmark's bar (tests/bench/BENCHMARKS.md).
  double target_recall = 0.95;
};

// One step of the ladder.
struct NprobeRecall {
  int nprobe = 0;
  double recall = 0;  // mean over the queries of |found ∩ exact| / k
};

struct NprobeChoice {
  int nprobe = 0;     // the smallest measured nprobe reaching the target
  double recall = 0;  // its recall
  int nlist = 0;      // the index's cells
  std::vector<NprobeRecall> ladder;  // every nprobe measured, ascending
};

/// Measures `ivf` (an IVF index over `vectors`, one row per indexed movie)
/// at nprobe 1, 2, 3, 4, 6, 8, 12, 16, 24, ... (about 1.4x a step; then
/// every cell) on `queries` (one row per query, no exclusions), against an
/// exact search of `vectors`, and returns the first nprobe whose recall
/// reaches options.target_recall. Scanning every cell is exact, so the
/// ladder always ends. Uses the calling thread's OpenMP threads for the
/// exact search. InvalidArgument when `ivf` is not an IVF index of this
/// library, the shapes disagree, `queries` is empty, k < 1 or the target is
/// not in (0, 1].
absl::StatusOr<NprobeChoice> ChooseIvfNprobe(
    const CandidateIndex& ivf, const RowMatrix& vectors,
    const RowMatrix& queries, const NprobeCalibrationOptions& options = {});

}  // namespace movierec

#endif  // MOVIEREC_INDEX_IVF_CALIBRATION_H_
