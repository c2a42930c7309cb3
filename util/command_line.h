// Command-line parsing shared by the movierec binaries.
#ifndef MOVIEREC_UTIL_COMMAND_LINE_H_
#define MOVIEREC_UTIL_COMMAND_LINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "util/log_flags.h"
#include "util/version.h"

namespace movierec {

// What `--version` prints: the binary's name and code version (CodeVersion),
// and the model format version it reads or writes, one per line, e.g.
//   movierec-server code version 796fdee-dirty
//   model format version 1
inline std::string VersionText(absl::string_view program,
                               uint32_t model_format_version) {
  const size_t slash = program.rfind('/');
  if (slash != absl::string_view::npos) program.remove_prefix(slash + 1);
  return absl::StrCat(program, " code version ", CodeVersion(),
                      "\nmodel format version ", model_format_version, "\n");
}

// Sets the usage message and parses the flags. `--help` lists the flags
// defined in `main_file` (a path suffix such as "server/server_main.cc"):
// absl looks for them in a file named after the binary, which would list none.
// The logging flags (util/log_flags.h) are listed too where they are linked.
// `--version` (Abseil's flag) prints VersionText and exits 0;
// `model_format_version` is passed in (kBundleFormatVersion,
// model/format_version.h) because util/ may not include model/.
// Header-only (CodeVersion aside, which is in movierec_util), so that
// binaries that do not link the model library use it too.
inline std::vector<char*> ParseCommandLine(int argc, char** argv,
                                           absl::string_view usage_message,
                                           const char* main_file,
                                           uint32_t model_format_version) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [main_file](absl::string_view file) {
    return absl::EndsWith(file, main_file) ||
           absl::EndsWith(file, kLogFlagsFile);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  const std::string program = argc > 0 ? argv[0] : "movierec";
  usage.version_string = [program, model_format_version] {
    return VersionText(program, model_format_version);
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(usage_message);
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace movierec

#endif  // MOVIEREC_UTIL_COMMAND_LINE_H_
