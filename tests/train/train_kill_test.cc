// Kills the real movierec-train (SIGKILL) at moments in and around the
// writing of a model version, and checks that a half-written version is
// never visible: after every kill, each version ListVersions reports reads
// back valid (with its metrics.json), and the hidden .tmp-* directories that
// a killed writer leaves are not listed. A later run writes the next version.
//
// The moments come from inotify on the model base, so the write window is
// hit deterministically rather than by luck: when the temporary directory
// appears, when model.bin is created (its ~30 MB write and fsync follow),
// when model.bin is closed, when metrics.json is created, and just after the
// rename. A few kills by time (during training) complete the set. The model
// is made large through --config so that the write takes a while.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Few ratings (cheap training) but many users and movies at dimension 2048:
// a model.bin of about 30 MB.
constexpr int kUsers = 1000;
constexpr int kMovies = 1000;
constexpr char kConfig[] =
    R"({"retrieval": {"model": {"embedding_dim": 2048}, "epochs": 1,)"
    R"( "batch_size": 256}, "rating": {"enabled": false}})";

enum class Moment {
  kTempDirCreated,
  kBundleCreated,
  kBundleClosed,
  kMetricsCreated,
  kRenamed,
};

const char* Name(Moment moment) {
  switch (moment) {
    case Moment::kTempDirCreated:
      return "temporary directory created";
    case Moment::kBundleCreated:
      return "model.bin created";
    case Moment::kBundleClosed:
      return "model.bin closed";
    case Moment::kMetricsCreated:
      return "metrics.json created";
    case Moment::kRenamed:
      return "renamed to its version";
  }
  return "?";
}

class TrainKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("ml");
    base_ = dir_.File("models");
    fs::create_directories(data_);
    fs::create_directories(base_);
    test::WriteMovieLensFiles(test::SmallMovieLens(kUsers, kMovies, 2, 5),
                              data_);
  }

  // Starts movierec-train; its output goes to a log file in the test's
  // directory.
  pid_t Start() {
    const std::string log = dir_.File("train.log");
    std::vector<std::string> args = {MOVIEREC_TRAIN_BIN,
                                     "--data_dir=" + data_,
                                     "--model_base=" + base_,
                                     "--preset=tfrs",
                                     std::string("--config=") + kConfig,
                                     "--threads=1"};
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  // Waits for `pid`; its wait status.
  static int Reap(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

  // A whole run; how long it took.
  Clock::duration RunToCompletion() {
    const auto start = Clock::now();
    const int status = Reap(Start());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "movierec-train failed:\n"
        << test::ReadFileOrFail(dir_.File("train.log"));
    return Clock::now() - start;
  }

  // Runs the trainer and SIGKILLs it at `moment`, seen through inotify.
  // False if the run ended before the moment came.
  bool KillAt(Moment moment) {
    const int fd = ::inotify_init1(IN_CLOEXEC);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    EXPECT_GE(::inotify_add_watch(fd, base_.c_str(), IN_CREATE | IN_MOVED_TO),
              0);
    const pid_t pid = Start();
    std::string temp;  // the temporary directory, once seen
    bool killed = false;
    alignas(inotify_event) char buffer[4096];
    while (!killed) {
      // The trainer may exit (or fail) without reaching the moment.
      pollfd ready = {fd, POLLIN, 0};
      if (::poll(&ready, 1, 100) == 0) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          ::close(fd);
          return false;
        }
        continue;
      }
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      for (char* p = buffer; p < buffer + n && !killed;) {
        const auto* event = reinterpret_cast<const inotify_event*>(p);
        p += sizeof(inotify_event) + event->len;
        const std::string name = event->len > 0 ? event->name : "";
        Moment seen;
        if (temp.empty() && (event->mask & IN_CREATE) &&
            absl::StartsWith(name, ".tmp-")) {
          temp = base_ + "/" + name;
          seen = Moment::kTempDirCreated;
          if (moment != seen) {
            ::inotify_add_watch(fd, temp.c_str(), IN_CREATE | IN_CLOSE_WRITE);
            // Files created before the watch existed are not reported.
            if (fs::exists(temp + "/" + kBundleFileName) &&
                moment == Moment::kBundleCreated) {
              seen = Moment::kBundleCreated;
            }
          }
        } else if ((event->mask & IN_CREATE) && name == kBundleFileName) {
          seen = Moment::kBundleCreated;
        } else if ((event->mask & IN_CLOSE_WRITE) && name == kBundleFileName) {
          seen = Moment::kBundleClosed;
        } else if ((event->mask & IN_CREATE) && name == kMetricsFileName) {
          seen = Moment::kMetricsCreated;
        } else if (event->mask & IN_MOVED_TO) {
          seen = Moment::kRenamed;
        } else {
          continue;
        }
        if (seen == moment) {
          ::kill(pid, SIGKILL);
          killed = true;
        }
      }
    }
    ::close(fd);
    const int status = Reap(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "killed at " << Name(moment) << ": wait status " << status;
    return killed;
  }

  // Every listed version reads back valid; every other entry is a hidden
  // temporary directory. Returns how many temporary directories there are.
  int ExpectOnlyWholeVersions(const std::string& when) {
    SCOPED_TRACE(when);
    absl::StatusOr<std::vector<int64_t>> versions = ListVersions(base_);
    EXPECT_OK(versions);
    if (!versions.ok()) return 0;
    for (const int64_t version : *versions) {
      const std::string dir = absl::StrCat(base_, "/", version);
      EXPECT_OK(ReadModelVersion(dir)) << dir;
      EXPECT_TRUE(fs::is_regular_file(dir + "/" + kMetricsFileName)) << dir;
    }
    int temps = 0;
    size_t listed = 0;
    for (const auto& entry : fs::directory_iterator(base_)) {
      const std::string name = entry.path().filename().string();
      if (absl::StartsWith(name, ".tmp-")) {
        ++temps;
      } else {
        ++listed;
      }
    }
    EXPECT_EQ(listed, versions->size())
        << "an entry of the model base is neither a version nor temporary";
    return temps;
  }

  size_t NumVersions() {
    absl::StatusOr<std::vector<int64_t>> versions = ListVersions(base_);
    return versions.ok() ? versions->size() : 0;
  }

  test::ScopedTempDir dir_;
  std::string data_;
  std::string base_;
};

