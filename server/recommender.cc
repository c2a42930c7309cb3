#include "server/recommender.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "server/request.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

namespace v1 = ::movierec::v1;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void AddMovie(const Snapshot& snapshot, int row, float score,
              float retrieval_score,
              google::protobuf::RepeatedPtrField<v1::ScoredMovie>* out) {
  const MovieLens& catalog = snapshot.model().catalog;
  const Movie& movie = catalog.movies[row];
  v1::ScoredMovie* scored = out->Add();
  scored->set_movie_id(snapshot.MovieId(row));
  scored->set_title(movie.title);
  scored->set_score(score);
  scored->set_retrieval_score(retrieval_score);
  for (const int32_t g : movie.genres) {
    scored->add_genres(catalog.genre_names[g]);
  }
  scored->set_release_year(movie.release_year);
}

void AddMovies(const Snapshot& snapshot, absl::Span<const ScoredMovie> movies,
               v1::RecommendResponse* response) {
  response->mutable_movies()->Reserve(static_cast<int>(movies.size()));
  for (const ScoredMovie& m : movies) {
    AddMovie(snapshot, m.movie, m.score, m.retrieval_score,
             response->mutable_movies());
  }
}

// One resolved Recommend request on its way through the stages.
struct Pending {
  ResolvedRecommend request;
  v1::RecommendResponse* response = nullptr;
  RecommendTrace* trace = nullptr;
  bool answered = false;  // answered by Prepare: fallback or cached
  bool plain = false;     // a known user, no recent movies, no filter
  UserContext context;
  std::vector<int32_t> excluded;  // what retrieval skips
  CandidateSet candidates;
};

// The first stage: a plain request whose list the result cache holds is
// answered with that list, and one with neither a known user nor recent
// movies with the popular list; the others get their context and what
// retrieval must skip.
void Prepare(const Snapshot& snapshot, Pending* p) {
  const Scorer& scorer = snapshot.scorer();
  ResolvedRecommend& request = p->request;
  p->response->set_model_version(snapshot.version_string());
  p->plain =
      request.user >= 0 && request.recent.empty() && request.filter.empty();
  if (p->plain) {
    const absl::Span<const ScoredMovie> cached =
        snapshot.result_cache().Find(request.user, request.count);
    if (!cached.empty()) {
      p->trace->cached = true;
      p->response->set_personalization(v1::PERSONALIZATION_KNOWN_USER);
      AddMovies(snapshot, cached, p->response);
      p->answered = true;
      return;
    }
  }
  if (request.user < 0 && request.recent.empty()) {
    p->trace->fallback = true;
    p->response->set_fallback(true);
    p->response->set_personalization(v1::PERSONALIZATION_POPULAR);
    AddMovies(
        snapshot,
        scorer.Popular(request.count, scorer.Excluded({}, request.filter)),
        p->response);
    p->answered = true;
    return;
  }
  if (request.user >= 0) {
    // A known user's recent movies are only left out of the list.
    p->context = scorer.ForUser(request.user);
    request.filter.exclude.insert(request.filter.exclude.end(),
                                  request.recent.begin(), request.recent.end());
    p->response->set_personalization(v1::PERSONALIZATION_KNOWN_USER);
  } else {
    p->context = scorer.ForVisitor(request.recent);
    p->response->set_personalization(v1::PERSONALIZATION_RECENT_MOVIES);
  }
  p->excluded = scorer.Excluded(p->context.history, request.filter);
}

// The last stage: the candidates ranked, the best into the response (and
// the result cache, for a plain request).
void Finish(const Snapshot& snapshot, Pending* p) {
  const std::vector<ScoredMovie> ranked =
      snapshot.scorer().Rank(p->context, p->candidates, p->request.count);
  if (p->plain) {
    snapshot.result_cache().Keep(p->request.user, p->request.count, ranked);
  }
  AddMovies(snapshot, ranked, p->response);
}

