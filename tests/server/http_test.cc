// The HTTP/JSON port (server/http_server.h, server/http_api.h): every
// endpoint through a real socket (cpp-httplib's client), every error
// mapping, the request limits, deadlines, readiness, and the transport label
// of the request metrics; and the JSON reading itself without a socket.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>
// <httplib.h> includes <resolv.h>, whose macro `_res` breaks the Eigen
// headers included below (a parameter of that name).
#undef _res

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/grpc_status.h"
#include "server/http_api.h"
#include "tests/server/server_fixture.h"

namespace movierec {
namespace {

using ::movierec::test::RequestsSeries;

// The {"code", "message"} of an error body; "" when it is not one.
std::pair<std::string, std::string> ErrorOf(const std::string& body) {
  google::protobuf::Struct error;
  if (!google::protobuf::util::JsonStringToMessage(body, &error).ok()) {
    return {};
  }
  const auto& fields = error.fields();
  if (fields.size() != 2 || fields.count("code") == 0 ||
      fields.count("message") == 0) {
    return {};
  }
  return {fields.at("code").string_value(),
          fields.at("message").string_value()};
}

class HttpTest : public test::ServerFixture {
 protected:
  ServerOptions HttpOptions() const {
    ServerOptions options = Options();
    options.http_port = 0;
    return options;
  }
  void StartHttp() { StartHttp(HttpOptions()); }
  void StartHttp(ServerOptions options) {
    StartServer(std::move(options));
    ASSERT_GT(server_->http_port(), 0);
  }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", server_->http_port());
    client.set_read_timeout(10, 0);
    return client;
  }
  // POST `body` to `path`: the status (-1 when no answer came) and body.
  std::pair<int, std::string> Post(const std::string& path,
                                   const std::string& body,
                                   const httplib::Headers& headers = {}) {
    httplib::Result result =
        Client().Post(path.c_str(), headers, body, "application/json");
    if (!result) return {-1, httplib::to_string(result.error())};
    return {result->status, result->body};
  }
  std::pair<int, std::string> Get(const std::string& path) {
    httplib::Result result = Client().Get(path.c_str());
    if (!result) return {-1, httplib::to_string(result.error())};
    return {result->status, result->body};
  }

  // Expects `status` and an error body of `code` whose message holds each
  // of `parts`.
  void ExpectError(const std::pair<int, std::string>& answer, int status,
                   const std::string& code,
                   const std::vector<std::string>& parts = {}) {
    EXPECT_EQ(answer.first, status) << answer.second;
    const auto [got_code, message] = ErrorOf(answer.second);
    EXPECT_EQ(got_code, code) << answer.second;
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "\"" << part << "\" not in: " << message;
    }
  }
};

TEST_F(HttpTest, RecommendAnswersInTheCanonicalJsonMapping) {
  WriteVersion();
  StartHttp();
  const auto [status, body] =
      Post("/v1/recommend",
           absl::StrCat(R"({"userId": ")", KnownUser(0), R"(", "count": 5})"));
  ASSERT_EQ(status, 200) << body;
  v1::RecommendResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &response).ok())
      << body;
  EXPECT_EQ(response.movies_size(), 5);
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(response.personalization(), v1::PERSONALIZATION_KNOWN_USER);
  EXPECT_NE(body.find("\"modelVersion\""), std::string::npos) << body;
  EXPECT_NE(body.find("PERSONALIZATION_KNOWN_USER"), std::string::npos);

  // The proto field names work too, and answer the same as gRPC.
  const auto [snake_status, snake_body] =
      Post("/v1/recommend",
           absl::StrCat(R"({"user_id": ")", KnownUser(0), R"(", "count": 5})"));
  EXPECT_EQ(snake_status, 200);
  EXPECT_EQ(snake_body, body);
  v1::RecommendResponse grpc_response;
  ASSERT_TRUE(Recommend(KnownUser(0), 5, &grpc_response).ok());
  ASSERT_EQ(grpc_response.movies_size(), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(response.movies(i).movie_id(),
              grpc_response.movies(i).movie_id());
  }
}

