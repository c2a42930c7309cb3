// Command-line parsing shared by the movierec binaries.
#ifndef MOVIEREC_UTIL_COMMAND_LINE_H_
#define MOVIEREC_UTIL_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace movierec {

// Sets the usage message and parses the flags. `--help` lists the flags
// defined in `main_file` (a path suffix such as "server/server_main.cc"):
// absl looks for them in a file named after the binary, which would list none.
// Header-only, so that binaries that do not link the model library use it too.
inline std::vector<char*> ParseCommandLine(int argc, char** argv,
                                           absl::string_view usage_message,
                                           const char* main_file) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [main_file](absl::string_view file) {
    return absl::EndsWith(file, main_file);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(usage_message);
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace movierec

#endif  // MOVIEREC_UTIL_COMMAND_LINE_H_
