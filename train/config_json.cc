#include "train/config_json.h"

#include <string>

#include "absl/strings/str_cat.h"

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

// The first leaf path of `patch` whose value `kept` does not hold, or "".
// Numbers compare as float, the narrowest type of a config field.
std::string LostValue(const nlohmann::json& patch, const nlohmann::json& kept,
                      const std::string& prefix) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string path =
        prefix.empty() ? it.key() : absl::StrCat(prefix, ".", it.key());
    const nlohmann::json& value = kept[it.key()];
    if (it->is_object()) {
      std::string lost = LostValue(*it, value, path);
      if (!lost.empty()) return lost;
    } else if (it->is_number() && value.is_number()) {
      if (static_cast<float>(it->get<double>()) !=
          static_cast<float>(value.get<double>())) {
        return path;
      }
    } else if (*it != value) {
      return path;
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
  TrainConfig patched;
  try {
    patched = merged.get<TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config patch has a value of the wrong type: ", e.what()));
  }
  // A value the config cannot hold (1.5 for an integer field) would be
  // converted silently: compare what was asked with what was kept.
  const std::string lost = LostValue(patch_json, nlohmann::json(patched), "");
  if (!lost.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config patch value of \"", lost,
                     "\" does not fit the field's type (an integer where one "
                     "is expected?)"));
  }
  *config = std::move(patched);
  return absl::OkStatus();
}

}  // namespace movierec
