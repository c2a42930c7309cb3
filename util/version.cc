#include "util/version.h"

#ifndef MOVIEREC_GIT_VERSION
#define MOVIEREC_GIT_VERSION "unknown"
#endif

namespace movierec {

const char* CodeVersion() { return MOVIEREC_GIT_VERSION; }

}  // namespace movierec
