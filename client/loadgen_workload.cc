#include "client/loadgen_workload.h"

#include <cmath>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "model/bundle.h"
#include "util/status_macros.h"

namespace movierec::loadgen {
namespace {

namespace v1 = ::movierec::v1;

constexpr int kMaxPerRequest = 100;  // the server's limits (recommender.h)
constexpr int64_t kMaxRangeIds = 10'000'000;

// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

absl::Status OutOfRange(absl::string_view what, int value) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " ", value, " is not in 1-", kMaxPerRequest));
}

}  // namespace

absl::Status ValidateWorkload(const Workload& w) {
  if (w.method != kRecommend && w.method != kSimilarMovies &&
      w.method != kRecommendBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("method \"", w.method,
                     "\" is not Recommend, SimilarMovies or RecommendBatch"));
  }
  if (!(w.unknown_user_share >= 0 && w.unknown_user_share <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown user share ", w.unknown_user_share, " is not in [0, 1]"));
  }
  if (w.count < 1 || w.count > kMaxPerRequest) {
    return OutOfRange("count", w.count);
  }
  if (w.batch_size < 1 || w.batch_size > kMaxPerRequest) {
    return OutOfRange("batch size", w.batch_size);
  }
  if (w.recent_movies < 1 || w.recent_movies > kMaxPerRequest) {
    return OutOfRange("recent movies per unknown user", w.recent_movies);
  }
  const bool similar = w.method == kSimilarMovies;
  if (!similar && w.unknown_user_share < 1 && w.user_ids.empty()) {
    return absl::InvalidArgumentError(
        "no user ids: give a model version (--model_dir) or a range "
        "(--user_ids 1-943), or an unknown user share of 1");
  }
  if ((similar || w.unknown_user_share > 0) && w.movie_ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no movie ids, which ",
        similar ? "SimilarMovies" : "unknown users' recent movies",
        " need: give a model version (--model_dir) or a range (--movie_ids "
        "1-1682)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseIdRange(absl::string_view what,
                                                      absl::string_view range) {
  const std::vector<absl::string_view> parts = absl::StrSplit(range, '-');
  int64_t first = 0;
  int64_t last = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first) ||
      !absl::SimpleAtoi(parts[1], &last)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " \"", range, "\" is not a range FIRST-LAST, e.g. 1-943"));
  }
  if (last < first || last - first >= kMaxRangeIds) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " \"", range, "\" is empty or holds more than 10 million ids"));
  }
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(last - first + 1));
  for (int64_t id = first; id <= last; ++id) ids.push_back(absl::StrCat(id));
  return ids;
}

absl::Status ValidateConnection(int channels, absl::Duration timeout) {
  if (channels < 1 || channels > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("channels ", channels, " is not in 1-64"));
  }
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout ", absl::FormatDuration(timeout),
                     " is not a positive finite time (every call needs a "
                     "deadline, or a dead server hangs the run)"));
  }
  return absl::OkStatus();
}

absl::Status LoadModelIds(const std::string& version_dir, Workload* workload) {
  MOVIEREC_ASSIGN_OR_RETURN(const MovieLens catalog,
                            ReadModelCatalog(version_dir));
  workload->user_ids.clear();
  workload->movie_ids.clear();
  for (const User& user : catalog.users) {
    workload->user_ids.push_back(ExternalId(user));
  }
  for (const Movie& movie : catalog.movies) {
    workload->movie_ids.push_back(ExternalId(movie));
  }
  return absl::OkStatus();
}

RequestSource::RequestSource(Workload workload)
    : workload_(std::move(workload)) {}

uint64_t RequestSource::Draw(uint64_t seq, uint64_t stream) const {
  return Mix(Mix(Mix(workload_.seed) ^ seq) ^ stream);
}

void RequestSource::FillOne(uint64_t seq, uint64_t stream,
                            v1::RecommendRequest* request) const {
  const Workload& w = workload_;
  request->set_count(w.count);
  // A uniform double in [0, 1) from the top 53 bits.
  const double u = (Draw(seq, stream) >> 11) * 0x1.0p-53;
  if (u < w.unknown_user_share) {
    request->set_user_id(absl::StrCat("loadgen-unknown-", seq, "-", stream));
    for (int i = 0; i < w.recent_movies; ++i) {
      request->add_recent_movie_ids(
          w.movie_ids[Draw(seq, stream + 1 + i) % w.movie_ids.size()]);
    }
  } else {
    request->set_user_id(w.user_ids[Draw(seq, stream + 1) % w.user_ids.size()]);
  }
}

void RequestSource::Fill(uint64_t seq, v1::RecommendRequest* request) const {
  FillOne(seq, 0, request);
}

void RequestSource::Fill(uint64_t seq,
                         v1::SimilarMoviesRequest* request) const {
  request->set_movie_id(
      workload_.movie_ids[Draw(seq, 0) % workload_.movie_ids.size()]);
  request->set_count(workload_.count);
}

void RequestSource::Fill(uint64_t seq,
                         v1::RecommendBatchRequest* request) const {
  for (int i = 0; i < workload_.batch_size; ++i) {
    // Streams far apart, so the requests of a batch draw independently.
    FillOne(seq, static_cast<uint64_t>(i + 1) << 32, request->add_requests());
  }
}

IssueCall WorkloadCaller(
    std::shared_ptr<const RequestSource> source,
    std::vector<std::shared_ptr<v1::Recommender::Stub>> stubs,
    absl::Duration timeout) {
  // Shared by the three callers below, read-only.
  auto all = std::make_shared<
      const std::vector<std::shared_ptr<v1::Recommender::Stub>>>(
      std::move(stubs));
  auto pick = [all](uint64_t seq) { return (*all)[seq % all->size()].get(); };
  const std::string& method = source->workload().method;
  if (method == kSimilarMovies) {
    return UnaryCaller<v1::SimilarMoviesRequest, v1::SimilarMoviesResponse>(
        [pick](uint64_t seq, grpc::ClientContext* c,
               const v1::SimilarMoviesRequest* q, v1::SimilarMoviesResponse* r,
               std::function<void(grpc::Status)> done) {
          pick(seq)->async()->SimilarMovies(c, q, r, std::move(done));
        },
        [source](uint64_t seq, v1::SimilarMoviesRequest* q) {
          source->Fill(seq, q);
        },
        timeout);
  }
  if (method == kRecommendBatch) {
    return UnaryCaller<v1::RecommendBatchRequest, v1::RecommendBatchResponse>(
        [pick](uint64_t seq, grpc::ClientContext* c,
               const v1::RecommendBatchRequest* q,
               v1::RecommendBatchResponse* r,
               std::function<void(grpc::Status)> done) {
          pick(seq)->async()->RecommendBatch(c, q, r, std::move(done));
        },
        [source](uint64_t seq, v1::RecommendBatchRequest* q) {
          source->Fill(seq, q);
        },
        timeout);
  }
  return UnaryCaller<v1::RecommendRequest, v1::RecommendResponse>(
      [pick](uint64_t seq, grpc::ClientContext* c,
             const v1::RecommendRequest* q, v1::RecommendResponse* r,
             std::function<void(grpc::Status)> done) {
        pick(seq)->async()->Recommend(c, q, r, std::move(done));
      },
      [source](uint64_t seq, v1::RecommendRequest* q) { source->Fill(seq, q); },
      timeout);
}

}  // namespace movierec::loadgen