TEST_F(HttpTest, SimilarMoviesAndBatch) {
  WriteVersion();
  StartHttp();
  auto [status, body] =
      Post("/v1/similar-movies",
           absl::StrCat(R"({"movieId": ")", MovieId(0), R"(", "count": 3})"));
  ASSERT_EQ(status, 200) << body;
  v1::SimilarMoviesResponse similar;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &similar).ok());
  EXPECT_EQ(similar.movies_size(), 3);

  std::tie(status, body) =
      Post("/v1/recommend:batch",
           absl::StrCat(R"({"requests": [{"userId": ")", KnownUser(1),
                        R"("}, {"userId": "424242", "count": 2}]})"));
  ASSERT_EQ(status, 200) << body;
  v1::RecommendBatchResponse batch;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &batch).ok());
  ASSERT_EQ(batch.responses_size(), 2);
  EXPECT_EQ(batch.responses(0).movies_size(), 10);
  EXPECT_TRUE(batch.responses(1).fallback());
}

TEST_F(HttpTest, ErrorsMapToHttpStatuses) {
  WriteVersion();
  StartHttp();
  ExpectError(
      Post("/v1/recommend", absl::StrCat(R"({"userId": ")", KnownUser(0),
                                         R"(", "count": 101})")),
      400, "INVALID_ARGUMENT", {"count", "101"});
  ExpectError(Post("/v1/similar-movies", R"({"movieId": "999999"})"), 404,
              "NOT_FOUND", {"999999"});
  ExpectError(Post("/v1/recommend:batch", "{}"), 400, "INVALID_ARGUMENT");
  ExpectError(Get("/v1/nothing"), 404, "NOT_FOUND", {"/v1/nothing"});
  httplib::Result get = Client().Get("/v1/recommend");
  ASSERT_TRUE(get);
  ExpectError({get->status, get->body}, 405, "UNIMPLEMENTED", {"GET"});
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  ExpectError(Post("/healthz", "{}"), 405, "UNIMPLEMENTED");
}

TEST_F(HttpTest, FormEncodedBodiesAreJsonToo) {
  WriteVersion();
  StartHttp();
  // curl -d sends this type: the body is read as JSON all the same, and
  // what it holds is no query parameter.
  httplib::Result form =
      Client().Post("/v1/recommend", R"({"userId": "424242&timeout_ms=x"})",
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 200) << form->body;
  // Past cpp-httplib's 8 KiB limit of form bodies too.
  std::string big = R"({"userId": "424242", "recentMovieIds": [)";
  for (int i = 0; i < 40; ++i) {
    absl::StrAppend(&big, i > 0 ? ", " : "", "\"", MovieId(i % 40), "\"");
  }
  big += "], \"filter\": {\"genres\": [\"" + std::string(9000, 'x') + "\"]}}";
  form =
      Client().Post("/v1/recommend", big, "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  ExpectError({form->status, form->body}, 400, "INVALID_ARGUMENT", {"genres"});
}

TEST_F(HttpTest, BadBodiesAreClear400s) {
  WriteVersion();
  StartHttp();
  const struct {
    const char* name;
    std::string body;
    std::vector<std::string> parts;
  } cases[] = {
      {"unknown field", R"({"userId": "1", "colour": "red"})", {"colour"}},
      {"malformed", R"({"userId": "1",,})", {"RecommendRequest"}},
      {"truncated", R"({"userId": "1", "count": )", {"RecommendRequest"}},
      {"wrong type", R"({"count": "many"})", {"count"}},
      {"wrong type, message", R"({"filter": "Drama"})", {"filter"}},
      {"wrong type, string", R"({"userId": {"id": 1}})", {}},
      {"huge number", R"({"count": 1e400})", {}},
      {"past int32", R"({"count": 4294967296})", {}},
      {"not utf-8", "{\"userId\": \"\xc0\xaf\"}", {"not UTF-8", "byte 12"}},
      {"empty", "", {"empty"}},
      {"not an object", "[1, 2]", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ExpectError(Post("/v1/recommend", c.body), 400, "INVALID_ARGUMENT",
                c.parts);
  }
  // The server goes on answering.
  EXPECT_EQ(Post("/v1/recommend", R"({"userId": "424242"})").first, 200);
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "INVALID_ARGUMENT", "http")),
            static_cast<double>(std::size(cases)));
}

