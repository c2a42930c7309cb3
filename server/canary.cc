#include "server/canary.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace movierec {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;

// FNV-1a over `bytes`, continuing from `hash`.
uint64_t Fnv1a64(absl::string_view bytes, uint64_t hash = kFnvOffset) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit,
// so that ids that differ in one digit land in unrelated buckets.
uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// A percent as text: digits with at most two decimals, 0-100.
absl::StatusOr<int> ParsePercent(absl::string_view text) {
  const auto bad = [text] {
    return absl::InvalidArgumentError(absl::StrCat(
        "percent \"", text,
        "\" is not a number from 0 to 100 with at most 2 decimals"));
  };
  const size_t dot = text.find('.');
  const absl::string_view whole = text.substr(0, dot);
  const absl::string_view fraction =
      dot == absl::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 3 || fraction.size() > 2 ||
      (dot != absl::string_view::npos && fraction.empty())) {
    return bad();
  }
  for (const char c : absl::StrCat(whole, fraction)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return bad();
  }
  int units = 0;
  int hundredths = 0;
  if (!absl::SimpleAtoi(whole, &units)) return bad();
  if (!fraction.empty()) {
    (void)absl::SimpleAtoi(fraction, &hundredths);
    if (fraction.size() == 1) hundredths *= 10;
  }
  const int basis_points = units * 100 + hundredths;
  if (basis_points > kCanaryBuckets) return bad();
  return basis_points;
}

absl::StatusOr<int64_t> ParseVersion(absl::string_view key,
                                     absl::string_view text) {
  int64_t version = 0;
  if (!absl::SimpleAtoi(text, &version) || version < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, " \"", text, "\" is not a model version (an integer >= 1)"));
  }
  return version;
}

int Bucket(uint64_t fnv) {
  return static_cast<int>(Fmix64(fnv) % static_cast<uint64_t>(kCanaryBuckets));
}

}  // namespace

int CanaryBucket(absl::string_view key) { return Bucket(Fnv1a64(key)); }

int PercentToBasisPoints(double percent) {
  return static_cast<int>(std::lround(percent * 100));
}

int RoutingBucket(const movierec::v1::RecommendRequest& request) {
  if (!request.user_id().empty()) return CanaryBucket(request.user_id());
  // The ids joined with commas, hashed as they come.
  uint64_t hash = kFnvOffset;
  for (int i = 0; i < request.recent_movie_ids_size(); ++i) {
    if (i > 0) hash = Fnv1a64(",", hash);
    hash = Fnv1a64(request.recent_movie_ids(i), hash);
  }
  return Bucket(hash);
}

int RoutingBucket(const movierec::v1::SimilarMoviesRequest& request) {
  return CanaryBucket(request.movie_id());
}

int RoutingBucket(const movierec::v1::RecommendBatchRequest& request) {
  return request.requests().empty() ? 0 : RoutingBucket(request.requests(0));
}

absl::StatusOr<CanaryControl> ParseCanaryControl(absl::string_view text,
                                                 absl::string_view path) {
  CanaryControl control;
  bool seen_percent = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": ", why,
                       " (expected key = value lines: percent, stable, "
                       "candidate; # starts a comment)"));
    };
    line = line.substr(0, line.find('#'));
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return error(absl::StrCat("\"", line, "\" has no ="));
    }
    const absl::string_view key =
        absl::StripAsciiWhitespace(line.substr(0, equals));
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(equals + 1));
    if (key == "percent") {
      if (seen_percent) return error("percent is set twice");
      seen_percent = true;
      absl::StatusOr<int> basis_points = ParsePercent(value);
      if (!basis_points.ok()) return error(basis_points.status().message());
      control.percent_basis_points = *basis_points;
    } else if (key == "stable" || key == "candidate") {
      int64_t& field = key == "stable" ? control.stable : control.candidate;
      if (field != 0) return error(absl::StrCat(key, " is set twice"));
      absl::StatusOr<int64_t> version = ParseVersion(key, value);
      if (!version.ok()) return error(version.status().message());
      field = *version;
    } else {
      return error(absl::StrCat("unknown key \"", key, "\""));
    }
  }
  return control;
}

ServingSet::ServingSet(ServedVersion stable, ServedVersion candidate,
                       int candidate_basis_points)
    : stable_(std::move(stable)),
      candidate_(std::move(candidate)),
      candidate_basis_points_(candidate_basis_points) {
  if (candidate_.snapshot == nullptr) {
    effective_basis_points_ = 0;
  } else if (stable_.snapshot == nullptr) {
    effective_basis_points_ = kCanaryBuckets;
  } else {
    effective_basis_points_ = candidate_basis_points_;
  }
}

}  // namespace movierec
