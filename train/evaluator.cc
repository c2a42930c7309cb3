#include "train/evaluator.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace movierec {

std::map<int, double> EvaluateProtocolA(const RowMatrix& user_vectors,
                                        const RowMatrix& movie_vectors,
                                        const std::vector<Interaction>& test) {
  std::map<int, double> accuracy;
  for (const int k : kProtocolAKs) accuracy[k] = 0;
  if (test.empty()) return accuracy;
  // The test's (user, movie) pairs by user, scored a chunk of users at a
  // time: never the whole users x movies matrix (38 GB at ML-25M's size).
  std::vector<std::pair<int32_t, int32_t>> pairs;
  pairs.reserve(test.size());
  for (const Interaction& x : test) pairs.emplace_back(x.user, x.movie);
  std::sort(pairs.begin(), pairs.end());
  constexpr Eigen::Index kChunkUsers = 256;
  std::vector<int64_t> hits(std::size(kProtocolAKs), 0);
  RowMatrix users(kChunkUsers, user_vectors.cols());
  RowMatrix scores;
  std::vector<size_t> starts;  // each chunk user's first pair
  for (size_t begin = 0; begin < pairs.size();) {
    starts.clear();
    size_t end = begin;
    while (end < pairs.size() &&
           (static_cast<Eigen::Index>(starts.size()) < kChunkUsers ||
            pairs[end].first == pairs[starts.back()].first)) {
      if (starts.empty() || pairs[end].first != pairs[starts.back()].first) {
        users.row(static_cast<Eigen::Index>(starts.size())) =
            user_vectors.row(pairs[end].first);
        starts.push_back(end);
      }
      ++end;
    }
    const auto n = static_cast<Eigen::Index>(starts.size());
    scores.noalias() = users.topRows(n) * movie_vectors.transpose();
    for (Eigen::Index u = 0; u < n; ++u) {
      const auto row = scores.row(u).array();
      const size_t last = u + 1 < n ? starts[u + 1] : end;
      for (size_t i = starts[u]; i < last; ++i) {
        const float target = row(pairs[i].second);
        const int64_t rank = (row > target).count();
        for (size_t k = 0; k < std::size(kProtocolAKs); ++k) {
          hits[k] += rank < kProtocolAKs[k];
        }
      }
    }
    begin = end;
  }
  for (size_t i = 0; i < std::size(kProtocolAKs); ++i) {
    accuracy[kProtocolAKs[i]] =
        static_cast<double>(hits[i]) / static_cast<double>(test.size());
  }
  return accuracy;
}

ListMetrics UserListMetrics(absl::Span<const int32_t> recommended,
                            absl::Span<const int32_t> relevant) {
  ListMetrics m;
  m.users = 1;
  const size_t n = std::min<size_t>(recommended.size(), 10);
  double dcg = 0;
  int hits = 0;
  for (size_t pos = 0; pos < n; ++pos) {
    if (std::binary_search(relevant.begin(), relevant.end(),
                           recommended[pos])) {
      ++hits;
      dcg += 1.0 / std::log2(static_cast<double>(pos) + 2.0);
    }
  }
  double idcg = 0;
  const size_t ideal = std::min<size_t>(relevant.size(), 10);
  for (size_t pos = 0; pos < ideal; ++pos) {
    idcg += 1.0 / std::log2(static_cast<double>(pos) + 2.0);
  }
  m.recall_at_10 =
      static_cast<double>(hits) / static_cast<double>(relevant.size());
  m.ndcg_at_10 = idcg > 0 ? dcg / idcg : 0;
  m.hit_rate_at_10 = hits > 0 ? 1 : 0;
  return m;
}

ListMetrics EvaluateProtocolB(
    int num_users, const std::vector<Interaction>& test,
    const std::function<std::vector<int32_t>(int user)>& top10) {
  const UserMovies relevant(num_users, test);
  std::vector<ListMetrics> per_user(static_cast<size_t>(num_users));
#pragma omp parallel for schedule(dynamic, 16)
  for (int u = 0; u < num_users; ++u) {
    if (relevant.Of(u).empty()) continue;
    per_user[u] = UserListMetrics(top10(u), relevant.Of(u));
  }
  // Summed in user order, so the result does not depend on the threads.
  ListMetrics mean;
  for (const ListMetrics& m : per_user) {
    mean.recall_at_10 += m.recall_at_10;
    mean.ndcg_at_10 += m.ndcg_at_10;
    mean.hit_rate_at_10 += m.hit_rate_at_10;
    mean.users += m.users;
  }
  if (mean.users > 0) {
    mean.recall_at_10 /= mean.users;
    mean.ndcg_at_10 /= mean.users;
    mean.hit_rate_at_10 /= mean.users;
  }
  return mean;
}

}  // namespace movierec
