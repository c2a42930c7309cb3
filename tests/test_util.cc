#include "tests/test_util.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "data/dataset.h"
#include "util/random.h"

namespace movierec::test {
namespace {

namespace fs = std::filesystem;

// A file-system-safe form of a test name ("Suite/Param.Name/0").
std::string SafeName(absl::string_view name) {
  std::string out;
  for (const char c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '-';
    out.push_back(safe ? c : '_');
  }
  return out;
}

std::string FormatRating(float rating) {
  const auto whole = static_cast<int>(rating);
  if (static_cast<float>(whole) == rating) return absl::StrCat(whole);
  return absl::StrCat(rating);
}

}  // namespace

::testing::AssertionResult IsOk(const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status is " << status;
}

::testing::AssertionResult IsError(
    const absl::Status& status, absl::StatusCode code,
    std::initializer_list<absl::string_view> parts) {
  if (status.code() != code) {
    return ::testing::AssertionFailure()
           << "expected code " << absl::StatusCodeToString(code)
           << ", got status: " << status;
  }
  for (const absl::string_view part : parts) {
    if (!absl::StrContains(status.message(), part)) {
      return ::testing::AssertionFailure()
             << "message of " << status << " does not contain \"" << part
             << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

ScopedTempDir::ScopedTempDir() {
  static std::atomic<int> counter{0};
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test_name =
      info == nullptr
          ? std::string("no_test")
          : absl::StrCat(info->test_suite_name(), ".", info->name());
  std::string base = ::testing::TempDir();
  if (base.empty()) base = "/tmp/";
  if (base.back() != '/') base.push_back('/');
  path_ = absl::StrCat(base, "movierec_", SafeName(test_name), "_", ::getpid(),
                       "_", counter.fetch_add(1));
  std::error_code error;
  fs::remove_all(path_, error);
  fs::create_directories(path_, error);
  if (error) ADD_FAILURE() << "cannot create " << path_ << ": " << error;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code error;
  fs::remove_all(path_, error);
}

std::string ScopedTempDir::File(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::string ReadFileOrFail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

MovieLens SmallCatalog(int num_users, int num_movies) {
  static const char* const kOccupations[] = {"student", "engineer", "artist",
                                             "other"};
  MovieLens data;
  data.genre_names = {"unknown", "Action", "Comedy", "Drama", "Romance"};
  const int num_genres = static_cast<int>(data.genre_names.size());
  for (int i = 0; i < num_movies; ++i) {
    Movie movie;
    movie.id = 2 * i + 1;
    // Years spread over several buckets; every seventh movie has none.
    movie.release_year = i % 7 == 6 ? 0 : 1935 + (i * 9) % 64;
    movie.title =
        i == 0 ? "Caf\xC3\xA9 Society (1995)" : absl::StrCat("Movie ", i);
    if (i % 5 == 4) {
      movie.genres = {0};
    } else {
      movie.genres.push_back(1 + i % (num_genres - 1));
      if (i % 3 == 0) movie.genres.push_back(1 + (i + 1) % (num_genres - 1));
      std::sort(movie.genres.begin(), movie.genres.end());
    }
    data.movies.push_back(std::move(movie));
  }
  for (int i = 0; i < num_users; ++i) {
    User user;
    user.id = 3 * i + 1;
    user.age = 12 + (i * 13) % 60;
    user.gender = i % 2 == 0 ? "M" : "F";
    user.occupation = kOccupations[i % 4];
    user.zip_code = absl::StrCat(10000 + i);
    data.users.push_back(std::move(user));
  }
  return data;
}

std::vector<Rating> SyntheticRatings(const MovieLens& catalog, int per_user,
                                     uint64_t seed) {
  Rng rng(seed);
  const int num_movies = static_cast<int>(catalog.movies.size());
  const int count = std::min(per_user, num_movies);
  std::vector<Rating> ratings;
  for (size_t u = 0; u < catalog.users.size(); ++u) {
    std::vector<char> taken(static_cast<size_t>(num_movies), 0);
    for (int k = 0; k < count; ++k) {
      int movie = 0;
      do {
        // Squaring a uniform number favours the low rows.
        const float r = rng.UniformFloat();
        movie =
            std::min(num_movies - 1,
                     static_cast<int>(r * r * static_cast<float>(num_movies)));
      } while (taken[movie]);
      taken[movie] = 1;
      Rating rating;
      rating.user_id = catalog.users[u].id;
      rating.movie_id = catalog.movies[movie].id;
      rating.rating = static_cast<float>(1 + rng.Uniform(5));
      rating.timestamp = 880000000 + static_cast<int64_t>(u) * 1000 + k;
      ratings.push_back(rating);
    }
  }
  return ratings;
}

MovieLens SmallMovieLens(int num_users, int num_movies, int per_user,
                         uint64_t seed) {
  MovieLens data = SmallCatalog(num_users, num_movies);
  data.ratings = SyntheticRatings(data, per_user, seed);
  return data;
}

std::vector<Interaction> InteractionsOf(const MovieLens& data) {
  absl::StatusOr<std::vector<Interaction>> interactions =
      ToInteractions(data.ratings, KnownIds::Of(data));
  if (!interactions.ok()) {
    ADD_FAILURE() << "the ratings do not fit the catalogue: "
                  << interactions.status();
    return {};
  }
  return *std::move(interactions);
}

std::string CsvQuoted(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

std::string Utf8ToLatin1(absl::string_view utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto byte = static_cast<unsigned char>(utf8[i]);
    if (byte < 0x80 || i + 1 == utf8.size()) {
      out.push_back(utf8[i]);
    } else {
      const auto next = static_cast<unsigned char>(utf8[++i]);
      out.push_back(static_cast<char>(((byte & 0x1F) << 6) | (next & 0x3F)));
    }
  }
  return out;
}

std::string GenreFileText(const MovieLens& data) {
  std::string text;
  for (size_t g = 0; g < data.genre_names.size(); ++g) {
    absl::StrAppend(&text, data.genre_names[g], "|", g, "\n");
  }
  text += "\n";  // u.genre of MovieLens 100K ends with an empty line
  return text;
}

std::string ItemFileText(const MovieLens& data) {
  std::string text;
  for (const Movie& movie : data.movies) {
    const std::string date = movie.release_year > 0
                                 ? absl::StrCat("01-Jan-", movie.release_year)
                                 : "";
    absl::StrAppend(&text, movie.id, "|", Utf8ToLatin1(movie.title), "|", date,
                    "||http://example.com/", movie.id);
    for (size_t g = 0; g < data.genre_names.size(); ++g) {
      const bool on = std::find(movie.genres.begin(), movie.genres.end(),
                                static_cast<int32_t>(g)) != movie.genres.end();
      absl::StrAppend(&text, on ? "|1" : "|0");
    }
    text += "\n";
  }
  return text;
}

std::string UserFileText(const MovieLens& data) {
  std::string text;
  for (const User& user : data.users) {
    absl::StrAppend(&text, user.id, "|", user.age, "|", user.gender, "|",
                    user.occupation, "|", user.zip_code, "\n");
  }
  return text;
}

std::string RatingFileText(const std::vector<Rating>& ratings) {
  std::string text;
  for (const Rating& r : ratings) {
    absl::StrAppend(&text, r.user_id, "\t", r.movie_id, "\t",
                    FormatRating(r.rating), "\t", r.timestamp, "\n");
  }
  return text;
}

void WriteMovieLensFiles(const MovieLens& data, const std::string& dir) {
  WriteFile(absl::StrCat(dir, "/u.genre"), GenreFileText(data));
  WriteFile(absl::StrCat(dir, "/u.item"), ItemFileText(data));
  WriteFile(absl::StrCat(dir, "/u.user"), UserFileText(data));
  WriteFile(absl::StrCat(dir, "/u.data"), RatingFileText(data.ratings));
}

RetrievalConfig SmallRetrievalConfig(bool all_features) {
  RetrievalConfig config;
  config.embedding_dim = 4;
  config.init_scale = 0.5f;
  config.movie_bias = all_features;
  config.features.user_id = true;
  config.features.movie_id = true;
  config.features.user_demographics = all_features;
  config.features.user_history = all_features;
  config.features.movie_genres = all_features;
  config.features.movie_year = all_features;
  config.features.user_attributes = all_features;
  return config;
}

Model MakeRandomModel(const MovieLens& data, const RetrievalConfig& config,
                      uint64_t seed) {
  Model model;
  model.catalog = data;
  model.catalog.ratings.clear();
  absl::StatusOr<std::vector<Interaction>> train =
      ToInteractions(data.ratings, KnownIds::Of(data));
  if (!train.ok()) {
    ADD_FAILURE() << "the ratings do not fit the catalogue: " << train.status();
    return model;
  }
  RetrievalModel retrieval(config, model.catalog);
  Rng rng(seed);
  retrieval.InitRandom(rng);
  model.seen = UserMovies(model.num_users(), *train);
  model.user_vectors = retrieval.UserVectors(model.seen);
  model.movie_vectors = retrieval.MovieVectors();
  model.popularity = Popularity(model.num_movies(), *train);
  model.created_at = "2024-01-02T03:04:05Z";
  model.code_version = "test";
  model.config_json = "{\"preset\":\"test\"}";
  model.retrieval.emplace(std::move(retrieval));
  return model;
}

void AddRankingStage(Model* model, bool with_reranker, uint64_t seed) {
  Rng rng(seed);
  RatingConfig rating;
  rating.features.user_demographics = true;
  rating.features.user_attributes = true;
  rating.features.movie_genres = true;
  rating.embedding_dim = 4;
  rating.biases = true;
  rating.dot = true;
  rating.mlp = true;
  rating.hidden = {6};
  rating.init_scale = 0.3f;
  model->rating.emplace(rating, model->catalog);
  model->rating->InitRandom(rng);
  model->rating->set_global_mean(3.5f);
  model->reranker.reset();
  if (!with_reranker) return;
  RerankerConfig reranker;
  reranker.hidden = {5};
  model->reranker.emplace(reranker);
  model->reranker->InitRandom(rng);
  RowVector mean(kNumRerankFeatures), scale(kNumRerankFeatures);
  for (int i = 0; i < kNumRerankFeatures; ++i) {
    mean(i) = rng.UniformFloat(-1, 1);
    scale(i) = rng.UniformFloat(0.5f, 2);
  }
  model->reranker->SetStandardization(mean, scale);
}

std::string MovieLensDirFromEnv() {
  const char* dir = std::getenv("MOVIELENS_DIR");
  return dir == nullptr ? "" : dir;
}

ScopedEnv::ScopedEnv(std::string name, std::optional<std::string> value)
    : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str()); old != nullptr) {
    previous_ = old;
  }
  if (value) {
    ::setenv(name_.c_str(), value->c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

ScopedEnv::~ScopedEnv() {
  if (previous_) {
    ::setenv(name_.c_str(), previous_->c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

double CentralDifference(const std::function<double()>& loss, float* x,
                         float eps) {
  const float saved = *x;
  *x = saved + eps;
  const double up = loss();
  *x = saved - eps;
  const double down = loss();
  *x = saved;
  return (up - down) / (2.0 * static_cast<double>(eps));
}

::testing::AssertionResult GradientNear(double analytic, double numeric,
                                        double abs_tol, double rel_tol) {
  const double tolerance =
      abs_tol + rel_tol * std::max(std::abs(analytic), std::abs(numeric));
  if (std::abs(analytic - numeric) <= tolerance) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "analytic gradient " << analytic << " vs numeric " << numeric
         << " (tolerance " << tolerance << ")";
}

int ExpectGradientsMatch(const std::function<double()>& loss, float* params,
                         const float* analytic, Eigen::Index n,
                         const std::string& what, float eps) {
  int nonzero = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double numeric = CentralDifference(loss, &params[i], eps);
    EXPECT_TRUE(GradientNear(analytic[i], numeric)) << what << " entry " << i;
    nonzero += analytic[i] != 0;
  }
  return nonzero;
}

float MinHiddenPreactivation(const Mlp& mlp, const RowMatrix& x) {
  float smallest = INFINITY;
  RowMatrix current = x;
  const std::vector<DenseLayer>& layers = mlp.layers();
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    RowMatrix z = current * layers[i].kernel;
    z.rowwise() += layers[i].bias;
    smallest = std::min(smallest, z.cwiseAbs().minCoeff());
    current = z.cwiseMax(0.0f);
  }
  return smallest;
}

void RandomizeBiases(Mlp* mlp, float scale, Rng& rng) {
  for (DenseLayer& layer : mlp->mutable_layers()) {
    for (Eigen::Index i = 0; i < layer.bias.size(); ++i) {
      layer.bias(i) = rng.UniformFloat(-scale, scale);
    }
  }
}

std::vector<Candidate> BruteForce(const RowMatrix& vectors, const float* query,
                                  int k, const std::vector<int32_t>& exclude) {
  const Eigen::Map<const RowVector> q(query, vectors.cols());
  std::vector<Candidate> all;
  for (int r = 0; r < vectors.rows(); ++r) {
    if (std::binary_search(exclude.begin(), exclude.end(), r)) continue;
    all.push_back({r, vectors.row(r).dot(q)});
  }
  std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return a.score > b.score;
  });
  if (static_cast<int>(all.size()) > k) all.resize(std::max(k, 0));
  return all;
}

RowMatrix Gradients(const EmbeddingTable& table) {
  RowMatrix g(table.rows(), table.dim());
  for (int r = 0; r < table.rows(); ++r) {
    g.row(r) = Eigen::Map<const RowVector>(table.gradient(r), table.dim());
  }
  return g;
}

RowMatrix RandomMatrix(Eigen::Index rows, Eigen::Index cols, float scale,
                       Rng& rng) {
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = rng.UniformFloat(-scale, scale);
  }
  return m;
}

RowMatrix ClusteredVectors(int rows, int cols, uint64_t seed) {
  Rng rng(seed);
  RowMatrix centres(40, cols);
  for (Eigen::Index i = 0; i < centres.size(); ++i) {
    centres.data()[i] = rng.Normal();
  }
  RowMatrix m(rows, cols);
  for (int r = 0; r < rows; ++r) {
    const auto c = static_cast<Eigen::Index>(rng.Uniform(40));
    for (int j = 0; j < cols - 1; ++j) {
      m(r, j) = centres(c, j) + 0.5f * rng.Normal();
    }
    m(r, cols - 1) = 0.3f * rng.Normal();
  }
  return m;
}

}  // namespace movierec::test
