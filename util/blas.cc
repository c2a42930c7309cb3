#include "util/blas.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace movierec {
namespace {

int FindBlas(struct dl_phdr_info* info, size_t, void* data) {
  const absl::string_view name = info->dlpi_name ? info->dlpi_name : "";
  const size_t slash = name.rfind('/');
  const absl::string_view base =
      slash == absl::string_view::npos ? name : name.substr(slash + 1);
  if (absl::StartsWith(base, "libblas.so")) {
    *static_cast<std::string*>(data) = std::string(name);
    return 1;
  }
  return 0;
}

template <typename Fn>
Fn Symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

BlasInfo LoadedBlas() {
  BlasInfo info;
  std::string path;
  dl_iterate_phdr(FindBlas, &path);
  if (!path.empty()) {
    std::error_code error;
    const std::filesystem::path real = std::filesystem::canonical(path, error);
    info.library = error ? path : real.string();
  }
  using GetThreads = int (*)();
  using GetConfig = char* (*)();
  const auto get_threads = Symbol<GetThreads>("openblas_get_num_threads");
  const auto get_config = Symbol<GetConfig>("openblas_get_config");
  if (get_threads != nullptr) {
    info.openblas = true;
    info.threads = get_threads();
    if (get_config != nullptr && get_config() != nullptr) {
      info.config = get_config();
    }
  }
  return info;
}

bool SetBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  const auto set_threads = Symbol<SetThreads>("openblas_set_num_threads");
  if (set_threads == nullptr || threads < 1) return false;
  set_threads(threads);
  return true;
}

std::string BlasDescription(const BlasInfo& info) {
  if (info.library.empty() && !info.openblas) return "no BLAS loaded";
  std::string text = info.openblas && !info.config.empty()
                         ? absl::StrCat(info.config, " (", info.library, ")")
                         : info.library;
  absl::StrAppend(&text, ", ", info.threads,
                  info.threads == 1 ? " thread" : " threads");
  return text;
}

}  // namespace movierec
