#include "train/visitor_evaluation.h"

#include <algorithm>
#include <tuple>

namespace movierec {
namespace {

std::vector<int32_t> Rows(const std::vector<ScoredMovie>& movies) {
  std::vector<int32_t> rows;
  rows.reserve(movies.size());
  for (const ScoredMovie& m : movies) rows.push_back(m.movie);
  return rows;
}

// EASE^R's top 10 for a visitor who watched `movies` (sorted, distinct): the
// user side of EaseModel is the user's row of the binary matrix X.
std::vector<int32_t> EaseTop10(const Scorer& ease,
                               const std::vector<int32_t>& movies) {
  RowVector query = RowVector::Zero(ease.model().movie_vectors.cols());
  for (const int32_t movie : movies) query(movie) = 1;
  std::vector<int32_t> rows;
  for (const Candidate& c : ease.RetrieveForQuery(query.data(), movies, 10)) {
    rows.push_back(c.row);
  }
  return rows;
}

}  // namespace

std::vector<std::vector<int32_t>> RecentMovies(
    int num_users, const std::vector<Interaction>& train, int k) {
  // Per user: (timestamp, movie) of every rating, latest first, then by row.
  std::vector<std::vector<std::pair<int64_t, int32_t>>> rated(
      static_cast<size_t>(num_users));
  for (const Interaction& x : train) {
    rated[x.user].emplace_back(x.timestamp, x.movie);
  }
  std::vector<std::vector<int32_t>> recent(static_cast<size_t>(num_users));
  for (int u = 0; u < num_users; ++u) {
    auto& list = rated[u];
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
      return std::tie(b.first, a.second) < std::tie(a.first, b.second);
    });
    for (const auto& [timestamp, movie] : list) {
      if (static_cast<int>(recent[u].size()) >= k) break;
      // A repeat comes after its latest rating: skip it.
      if (std::find(recent[u].begin(), recent[u].end(), movie) ==
          recent[u].end()) {
        recent[u].push_back(movie);
      }
    }
  }
  return recent;
}

std::vector<VisitorEvaluation> EvaluateVisitors(
    const Scorer& served, const Scorer* ease,
    const std::vector<Interaction>& train,
    const std::vector<Interaction>& test) {
  const int num_users = served.model().num_users();
  std::vector<VisitorEvaluation> result;
  for (const int k : kVisitorKs) {
    const std::vector<std::vector<int32_t>> recent =
        RecentMovies(num_users, train, k);
    VisitorEvaluation evaluation;
    evaluation.k = k;
    const UserMovies tested(num_users, test);
    for (int u = 0; u < num_users; ++u) {
      if (!tested.Of(u).empty() && static_cast<int>(recent[u].size()) < k) {
        ++evaluation.fewer_than_k;
      }
    }
    evaluation.served = EvaluateProtocolB(num_users, test, [&](int user) {
      if (recent[user].empty()) return Rows(served.Popular(10, {}));
      return Rows(served.Recommend(served.ForVisitor(recent[user]), 10));
    });
    if (ease != nullptr) {
      evaluation.ease = EvaluateProtocolB(num_users, test, [&](int user) {
        if (recent[user].empty()) return Rows(ease->Popular(10, {}));
        std::vector<int32_t> movies = recent[user];
        std::sort(movies.begin(), movies.end());
        return EaseTop10(*ease, movies);
      });
    }
    result.push_back(evaluation);
  }
  return result;
}

}  // namespace movierec
