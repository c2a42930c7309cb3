// The end of each "same answers through every door" test (issue 16, item 5):
// MovieLens 100K read through another format must train, with the default
// preset and seed 42, to the native reader's metrics.
#ifndef MOVIEREC_TESTS_TRAIN_SEED42_EQUIVALENCE_H_
#define MOVIEREC_TESTS_TRAIN_SEED42_EQUIVALENCE_H_

#include "absl/strings/string_view.h"
#include "data/movielens.h"

namespace movierec::test {

// Trains `converted` (the same data through the format `door`) and expects
// its six seed-42 metrics within 5e-5 of the native ones: model_quality_test's
// seed-42 output when it was written after that test's binary was built
// (MOVIEREC_TEST_OUT_DIR, MOVIEREC_QUALITY_TEST_BIN: ctest runs it first),
// otherwise a training of `native`. Prints both and records them as the
// test's properties.
void ExpectNativeSeed42Metrics(MovieLens native, MovieLens converted,
                               absl::string_view door);

}  // namespace movierec::test

#endif  // MOVIEREC_TESTS_TRAIN_SEED42_EQUIVALENCE_H_
