// serving_bench: movierec's serving throughput against its limit.
//
// Starts the real MovierecServer (server/server.h) on loopback and registers
// beside Recommender, in the same builder and on the same worker pool, an
// empty RPC (bench_empty.proto) that goes through the same path as every
// movierec call (callback handler -> WorkerPool -> Finish) and does nothing
// else. Both are driven with the load generator's engine (client/loadgen.h):
//
//   1. max QPS: closed loop at each --concurrency, --repetitions times each,
//      the two methods interleaved so that both see the same machine; the
//      median of each concurrency's repetitions, then the best concurrency.
//   2. latency against load: open loop at --open_loop_fractions of each
//      method's max QPS (0.5, half load, among them), the median of the
//      repetitions' QPS and p50/p99/p99.9.
//
// The ratio Recommend max QPS / empty max QPS says how much of the cost of a
// call is ours rather than gRPC's. The load generator runs in the same
// process and shares the cores with the server, as on a single machine it
// would anyway; it costs the same for both methods.
//
// Model: --model_base (e.g. a default-preset model trained on MovieLens
// 100K), else a synthetic MovieLens-sized one (943 users, 1682 movies,
// dimension 32, a small random ranking stage) in a temporary directory.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/loadgen.h"
#include "client/loadgen_workload.h"
#include "model/bundle.h"
#include "nlohmann/json.hpp"
#include "server/arena_allocator.h"
#include "server/recommender.h"
#include "server/server.h"
#include "spdlog/spdlog.h"
#include "tests/bench/bench_empty.grpc.pb.h"
#include "tests/test_util.h"

ABSL_FLAG(int, ivf_nprobe, 0,
          "IVF cells scanned per query (the server's --ivf_nprobe); 0: the "
          "version's own");
ABSL_FLAG(std::string, model_base, "",
          "Model base to serve (its newest version); empty: a synthetic "
          "MovieLens-sized model");
ABSL_FLAG(int, worker_threads, 0, "Server worker threads (0: one per core)");
ABSL_FLAG(std::vector<std::string>, concurrency,
          std::vector<std::string>({"1", "2", "4", "8", "16", "32"}),
          "Closed-loop concurrencies swept for the max QPS");
ABSL_FLAG(std::vector<std::string>, methods,
          std::vector<std::string>({"Empty", "Payload", "Recommend"}),
          "Methods to drive (a subset, e.g. for a profile of one)");
ABSL_FLAG(int, repetitions, 3, "Runs per point; the median is reported");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(3), "Measured time per run");
ABSL_FLAG(absl::Duration, warmup, absl::Milliseconds(500),
          "Warm-up per run, not counted");
ABSL_FLAG(double, unknown_user_share, 0.2,
          "Recommend: share of unknown users (folded in from 5 recent movies)");
ABSL_FLAG(std::vector<std::string>, open_loop_fractions,
          std::vector<std::string>({"0.25", "0.5", "0.75", "0.9"}),
          "Open-loop runs at these fractions of each method's max QPS "
          "(latency against load; 0.5 is the half-load row)");
ABSL_FLAG(int, count, 10, "Recommend: movies per request");
ABSL_FLAG(int, channels, 1, "gRPC channels the load is spread over");
ABSL_FLAG(std::string, json, "", "Also write the results here as JSON");
ABSL_FLAG(absl::Duration, direct_only, absl::ZeroDuration(),
          "Profiling aid: only call Recommender::Recommend directly (no "
          "gRPC) on one thread for this long, print the CPU time per call, "
          "and exit (e.g. under perf record)");
ABSL_FLAG(int, direct_batch, 0,
          "With --direct_only: call Recommender::RecommendBatch with this many "
          "requests a call instead (the time printed is per request)");
ABSL_FLAG(int, direct_evict_kib, 0,
          "With --direct_only: write over a buffer of this many KiB between "
          "calls (not timed), so each call starts with the caches another "
          "call's gRPC work would leave it (e.g. 2048: beyond L2)");
ABSL_FLAG(std::string, write_synthetic_model, "",
          "Only write the synthetic model as a version under this model base, "
          "and exit (for tests/bench/loadgen_smoke.sh)");

