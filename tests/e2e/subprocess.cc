#include "tests/e2e/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace movierec::test {

std::optional<ServerPorts> WaitForServerPorts(Subprocess& server,
                                              absl::Duration timeout) {
  const std::optional<std::string> line =
      server.WaitForLine("listening for gRPC on", timeout);
  if (!line.has_value()) {
    ADD_FAILURE() << "no \"listening for gRPC on\" line:\n" << server.Output();
    return std::nullopt;
  }
  std::smatch match;
  ServerPorts ports;
  if (!std::regex_search(
          *line, match,
          std::regex(
              "on 127\\.0\\.0\\.1:([0-9]+), metrics on [^:]+:(-?[0-9]+),")) ||
      !absl::SimpleAtoi(match[2].str(), &ports.metrics_port)) {
    ADD_FAILURE() << "cannot read the ports of: " << *line;
    return std::nullopt;
  }
  ports.grpc_target = absl::StrCat("127.0.0.1:", match[1].str());
  return ports;
}

void ShrinkChildQuarantine() {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  // (The test binary and the server come from the same build tree, so they
  // are built alike.)
  const char* env = std::getenv("ASAN_OPTIONS");
  const std::string options =
      absl::StrCat(env == nullptr ? "" : env, env == nullptr ? "" : ":",
                   "quarantine_size_mb=16");
  ::setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
#endif
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    int64_t kib = 0;
    if (line.rfind("VmRSS:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripSuffix(
                             absl::StripAsciiWhitespace(line.substr(6)), " kB"),
                         &kib)) {
      return kib * 1024;
    }
  }
  ADD_FAILURE() << "no VmRSS in /proc/" << pid << "/status";
  return -1;
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat(argv[0], " is not an executable file"));
  }
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::unique_ptr<Subprocess> process(new Subprocess());
  process->pid_ = pid;
  process->output_fd_ = fds[0];
  process->reader_ = std::thread([p = process.get()] { p->ReadOutput(); });
  return process;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !WaitForExit(absl::ZeroDuration()).has_value()) {
    ::kill(pid_, SIGKILL);
    WaitForExit(absl::Seconds(60));
  }
  if (reader_.joinable()) reader_.join();
  if (output_fd_ >= 0) ::close(output_fd_);
}

void Subprocess::ReadOutput() {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(output_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (n <= 0) {
      if (!partial_.empty()) lines_.push_back(std::move(partial_));
      output_ended_ = true;
      changed_.notify_all();
      return;
    }
    partial_.append(buffer, static_cast<size_t>(n));
    size_t end;
    while ((end = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, end));
      partial_.erase(0, end + 1);
    }
    changed_.notify_all();
  }
}

std::optional<std::string> Subprocess::WaitForLine(absl::string_view text,
                                                   absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<std::string> found;
  changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
    for (const std::string& line : lines_) {
      if (absl::StrContains(line, text)) {
        found = line;
        return true;
      }
    }
    return output_ended_;
  });
  return found;
}

void Subprocess::Signal(int signal) { ::kill(pid_, signal); }

std::optional<int> Subprocess::WaitForExit(absl::Duration timeout) {
  {
    // The child's output ends when it exits (it starts no other process).
    std::unique_lock<std::mutex> lock(mutex_);
    if (exit_status_.has_value()) return exit_status_;
    if (!changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [this] { return output_ended_; })) {
      return std::nullopt;
    }
  }
  int status = 0;
  pid_t reaped;
  do {
    reaped = ::waitpid(pid_, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  std::lock_guard<std::mutex> lock(mutex_);
  if (reaped == pid_) exit_status_ = status;
  return exit_status_;
}

std::string Subprocess::Output() {
  std::lock_guard<std::mutex> lock(mutex_);
  return absl::StrJoin(lines_, "\n") +
         (partial_.empty() ? "" : "\n" + partial_);
}

}  // namespace movierec::test