TEST_F(TrainKillTest, AKilledTrainerNeverLeavesAHalfWrittenVersion) {
  const Clock::duration full = RunToCompletion();
  ASSERT_EQ(NumVersions(), 1u);
  ASSERT_GT(fs::file_size(base_ + "/1/" + kBundleFileName), 20u << 20)
      << "the bundle is too small to give the kills a write window";
  ExpectOnlyWholeVersions("after a whole run");

  // Kills inside the write window leave a temporary directory and no new
  // version. A kill is asynchronous, so the trainer may get a little
  // further than the moment; the write window is hit at least once.
  int in_window = 0;
  for (const Moment moment :
       {Moment::kTempDirCreated, Moment::kBundleCreated, Moment::kBundleClosed,
        Moment::kMetricsCreated, Moment::kRenamed}) {
    const size_t versions_before = NumVersions();
    const int temps_before = ExpectOnlyWholeVersions("before");
    ASSERT_TRUE(KillAt(moment)) << "the trainer never reached " << Name(moment);
    const int temps =
        ExpectOnlyWholeVersions(absl::StrCat("killed at ", Name(moment)));
    const size_t versions = NumVersions();
    if (moment == Moment::kRenamed) {
      EXPECT_EQ(versions, versions_before + 1) << "the rename had happened";
    } else if (versions == versions_before) {
      EXPECT_EQ(temps, temps_before + 1) << Name(moment);
      ++in_window;
    }
  }
  EXPECT_GE(in_window, 1) << "no kill landed inside the write window";

  // Kills by time, from early in training to about when the write happens.
  for (const double fraction : {0.1, 0.5, 0.8, 0.9, 0.95, 1.0}) {
    const pid_t pid = Start();
    std::this_thread::sleep_for(
        std::chrono::duration_cast<Clock::duration>(full * fraction));
    ::kill(pid, SIGKILL);
    Reap(pid);
    ExpectOnlyWholeVersions(
        absl::StrCat("killed after ", fraction, " of a whole run"));
  }

  // The leftovers do not stop the next run: it writes the next version.
  const size_t before = NumVersions();
  RunToCompletion();
  EXPECT_EQ(NumVersions(), before + 1);
  ExpectOnlyWholeVersions("after a final whole run");
}

}  // namespace
}  // namespace movierec
