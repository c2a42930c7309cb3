// movierec-client: asks a movierec server for recommendations and prints
// them, one line per movie: rank, movie id, title, score, year, genres.
//
//   --user 138                    a user's recommendations
//   --recent 50,181,258           a visitor's, folded in from movies watched
//   --similar_to 50               movies similar to a movie
// with optional filters: --genres Comedy,Drama --min_year 1990 --max_year
// 1999 --exclude 1,2 --include 50,172,181.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/tls.h"
#include "model/format_version.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "util/command_line.h"
#include "util/status_macros.h"
#include "util/status_util.h"

ABSL_FLAG(std::string, target, "localhost:50051", "Server address HOST:PORT");
ABSL_FLAG(bool, tls, false,
          "Talk TLS to the server (implied by any --tls_* file); without "
          "--tls_ca the system's root CAs verify it");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle the server's certificate must chain to");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for a server that requires mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, user, "", "MovieLens user id, e.g. 138");
ABSL_FLAG(std::vector<std::string>, recent, {},
          "Comma-separated movie ids the user watched recently (a visitor "
          "without --user gets recommendations folded in from them)");
ABSL_FLAG(std::string, similar_to, "",
          "A movie id: print the movies most similar to it instead");
ABSL_FLAG(std::vector<std::string>, genres, {},
          "Only movies of one of these genres, e.g. Comedy,Drama");
ABSL_FLAG(int, min_year, 0, "Only movies released in or after this year");
ABSL_FLAG(int, max_year, 0, "Only movies released in or before this year");
ABSL_FLAG(std::vector<std::string>, exclude, {},
          "Comma-separated movie ids never to return");
ABSL_FLAG(std::vector<std::string>, include, {},
          "Comma-separated movie ids: return only these (an allow-list)");
ABSL_FLAG(int, count, 10, "How many movies to ask for (1-100)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "Deadline of the call");

namespace {

namespace v1 = ::movierec::v1;

v1::MovieFilter Filter() {
  v1::MovieFilter filter;
  for (const std::string& g : absl::GetFlag(FLAGS_genres)) filter.add_genres(g);
  filter.set_min_release_year(absl::GetFlag(FLAGS_min_year));
  filter.set_max_release_year(absl::GetFlag(FLAGS_max_year));
  for (const std::string& id : absl::GetFlag(FLAGS_exclude)) {
    filter.add_exclude_movie_ids(id);
  }
  for (const std::string& id : absl::GetFlag(FLAGS_include)) {
    filter.add_include_movie_ids(id);
  }
  return filter;
}

void Print(const google::protobuf::RepeatedPtrField<v1::ScoredMovie>& movies) {
  std::printf("%4s  %8s  %-60s  %8s  %4s  %s\n", "rank", "movie_id", "title",
              "score", "year", "genres");
  for (int i = 0; i < movies.size(); ++i) {
    const v1::ScoredMovie& movie = movies[i];
    std::printf("%4d  %8s  %-60s  %8.4f  %4d  %s\n", i + 1,
                movie.movie_id().c_str(), movie.title().c_str(), movie.score(),
                movie.release_year(),
                absl::StrJoin(movie.genres(), ",").c_str());
  }
}

// The error of a failed call to `method`, with a hint when the server could
// not be reached.
absl::Status CallError(const char* method, const std::string& target,
                       const grpc::Status& status) {
  std::string message =
      absl::StrCat(method, " at ", target, " failed: ",
                   absl::StatusCodeToString(
                       static_cast<absl::StatusCode>(status.error_code())),
                   ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    absl::StrAppend(&message,
                    "\nhint: is movierec-server running and "
                    "listening at ",
                    target, "?");
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      message);
}

absl::Status PrintSimilarMovies(v1::Recommender::Stub& stub,
                                grpc::ClientContext& context,
                                const std::string& target,
                                const std::string& movie_id) {
  v1::SimilarMoviesRequest request;
  request.set_movie_id(movie_id);
  request.set_count(absl::GetFlag(FLAGS_count));
  *request.mutable_filter() = Filter();
  v1::SimilarMoviesResponse response;
  const grpc::Status status = stub.SimilarMovies(&context, request, &response);
  if (!status.ok()) return CallError("SimilarMovies", target, status);
  std::printf("model version %s: movies similar to %s\n",
              response.model_version().c_str(), movie_id.c_str());
  Print(response.movies());
  return absl::OkStatus();
}

absl::Status PrintRecommendations(v1::Recommender::Stub& stub,
                                  grpc::ClientContext& context,
                                  const std::string& target) {
  v1::RecommendRequest request;
  request.set_user_id(absl::GetFlag(FLAGS_user));
  request.set_count(absl::GetFlag(FLAGS_count));
  for (const std::string& id : absl::GetFlag(FLAGS_recent)) {
    request.add_recent_movie_ids(id);
  }
  *request.mutable_filter() = Filter();
  v1::RecommendResponse response;
  const grpc::Status status = stub.Recommend(&context, request, &response);
  if (!status.ok()) return CallError("Recommend", target, status);
  const char* how = "";
  switch (response.personalization()) {
    case v1::PERSONALIZATION_RECENT_MOVIES:
      how = " (folded in from the recent movies)";
      break;
    case v1::PERSONALIZATION_POPULAR:
      how = " (unknown user: the most popular movies)";
      break;
    default:
      break;
  }
  std::printf("model version %s%s\n", response.model_version().c_str(), how);
  Print(response.movies());
  return absl::OkStatus();
}

absl::Status Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string similar_to = absl::GetFlag(FLAGS_similar_to);
  if (absl::GetFlag(FLAGS_user).empty() &&
      absl::GetFlag(FLAGS_recent).empty() && similar_to.empty()) {
    return movierec::UsageError(
        "give --user (e.g. --user 138), --recent (e.g. --recent 50,181) or "
        "--similar_to (e.g. --similar_to 50)");
  }
  MOVIEREC_ASSIGN_OR_RETURN(
      const std::shared_ptr<grpc::ChannelCredentials> credentials,
      movierec::AsUsageError(movierec::ClientCredentials(
          absl::GetFlag(FLAGS_tls),
          {absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_cert),
           absl::GetFlag(FLAGS_tls_key)})));
  auto stub =
      v1::Recommender::NewStub(grpc::CreateChannel(target, credentials));
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_timeout)));
  if (!similar_to.empty()) {
    return PrintSimilarMovies(*stub, context, target, similar_to);
  }
  return PrintRecommendations(*stub, context, target);
}

}  // namespace

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "Prints movie recommendations from a movierec server.\n\n"
      "Usage: movierec-client --target HOST:PORT --user 138 [--count 10]\n"
      "       movierec-client --recent 50,181,258       (a new visitor)\n"
      "       movierec-client --similar_to 50\n"
      "Filters: --genres Comedy,Drama --min_year 1990 --max_year 1999 "
      "--exclude 1,2 --include 50,172,181\n"
      "TLS: --tls_ca ca.pem [--tls_cert client.pem --tls_key client.key]",
      "client/client_main.cc", movierec::kBundleFormatVersion);
  const absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  }
  return movierec::ExitStatus(status);
}