// Answers one resolved Recommend request from `snapshot`.
absl::Status Answer(const Snapshot& snapshot, ResolvedRecommend request,
                    const CallControl& control, v1::RecommendResponse* response,
                    RecommendTrace* trace) {
  MOVIEREC_RETURN_IF_ERROR(control.Check("retrieval"));
  const Scorer& scorer = snapshot.scorer();
  Pending p;
  p.request = std::move(request);
  p.response = response;
  p.trace = trace;
  auto start = std::chrono::steady_clock::now();
  Prepare(snapshot, &p);
  if (p.answered) return absl::OkStatus();
  p.candidates = scorer.RetrieveCandidates(
      p.context, p.excluded, scorer.NumToRetrieve(p.request.count));
  trace->retrieval_seconds = SecondsSince(start);

  if (scorer.ranks()) MOVIEREC_RETURN_IF_ERROR(control.Check("ranking"));
  start = std::chrono::steady_clock::now();
  Finish(snapshot, &p);
  if (scorer.ranks()) trace->ranking_seconds = SecondsSince(start);
  return absl::OkStatus();
}

// Answers the resolved requests of a batch stage by stage: the contexts of
// all, then retrieval for kRetrievalGroup requests at a time as one search
// (Scorer::RetrieveCandidatesBatch: the exact index scores a group's queries
// together), then each request's ranking. The call's deadline and
// cancellation are checked before each group and each ranking. Each request's
// retrieval time is its share of its group's. *traces receives the traces of
// the requests answered, in order, also when the batch stops early.
absl::Status AnswerBatch(const Snapshot& snapshot,
                         std::vector<ResolvedRecommend> requests,
                         const CallControl& control,
                         v1::RecommendBatchResponse* response,
                         std::vector<RecommendTrace>* traces) {
  constexpr size_t kRetrievalGroup = 16;
  const Scorer& scorer = snapshot.scorer();
  std::vector<RecommendTrace> all(requests.size());
  std::vector<Pending> pending(requests.size());
  std::vector<bool> answered(requests.size(), false);
  const auto report = [&](absl::Status status) {
    for (size_t i = 0; i < all.size(); ++i) {
      if (answered[i]) traces->push_back(std::move(all[i]));
    }
    return status;
  };
  MOVIEREC_RETURN_IF_ERROR(control.Check("retrieval"));
  std::vector<size_t> personal;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    Pending& p = pending[i];
    p.request = std::move(requests[i]);
    p.response = response->add_responses();
    p.trace = &all[i];
    Prepare(snapshot, &p);
    if (p.answered) {
      answered[i] = true;
    } else {
      p.trace->retrieval_seconds = SecondsSince(start);
      personal.push_back(i);
    }
  }
  for (size_t begin = 0; begin < personal.size(); begin += kRetrievalGroup) {
    if (begin > 0) {
      const absl::Status status = control.Check("retrieval");
      if (!status.ok()) return report(status);
    }
    const size_t end = std::min(personal.size(), begin + kRetrievalGroup);
    const auto start = std::chrono::steady_clock::now();
    std::vector<const UserContext*> contexts;
    std::vector<absl::Span<const int32_t>> excluded;
    std::vector<int> counts;
    for (size_t j = begin; j < end; ++j) {
      const Pending& p = pending[personal[j]];
      contexts.push_back(&p.context);
      excluded.emplace_back(p.excluded);
      counts.push_back(scorer.NumToRetrieve(p.request.count));
    }
    std::vector<CandidateSet> candidates =
        scorer.RetrieveCandidatesBatch(contexts, excluded, counts);
    const double share = SecondsSince(start) / static_cast<double>(end - begin);
    for (size_t j = begin; j < end; ++j) {
      Pending& p = pending[personal[j]];
      p.candidates = std::move(candidates[j - begin]);
      p.trace->retrieval_seconds += share;
    }
  }
  for (const size_t i : personal) {
    if (scorer.ranks()) {
      const absl::Status status = control.Check("ranking");
      if (!status.ok()) return report(status);
    }
    const auto start = std::chrono::steady_clock::now();
    Finish(snapshot, &pending[i]);
    if (scorer.ranks()) pending[i].trace->ranking_seconds = SecondsSince(start);
    answered[i] = true;
  }
  return report(absl::OkStatus());
}

