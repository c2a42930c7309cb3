// movierec-loadgen: puts a movierec server under load and reports its
// throughput, latency percentiles and errors (see client/loadgen.h for how
// it measures, and docs/flags.md for the flags).
//
//   movierec-loadgen --model_dir /tmp/models/1 --concurrency 16
//                                                    (closed loop: max QPS)
//   movierec-loadgen --user_ids 1-943 --rate 2000    (open loop: latency)
//   movierec-loadgen --transport http --target localhost:8080
//       --model_dir /tmp/models/1 --concurrency 16   (the HTTP/JSON port)
//
// Exit status: 0 after a run (errors are reported, not fatal), 2 for bad
// flags, 1 when the model cannot be read.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/adaptive_throttle.h"
#include "client/loadgen.h"
#include "client/loadgen_http.h"
#include "client/loadgen_workload.h"
#include "model/format_version.h"
#include "util/command_line.h"
#include "util/status_macros.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, target, "localhost:50051",
          "Server address HOST:PORT (the HTTP port with --transport=http)");
ABSL_FLAG(std::string, transport, "grpc",
          "grpc, or http: the same requests as JSON POSTs to the HTTP port, "
          "one keep-alive connection per call in flight (closed loop only)");
ABSL_FLAG(std::string, method, "Recommend",
          "Recommend, SimilarMovies or RecommendBatch");
ABSL_FLAG(int, concurrency, 0,
          "Closed loop: calls kept in flight (give this or --rate)");
ABSL_FLAG(double, rate, 0,
          "Open loop: calls per second on a fixed schedule, latency measured "
          "from each call's scheduled send time (give this or --concurrency)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "Measured time, after the warm-up");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "Time at the start whose calls are sent but not counted");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of each call");
ABSL_FLAG(absl::Duration, max_send_lag, absl::InfiniteDuration(),
          "Open loop: skip (never send) a call the generator could not send "
          "within this time of its schedule, instead of sending it late "
          "(default inf: send every call)");
ABSL_FLAG(double, throttle_k, 0,
          "Client-side adaptive throttling (SRE book): reject a call locally, "
          "unsent, with probability max(0, (requests - K * accepts) / "
          "(requests + 1)) over --throttle_window; K >= 1 (2 in the book, "
          "lower sheds more), 0: off");
ABSL_FLAG(absl::Duration, throttle_window, absl::Seconds(2),
          "The window --throttle_k counts requests and accepts over");
ABSL_FLAG(int, channels, 1,
          "gRPC channels (TCP connections) the calls are spread over");
ABSL_FLAG(std::string, model_dir, "",
          "A model version directory (MODEL_BASE/<version>): users and "
          "movies are drawn from its vocabularies");
ABSL_FLAG(std::string, user_ids, "",
          "Known user ids as a range FIRST-LAST (e.g. 1-943), instead of "
          "--model_dir");
ABSL_FLAG(std::string, movie_ids, "",
          "Movie ids as a range FIRST-LAST (e.g. 1-1682), instead of "
          "--model_dir");
ABSL_FLAG(double, unknown_user_share, 0,
          "Fraction of requests (0-1) for users the model does not know; "
          "they carry --recent_movies recent movies, which the server folds "
          "in");
ABSL_FLAG(int, recent_movies, 5, "Recent movies of each unknown user");
ABSL_FLAG(int, count, 10, "Movies asked for per request (1-100)");
ABSL_FLAG(int, batch_size, 10, "RecommendBatch: requests per batch (1-100)");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the user and movie draws");
ABSL_FLAG(std::string, json, "", "Also write the results to this JSON file");