namespace movierec::bench {
namespace {

namespace v1 = ::movierec::v1;
using loadgen::IssueCall;
using loadgen::LoadOptions;
using loadgen::LoadResult;

// The empty RPC, on the server's worker pool exactly as
// RecommenderService::Dispatch queues movierec's calls.
class EmptyServiceImpl final : public EmptyService::CallbackService {
 public:
  explicit EmptyServiceImpl(WorkerPool* pool) : pool_(pool) {}

  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context,
                                  const EmptyRequest*,
                                  EmptyResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    pool_->Submit([reactor] { reactor->Finish(grpc::Status::OK); });
    return reactor;
  }

 private:
  WorkerPool* pool_;
};

// Recommend's messages without Recommend's work: a fixed answer (a real
// one, computed once before the load) copied into each call's response, on
// the same worker pool. Between Empty and Recommend it splits what
// Recommend costs beyond a bare call into carrying its messages (parsing
// the request, building, serialising and parsing a ten-movie response) and
// computing the answer.
class PayloadServiceImpl final : public PayloadService::CallbackService {
 public:
  PayloadServiceImpl(WorkerPool* pool, const v1::RecommendResponse* answer)
      : pool_(pool), answer_(answer) {
    // As RecommenderService does: the call's messages on one arena.
    SetMessageAllocatorFor_Payload(&allocator_);
  }

