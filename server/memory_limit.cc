#include "server/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace movierec {
namespace {

// The first line of `path` as a positive byte count; 0 when the file is
// missing, says "max", or holds no number.
int64_t ReadLimitFile(const std::string& path) {
  std::ifstream file(path);
  std::string text;
  if (!(file >> text)) return 0;
  int64_t bytes = 0;
  if (!absl::SimpleAtoi(text, &bytes) || bytes <= 0) return 0;
  return bytes;
}

}  // namespace

absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  const auto bad = [text](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad byte size \"", text, "\": ", why,
                     " (examples: 1Gi, 512Mi, 300M, 1073741824)"));
  };
  size_t digits = 0;
  while (digits < rest.size() &&
         std::isdigit(static_cast<unsigned char>(rest[digits]))) {
    ++digits;
  }
  if (digits == 0) return bad("it does not start with a number");
  uint64_t number = 0;
  if (!absl::SimpleAtoi(rest.substr(0, digits), &number)) {
    return bad("the number is too large");
  }
  absl::string_view suffix = rest.substr(digits);
  absl::ConsumeSuffix(&suffix, "B");
  static constexpr std::pair<const char*, uint64_t> kSuffixes[] = {
      {"", 1},
      {"K", 1000},
      {"M", 1000 * 1000},
      {"G", 1000 * 1000 * 1000},
      {"T", 1000ull * 1000 * 1000 * 1000},
      {"Ki", 1ull << 10},
      {"Mi", 1ull << 20},
      {"Gi", 1ull << 30},
      {"Ti", 1ull << 40}};
  for (const auto& [name, scale] : kSuffixes) {
    if (suffix != name) continue;
    if (number >
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / scale) {
      return bad("it is too large");
    }
    return static_cast<int64_t>(number * scale);
  }
  return bad(absl::StrCat("unknown unit \"", suffix, "\""));
}

bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    size->bytes = 0;
    return true;
  }
  absl::StatusOr<int64_t> bytes = ParseByteSize(text);
  if (!bytes.ok()) {
    *error = std::string(bytes.status().message());
    return false;
  }
  size->bytes = *bytes;
  return true;
}

std::string AbslUnparseFlag(ByteSize size) {
  if (size.bytes == 0) return "";
  // The largest binary unit that divides it ("64Mi", not "67108864"), so
  // that --help shows a default as an operator would write it.
  static constexpr std::pair<const char*, int> kUnits[] = {
      {"Ti", 40}, {"Gi", 30}, {"Mi", 20}, {"Ki", 10}};
  for (const auto& [name, shift] : kUnits) {
    const int64_t unit = int64_t{1} << shift;
    if (size.bytes % unit == 0) return absl::StrCat(size.bytes / unit, name);
  }
  return absl::StrCat(size.bytes);
}

int64_t DetectMemoryLimit(const std::string& cgroup_root) {
  int64_t limit = ReadLimitFile(cgroup_root + "/memory.max");
  if (limit == 0) {
    limit = ReadLimitFile(cgroup_root + "/memory/memory.limit_in_bytes");
  }
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const int64_t physical =
      pages > 0 && page_size > 0 ? int64_t{pages} * page_size : 0;
  // cgroup v1 says "no limit" with a huge number.
  if (limit == 0 || (physical > 0 && limit > physical)) limit = physical;
  return std::max<int64_t>(limit, 1);
}

int64_t GrpcQuotaFor(int64_t memory_limit_bytes, int64_t model_bytes) {
  const int64_t half = memory_limit_bytes / 2;
  const int64_t left =
      (memory_limit_bytes - std::max<int64_t>(model_bytes, 0)) / 2;
  return std::max<int64_t>(std::clamp(left, memory_limit_bytes / 8, half), 1);
}

int64_t ModelReserveBytes(const std::vector<int64_t>& held_model_bytes) {
  int64_t total = 0;
  int64_t largest = 0;
  for (const int64_t bytes : held_model_bytes) {
    total += bytes;
    largest = std::max(largest, bytes);
  }
  return total + largest;
}

MemoryBudget BudgetFor(int64_t memory_limit_bytes, int max_message_bytes) {
  MemoryBudget budget;
  budget.grpc_quota_bytes = GrpcQuotaFor(memory_limit_bytes, 0);
  const int64_t streams =
      budget.grpc_quota_bytes / std::max<int64_t>(max_message_bytes, 1);
  budget.max_concurrent_streams =
      static_cast<int>(std::clamp<int64_t>(streams, 16, 1024));
  return budget;
}

}  // namespace movierec
