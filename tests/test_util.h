// Shared fixtures of the movierec tests: per-test temporary directories, a
// small synthetic MovieLens catalogue and its files, small models built from
// it, and status assertions. Tests build every fixture themselves; no
// MovieLens data is ever committed.
#ifndef MOVIEREC_TESTS_TEST_UTIL_H_
#define MOVIEREC_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/dataset.h"
#include "data/movielens.h"
#include "index/candidate_index.h"
#include "model/embedding_table.h"
#include "model/mlp.h"
#include "model/model.h"
#include "model/retrieval_model.h"
#include "util/eigen_types.h"

// Assertions on absl::Status and absl::StatusOr<T>; failures print the status.
#define EXPECT_OK(expr) EXPECT_TRUE(::movierec::test::IsOk(expr))
#define ASSERT_OK(expr) ASSERT_TRUE(::movierec::test::IsOk(expr))

#define MOVIEREC_TEST_CONCAT_INNER_(a, b) a##b
#define MOVIEREC_TEST_CONCAT_(a, b) MOVIEREC_TEST_CONCAT_INNER_(a, b)
// Asserts that `expr` (an absl::StatusOr<T>) is OK and moves its value into
// `lhs` (a declaration or an existing variable).
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(           \
      MOVIEREC_TEST_CONCAT_(movierec_test_statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();      \
  lhs = *std::move(statusor)

namespace movierec::test {

::testing::AssertionResult IsOk(const absl::Status& status);
template <typename T>
::testing::AssertionResult IsOk(const absl::StatusOr<T>& status_or) {
  return IsOk(status_or.status());
}

// Success when `status` has `code` and its message contains every one of
// `parts`; otherwise a failure that shows the status.
::testing::AssertionResult IsError(
    const absl::Status& status, absl::StatusCode code,
    std::initializer_list<absl::string_view> parts = {});

// A fresh directory under ::testing::TempDir(), named after the running test
// and unique to this process; removed with its contents on destruction.
class ScopedTempDir {
 public:
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(absl::string_view name) const;

 private:
  std::string path_;
};

// Writes `contents` to `path` byte for byte (a test failure if it cannot).
void WriteFile(const std::string& path, absl::string_view contents);
// The whole file (empty, and a test failure, if it cannot be read).
std::string ReadFileOrFail(const std::string& path);

// A small catalogue in the shape of MovieLens 100K: genres "unknown",
// "Action", "Comedy", "Drama", "Romance"; movies with odd ids 1, 3, 5, ...
// (so that ids and rows differ), varied release years (one unknown) and
// genres, the first titled "Café Society (1995)" in UTF-8; users with ids
// 1, 4, 7, ..., both genders, four occupations. `ratings` stays empty.
MovieLens SmallCatalog(int num_users, int num_movies);

// Ratings in which every user rates `per_user` distinct movies (at most
// num_movies), low movie rows more often, so that popularity is skewed.
// Deterministic for a seed.
std::vector<Rating> SyntheticRatings(const MovieLens& catalog, int per_user,
                                     uint64_t seed);

// SmallCatalog with SyntheticRatings.
MovieLens SmallMovieLens(int num_users = 12, int num_movies = 30,
                         int per_user = 8, uint64_t seed = 1);

// The files of `data` in MovieLens 100K format (titles in ISO-8859-1).
std::string GenreFileText(const MovieLens& data);
std::string ItemFileText(const MovieLens& data);
std::string UserFileText(const MovieLens& data);
std::string RatingFileText(const std::vector<Rating>& ratings);
// Writes u.genre, u.item, u.user and u.data of `data` into `dir`.
void WriteMovieLensFiles(const MovieLens& data, const std::string& dir);

// The ratings of `data` as interactions (a test failure, and none, if they do
// not fit its catalogue).
std::vector<Interaction> InteractionsOf(const MovieLens& data);

// `text` as an RFC 4180 CSV field: quoted, its quotes doubled.
std::string CsvQuoted(absl::string_view text);

// UTF-8 -> ISO-8859-1 for code points below 256 (the inverse of
// Latin1ToUtf8).
std::string Utf8ToLatin1(absl::string_view utf8);

// A small retrieval configuration: dimension 4, weights uniform in
// [-0.5, 0.5). With `all_features`, every user and movie feature and the
// movie bias are on; otherwise ids only.
RetrievalConfig SmallRetrievalConfig(bool all_features);

// A Model over data.catalog whose training ratings (seen, popularity, user
// history) are data.ratings and whose vectors come from randomly initialised
// towers of `config` (kept in model.retrieval). Provenance fields are fixed
// strings, so that encoding it is deterministic.
Model MakeRandomModel(const MovieLens& data, const RetrievalConfig& config,
                      uint64_t seed);

// Gives `model` a randomly initialised ranking stage: a rating model (ids and
// features, biases, dot product and a small MLP; global mean 3.5) and, with
// `with_reranker`, a reranker with a non-trivial standardisation.
void AddRankingStage(Model* model, bool with_reranker, uint64_t seed);

// $MOVIELENS_DIR, or "" when it is unset or empty (real-data tests skip).
std::string MovieLensDirFromEnv();

// Sets (or, with std::nullopt, unsets) an environment variable for the
// lifetime of the object, then restores its previous state.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

// Gradient checks by central finite differences.
//
// The central difference (f(x + eps) - f(x - eps)) / (2 eps) of `loss` with
// respect to the float *x; *x is restored afterwards.
double CentralDifference(const std::function<double()>& loss, float* x,
                         float eps = 1e-3f);

// Success when an analytic gradient agrees with a numeric one within
// abs_tol + rel_tol * max(|analytic|, |numeric|).
::testing::AssertionResult GradientNear(double analytic, double numeric,
                                        double abs_tol = 2e-3,
                                        double rel_tol = 1e-2);

// Compares analytic[i] (the gradient with respect to params[i]) with the
// central difference of `loss` for every i < n, naming `what` and i on
// failure. Returns the number of entries whose gradient is not zero.
int ExpectGradientsMatch(const std::function<double()>& loss, float* params,
                         const float* analytic, Eigen::Index n,
                         const std::string& what, float eps = 1e-3f);

// The smallest |pre-activation| of the hidden (ReLU) layers of `mlp` over the
// rows of `x`: a finite difference of step eps is only valid away from the
// kink at 0, so gradient tests check that this is well above eps first.
float MinHiddenPreactivation(const Mlp& mlp, const RowMatrix& x);

// Sets every bias of `mlp` uniform in [-scale, scale) (biases start at zero,
// which would leave their gradients of a freshly built network untested in
// the interesting region).
void RandomizeBiases(Mlp* mlp, float scale, Rng& rng);

// A matrix of `rows` x `cols` uniform in [-scale, scale).
RowMatrix RandomMatrix(Eigen::Index rows, Eigen::Index cols, float scale,
                       Rng& rng);

// Vectors around 40 centres with a bias-like last column, so that the
// approximate index kinds have structure to exploit. Deterministic for a
// seed.
RowMatrix ClusteredVectors(int rows, int cols, uint64_t seed);

// Every embedding table of a two-tower model (RetrievalModel, RatingModel),
// with its name for messages.
struct NamedTable {
  std::string name;
  EmbeddingTable* table;
};

template <typename TwoTowerModel>
std::vector<NamedTable> AllTables(TwoTowerModel* model) {
  std::vector<NamedTable> tables;
  for (size_t t = 0; t < model->user_tower().tables().size(); ++t) {
    tables.push_back({model->featurizer().user_tables()[t].name,
                      &model->user_tower().tables()[t]});
  }
  for (size_t t = 0; t < model->movie_tower().tables().size(); ++t) {
    tables.push_back({model->featurizer().movie_tables()[t].name,
                      &model->movie_tower().tables()[t]});
  }
  return tables;
}

// The top k rows of `vectors` by inner product with `query`, best first,
// skipping the sorted row indices `exclude`: exact search by brute force.
std::vector<Candidate> BruteForce(const RowMatrix& vectors, const float* query,
                                  int k, const std::vector<int32_t>& exclude);

// The accumulated gradient of every row of `table`.
RowMatrix Gradients(const EmbeddingTable& table);

}  // namespace movierec::test

#endif  // MOVIEREC_TESTS_TEST_UTIL_H_