TEST_F(HttpTest, OversizeBodyIs413) {
  WriteVersion();
  ServerOptions options = HttpOptions();
  options.max_receive_message_bytes = 1000;
  StartHttp(options);
  const std::string big =
      absl::StrCat(R"({"userId": ")", std::string(2000, '1'), R"("})");
  ExpectError(Post("/v1/recommend", big), 413, "RESOURCE_EXHAUSTED",
              {"1000 bytes"});
  EXPECT_EQ(Post("/v1/recommend", R"({"userId": "424242"})").first, 200);
}

TEST_F(HttpTest, ReadinessWaitsForAModel) {
  StartHttp();  // no version yet
  EXPECT_EQ(Get("/healthz").first, 200);
  const auto [status, body] = Get("/readyz");
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("NOT_SERVING"), std::string::npos) << body;
  ExpectError(Post("/v1/recommend", R"({"userId": "1"})"), 503, "UNAVAILABLE");
  WriteVersion();
  ASSERT_TRUE(test::WaitFor([&] { return Get("/readyz").first == 200; },
                            absl::Seconds(10)));
  server_->BeginShutdown();
  EXPECT_EQ(Get("/healthz").first, 503);
  EXPECT_EQ(Get("/readyz").first, 503);
}

TEST_F(HttpTest, DeadlinesFromHeaderOrQuery) {
  WriteVersion();
  ServerOptions options = HttpOptions();
  options.worker_threads = 1;
  options.before_call = [](const CallControl&, const std::string&) {
    absl::SleepFor(absl::Milliseconds(300));
  };
  StartHttp(options);
  // Past its deadline on the worker: 504.
  ExpectError(Post("/v1/recommend?timeout_ms=50", R"({"userId": "424242"})"),
              504, "DEADLINE_EXCEEDED");
  ExpectError(Post("/v1/recommend", R"({"userId": "424242"})",
                   {{"grpc-timeout", "50m"}}),
              504, "DEADLINE_EXCEEDED");
  // Behind a call that holds the only worker, a call with a short deadline
  // is refused (429) or dropped (504).
  std::thread slow([this] {
    EXPECT_EQ(Post("/v1/recommend", R"({"userId": "424242"})").first, 200);
  });
  absl::SleepFor(absl::Milliseconds(50));
  const auto [status, body] =
      Post("/v1/recommend?timeout_ms=20", R"({"userId": "424242"})");
  slow.join();
  EXPECT_TRUE(status == 429 || status == 504) << status << " " << body;
  // Malformed deadlines.
  ExpectError(Post("/v1/recommend", "{}", {{"grpc-timeout", "soon"}}), 400,
              "INVALID_ARGUMENT", {"grpc-timeout"});
  ExpectError(Post("/v1/recommend?timeout_ms=-5", "{}"), 400,
              "INVALID_ARGUMENT", {"timeout_ms"});
}

TEST_F(HttpTest, MetricsCountTheTransport) {
  WriteVersion();
  StartHttp();
  ASSERT_EQ(Post("/v1/recommend", R"({"userId": "424242"})").first, 200);
  ASSERT_EQ(Post("/v1/recommend", R"({"userId": "424242"})").first, 200);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(KnownUser(0), 5, &response).ok());
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "OK", "http")), 2.0);
  EXPECT_EQ(Metric(RequestsSeries("Recommend", "OK", "grpc")), 1.0);
  EXPECT_EQ(Metric("movierec_request_duration_seconds_count{method="
                   "\"Recommend\",transport=\"http\"}"),
            2.0);
  EXPECT_EQ(Metric("movierec_requests_in_flight"), 0.0);
}

