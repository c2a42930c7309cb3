// The version of the code a binary was built from.
#ifndef MOVIEREC_UTIL_VERSION_H_
#define MOVIEREC_UTIL_VERSION_H_

namespace movierec {

// `git describe --always --dirty --tags` at configure time, or the
// MOVIEREC_GIT_VERSION given to CMake (the container build has no .git);
// "unknown" when neither is known. Defined in version.cc, the one file
// compiled with the version, so that a new version rebuilds only it.
const char* CodeVersion();

// The full commit hash (`git rev-parse HEAD` at configure time, or the
// MOVIEREC_GIT_REVISION given to CMake); "unknown" when neither is known.
const char* CodeRevision();

}  // namespace movierec

#endif  // MOVIEREC_UTIL_VERSION_H_
