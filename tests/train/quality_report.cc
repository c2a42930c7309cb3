#include "tests/train/quality_report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace movierec::test {

bool QualitySeedSelected(uint64_t seed) {
  const char* env = std::getenv("MOVIEREC_QUALITY_SEEDS");
  if (env == nullptr || *env == '\0') return true;
  bool selected = false;
  for (absl::string_view part : absl::StrSplit(env, ',')) {
    uint64_t listed = 0;
    if (!absl::SimpleAtoi(part, &listed)) {
      ADD_FAILURE() << "MOVIEREC_QUALITY_SEEDS=\"" << env << "\": \"" << part
                    << "\" is not a seed";
      return false;
    }
    selected |= listed == seed;
  }
  return selected;
}

std::string QualityReportPath(uint64_t seed) {
  return absl::StrCat(MOVIEREC_TEST_OUT_DIR, "/model_quality_seed_", seed,
                      ".txt");
}

QualityReport FreshQualityReport(uint64_t seed) {
  namespace fs = std::filesystem;
  const fs::path file = QualityReportPath(seed);
  std::error_code error;
  const auto written = fs::last_write_time(file, error);
  if (error) return {};
  const auto built = fs::last_write_time(MOVIEREC_QUALITY_TEST_BIN, error);
  if (error || written < built) return {};
  QualityReport report;
  std::ifstream in(file);
  std::string name;
  double value = 0;
  while (in >> name >> value) report[name] = value;
  return report;
}

}  // namespace movierec::test
