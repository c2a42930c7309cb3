// empty_server: the floor of a unary gRPC call, the baseline that
// serving_compare.py sets movierec-server against.
//
// A plain gRPC server, in a process of its own, that implements
// movierec.v1.Recommender with gRPC's callback API and finishes every call
// inline, on the gRPC thread that received it: no worker pool, no model, no
// arena, gRPC's default settings. movierec-loadgen drives it exactly as it
// drives movierec-server (the same requests, the same --method), so the
// difference between the two servers' CPU per call is what movierec adds to
// a unary call.
//
//   --response=empty    every method answers an empty response: what a
//                       call costs gRPC alone (parsing the small request
//                       included);
//   --response=payload  Recommend and SimilarMovies answer a fixed
//                       ten-movie response shaped like the real ones
//                       (titles, genres, scores), RecommendBatch one per
//                       request: what carrying movierec's messages costs
//                       without computing them.
//
// Prints "empty_server listening on port N" once it serves (N is the bound
// port: --port 0 picks a free one), then serves until killed.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "model/format_version.h"
#include "movierec/v1/recommender.grpc.pb.h"
#include "util/command_line.h"

ABSL_FLAG(int, port, 0, "gRPC port (0: a free one, printed)");
ABSL_FLAG(std::string, listen_address, "127.0.0.1", "Address to listen on");
ABSL_FLAG(std::string, response, "empty",
          "empty (every method answers an empty message) or payload (a "
          "fixed ten-movie answer, one per request of a batch)");

namespace movierec {
namespace {

// Ten movies shaped like MovieLens answers: a title with its year, two
// genres, both scores, the year.
v1::RecommendResponse MakePayload() {
  static const char* const kGenres[] = {"Action", "Adventure", "Comedy",
                                        "Drama",  "Romance",   "Thriller"};
  v1::RecommendResponse response;
  for (int i = 0; i < 10; ++i) {
    v1::ScoredMovie* movie = response.add_movies();
    movie->set_movie_id(std::to_string(100 + 37 * i));
    movie->set_title(
        absl::StrCat("A Movie Title of Usual Length ", i, " (", 1990 + i, ")"));
    movie->set_score(4.5f - 0.1f * static_cast<float>(i));
    movie->set_retrieval_score(2.0f - 0.05f * static_cast<float>(i));
    movie->add_genres(kGenres[i % 6]);
    movie->add_genres(kGenres[(i + 3) % 6]);
    movie->set_release_year(1990 + i);
  }
  response.set_model_version("1");
  response.set_personalization(v1::PERSONALIZATION_KNOWN_USER);
  return response;
}

// Every method finishes before its handler returns, on gRPC's thread.
class EmptyRecommender final : public v1::Recommender::CallbackService {
 public:
  explicit EmptyRecommender(bool payload) : payload_(payload) {
    if (payload_) answer_ = MakePayload();
  }

  grpc::ServerUnaryReactor* Recommend(
      grpc::CallbackServerContext* context, const v1::RecommendRequest*,
      v1::RecommendResponse* response) override {
    if (payload_) *response = answer_;
    return Finished(context);
  }

  grpc::ServerUnaryReactor* SimilarMovies(
      grpc::CallbackServerContext* context, const v1::SimilarMoviesRequest*,
      v1::SimilarMoviesResponse* response) override {
    if (payload_) {
      *response->mutable_movies() = answer_.movies();
      response->set_model_version(answer_.model_version());
    }
    return Finished(context);
  }

  grpc::ServerUnaryReactor* RecommendBatch(
      grpc::CallbackServerContext* context,
      const v1::RecommendBatchRequest* request,
      v1::RecommendBatchResponse* response) override {
    if (payload_) {
      for (int i = 0; i < request->requests_size(); ++i) {
        *response->add_responses() = answer_;
      }
      response->set_model_version(answer_.model_version());
    }
    return Finished(context);
  }

 private:
  static grpc::ServerUnaryReactor* Finished(
      grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  const bool payload_;
  v1::RecommendResponse answer_;
};

int Run() {
  const std::string mode = absl::GetFlag(FLAGS_response);
  if (mode != "empty" && mode != "payload") {
    std::fprintf(stderr, "--response=%s: give empty or payload\n",
                 mode.c_str());
    return 2;
  }
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "--port=%d: give 0 (a free port) to 65535\n", port);
    return 2;
  }
  EmptyRecommender service(mode == "payload");
  grpc::ServerBuilder builder;
  int bound = 0;
  const std::string address =
      absl::StrCat(absl::GetFlag(FLAGS_listen_address), ":", port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound == 0) {
    std::fprintf(stderr, "cannot listen for gRPC on %s\n", address.c_str());
    return 1;
  }
  std::printf("empty_server listening on port %d (response %s)\n", bound,
              mode.c_str());
  std::fflush(stdout);
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace movierec

int main(int argc, char** argv) {
  movierec::ParseCommandLine(
      argc, argv,
      "A plain gRPC server answering movierec.v1.Recommender's methods "
      "inline with an empty (or fixed) response: the baseline of "
      "tests/bench/serving_compare.py",
      "tests/bench/empty_server_main.cc", movierec::kBundleFormatVersion);
  return movierec::Run();
}
