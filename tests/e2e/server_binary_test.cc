// End-to-end tests of the movierec-server binary, run as a child process:
// SIGTERM and SIGINT with a call in flight (the call completes, the process
// exits 0), health through the real process, flag errors, --version, and
// --help and docs/flags.md documenting every flag.
//
// The call is held in flight by the binary's test-only flag
// --testonly_hold_calls_until_shutdown: it cannot complete before the signal
// arrives, so the test is deterministic. The test waits on the server's log
// lines, never on time.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "tests/e2e/subprocess.h"
#include "tests/net_test_util.h"
#include "tests/test_util.h"
#include "util/version.h"

namespace movierec {
namespace {

using ::movierec::test::CallDeadline;
using ::movierec::test::CheckHealth;
using ::movierec::test::kNotServing;
using ::movierec::test::kServing;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;
using ::movierec::test::Subprocess;

constexpr char kServerBinary[] = MOVIEREC_SERVER_BIN;
constexpr char kSourceDir[] = MOVIEREC_SOURCE_DIR;

class ServerBinaryTest : public ::testing::Test {
 protected:
  ServerBinaryTest() : base_(dir_.File("models")) {}

  void WriteVersion() {
    ASSERT_OK(WriteModelVersion(base_,
                                MakeRandomModel(SmallMovieLens(6, 30, 5),
                                                SmallRetrievalConfig(true), 1),
                                "")
                  .status());
  }

  // Starts the server on a free port (it logs which) with `flags` added.
  void Start(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {kServerBinary,   "--model_base=" + base_,
                                     "--port=0",      "--metrics_port=-1",
                                     "--http_port=0", "--worker_threads=2"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ASSERT_OK_AND_ASSIGN(server_, Subprocess::Start(argv));
    const std::optional<std::string> line =
        server_->WaitForLine("listening for gRPC on", absl::Seconds(30));
    ASSERT_TRUE(line.has_value()) << server_->Output();
    std::smatch match;
    ASSERT_TRUE(std::regex_search(*line, match,
                                  std::regex("on 127\\.0\\.0\\.1:([0-9]+),")))
        << *line;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", match[1].str()),
                                   grpc::InsecureChannelCredentials());
  }

  // Waits for the exit and expects status 0.
  void ExpectCleanExit() {
    const std::optional<int> status = server_->WaitForExit(absl::Seconds(60));
    ASSERT_TRUE(status.has_value()) << "still running\n" << server_->Output();
    EXPECT_TRUE(WIFEXITED(*status)) << server_->Output();
    EXPECT_EQ(WEXITSTATUS(*status), 0) << server_->Output();
  }