// Whether `title` contains `query`, ASCII case ignored (an empty query is in
// every title).
bool TitleContains(absl::string_view title, absl::string_view query) {
  return std::search(
             title.begin(), title.end(), query.begin(), query.end(),
             [](char a, char b) {
               return absl::ascii_tolower(static_cast<unsigned char>(a)) ==
                      absl::ascii_tolower(static_cast<unsigned char>(b));
             }) != title.end();
}

}  // namespace

CallControl::CallControl(absl::Time deadline, std::function<bool()> cancelled)
    : deadline_(deadline), cancelled_(std::move(cancelled)) {}

absl::Status CallControl::Check(absl::string_view next) const {
  // The deadline first: gRPC also cancels a call whose deadline passed.
  if (absl::Now() >= deadline_) {
    return absl::DeadlineExceededError(
        absl::StrCat("the deadline passed before ", next));
  }
  if (cancelled_ && cancelled_()) {
    return absl::CancelledError(
        absl::StrCat("the call was cancelled before ", next));
  }
  return absl::OkStatus();
}

Recommender::Recommender(SnapshotSource snapshot)
    : serving_([snapshot = std::move(snapshot)] {
        return std::make_shared<const ServingSet>(
            ServedVersion{snapshot(), nullptr}, ServedVersion(), 0);
      }) {}

Recommender::Recommender(ServingSource serving)
    : serving_(std::move(serving)) {}

absl::Status Recommender::Recommend(const v1::RecommendRequest& request,
                                    v1::RecommendResponse* response,
                                    RecommendTrace* trace,
                                    const CallControl& control) const {
  RecommendTrace ignored;
  if (trace == nullptr) trace = &ignored;
  MOVIEREC_RETURN_IF_ERROR(CheckRecommendRequest(request));
  const std::shared_ptr<const ServingSet> serving = serving_();
  const ServedVersion& served = serving->RouteCall(request);
  const Snapshot* snapshot = served.snapshot.get();
  if (snapshot == nullptr) {
    return absl::UnavailableError("no model is loaded yet");
  }
  trace->version = served.metrics;
  MOVIEREC_ASSIGN_OR_RETURN(ResolvedRecommend resolved,
                            ResolveRecommendRequest(*snapshot, request));
  return Answer(*snapshot, std::move(resolved), control, response, trace);
}

absl::Status Recommender::SimilarMovies(
    const v1::SimilarMoviesRequest& request,
    v1::SimilarMoviesResponse* response, const CallControl& control,
    std::shared_ptr<const VersionMetrics>* answered_by) const {
  MOVIEREC_RETURN_IF_ERROR(CheckSimilarMoviesRequest(request));
  const std::shared_ptr<const ServingSet> serving = serving_();
  const ServedVersion& served = serving->RouteCall(request);
  const Snapshot* snapshot = served.snapshot.get();
  if (snapshot == nullptr) {
    return absl::UnavailableError("no model is loaded yet");
  }
  if (answered_by != nullptr) *answered_by = served.metrics;
  MOVIEREC_ASSIGN_OR_RETURN(const ResolvedSimilar resolved,
                            ResolveSimilarMoviesRequest(*snapshot, request));
  MOVIEREC_RETURN_IF_ERROR(control.Check("the similarity search"));
  response->set_model_version(snapshot->version_string());
  const std::vector<Candidate> nearest = snapshot->similarity().Nearest(
      resolved.movie, resolved.count,
      snapshot->scorer().Excluded({}, resolved.filter));
  response->mutable_movies()->Reserve(static_cast<int>(nearest.size()));
  for (const Candidate& c : nearest) {
    AddMovie(*snapshot, c.row, c.score, c.score, response->mutable_movies());
  }
  return absl::OkStatus();
}

