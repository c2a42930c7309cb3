// Reading and writing model versions: MODEL_BASE/<integer version>/, laid out
// as TensorFlow Serving lays out its versions, in the format documented in
// proto/movierec/model/v1/model_bundle.proto.
//
// Writers never expose half a version: files go to a hidden temporary
// directory in MODEL_BASE, are fsynced, and the directory is renamed to its
// version number in one step. Readers refuse (InvalidArgument, with the file
// and the reason) any bundle that is truncated, altered, of another format
// version, or internally inconsistent.
#ifndef MOVIEREC_MODEL_BUNDLE_H_
#define MOVIEREC_MODEL_BUNDLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "index/candidate_index.h"
#include "model/format_version.h"
#include "model/model.h"

namespace movierec {

inline constexpr char kBundleFileName[] = "model.bin";
inline constexpr char kMetricsFileName[] = "metrics.json";
inline constexpr char kIndexFileName[] = "index.faiss";

// Serialises `model` into the framed bytes of model.bin.
std::string EncodeBundle(const Model& model);

// Parses and validates the framed bytes of model.bin; `name` is used in
// error messages.
absl::StatusOr<Model> DecodeBundle(absl::string_view bytes,
                                   absl::string_view name);

// The catalogue alone (movies, users, genres) of model.bin's framed bytes,
// checked as DecodeBundle checks it; the rest of the payload is skipped
// after the checksum, unparsed. For clients that need only the ids.
absl::StatusOr<MovieLens> DecodeBundleCatalog(absl::string_view bytes,
                                              absl::string_view name);

// Writes `model` (and `metrics_json`, when not empty) as the next version
// under `model_base`, creating `model_base` when needed. With `index` (built
// over model.movie_vectors), also saves it as kIndexFileName and records its
// size and checksum in the bundle. model.saved_index is ignored: it names a
// file of another version.
// Returns the version number written: one more than the highest present.
absl::StatusOr<int64_t> WriteModelVersion(
    const std::string& model_base, const Model& model,
    absl::string_view metrics_json, const CandidateIndex* index = nullptr);

// Reads and validates the version directory `version_dir`. When the bundle
// names a saved index, its file must exist with the recorded size (its
// checksum is checked when it is loaded: model/version_index.h).
absl::StatusOr<Model> ReadModelVersion(const std::string& version_dir);

// Reads the catalogue of the version directory `version_dir`
// (DecodeBundleCatalog): seconds faster than ReadModelVersion on a large
// model, whose vectors and tables it does not decode.
absl::StatusOr<MovieLens> ReadModelCatalog(const std::string& version_dir);

// The integer-named version directories under `model_base`, ascending.
// NotFound when `model_base` does not exist.
absl::StatusOr<std::vector<int64_t>> ListVersions(
    const std::string& model_base);

}  // namespace movierec

#endif  // MOVIEREC_MODEL_BUNDLE_H_
