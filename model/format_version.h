// The version of the model-bundle disk format (bundle.h), on its own so that
// binaries that do not link the model library can print it (--version).
#ifndef MOVIEREC_MODEL_FORMAT_VERSION_H_
#define MOVIEREC_MODEL_FORMAT_VERSION_H_

#include <cstdint>

namespace movierec {

// Written into every model.bin; a reader refuses a bundle of any other
// version.
inline constexpr uint32_t kBundleFormatVersion = 1;

}  // namespace movierec

#endif  // MOVIEREC_MODEL_FORMAT_VERSION_H_
