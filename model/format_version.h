// The version of the model-bundle disk format (bundle.h), on its own so that
// binaries that do not link the model library can print it (--version).
#ifndef MOVIEREC_MODEL_FORMAT_VERSION_H_
#define MOVIEREC_MODEL_FORMAT_VERSION_H_

#include <cstdint>

namespace movierec {

// The newest format: what a reader reads (and every older one), and what a
// writer writes for a catalogue with string ids (Movie::key, User::key: the
// generic data format). Version 1 has integer ids only; a catalogue without
// keys is still written as version 1, so that servers older than the keys
// keep loading it, while they refuse a version whose ids they would answer
// with the wrong names.
inline constexpr uint32_t kBundleFormatVersion = 2;
inline constexpr uint32_t kOldestBundleFormatVersion = 1;
// The first version with keys.
inline constexpr uint32_t kKeysBundleFormatVersion = 2;

}  // namespace movierec

#endif  // MOVIEREC_MODEL_FORMAT_VERSION_H_