namespace {

namespace loadgen = ::movierec::loadgen;
namespace v1 = ::movierec::v1;

// The workload of the flags; a usage error naming a bad flag, a failure when
// --model_dir cannot be read.
absl::StatusOr<loadgen::Workload> WorkloadFromFlags() {
  loadgen::Workload workload;
  workload.method = absl::GetFlag(FLAGS_method);
  workload.unknown_user_share = absl::GetFlag(FLAGS_unknown_user_share);
  workload.recent_movies = absl::GetFlag(FLAGS_recent_movies);
  workload.count = absl::GetFlag(FLAGS_count);
  workload.batch_size = absl::GetFlag(FLAGS_batch_size);
  workload.seed = absl::GetFlag(FLAGS_seed);
  const std::string model_dir = absl::GetFlag(FLAGS_model_dir);
  const std::string user_range = absl::GetFlag(FLAGS_user_ids);
  const std::string movie_range = absl::GetFlag(FLAGS_movie_ids);
  if (!model_dir.empty() && (!user_range.empty() || !movie_range.empty())) {
    return movierec::UsageError(
        "--model_dir and --user_ids/--movie_ids both give the ids; give one");
  }
  if (!model_dir.empty()) {
    MOVIEREC_RETURN_IF_ERROR(movierec::Annotate(
        loadgen::LoadModelIds(model_dir, &workload), "--model_dir"));
  }
  if (!user_range.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(workload.user_ids,
                              movierec::AsUsageError(loadgen::ParseIdRange(
                                  "--user_ids", user_range)));
  }
  if (!movie_range.empty()) {
    MOVIEREC_ASSIGN_OR_RETURN(workload.movie_ids,
                              movierec::AsUsageError(loadgen::ParseIdRange(
                                  "--movie_ids", movie_range)));
  }
  MOVIEREC_RETURN_IF_ERROR(
      movierec::AsUsageError(loadgen::ValidateWorkload(workload)));
  return workload;
}

absl::Status Run(const std::vector<char*>& rest) {
  if (rest.size() > 1) {
    return movierec::UsageError(
        absl::StrCat("unexpected argument \"", rest[1], "\""));
  }
  loadgen::LoadOptions load;
  load.concurrency = absl::GetFlag(FLAGS_concurrency);
  load.rate = absl::GetFlag(FLAGS_rate);
  load.duration = absl::GetFlag(FLAGS_duration);
  load.warmup = absl::GetFlag(FLAGS_warmup);
  load.max_send_lag = absl::GetFlag(FLAGS_max_send_lag);
  MOVIEREC_RETURN_IF_ERROR(
      movierec::AsUsageError(loadgen::ValidateLoadOptions(load)));
  const int channels = absl::GetFlag(FLAGS_channels);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  MOVIEREC_RETURN_IF_ERROR(
      movierec::AsUsageError(loadgen::ValidateConnection(channels, timeout)));
  MOVIEREC_ASSIGN_OR_RETURN(const loadgen::Workload workload,
                            WorkloadFromFlags());

  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport != "grpc" && transport != "http") {
    return movierec::UsageError(
        absl::StrCat("--transport=", transport, " is neither grpc nor http"));
  }
  if (transport == "http" && load.rate > 0) {
    return movierec::UsageError(
        "--transport=http runs a closed loop only (--concurrency): one "
        "blocking keep-alive connection per call in flight");
  }

  const std::string target = absl::GetFlag(FLAGS_target);
  auto source = std::make_shared<const loadgen::RequestSource>(workload);
  loadgen::IssueCall issue;
  std::unique_ptr<loadgen::HttpCaller> http;
  if (transport == "http") {
    MOVIEREC_ASSIGN_OR_RETURN(
        http, movierec::AsUsageError(loadgen::HttpCaller::Create(
                  target, load.concurrency, source, timeout)));
    issue = http->issue();
  } else {
    std::vector<std::shared_ptr<v1::Recommender::Stub>> stubs;
    for (int i = 0; i < channels; ++i) {
      // Distinct channel arguments keep gRPC from sharing one connection
      // between the channels.
      grpc::ChannelArguments args;
      args.SetInt("movierec.loadgen_channel", i);
      stubs.push_back(v1::Recommender::NewStub(grpc::CreateCustomChannel(
          target, grpc::InsecureChannelCredentials(), args)));
    }
    issue = loadgen::WorkloadCaller(source, std::move(stubs), timeout);
  }

  const double throttle_k = absl::GetFlag(FLAGS_throttle_k);
  if (throttle_k != 0) {
    loadgen::ThrottleOptions throttle;
    throttle.k = throttle_k;
    throttle.window = absl::GetFlag(FLAGS_throttle_window);
    throttle.seed = workload.seed;
    MOVIEREC_RETURN_IF_ERROR(movierec::AsUsageError(movierec::Annotate(
        loadgen::ValidateThrottleOptions(throttle), "--throttle_k/_window")));
    issue = loadgen::Throttled(
        std::move(issue),
        std::make_shared<loadgen::AdaptiveThrottle>(throttle));
  }

  std::fprintf(stderr,
               "%s over %s on %s: %zu users, %zu movies, %.0f%% "
               "unknown\n",
               workload.method.c_str(), transport.c_str(), target.c_str(),
               workload.user_ids.size(), workload.movie_ids.size(),
               100 * workload.unknown_user_share);
  MOVIEREC_ASSIGN_OR_RETURN(
      const loadgen::LoadResult result,
      movierec::AsUsageError(loadgen::RunLoad(load, issue)));
  std::fputs(loadgen::FormatResult(result).c_str(), stdout);

  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << loadgen::ResultJson(result) << "\n";
    if (!out.good()) {
      return absl::InternalError(absl::StrCat("cannot write ", json_path));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<char*> rest = movierec::ParseCommandLine(
      argc, argv,
      "Puts a movierec server under load; prints QPS, latency percentiles "
      "and errors.\n\n"
      "Usage: movierec-loadgen --target HOST:PORT --model_dir MODEL_BASE/1 "
      "--concurrency 16 [--duration 10s]\n"
      "       movierec-loadgen --user_ids 1-943 --movie_ids 1-1682 --rate "
      "1000 --unknown_user_share 0.2 --json out.json",
      "client/loadgen_main.cc", movierec::kBundleFormatVersion);
  // Debian's Abseil checks every absl::Mutex acquisition for lock-order
  // cycles; gRPC's client locks several per call, and the check (absl
  // GraphCycles) was a few percent of the load generator's CPU in perf.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const absl::Status status = Run(rest);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  }
  return movierec::ExitStatus(status);
}