  ScopedTempDir dir_;
  std::string base_;
  std::unique_ptr<Subprocess> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

class ShutdownSignalTest : public ServerBinaryTest,
                           public ::testing::WithParamInterface<int> {};

TEST_P(ShutdownSignalTest, ACallInFlightCompletesAndTheExitCodeIsZero) {
  WriteVersion();
  Start({"--poll_interval=0", "--grace_period=30s",
         "--testonly_hold_calls_until_shutdown"});
  auto stub = v1::Recommender::NewStub(channel_);
  grpc::Status status;
  v1::RecommendResponse response;
  std::thread call([&] {
    grpc::ClientContext context;
    context.set_deadline(CallDeadline() + std::chrono::seconds(50));
    v1::RecommendRequest request;
    request.set_user_id("4");
    request.set_count(3);
    status = stub->Recommend(&context, request, &response);
  });
  // The call has reached a worker, which holds it until the signal.
  const bool held = server_
                        ->WaitForLine("holding a call until shutdown begins",
                                      absl::Seconds(30))
                        .has_value();
  EXPECT_TRUE(held) << server_->Output();
  server_->Signal(GetParam());
  call.join();
  // A client that is done closes its connection. (An idle client that keeps
  // it open holds the server's shutdown, which waits for connections to
  // close after its GOAWAY, up to --grace_period.)
  stub.reset();
  channel_.reset();
  EXPECT_TRUE(status.ok()) << status.error_message() << "\n"
                           << server_->Output();
  EXPECT_EQ(response.movies_size(), 3);
  EXPECT_EQ(response.model_version(), "1");
  ExpectCleanExit();
  EXPECT_TRUE(server_
                  ->WaitForLine(GetParam() == SIGTERM ? "received SIGTERM"
                                                      : "received SIGINT",
                                absl::ZeroDuration())
                  .has_value());
}

INSTANTIATE_TEST_SUITE_P(Signals, ShutdownSignalTest,
                         ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == SIGTERM ? "Sigterm" : "Sigint";
                         });

TEST_F(ServerBinaryTest, HealthFollowsTheModelAndSigtermExitsZero) {
  // An empty model base: alive ("") but not ready until a version appears.
  std::filesystem::create_directories(base_);
  Start({"--poll_interval=20ms"});
  EXPECT_EQ(CheckHealth(channel_, "").serving_status, kServing);
  EXPECT_EQ(CheckHealth(channel_, "movierec.v1.Recommender").serving_status,
            kNotServing);
  WriteVersion();
  ASSERT_TRUE(server_->WaitForLine("serving model version 1", absl::Seconds(30))
                  .has_value())
      << server_->Output();
  for (const std::string service : {"", "movierec.v1.Recommender"}) {
    EXPECT_EQ(CheckHealth(channel_, service).serving_status, kServing);
  }
  server_->Signal(SIGTERM);
  ExpectCleanExit();
}

TEST_F(ServerBinaryTest, BadFlagsExitWithCodeTwoAndTheReason) {
  const auto run = [](const std::vector<std::string>& argv) {
    auto process = Subprocess::Start(argv);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return std::make_pair(-1, std::string());
    const std::optional<int> status =
        (*process)->WaitForExit(absl::Seconds(30));
    EXPECT_TRUE(status.has_value());
    return std::make_pair(
        status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1,
        (*process)->Output());
  };
  auto [code, output] = run({kServerBinary});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--model_base is required"), std::string::npos)
      << output;
  std::tie(code, output) =
      run({kServerBinary, "--model_base=/tmp", "--worker_threads=-1"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--worker_threads must be >= 0"), std::string::npos)
      << output;
  std::tie(code, output) =
      run({kServerBinary, "--model_base=/tmp", "--num_candidates=0"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--num_candidates must be in 1-10000"),
            std::string::npos)
      << output;
  std::tie(code, output) =
      run({kServerBinary, "--model_base=/tmp", "--keepalive_timeout=-1s"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--keepalive_timeout must be > 0, got -1s"),
            std::string::npos)
      << output;
  std::tie(code, output) =
      run({kServerBinary, "--model_base=/tmp", "--max_connection_age=-30s"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("--max_connection_age must be >= 0"), std::string::npos)
      << output;
  // The logging and access log flags.
  for (const auto& [flag, message] :
       std::vector<std::pair<std::string, std::string>>{
           {"--log_format=xml", "--log_format \"xml\" is not a log format"},
           {"--log_level=loud", "--log_level \"loud\" is not a log level"},
           {"--access_log_sample=2",
            "--access_log_sample must be a fraction in 0-1, got 2"}}) {
    std::tie(code, output) = run({kServerBinary, "--model_base=/tmp", flag});
    EXPECT_EQ(code, 2) << flag;
    EXPECT_NE(output.find(message), std::string::npos) << output;
  }
}

// --version prints the code version (the binary and this test link the same
// util/version.cc) and the model format version it reads, and exits 0
// without wanting --model_base. tests/e2e/version_test.py checks the other
// binaries.
TEST_F(ServerBinaryTest, VersionPrintsCodeAndModelFormatVersionsAndExitsZero) {
  ASSERT_OK_AND_ASSIGN(auto process,
                       Subprocess::Start({kServerBinary, "--version"}));
  const std::optional<int> status = process->WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "still running\n" << process->Output();
  const std::string output = process->Output();
  ASSERT_TRUE(WIFEXITED(*status)) << output;
  EXPECT_EQ(WEXITSTATUS(*status), 0) << output;
  // The whole output, exactly: nothing else is printed.
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(output),
            absl::StrCat("movierec-server code version ", CodeVersion(),
                         "\nmodel format version ", kBundleFormatVersion));
  EXPECT_STRNE(CodeVersion(), "");
}

TEST_F(ServerBinaryTest, HelpFlagsAreAllInDocsFlags) {
  ASSERT_OK_AND_ASSIGN(auto help, Subprocess::Start({kServerBinary, "--help"}));
  ASSERT_TRUE(help->WaitForExit(absl::Seconds(30)).has_value());
  const std::string text = help->Output();
  std::set<std::string> flags;
  const std::regex flag_line("^    --([a-z_]+) \\(");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, flag_line)) flags.insert(match[1]);
  }
  for (const char* expected :
       {"model_base", "listen_address", "port", "metrics_address",
        "metrics_port", "poll_interval", "model_version", "grace_period",
        "max_message_bytes", "num_candidates", "worker_threads",
        "max_connection_age", "max_connection_age_grace", "keepalive_time",
        "keepalive_timeout", "testonly_hold_calls_until_shutdown",
        "access_log_sample", "log_format", "log_level"}) {
    EXPECT_EQ(flags.count(expected), 1u)
        << "--help lacks --" << expected << ":\n"
        << text;
  }
  // Every flag --help lists has a row in docs/flags.md, as `--flag`; so has
  // --version, which is Abseil's and --help does not list.
  const std::string docs =
      test::ReadFileOrFail(absl::StrCat(kSourceDir, "/docs/flags.md"));
  flags.insert("version");
  for (const std::string& flag : flags) {
    EXPECT_NE(docs.find(absl::StrCat("`--", flag, "`")), std::string::npos)
        << "docs/flags.md does not document --" << flag;
  }
}

}  // namespace
}  // namespace movierec