TEST_F(HttpTest, SearchMoviesFindsTitlesMostRatedFirst) {
  WriteVersion();
  StartHttp();
  // "movie 1" in any case: Movie 1, Movie 10-19, Movie 100-... of the
  // catalogue, the most rated first.
  auto [status, body] =
      Post("/v1/search-movies", R"({"query": "mOVIE 1", "count": 5})");
  ASSERT_EQ(status, 200) << body;
  v1::SearchMoviesResponse found;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &found).ok());
  ASSERT_EQ(found.movies_size(), 5);
  EXPECT_GT(found.total_matches(), 5);
  EXPECT_EQ(found.model_version(), "1");
  EXPECT_EQ(std::vector<std::string>(found.catalogue_genres().begin(),
                                     found.catalogue_genres().end()),
            model_.catalog.genre_names);
  for (int i = 0; i < found.movies_size(); ++i) {
    const v1::ScoredMovie& movie = found.movies(i);
    EXPECT_EQ(movie.title().find("Movie 1"), 0u) << movie.title();
    EXPECT_EQ(movie.retrieval_score(), 0);
    const int row = static_cast<int>(
        std::find_if(model_.catalog.movies.begin(), model_.catalog.movies.end(),
                     [&](const Movie& m) {
                       return absl::StrCat(m.id) == movie.movie_id();
                     }) -
        model_.catalog.movies.begin());
    ASSERT_LT(row, model_.num_movies());
    EXPECT_EQ(movie.score(), model_.popularity[row]);
    if (i > 0) EXPECT_LE(movie.score(), found.movies(i - 1).score());
  }
  // The same answer over gRPC: one dispatch path.
  v1::SearchMoviesRequest request;
  request.set_query("mOVIE 1");
  request.set_count(5);
  v1::SearchMoviesResponse over_grpc;
  grpc::ClientContext context;
  context.set_deadline(test::CallDeadline());
  ASSERT_TRUE(stub_->SearchMovies(&context, request, &over_grpc).ok());
  EXPECT_EQ(over_grpc.SerializeAsString(), found.SerializeAsString());
  EXPECT_EQ(Metric(RequestsSeries("SearchMovies", "OK", "http")), 1.0);
  EXPECT_EQ(Metric(RequestsSeries("SearchMovies", "OK", "grpc")), 1.0);

  // UTF-8 titles; nothing found is an empty list, not an error.
  std::tie(status, body) = Post("/v1/search-movies", R"({"query": "café"})");
  ASSERT_EQ(status, 200) << body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &found).ok());
  ASSERT_EQ(found.movies_size(), 1);
  EXPECT_EQ(found.movies(0).title(), "Caf\xC3\xA9 Society (1995)");
  std::tie(status, body) =
      Post("/v1/search-movies", R"({"query": "no such title"})");
  ASSERT_EQ(status, 200) << body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &found).ok());
  EXPECT_EQ(found.movies_size(), 0);
  EXPECT_EQ(found.total_matches(), 0);
  EXPECT_EQ(found.catalogue_genres_size(), 5);

  // An empty query: the most rated movies of the catalogue.
  std::tie(status, body) = Post("/v1/search-movies", "{}");
  ASSERT_EQ(status, 200) << body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &found).ok());
  EXPECT_EQ(found.movies_size(), 10);
  EXPECT_EQ(found.total_matches(), model_.num_movies());
}

TEST_F(HttpTest, SearchMoviesLooksUpIdsAndRefusesBadRequests) {
  WriteVersion();
  StartHttp();
  auto [status, body] =
      Post("/v1/search-movies",
           absl::StrCat(R"({"movieIds": [")", MovieId(2), R"(", ")", MovieId(0),
                        R"(", ")", MovieId(2), R"("]})"));
  ASSERT_EQ(status, 200) << body;
  v1::SearchMoviesResponse found;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &found).ok());
  ASSERT_EQ(found.movies_size(), 2);  // the repeat once
  std::vector<std::string> ids = {found.movies(0).movie_id(),
                                  found.movies(1).movie_id()};
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> want = {MovieId(0), MovieId(2)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);

  ExpectError(Post("/v1/search-movies", R"({"movieIds": ["999999"]})"), 404,
              "NOT_FOUND", {"movie_ids[0]", "999999"});
  ExpectError(Post("/v1/search-movies", R"({"movieIds": [""]})"), 400,
              "INVALID_ARGUMENT", {"movie_ids[0] is empty"});
  ExpectError(
      Post("/v1/search-movies",
           absl::StrCat(R"({"query": ")", std::string(201, 'x'), R"("})")),
      400, "INVALID_ARGUMENT", {"query", "201 bytes", "200"});
  ExpectError(Post("/v1/search-movies", R"({"count": 101})"), 400,
              "INVALID_ARGUMENT", {"count 101"});
  ExpectError(Post("/v1/search-movies", R"({"query": 7, "title": "x"})"), 400,
              "INVALID_ARGUMENT");
}