  grpc::ServerUnaryReactor* Payload(grpc::CallbackServerContext* context,
                                    const v1::RecommendRequest*,
                                    v1::RecommendResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    pool_->Submit([this, reactor, response] {
      *response = *answer_;
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  WorkerPool* pool_;
  const v1::RecommendResponse* answer_;
  ArenaMessageAllocator<v1::RecommendRequest, v1::RecommendResponse> allocator_;
};

// A MovieLens-sized random model, written as version 1 under `base`.
void WriteSyntheticModel(const std::string& base) {
  RetrievalConfig config = test::SmallRetrievalConfig(true);
  config.embedding_dim = 32;
  config.init_scale = 0.1f;
  Model model =
      test::MakeRandomModel(test::SmallMovieLens(943, 1682, 100), config, 7);
  test::AddRankingStage(&model, /*with_reranker=*/true, 7);
  const auto written = WriteModelVersion(base, model, "");
  if (!written.ok()) {
    spdlog::critical("cannot write the synthetic model: {}",
                     written.status().ToString());
    std::exit(1);
  }
}

struct Method {
  std::string name;
  IssueCall issue;
};

// CPU time this process has used (user + system), in microseconds: server
// and load generator together. Unlike QPS it hardly moves when other
// processes compete for the cores, so it tells changes apart on a busy
// machine.
double CpuMicros() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return 1e6 * (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

LoadResult MustRun(const LoadOptions& options, const Method& method) {
  absl::StatusOr<LoadResult> r = loadgen::RunLoad(options, method.issue);
  if (!r.ok()) {
    spdlog::critical("{}: {}", method.name, r.status().ToString());
    std::exit(2);
  }
  if (r->error_count() > 0) {
    spdlog::warn("{}: {} errors: {}", method.name, r->error_count(),
                 loadgen::FormatResult(*r));
  }
  return *std::move(r);
}

double ThreadCpuMicros() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return 1e6 * t.tv_sec + 1e-3 * t.tv_nsec;
}

// Our work alone: Recommender::Recommend on the serving snapshot, on this
// thread, for the workload's requests, for `duration`; CPU microseconds
// per call (CPU time, not wall time: the machine is shared). With batch > 0,
// Recommender::RecommendBatch of that many requests instead, per request.
// With evict_kib > 0, a buffer that large is written over between calls,
// outside the timed part: each call then finds the caches as under load.
double DirectRecommendMicros(MovierecServer& server,
                             const loadgen::Workload& workload,
                             absl::Duration duration, int evict_kib = 0,
                             int batch = 0) {
  const loadgen::RequestSource source(workload);
  const Recommender recommender(
      [&server] { return server.models().current(); });
  std::vector<char> evict(static_cast<size_t>(std::max(evict_kib, 0)) * 1024);
  double cpu = 0;
  const auto end =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(duration);
  uint64_t calls = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (size_t i = 0; i < evict.size(); i += 64) ++evict[i];
    const double start = ThreadCpuMicros();
    // On an arena, as the server's messages are (server/arena_allocator.h).
    using google::protobuf::Arena;
    Arena arena;
    absl::Status status;
    if (batch > 0) {
      auto* request = Arena::CreateMessage<v1::RecommendBatchRequest>(&arena);
      for (int i = 0; i < batch; ++i) {
        source.Fill(calls++, request->add_requests());
      }
      status = recommender.RecommendBatch(
          *request, Arena::CreateMessage<v1::RecommendBatchResponse>(&arena));
    } else {
      auto* request = Arena::CreateMessage<v1::RecommendRequest>(&arena);
      source.Fill(calls++, request);
      status = recommender.Recommend(
          *request, Arena::CreateMessage<v1::RecommendResponse>(&arena));
    }
    if (!status.ok()) spdlog::warn("Recommend: {}", status.ToString());
    cpu += ThreadCpuMicros() - start;
  }
  return cpu / calls;
}

int Main() {
  const int batch = absl::GetFlag(FLAGS_direct_batch);
  if (batch < 0 || batch > kMaxBatchRequests) {
    spdlog::critical("--direct_batch {}: must be 0 to {}", batch,
                     kMaxBatchRequests);
    return 2;
  }
  if (batch > 0 && absl::GetFlag(FLAGS_direct_only) <= absl::ZeroDuration()) {
    spdlog::critical("--direct_batch {}: only with --direct_only", batch);
    return 2;
  }
  if (const std::string out = absl::GetFlag(FLAGS_write_synthetic_model);
      !out.empty()) {
    WriteSyntheticModel(out);
    return 0;
  }
  std::string base = absl::GetFlag(FLAGS_model_base);
  std::unique_ptr<test::ScopedTempDir> temp;
  if (base.empty()) {
    temp = std::make_unique<test::ScopedTempDir>();
    base = temp->File("models");
    WriteSyntheticModel(base);
  }
  const auto versions = ListVersions(base);
  if (!versions.ok() || versions->empty()) {
    spdlog::critical("no model version under {}", base);
    return 1;
  }
  const std::string version_dir = absl::StrCat(base, "/", versions->back());

  ServerOptions options;
  options.port = 0;
  options.metrics_port = -1;
  options.http_port = -1;
  options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  options.model.model_base = base;
  options.model.poll_interval = absl::ZeroDuration();
  options.model.ivf_nprobe = absl::GetFlag(FLAGS_ivf_nprobe);
  // Payload's answer: filled in once the model is loaded, before any call.
  v1::RecommendResponse payload_answer;
  options.extra_services = [&payload_answer](WorkerPool* pool) {
    std::vector<std::unique_ptr<grpc::Service>> services;
    services.push_back(std::make_unique<EmptyServiceImpl>(pool));
    services.push_back(
        std::make_unique<PayloadServiceImpl>(pool, &payload_answer));
    return services;
  };
  auto server = MovierecServer::Start(options);
  if (!server.ok() || (*server)->models().current() == nullptr) {
    spdlog::critical("the server did not start with {}: {}", version_dir,
                     server.ok() ? "no model" : server.status().ToString());
    return 1;
  }
  const std::string target = absl::StrCat("127.0.0.1:", (*server)->port());

  loadgen::Workload workload;
  if (absl::Status s = loadgen::LoadModelIds(version_dir, &workload); !s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  workload.unknown_user_share = absl::GetFlag(FLAGS_unknown_user_share);
  workload.count = absl::GetFlag(FLAGS_count);
  if (absl::Status s = loadgen::ValidateWorkload(workload); !s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 2;
  }

  if (const absl::Duration d = absl::GetFlag(FLAGS_direct_only);
      d > absl::ZeroDuration()) {
    std::printf(
        "Recommender::%s without gRPC: %.1f us per request\n",
        batch > 0 ? "RecommendBatch" : "Recommend",
        DirectRecommendMicros(**server, workload, d,
                              absl::GetFlag(FLAGS_direct_evict_kib), batch));
    return 0;
  }
  const double direct_us =
      DirectRecommendMicros(**server, workload, absl::Milliseconds(500));
  {
    // The first known user's real answer.
    v1::RecommendRequest request;
    request.set_user_id(workload.user_ids.front());
    request.set_count(workload.count);
    const Recommender recommender(
        [&server] { return (*server)->models().current(); });
    if (absl::Status s = recommender.Recommend(request, &payload_answer);
        !s.ok()) {
      spdlog::critical("Recommend for the payload: {}", s.ToString());
      return 1;
    }
  }
  std::fprintf(stderr,
               "Recommender::Recommend called directly (no gRPC, one "
               "thread): %.1f us per call\n",
               direct_us);

  std::vector<std::shared_ptr<v1::Recommender::Stub>> stubs;
  std::vector<std::shared_ptr<EmptyService::Stub>> empty_stubs;
  std::vector<std::shared_ptr<PayloadService::Stub>> payload_stubs;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("movierec.loadgen_channel", i);
    auto channel = grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args);
    stubs.push_back(v1::Recommender::NewStub(channel));
    empty_stubs.push_back(EmptyService::NewStub(channel));
    payload_stubs.push_back(PayloadService::NewStub(channel));
  }
  const absl::Duration timeout = absl::Seconds(10);
  std::vector<Method> methods;
  methods.push_back(
      {"Empty", loadgen::UnaryCaller<EmptyRequest, EmptyResponse>(
                    [empty_stubs](uint64_t seq, grpc::ClientContext* c,
                                  const EmptyRequest* q, EmptyResponse* r,
                                  std::function<void(grpc::Status)> done) {
                      empty_stubs[seq % empty_stubs.size()]->async()->Empty(
                          c, q, r, std::move(done));
                    },
                    [](uint64_t, EmptyRequest*) {}, timeout)});
  auto source = std::make_shared<const loadgen::RequestSource>(workload);
  methods.push_back(
      {"Payload",
       loadgen::UnaryCaller<v1::RecommendRequest, v1::RecommendResponse>(
           [payload_stubs](uint64_t seq, grpc::ClientContext* c,
                           const v1::RecommendRequest* q,
                           v1::RecommendResponse* r,
                           std::function<void(grpc::Status)> done) {
             payload_stubs[seq % payload_stubs.size()]->async()->Payload(
                 c, q, r, std::move(done));
           },
           [source](uint64_t seq, v1::RecommendRequest* q) {
             source->Fill(seq, q);
           },
           timeout)});
  methods.push_back(
      {"Recommend", loadgen::WorkloadCaller(source, stubs, timeout)});

  const std::vector<std::string> chosen = absl::GetFlag(FLAGS_methods);
  methods.erase(std::remove_if(methods.begin(), methods.end(),
                               [&chosen](const Method& m) {
                                 return std::find(chosen.begin(), chosen.end(),
                                                  m.name) == chosen.end();
                               }),
                methods.end());
  if (methods.empty()) {
    spdlog::critical("--methods names none of Empty, Payload, Recommend");
    return 2;
  }

  std::vector<int> sweep;
  for (const std::string& c : absl::GetFlag(FLAGS_concurrency)) {
    sweep.push_back(std::stoi(c));
  }
  const int repetitions = std::max(1, absl::GetFlag(FLAGS_repetitions));
  LoadOptions run;
  run.duration = absl::GetFlag(FLAGS_duration);
  run.warmup = absl::GetFlag(FLAGS_warmup);
  std::fprintf(stderr,
               "serving_bench: %s (%zu users, %zu movies), %d workers, "
               "sweep of %zu concurrencies x %d runs of %s\n",
               version_dir.c_str(), workload.user_ids.size(),
               workload.movie_ids.size(), (*server)->worker_threads(),
               sweep.size(), repetitions,
               absl::FormatDuration(run.duration).c_str());

  // method -> concurrency -> qps of each repetition (and p99, CPU per call).
  std::map<std::string, std::map<int, std::vector<double>>> qps, p99, cpu;
  for (int c : sweep) {
    for (int rep = 0; rep < repetitions; ++rep) {
      for (const Method& m : methods) {
        LoadOptions o = run;
        o.concurrency = c;
        const double cpu_before = CpuMicros();
        const LoadResult r = MustRun(o, m);
        qps[m.name][c].push_back(r.qps);
        p99[m.name][c].push_back(r.latency.p99_ms);
        cpu[m.name][c].push_back((CpuMicros() - cpu_before) /
                                 std::max<int64_t>(1, r.sent + r.warmup_calls));
      }
    }
  }

  nlohmann::json json;
  json["model"] = version_dir;
  json["worker_threads"] = (*server)->worker_threads();
  json["duration_seconds"] = absl::ToDoubleSeconds(run.duration);
  json["repetitions"] = repetitions;
  std::map<std::string, double> best_qps;
  std::map<std::string, std::vector<double>> all_cpu;
  std::printf(
      "\nclosed loop: median QPS (p99 ms) [CPU us per call, server and "
      "client] of %d runs\n%12s",
      repetitions, "concurrency");
  for (const Method& m : methods) std::printf("  %30s", m.name.c_str());
  std::printf("\n");
  for (int c : sweep) {
    std::printf("%12d", c);
    for (const Method& m : methods) {
      const double q = Median(qps[m.name][c]);
      const double p = Median(p99[m.name][c]);
      const double u = Median(cpu[m.name][c]);
      std::printf("  %12.0f (%7.3f) [%5.0f]", q, p, u);
      best_qps[m.name] = std::max(best_qps[m.name], q);
      all_cpu[m.name].insert(all_cpu[m.name].end(), cpu[m.name][c].begin(),
                             cpu[m.name][c].end());
      json["methods"][m.name]["sweep"].push_back(
          {{"concurrency", c}, {"qps", q}, {"p99_ms", p}, {"cpu_us", u}});
    }
    std::printf("\n");
  }

  // Open loop at fractions of each method's max QPS: latency against load
  // (the half-load row is the one the requirement names).
  std::vector<double> fractions;
  for (const std::string& f : absl::GetFlag(FLAGS_open_loop_fractions)) {
    fractions.push_back(std::stod(f));
  }
  std::printf(
      "\nopen loop at fractions of the max QPS: median of %d runs "
      "(ms)\n",
      repetitions);
  std::printf("%-10s %10s %9s %10s %10s %9s %9s %9s %9s\n", "method", "max QPS",
              "fraction", "rate", "QPS", "p50", "p99", "p99.9", "errors");
  for (const Method& m : methods) {
    for (const double fraction : fractions) {
      std::vector<double> achieved, p50s, p99s, p999s;
      int64_t errors = 0;
      LoadOptions o = run;
      o.rate = best_qps[m.name] * fraction;
      for (int rep = 0; rep < repetitions; ++rep) {
        const LoadResult r = MustRun(o, m);
        achieved.push_back(r.qps);
        p50s.push_back(r.latency.p50_ms);
        p99s.push_back(r.latency.p99_ms);
        p999s.push_back(r.latency.p999_ms);
        errors += r.error_count();
      }
      std::printf("%-10s %10.0f %9.2f %10.0f %10.0f %9.3f %9.3f %9.3f %9lld\n",
                  m.name.c_str(), best_qps[m.name], fraction, o.rate,
                  Median(achieved), Median(p50s), Median(p99s), Median(p999s),
                  static_cast<long long>(errors));
      const nlohmann::json point = {
          {"fraction", fraction},    {"rate", o.rate},
          {"qps", Median(achieved)}, {"p50_ms", Median(p50s)},
          {"p99_ms", Median(p99s)},  {"p99.9_ms", Median(p999s)},
          {"errors", errors}};
      json["methods"][m.name]["open_loop"].push_back(point);
      if (fraction == 0.5) json["methods"][m.name]["half_load"] = point;
    }
    json["methods"][m.name]["max_qps"] = best_qps[m.name];
  }
  const double ratio =
      best_qps["Empty"] > 0 ? best_qps["Recommend"] / best_qps["Empty"] : 0;
  std::printf(
      "\nRecommend max QPS / empty RPC max QPS = %.2f "
      "(required >= 0.50, aim >= 0.80)\n",
      ratio);
  json["recommend_over_empty"] = ratio;
  json["direct_recommend_us"] = direct_us;
  std::printf("Recommender::Recommend without gRPC: %.1f us per call\n",
              direct_us);
  if (best_qps["Empty"] > 0 && best_qps["Payload"] > 0) {
    const double payload_ratio = best_qps["Payload"] / best_qps["Empty"];
    std::printf(
        "Payload max QPS / empty RPC max QPS = %.2f (Recommend's messages "
        "without its work)\n",
        payload_ratio);
    json["payload_over_empty"] = payload_ratio;
  }
  const double cpu_empty = Median(all_cpu["Empty"]);
  const double cpu_payload = Median(all_cpu["Payload"]);
  const double cpu_recommend = Median(all_cpu["Recommend"]);
  std::printf(
      "CPU per call (median over the sweep): Empty %.0f us, Payload %.0f us, "
      "Recommend %.0f us; Empty / Recommend = %.2f\n",
      cpu_empty, cpu_payload, cpu_recommend, cpu_empty / cpu_recommend);
  json["cpu_us_per_call"] = {{"Empty", cpu_empty},
                             {"Payload", cpu_payload},
                             {"Recommend", cpu_recommend}};

  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (!json_path.empty()) {
    std::ofstream(json_path) << json.dump(2) << "\n";
  }
  (*server)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace movierec::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As movierec-server does (server_main.cc).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return movierec::bench::Main();
}
