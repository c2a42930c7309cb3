#include "model/config_json.h"

#include <string>

namespace movierec {
namespace {

// The first key path of `patch` that `reference` lacks, or "".
std::string UnknownKey(const nlohmann::json& patch,
                       const nlohmann::json& reference,
                       const std::string& prefix) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string path =
        prefix.empty() ? it.key() : absl::StrCat(prefix, ".", it.key());
    if (!reference.contains(it.key())) return path;
    if (it->is_object() && reference[it.key()].is_object()) {
      std::string unknown = UnknownKey(*it, reference[it.key()], path);
      if (!unknown.empty()) return unknown;
    }
  }
  return "";
}

}  // namespace

absl::Status MergeConfigJson(absl::string_view patch, TrainConfig* config) {
  nlohmann::json patch_json;
  try {
    patch_json = nlohmann::json::parse(patch.begin(), patch.end());
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config patch is not valid JSON: ", e.what()));
  }
  if (!patch_json.is_object()) {
    return absl::InvalidArgumentError("config patch must be a JSON object");
  }
  nlohmann::json merged = *config;
  const std::string unknown = UnknownKey(patch_json, merged, "");
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config patch names unknown key \"", unknown, "\""));
  }
  merged.merge_patch(patch_json);
  try {
    *config = merged.get<TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config patch has a value of the wrong type: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace movierec
