#include "util/version.h"

#ifndef MOVIEREC_GIT_VERSION
#define MOVIEREC_GIT_VERSION "unknown"
#endif
#ifndef MOVIEREC_GIT_REVISION
#define MOVIEREC_GIT_REVISION "unknown"
#endif

namespace movierec {

const char* CodeVersion() { return MOVIEREC_GIT_VERSION; }

const char* CodeRevision() { return MOVIEREC_GIT_REVISION; }

}  // namespace movierec
