#include "index/index_options.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace movierec {

absl::StatusOr<IndexKind> ParseIndexKind(absl::string_view name) {
  for (const IndexKind kind : {IndexKind::kAuto, IndexKind::kFlat,
                               IndexKind::kHnsw, IndexKind::kIvf}) {
    if (name == IndexKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown index kind \"", name, "\"; expected auto, flat, hnsw or ivf"));
}

const char* IndexKindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kAuto:
      return "auto";
    case IndexKind::kFlat:
      return "flat";
    case IndexKind::kHnsw:
      return "hnsw";
    case IndexKind::kIvf:
      return "ivf";
  }
  return "?";
}

absl::StatusOr<ExclusionMode> ParseExclusionMode(absl::string_view name) {
  for (const ExclusionMode mode :
       {ExclusionMode::kAuto, ExclusionMode::kSelector,
        ExclusionMode::kOverFetch}) {
    if (name == ExclusionModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown exclusion mode \"", name,
                   "\"; expected auto, selector or overfetch"));
}

const char* ExclusionModeName(ExclusionMode mode) {
  switch (mode) {
    case ExclusionMode::kAuto:
      return "auto";
    case ExclusionMode::kSelector:
      return "selector";
    case ExclusionMode::kOverFetch:
      return "overfetch";
  }
  return "?";
}

absl::Status ValidateIndexOptions(const IndexOptions& options) {
  const auto out_of_range = [](absl::string_view field, int value,
                               absl::string_view range) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index option ", field, " is ", value, "; it must be ", range));
  };
  if (options.hnsw_m < 2) return out_of_range("hnsw_m", options.hnsw_m, ">= 2");
  if (options.hnsw_ef_construction < 1) {
    return out_of_range("hnsw_ef_construction", options.hnsw_ef_construction,
                        ">= 1");
  }
  if (options.hnsw_ef_search < 1) {
    return out_of_range("hnsw_ef_search", options.hnsw_ef_search, ">= 1");
  }
  if (options.ivf_nlist < 0) {
    return out_of_range("ivf_nlist", options.ivf_nlist, ">= 0 (0: automatic)");
  }
  if (options.ivf_nprobe < 1) {
    return out_of_range("ivf_nprobe", options.ivf_nprobe, ">= 1");
  }
  return absl::OkStatus();
}

IndexKind ResolveIndexKind(const IndexOptions& options, int64_t num_vectors) {
  if (options.kind != IndexKind::kAuto) return options.kind;
  return num_vectors <= kAutoFlatMaxVectors ? IndexKind::kFlat
                                            : IndexKind::kIvf;
}

int ResolveIvfNlist(const IndexOptions& options, int64_t num_vectors) {
  if (options.ivf_nlist > 0) return options.ivf_nlist;
  const double automatic = std::round(
      2 * std::sqrt(static_cast<double>(std::max<int64_t>(num_vectors, 0))));
  return std::max(1, static_cast<int>(automatic));
}

std::string DescribeIndexOptions(IndexKind kind, const IndexOptions& options) {
  const std::string exclusion =
      absl::StrCat("exclusion=", ExclusionModeName(options.exclusion));
  switch (kind) {
    case IndexKind::kHnsw:
      return absl::StrCat("hnsw(M=", options.hnsw_m,
                          ", efConstruction=", options.hnsw_ef_construction,
                          ", efSearch=", options.hnsw_ef_search, ", ",
                          exclusion, ")");
    case IndexKind::kIvf:
      return absl::StrCat(
          "ivf(nlist=",
          options.ivf_nlist > 0 ? absl::StrCat(options.ivf_nlist) : "auto",
          ", nprobe=", options.ivf_nprobe, ", ", exclusion, ")");
    case IndexKind::kFlat:
    case IndexKind::kAuto:
      break;
  }
  return absl::StrCat(IndexKindName(kind), "(", exclusion, ")");
}

}  // namespace movierec