absl::Status Recommender::SearchMovies(
    const v1::SearchMoviesRequest& request, v1::SearchMoviesResponse* response,
    const CallControl& control,
    std::shared_ptr<const VersionMetrics>* answered_by) const {
  MOVIEREC_RETURN_IF_ERROR(CheckSearchMoviesRequest(request));
  const std::shared_ptr<const ServingSet> serving = serving_();
  const ServedVersion& served = serving->stable().snapshot != nullptr
                                    ? serving->stable()
                                    : serving->candidate();
  const Snapshot* snapshot = served.snapshot.get();
  if (snapshot == nullptr) {
    return absl::UnavailableError("no model is loaded yet");
  }
  if (answered_by != nullptr) *answered_by = served.metrics;
  MOVIEREC_ASSIGN_OR_RETURN(const std::vector<int32_t> ids,
                            ResolveSearchMovieIds(*snapshot, request));
  MOVIEREC_RETURN_IF_ERROR(control.Check("the title search"));
  const Model& model = snapshot->model();
  std::vector<int32_t> matches;
  const auto match = [&](int32_t row) {
    if (TitleContains(model.catalog.movies[row].title, request.query())) {
      matches.push_back(row);
    }
  };
  if (request.movie_ids().empty()) {
    for (int row = 0; row < model.num_movies(); ++row) match(row);
  } else {
    for (const int32_t row : ids) match(row);
  }
  // The most rated first, then the lower row.
  const auto more_rated = [&model](int32_t a, int32_t b) {
    const int32_t pa = model.popularity[a];
    const int32_t pb = model.popularity[b];
    return pa != pb ? pa > pb : a < b;
  };
  const size_t count = std::min<size_t>(
      matches.size(),
      static_cast<size_t>(request.count() == 0 ? kDefaultCount
                                               : request.count()));
  std::partial_sort(matches.begin(), matches.begin() + count, matches.end(),
                    more_rated);
  response->set_model_version(snapshot->version_string());
  response->set_total_matches(static_cast<int32_t>(matches.size()));
  for (const std::string& genre : model.catalog.genre_names) {
    response->add_catalogue_genres(genre);
  }
  response->mutable_movies()->Reserve(static_cast<int>(count));
  for (size_t i = 0; i < count; ++i) {
    const int32_t row = matches[i];
    AddMovie(*snapshot, row, static_cast<float>(model.popularity[row]), 0,
             response->mutable_movies());
  }
  return absl::OkStatus();
}

absl::Status Recommender::RecommendBatch(
    const v1::RecommendBatchRequest& request,
    v1::RecommendBatchResponse* response, std::vector<RecommendTrace>* traces,
    const CallControl& control,
    std::shared_ptr<const VersionMetrics>* answered_by) const {
  MOVIEREC_RETURN_IF_ERROR(CheckRecommendBatchRequest(request));
  const std::shared_ptr<const ServingSet> serving = serving_();
  const ServedVersion& served = serving->RouteCall(request);
  const Snapshot* snapshot = served.snapshot.get();
  if (snapshot == nullptr) {
    return absl::UnavailableError("no model is loaded yet");
  }
  if (answered_by != nullptr) *answered_by = served.metrics;
  std::vector<ResolvedRecommend> resolved;
  resolved.reserve(static_cast<size_t>(request.requests_size()));
  for (int i = 0; i < request.requests_size(); ++i) {
    MOVIEREC_ASSIGN_OR_RETURN(
        ResolvedRecommend one,
        ResolveRecommendRequest(*snapshot, request.requests(i),
                                absl::StrCat("requests[", i, "].")));
    resolved.push_back(std::move(one));
  }
  response->set_model_version(snapshot->version_string());
  std::vector<RecommendTrace> answered;
  const absl::Status status =
      AnswerBatch(*snapshot, std::move(resolved), control, response, &answered);
  if (traces != nullptr) {
    for (RecommendTrace& trace : answered) {
      trace.version = served.metrics;
      traces->push_back(std::move(trace));
    }
  }
  return status;
}

}  // namespace movierec
