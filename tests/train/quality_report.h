// What model_quality_test's seeds leave for the other real-data tests: each
// seed's measured figures, written to MOVIEREC_TEST_OUT_DIR, so that a test
// comparing against them (the formats' seed-42 equivalence, the mean over
// seeds 1-3) reads them instead of training again; and which seeds
// MOVIEREC_QUALITY_SEEDS selects.
#ifndef MOVIEREC_TESTS_TRAIN_QUALITY_REPORT_H_
#define MOVIEREC_TESTS_TRAIN_QUALITY_REPORT_H_

#include <cstdint>
#include <map>
#include <string>

namespace movierec::test {

using QualityReport = std::map<std::string, double>;

// Issue 20's bar: the served top 10's recall@10 and NDCG@10 each at least
// this ratio to EASE^R's (lambda 500, fitted in the same run), on seed 42
// and on the mean of seeds 1, 2 and 3.
inline constexpr double kMinRatioToEase = 1.03;

// Whether MOVIEREC_QUALITY_SEEDS (comma-separated; unset or empty: every
// seed) selects `seed`; a test failure if it holds something other than
// seeds.
bool QualitySeedSelected(uint64_t seed);

// Where model_quality_test writes seed `seed`'s figures ("name value" lines).
std::string QualityReportPath(uint64_t seed);

// Seed `seed`'s figures, if written after model_quality_test's binary
// (MOVIEREC_QUALITY_TEST_BIN) was built; empty otherwise.
QualityReport FreshQualityReport(uint64_t seed);

}  // namespace movierec::test

#endif  // MOVIEREC_TESTS_TRAIN_QUALITY_REPORT_H_