TEST_F(HttpTest, ServesTheDemoPage) {
  WriteVersion();
  StartHttp();
  httplib::Result page = Client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<title>movierec demo</title>"), std::string::npos);
  // It loads only its own files: no other origin, and the policy says so.
  EXPECT_EQ(page->body.find("http://"), std::string::npos);
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Content-Security-Policy")
                .find("default-src 'self'"),
            0u);
  httplib::Result index = Client().Get("/index.html");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, page->body);
  for (const auto& [path, type] :
       std::vector<std::pair<std::string, std::string>>{
           {"/demo.js", "text/javascript; charset=utf-8"},
           {"/demo.css", "text/css; charset=utf-8"}}) {
    httplib::Result asset = Client().Get(path.c_str());
    ASSERT_TRUE(asset) << path;
    EXPECT_EQ(asset->status, 200) << path;
    EXPECT_EQ(asset->get_header_value("Content-Type"), type) << path;
    EXPECT_GT(asset->body.size(), 1000u) << path;
    EXPECT_NE(page->body.find(path), std::string::npos) << path;
    EXPECT_EQ(asset->body.find("https://"), std::string::npos) << path;
  }
  ExpectError(Post("/", "{}"), 405, "UNIMPLEMENTED", {"POST"});
  ExpectError(Get("/demo.png"), 404, "NOT_FOUND", {"GET /"});
}

TEST_F(HttpTest, DisabledWithMinusOne) {
  WriteVersion();
  StartServer();  // the fixture's http_port -1
  EXPECT_EQ(server_->http_port(), -1);
}

TEST(HttpApiTest, StatusesFollowGoogleApiGuidelines) {
  const struct {
    absl::StatusCode code;
    int http;
  } cases[] = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnauthenticated, 401},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDeadlineExceeded, 504},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HttpStatusFor(c.code), c.http)
        << absl::StatusCodeToString(c.code);
  }
}

TEST(HttpApiTest, ErrorBodiesAreJsonWithCappedMessages) {
  const HttpReply reply =
      ErrorReply(absl::NotFoundError("movie \"7\" \\ \n\x01 not found"));
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(ErrorOf(reply.body),
            std::make_pair(std::string("NOT_FOUND"),
                           std::string("movie \"7\" \\ \n\x01 not found")));
  const HttpReply long_reply =
      ErrorReply(absl::InvalidArgumentError(std::string(5000, 'x')));
  const std::string message = ErrorOf(long_reply.body).second;
  EXPECT_LE(message.size(), kMaxGrpcMessageBytes);
  EXPECT_NE(message.find("bytes cut]"), std::string::npos);
}

TEST(HttpApiTest, GrpcTimeoutUnits) {
  EXPECT_EQ(*ParseGrpcTimeout("100m"), absl::Milliseconds(100));
  EXPECT_EQ(*ParseGrpcTimeout("2S"), absl::Seconds(2));
  EXPECT_EQ(*ParseGrpcTimeout("1H"), absl::Hours(1));
  EXPECT_EQ(*ParseGrpcTimeout("3M"), absl::Minutes(3));
  EXPECT_EQ(*ParseGrpcTimeout("5u"), absl::Microseconds(5));
  EXPECT_EQ(*ParseGrpcTimeout("7n"), absl::Nanoseconds(7));
  for (const char* bad :
       {"", "m", "100", "100x", "-1m", "123456789m", "1.5S"}) {
    EXPECT_FALSE(ParseGrpcTimeout(bad).ok()) << bad;
  }
  EXPECT_EQ(*ParseTimeoutMs("250"), absl::Milliseconds(250));
  for (const char* bad : {"", "0", "-1", "1e3", "123456789", "ten"}) {
    EXPECT_FALSE(ParseTimeoutMs(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace movierec
