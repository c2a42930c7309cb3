// Scrapes a running movierec server with a real Prometheus (the Debian
// package `prometheus`, installed by deploy/install-deps.sh --test) and
// checks, through Prometheus' HTTP API, that the target is up and that the
// request counter and the latency histograms hold exactly the calls made.
//
// Prometheus runs on loopback with a temporary scrape configuration of the
// same shape as deploy/prometheus/prometheus.yml (job "movierec", path
// /metrics, one static target), with dynamic ports and a 100 ms scrape
// interval; the shipped file itself is checked with promtool. The test fails,
// naming the package, when prometheus is not installed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/subprocess.h"
#include "tests/net_test_util.h"
#include "tests/server/server_fixture.h"

namespace movierec {
namespace {

using ::movierec::test::FreePort;
using ::movierec::test::HttpBody;
using ::movierec::test::HttpGet;
using ::movierec::test::Subprocess;
using ::movierec::test::WaitFor;

constexpr char kSourceDir[] = MOVIEREC_SOURCE_DIR;

// The path of `program` on $PATH, or "".
std::string FindProgram(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (const absl::string_view dir :
       absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/", program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string UrlEncode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

class PrometheusTest : public test::ServerFixture {
 protected:
  void SetUp() override {
    prometheus_ = FindProgram("prometheus");
    promtool_ = FindProgram("promtool");
    ASSERT_FALSE(prometheus_.empty() || promtool_.empty())
        << "prometheus/promtool are not on PATH: install the Debian package "
           "`prometheus` (tests/run.sh does, through deploy/install-deps.sh "
           "--test)";
  }

  // Starts Prometheus scraping the server's metrics port (or `target_port`).
  void StartPrometheus(int target_port = 0) {
    port_ = FreePort();
    const std::string config = dir_.File("prometheus.yml");
    test::WriteFile(
        config,
        absl::StrCat("global:\n"
                     "  scrape_interval: 100ms\n"
                     "  scrape_timeout: 100ms\n"
                     "scrape_configs:\n"
                     "  - job_name: movierec\n"
                     "    metrics_path: /metrics\n"
                     "    static_configs:\n"
                     "      - targets: ['127.0.0.1:",
                     target_port > 0 ? target_port : server_->metrics_port(),
                     "']\n"));
    ASSERT_OK_AND_ASSIGN(
        process_, Subprocess::Start(
                      {prometheus_, "--config.file=" + config,
                       "--storage.tsdb.path=" + dir_.File("tsdb"),
                       absl::StrCat("--web.listen-address=127.0.0.1:", port_),
                       "--log.level=warn"}));
    ASSERT_TRUE(WaitFor(
        [&] {
          return HttpGet(port_, "/-/ready", /*quiet=*/true).find(" 200 ") !=
                 std::string::npos;
        },
        absl::Seconds(60)))
        << "Prometheus did not become ready:\n"
        << process_->Output();
  }

  // The value of the instant query `query`, once it has exactly one sample;
  // nullopt after 30 s without one.
  std::optional<double> Query(const std::string& query) {
    std::optional<double> value;
    WaitFor(
        [&] {
          const std::string body = HttpBody(
              HttpGet(port_, "/api/v1/query?query=" + UrlEncode(query), true));
          const auto json = nlohmann::json::parse(body, nullptr, false);
          if (json.is_discarded() || json.value("status", "") != "success") {
            return false;
          }
          const auto& result = json["data"]["result"];
          if (result.size() != 1) return false;
          value = std::stod(result[0]["value"][1].get<std::string>());
          return true;
        },
        absl::Seconds(30), absl::Milliseconds(50));
    return value;
  }

  std::string prometheus_;
  std::string promtool_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

TEST_F(PrometheusTest, ShippedScrapeConfigIsValid) {
  const std::string shipped =
      absl::StrCat(kSourceDir, "/deploy/prometheus/prometheus.yml");
  ASSERT_OK_AND_ASSIGN(
      auto check, Subprocess::Start({promtool_, "check", "config", shipped}));
  const std::optional<int> status = check->WaitForExit(absl::Seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << check->Output();
  const std::string text = test::ReadFileOrFail(shipped);
  EXPECT_NE(text.find("job_name: movierec"), std::string::npos);
  EXPECT_NE(text.find("metrics_path: /metrics"), std::string::npos);
}

TEST_F(PrometheusTest, ScrapesTheRequestCounterAndHistograms) {
  WriteVersion();
  StartServer(/*metrics=*/true);
  // Known calls: 3 OK and 2 INVALID_ARGUMENT Recommend calls, one of the OK
  // ones a fallback; 1 OK SimilarMovies call.
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(KnownUser(0), 5, &response).ok());
  ASSERT_TRUE(Recommend(KnownUser(1), 5, &response).ok());
  ASSERT_TRUE(Recommend("424242", 5, &response).ok());
  ASSERT_FALSE(Recommend("", 5, &response).ok());
  ASSERT_FALSE(Recommend(KnownUser(0), 500, &response).ok());
  {
    grpc::ClientContext context;
    v1::SimilarMoviesRequest request;
    request.set_movie_id(MovieId(3));
    v1::SimilarMoviesResponse similar;
    ASSERT_TRUE(stub_->SimilarMovies(&context, request, &similar).ok());
  }
  StartPrometheus();

  EXPECT_EQ(Query("up{job=\"movierec\"}"), 1.0);
  // Request series carry the version that answered ("none": refused
  // before one was chosen); sum() adds up the versions.
  EXPECT_EQ(Query("movierec_requests_total{method=\"Recommend\",code=\"OK\","
                  "transport=\"grpc\",version=\"1\"}"),
            3.0);
  EXPECT_EQ(Query("movierec_requests_total{method=\"Recommend\","
                  "code=\"INVALID_ARGUMENT\",transport=\"grpc\",version="
                  "\"none\"}"),
            2.0);
  EXPECT_EQ(Query("movierec_model_serving{version=\"1\",role=\"stable\"}"),
            1.0);
  EXPECT_EQ(Query("sum(movierec_requests_total)"), 6.0);
  EXPECT_EQ(Query("sum(movierec_request_duration_seconds_count{method="
                  "\"Recommend\",transport=\"grpc\"})"),
            5.0);
  EXPECT_EQ(Query("sum(movierec_request_duration_seconds_bucket{method="
                  "\"Recommend\",transport=\"grpc\",le=\"+Inf\"})"),
            5.0);
  const std::optional<double> sum = Query(
      "sum(movierec_request_duration_seconds_sum{method=\"Recommend\","
      "transport=\"grpc\"})");
  ASSERT_TRUE(sum.has_value());
  EXPECT_GT(*sum, 0.0);
  // Buckets fine enough for sub-millisecond calls: a bound at 100 µs.
  EXPECT_TRUE(Query("sum(movierec_request_duration_seconds_bucket{method="
                    "\"Recommend\",transport=\"grpc\",le=\"0.0001\"})")
                  .has_value());
  // Two retrievals (the fallback retrieves nothing), as a histogram that
  // histogram_quantile can read.
  EXPECT_EQ(
      Query("sum(movierec_stage_duration_seconds_count{stage=\"retrieval\"})"),
      2.0);
  const std::optional<double> p99 = Query(
      "histogram_quantile(0.99, sum by (le) "
      "(movierec_request_duration_seconds_bucket{method=\"Recommend\"}))");
  ASSERT_TRUE(p99.has_value());
  EXPECT_GT(*p99, 0.0);
  EXPECT_EQ(Query("sum(movierec_fallbacks_total{method=\"Recommend\"})"), 1.0);
  EXPECT_EQ(Query("movierec_model_version"), 1.0);
  EXPECT_EQ(Query("movierec_model_reloads_total{result=\"success\"}"), 1.0);
  EXPECT_EQ(Query("movierec_catalogue_movies"), 40.0);
}

// Every query of the shipped Grafana dashboard is valid PromQL (Prometheus
// evaluates it), with the dashboard's variables filled in.
TEST_F(PrometheusTest, DashboardQueriesAreValidPromQL) {
  const std::string path =
      absl::StrCat(kSourceDir, "/deploy/grafana/movierec-dashboard.json");
  const auto dashboard =
      nlohmann::json::parse(test::ReadFileOrFail(path), nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << path << " is not JSON";
  std::vector<std::string> queries;
  for (const auto& panel : dashboard["panels"]) {
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      queries.push_back(target["expr"].get<std::string>());
    }
  }
  ASSERT_GE(queries.size(), 10u);
  StartPrometheus(/*target_port=*/FreePort());
  for (const std::string& query : queries) {
    const std::string filled = absl::StrReplaceAll(
        query, {{"$__rate_interval", "1m"}, {"$instance", ".*"}});
    const std::string body =
        HttpBody(HttpGet(port_, "/api/v1/query?query=" + UrlEncode(filled)));
    const auto json = nlohmann::json::parse(body, nullptr, false);
    EXPECT_TRUE(!json.is_discarded() && json.value("status", "") == "success")
        << query << "\n"
        << body;
  }
}

}  // namespace
}  // namespace movierec
