// A child process for the end-to-end tests: started from an argv, its stdout
// and stderr read line by line by a thread, so that a test can wait for a
// line (a log message) or for the exit without sleeping. The destructor
// kills (SIGKILL) and reaps a child that is still running.
#ifndef MOVIEREC_TESTS_E2E_SUBPROCESS_H_
#define MOVIEREC_TESTS_E2E_SUBPROCESS_H_

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace movierec::test {

// VmRSS of process `pid` in bytes (-1 and a test failure if unreadable).
int64_t ResidentBytes(pid_t pid);

// Under AddressSanitizer, freed memory sits in a quarantine (256 MB by
// default) before it is reused, which would read as growth: child
// processes started after this get a small one, so that their RSS measures
// what they keep. No-op in other builds.
void ShrinkChildQuarantine();

class Subprocess;

// The ports a movierec-server child reports in its "listening for gRPC on
// 127.0.0.1:<port>, metrics on <address>:<port>," line.
struct ServerPorts {
  std::string grpc_target;  // 127.0.0.1:<port>
  int metrics_port = -1;
};
// Waits up to `timeout` for that line; nullopt (and a test failure with
// the output) if it does not come or does not parse.
std::optional<ServerPorts> WaitForServerPorts(Subprocess& server,
                                              absl::Duration timeout);

class Subprocess {
 public:
  // Runs argv[0] (a path) with `argv`, stdout and stderr to one pipe.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv);
  ~Subprocess();

  pid_t pid() const { return pid_; }

  // The first line of output (from the start) containing `text`; nullopt if
  // none came within `timeout` or the output ended.
  std::optional<std::string> WaitForLine(absl::string_view text,
                                         absl::Duration timeout);

  // Sends `signal` to the child.
  void Signal(int signal);

  // The wait status (see waitpid) once the child exited; nullopt if it is
  // still running after `timeout`.
  std::optional<int> WaitForExit(absl::Duration timeout);

  // All output so far.
  std::string Output();

 private:
  Subprocess() = default;
  void ReadOutput();

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool output_ended_ = false;
  std::optional<int> exit_status_;
};

}  // namespace movierec::test

#endif  // MOVIEREC_TESTS_E2E_SUBPROCESS_H_
