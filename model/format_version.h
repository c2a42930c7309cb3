// The version of the model-bundle disk format (bundle.h), on its own so that
// binaries that do not link the model library can print it (--version).
#ifndef MOVIEREC_MODEL_FORMAT_VERSION_H_
#define MOVIEREC_MODEL_FORMAT_VERSION_H_

#include <cstdint>

namespace movierec {

// The newest format: what a reader reads (and every older one). A writer
// writes the oldest version that holds its catalogue: version 1 has integer
// ids only; version 2 adds string ids (Movie::key, User::key: the generic
// data format); version 3 adds the users' categorical attributes
// (User::attributes). So servers older than a feature keep loading the
// versions that do not use it, and refuse, by their version check, those
// they would serve wrongly (answering with the wrong ids, or encoding users
// without their attributes).
inline constexpr uint32_t kBundleFormatVersion = 3;
inline constexpr uint32_t kOldestBundleFormatVersion = 1;
// The first version with keys.
inline constexpr uint32_t kKeysBundleFormatVersion = 2;
// The first version with user attributes.
inline constexpr uint32_t kUserAttributesBundleFormatVersion = 3;

}  // namespace movierec

#endif  // MOVIEREC_MODEL_FORMAT_VERSION_H_
