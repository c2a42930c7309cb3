// movierec-client: asks a movierec server for a user's recommendations and
// prints them, one line per movie: rank, movie id, title, score.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "movierec/v1/recommender.grpc.pb.h"

ABSL_FLAG(std::string, target, "localhost:50051", "Server address HOST:PORT");
ABSL_FLAG(std::string, user, "", "MovieLens user id, e.g. 138 (required)");
ABSL_FLAG(int, count, 10, "How many movies to ask for (1-100)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of the call");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Prints a user's movie recommendations from a movierec server.\n\n"
      "Usage: movierec-client --target HOST:PORT --user 138 [--count 10]");
  // --help lists the flags of this file (absl looks for them in a file named
  // after the binary, which would list none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "client/client_main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string user = absl::GetFlag(FLAGS_user);
  if (user.empty()) {
    std::fprintf(stderr, "error: --user is required, e.g. --user 138\n");
    return 2;
  }
  auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = movierec::v1::Recommender::NewStub(channel);
  movierec::v1::RecommendRequest request;
  request.set_user_id(user);
  request.set_count(absl::GetFlag(FLAGS_count));
  movierec::v1::RecommendResponse response;
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_timeout)));
  const grpc::Status status = stub->Recommend(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "error: Recommend for user %s at %s failed: %s: %s\n",
                 user.c_str(), target.c_str(),
                 absl::StatusCodeToString(
                     static_cast<absl::StatusCode>(status.error_code()))
                     .c_str(),
                 status.error_message().c_str());
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      std::fprintf(stderr,
                   "hint: is movierec-server running and listening at %s?\n",
                   target.c_str());
    }
    return 1;
  }
  std::printf(
      "model version %s%s\n", response.model_version().c_str(),
      response.fallback() ? " (unknown user: the most popular movies)" : "");
  std::printf("%4s  %8s  %-60s  %s\n", "rank", "movie_id", "title", "score");
  for (int i = 0; i < response.movies_size(); ++i) {
    const movierec::v1::ScoredMovie& movie = response.movies(i);
    std::printf("%4d  %8s  %-60s  %.4f\n", i + 1, movie.movie_id().c_str(),
                movie.title().c_str(), movie.score());
  }
  return 0;
}
