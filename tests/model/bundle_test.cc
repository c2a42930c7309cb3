// Tests of model versions on disk (model/bundle.h): the round trip of a
// Model through its bytes and through MODEL_BASE/<version>/, version
// numbering and listing, and the refusal of every kind of damaged or
// inconsistent bundle with a message that names the file.
#include "model/bundle.h"

#include <gmock/gmock.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/ease.h"
#include "model/retrieval_model.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;

using ::google::protobuf::util::MessageDifferencer;
using ::movierec::test::AddRankingStage;
using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;
using ::movierec::test::WriteFile;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

constexpr char kName[] = "base/7/model.bin";
constexpr size_t kHeaderSize = 24;

Model SmallModel() {
  return MakeRandomModel(SmallMovieLens(8, 12, 5),
                         SmallRetrievalConfig(/*all_features=*/true), 1);
}

void ExpectSameTables(const Tower& a, const Tower& b) {
  ASSERT_EQ(a.tables().size(), b.tables().size());
  for (size_t t = 0; t < a.tables().size(); ++t) {
    EXPECT_EQ(a.tables()[t].weights(), b.tables()[t].weights())
        << "table " << t;
  }
}

// Everything a bundle stores of the catalogue is equal (users' zip codes
// are not stored).
void ExpectSameCatalog(const MovieLens& a, const MovieLens& b) {
  EXPECT_EQ(a.genre_names, b.genre_names);
  ASSERT_EQ(a.movies.size(), b.movies.size());
  for (size_t i = 0; i < a.movies.size(); ++i) {
    const Movie& x = a.movies[i];
    const Movie& y = b.movies[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.key, y.key);
    EXPECT_EQ(x.title, y.title);
    EXPECT_EQ(x.release_year, y.release_year);
    EXPECT_EQ(x.genres, y.genres);
  }
  ASSERT_EQ(a.users.size(), b.users.size());
  for (size_t i = 0; i < a.users.size(); ++i) {
    const User& x = a.users[i];
    const User& y = b.users[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.key, y.key);
    EXPECT_EQ(x.age, y.age);
    EXPECT_EQ(x.gender, y.gender);
    EXPECT_EQ(x.occupation, y.occupation);
    EXPECT_EQ(x.attributes, y.attributes);
  }
  EXPECT_EQ(a.user_attribute_names, b.user_attribute_names);
  EXPECT_TRUE(b.ratings.empty());
}

// Everything a bundle stores is equal.
void ExpectSameModel(const Model& a, const Model& b) {
  ExpectSameCatalog(a.catalog, b.catalog);
  EXPECT_EQ(a.user_vectors, b.user_vectors);
  EXPECT_EQ(a.movie_vectors, b.movie_vectors);
  EXPECT_EQ(a.seen.offsets(), b.seen.offsets());
  EXPECT_EQ(a.seen.movies(), b.seen.movies());
  EXPECT_EQ(a.popularity, b.popularity);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.code_version, b.code_version);
  EXPECT_EQ(a.config_json, b.config_json);
  ASSERT_EQ(a.retrieval.has_value(), b.retrieval.has_value());
  if (a.retrieval) {
    const RetrievalConfig& x = a.retrieval->config();
    const RetrievalConfig& y = b.retrieval->config();
    EXPECT_EQ(x.embedding_dim, y.embedding_dim);
    EXPECT_EQ(x.movie_bias, y.movie_bias);
    EXPECT_EQ(x.init_scale, y.init_scale);
    EXPECT_EQ(x.features.user_demographics, y.features.user_demographics);
    EXPECT_EQ(x.features.user_history, y.features.user_history);
    EXPECT_EQ(x.features.movie_genres, y.features.movie_genres);
    EXPECT_EQ(x.features.movie_year, y.features.movie_year);
    EXPECT_EQ(x.features.user_attributes, y.features.user_attributes);
    EXPECT_EQ(a.retrieval->featurizer().user_tables().size(),
              b.retrieval->featurizer().user_tables().size());
    ExpectSameTables(a.retrieval->user_tower(), b.retrieval->user_tower());
    ExpectSameTables(a.retrieval->movie_tower(), b.retrieval->movie_tower());
    // The decoded towers encode the same vectors.
    EXPECT_EQ(b.retrieval->MovieVectors(), a.movie_vectors);
    EXPECT_EQ(b.retrieval->UserVectors(b.seen), a.user_vectors);
  }
  ASSERT_EQ(a.rating.has_value(), b.rating.has_value());
  if (a.rating) {
    EXPECT_TRUE(
        MessageDifferencer::Equals(a.rating->ToProto(), b.rating->ToProto()));
    EXPECT_EQ(a.rating->global_mean(), b.rating->global_mean());
    // Both predict the same ratings.
    const RowMatrix users = b.rating->UserVectors(b.seen);
    const RowMatrix movies = b.rating->MovieVectors();
    EXPECT_EQ(a.rating->UserVectors(a.seen), users);
    std::vector<int32_t> rows(static_cast<size_t>(b.num_movies()));
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<float> x(rows.size()), y(rows.size());
    a.rating->Predict(users.row(0).data(), movies, rows, x.data());
    b.rating->Predict(users.row(0).data(), movies, rows, y.data());
    EXPECT_EQ(x, y);
  }
  ASSERT_EQ(a.item_neighbors.has_value(), b.item_neighbors.has_value());
  if (a.item_neighbors) {
    EXPECT_EQ(a.item_neighbors->offsets(), b.item_neighbors->offsets());
    EXPECT_EQ(a.item_neighbors->rows(), b.item_neighbors->rows());
    EXPECT_EQ(a.item_neighbors->all_similarities(),
              b.item_neighbors->all_similarities());
  }
  ASSERT_EQ(a.sources.has_value(), b.sources.has_value());
  if (a.sources) {
    EXPECT_EQ(a.sources->item_kind, b.sources->item_kind);
    EXPECT_EQ(a.sources->item_budget, b.sources->item_budget);
    EXPECT_EQ(a.sources->popular_budget, b.sources->popular_budget);
    EXPECT_EQ(a.sources->item_table.offsets(), b.sources->item_table.offsets());
    EXPECT_EQ(a.sources->item_table.rows(), b.sources->item_table.rows());
    EXPECT_EQ(a.sources->item_table.all_similarities(),
              b.sources->item_table.all_similarities());
  }
  ASSERT_EQ(a.reranker.has_value(), b.reranker.has_value());
  if (a.reranker) {
    EXPECT_TRUE(MessageDifferencer::Equals(a.reranker->ToProto(),
                                           b.reranker->ToProto()));
    Rng rng(5);
    RowMatrix features(6, kNumRerankFeatures);
    for (Eigen::Index i = 0; i < features.size(); ++i) {
      features.data()[i] = rng.Normal();
    }
    Vector x, y;
    a.reranker->Score(features, &x);
    b.reranker->Score(features, &y);
    EXPECT_EQ(x, y);
  }
}

TEST(BundleTest, RoundTripsThroughBytes) {
  const Model model = SmallModel();
  ASSERT_EQ(model.catalog.movies[0].title, "Caf\xC3\xA9 Society (1995)");
  ASSERT_OK_AND_ASSIGN(const Model decoded,
                       DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
}

TEST(BundleTest, RoundTripsTheRankingStage) {
  Model model = SmallModel();
  AddRankingStage(&model, /*with_reranker=*/false, 3);
  ASSERT_OK_AND_ASSIGN(Model decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
  AddRankingStage(&model, /*with_reranker=*/true, 4);
  ASSERT_OK_AND_ASSIGN(decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
}

TEST(BundleTest, RoundTripsTheItemNeighbourTable) {
  Model model = SmallModel();
  model.item_neighbors =
      ItemNeighbors::Build(model.seen, model.num_movies(), /*k=*/3);
  ASSERT_FALSE(model.item_neighbors->rows().empty());
  ASSERT_OK_AND_ASSIGN(Model decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
}

// A model with both candidate sources: an EASE^R table (signed weights)
// with its budgets, and popularity alone.
Model ModelWithSources() {
  Model model = SmallModel();
  AddRankingStage(&model, /*with_reranker=*/true, 4);
  CandidateSources& sources = model.sources.emplace();
  sources.item_kind = "ease";
  sources.item_table = EaseNeighbors(model.seen, model.num_movies(), 2.0f, 4);
  sources.item_budget = 7;
  sources.popular_budget = 3;
  return model;
}

TEST(BundleTest, RoundTripsTheCandidateSources) {
  Model model = ModelWithSources();
  ASSERT_FALSE(model.sources->item_table.rows().empty());
  ASSERT_OK_AND_ASSIGN(Model decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
  // Popularity alone: no item table.
  model.sources.emplace().popular_budget = 5;
  ASSERT_OK_AND_ASSIGN(decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
  EXPECT_FALSE(decoded.sources->has_item_source());
}

TEST(BundleTest, RoundTripsIdsOnlyAndWithoutTowers) {
  Model model =
      MakeRandomModel(SmallMovieLens(5, 7, 3), SmallRetrievalConfig(false), 2);
  ASSERT_OK_AND_ASSIGN(Model decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
  model.retrieval.reset();
  ASSERT_OK_AND_ASSIGN(decoded, DecodeBundle(EncodeBundle(model), kName));
  ExpectSameModel(model, decoded);
}

// The generic format's string ids (Movie::key, User::key) are stored and
// read back; a model without them stores none (its bytes are as before).
TEST(BundleTest, RoundTripsStringIds) {
  Model model = SmallModel();
  const std::string plain = EncodeBundle(model);
  for (size_t i = 0; i < model.catalog.movies.size(); ++i) {
    model.catalog.movies[i].key = absl::StrCat("sku-", i, "f3a");
  }
  for (size_t i = 0; i < model.catalog.users.size(); ++i) {
    model.catalog.users[i].key = absl::StrCat("u-", i, "-\xC3\xA9");
  }
  const std::string keyed = EncodeBundle(model);
  EXPECT_GT(keyed.size(), plain.size());
  ASSERT_OK_AND_ASSIGN(const Model decoded, DecodeBundle(keyed, kName));
  ExpectSameModel(model, decoded);
  EXPECT_EQ(ExternalId(decoded.catalog.movies[2]), "sku-2f3a");
  EXPECT_EQ(ExternalId(decoded.catalog.users[1]), "u-1-\xC3\xA9");
  ASSERT_OK_AND_ASSIGN(const Model old, DecodeBundle(plain, kName));
  EXPECT_EQ(old.catalog.movies[2].key, "");
  EXPECT_EQ(ExternalId(old.catalog.movies[2]),
            absl::StrCat(old.catalog.movies[2].id));
}

TEST(BundleTest, HeaderIsAsDocumented) {
  const std::string bytes = EncodeBundle(SmallModel());
  ASSERT_GT(bytes.size(), kHeaderSize);
  EXPECT_EQ(bytes.substr(0, 8), "MRBUNDLE");
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4));
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) {
    length = (length << 8) | static_cast<unsigned char>(bytes[16 + i]);
  }
  EXPECT_EQ(length, bytes.size() - kHeaderSize);
}

TEST(BundleTest, FillsAnEmptyCreationTime) {
  Model model = SmallModel();
  model.created_at.clear();
  ASSERT_OK_AND_ASSIGN(const Model decoded,
                       DecodeBundle(EncodeBundle(model), kName));
  EXPECT_THAT(decoded.created_at,
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{"
                           "2}Z"));
}

TEST(BundleTest, CreationTimeFollowsSourceDateEpoch) {
  Model model = SmallModel();
  model.created_at.clear();
  {
    const test::ScopedEnv epoch("SOURCE_DATE_EPOCH", "1700000000");
    ASSERT_OK_AND_ASSIGN(const Model decoded,
                         DecodeBundle(EncodeBundle(model), kName));
    EXPECT_EQ(decoded.created_at, "2023-11-14T22:13:20Z");
  }
  // A value that is not a non-negative integer is ignored: now.
  for (const char* bad : {"soon", "-5", ""}) {
    const test::ScopedEnv epoch("SOURCE_DATE_EPOCH", bad);
    ASSERT_OK_AND_ASSIGN(const Model decoded,
                         DecodeBundle(EncodeBundle(model), kName));
    EXPECT_GE(decoded.created_at, "2024-") << bad;
  }
  // A model that has a creation time keeps it.
  const test::ScopedEnv epoch("SOURCE_DATE_EPOCH", "0");
  model.created_at = "2020-02-02T02:02:02Z";
  ASSERT_OK_AND_ASSIGN(const Model decoded,
                       DecodeBundle(EncodeBundle(model), kName));
  EXPECT_EQ(decoded.created_at, "2020-02-02T02:02:02Z");
}

// A model encodes to the same bytes every time, which reproducible training
// (the same seed and data give the same model.bin) relies on; this needs
// the tensor maps written in a fixed order.
TEST(BundleTest, EncodingIsDeterministic) {
  Model model = SmallModel();
  AddRankingStage(&model, /*with_reranker=*/true, 4);
  const std::string bytes = EncodeBundle(model);
  EXPECT_TRUE(bytes == EncodeBundle(model)) << "the same model twice";
  const Model copy = model;
  EXPECT_TRUE(bytes == EncodeBundle(copy)) << "a copy";
  ASSERT_OK_AND_ASSIGN(const Model decoded, DecodeBundle(bytes, kName));
  EXPECT_TRUE(bytes == EncodeBundle(decoded)) << "the decoded model";
}

TEST(ModelVersionTest, WritesNumberedVersionsAndReadsThemBack) {
  ScopedTempDir dir;
  const std::string base = dir.File("models/nested");  // created on demand
  Model first = SmallModel();
  AddRankingStage(&first, /*with_reranker=*/true, 6);
  Model second =
      MakeRandomModel(SmallMovieLens(8, 12, 5), SmallRetrievalConfig(false), 2);
  ASSERT_OK_AND_ASSIGN(const int64_t v1,
                       WriteModelVersion(base, first, "{\"a\": 1}"));
  ASSERT_OK_AND_ASSIGN(const int64_t v2, WriteModelVersion(base, second, ""));
  EXPECT_EQ(v1, 1);
  EXPECT_EQ(v2, 2);
  ASSERT_OK_AND_ASSIGN(const std::vector<int64_t> versions, ListVersions(base));
  EXPECT_THAT(versions, ElementsAre(1, 2));

  ASSERT_OK_AND_ASSIGN(const Model read1, ReadModelVersion(base + "/1"));
  ExpectSameModel(first, read1);
  ASSERT_OK_AND_ASSIGN(const Model read2, ReadModelVersion(base + "/2"));
  ExpectSameModel(second, read2);

  EXPECT_EQ(test::ReadFileOrFail(base + "/1/" + kMetricsFileName),
            "{\"a\": 1}");
  EXPECT_FALSE(fs::exists(base + "/2/" + kMetricsFileName));
  // Nothing but the versions is left behind (no temporary directories).
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(base)) {
    entries.push_back(entry.path().filename().string());
  }
  std::sort(entries.begin(), entries.end());
  EXPECT_THAT(entries, ElementsAre("1", "2"));
}

TEST(ModelVersionTest, ListVersionsIgnoresOtherEntries) {
  ScopedTempDir dir;
  const std::string base = dir.path();
  for (const char* name :
       {"3", "10", "abc", ".hidden", ".tmp-1-2", "2.5", "-4", "+5", "4x", ""}) {
    if (*name != '\0') fs::create_directory(dir.File(name));
  }
  WriteFile(dir.File("7"), "a file, not a directory");
  ASSERT_OK_AND_ASSIGN(const std::vector<int64_t> versions, ListVersions(base));
  EXPECT_THAT(versions, ElementsAre(3, 10));
  // The next version follows the highest.
  ASSERT_OK_AND_ASSIGN(const int64_t next,
                       WriteModelVersion(base, SmallModel(), ""));
  EXPECT_EQ(next, 11);
}

// Every listed version must be readable at MODEL_BASE/<version>: a directory
// named "007" or " 8" is either not a version or is found under its name.
TEST(ModelVersionTest, ListedVersionsAreTheirDirectoryNames) {
  ScopedTempDir dir;
  ASSERT_OK(WriteModelVersion(dir.path(), SmallModel(), ""));  // "1"
  fs::create_directory(dir.File("007"));
  fs::create_directory(dir.File(" 8"));
  ASSERT_OK_AND_ASSIGN(const std::vector<int64_t> versions,
                       ListVersions(dir.path()));
  for (const int64_t version : versions) {
    EXPECT_TRUE(fs::is_directory(dir.File(absl::StrCat(version))))
        << "ListVersions lists version " << version << " but "
        << dir.File(absl::StrCat(version)) << " does not exist";
  }
}

TEST(ModelVersionTest, MissingBaseOrBundleIsNotFound) {
  ScopedTempDir dir;
  EXPECT_TRUE(IsError(ListVersions(dir.File("nope")).status(),
                      absl::StatusCode::kNotFound, {dir.File("nope")}));
  fs::create_directory(dir.File("1"));
  EXPECT_TRUE(IsError(ReadModelVersion(dir.File("1")).status(),
                      absl::StatusCode::kNotFound, {dir.File("1/model.bin")}));
}

TEST(ModelVersionTest, ReadNamesTheDamagedFile) {
  ScopedTempDir dir;
  ASSERT_OK(WriteModelVersion(dir.path(), SmallModel(), ""));
  const std::string path = dir.File("1/model.bin");
  const std::string bytes = test::ReadFileOrFail(path);
  WriteFile(path, bytes.substr(0, bytes.size() / 2));
  EXPECT_TRUE(IsError(ReadModelVersion(dir.File("1")).status(),
                      absl::StatusCode::kInvalidArgument, {path, "truncated"}));
}

// Rejections of bytes.

TEST(DecodeBundleTest, RejectsTruncation) {
  const std::string bytes = EncodeBundle(SmallModel());
  for (const size_t size :
       {size_t{0}, size_t{5}, size_t{8}, size_t{12}, kHeaderSize - 1,
        kHeaderSize, kHeaderSize + 1, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_TRUE(IsError(DecodeBundle(bytes.substr(0, size), kName).status(),
                        absl::StatusCode::kInvalidArgument,
                        {kName, "truncated"}))
        << "truncated to " << size << " of " << bytes.size() << " bytes";
  }
}

TEST(DecodeBundleTest, RejectsFlippedPayloadByte) {
  const std::string bytes = EncodeBundle(SmallModel());
  for (const size_t pos :
       {kHeaderSize, kHeaderSize + 1, bytes.size() / 2, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[pos] = static_cast<char>(damaged[pos] ^ 0x10);
    EXPECT_TRUE(IsError(DecodeBundle(damaged, kName).status(),
                        absl::StatusCode::kInvalidArgument,
                        {kName, "checksum mismatch"}))
        << "byte " << pos;
  }
}

TEST(DecodeBundleTest, RejectsBadMagic) {
  std::string bytes = EncodeBundle(SmallModel());
  bytes[0] = 'X';
  EXPECT_TRUE(IsError(DecodeBundle(bytes, kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "bad magic"}));
  EXPECT_TRUE(IsError(DecodeBundle(std::string(100, '\0'), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "bad magic"}));
}

TEST(DecodeBundleTest, RejectsOtherFormatVersion) {
  std::string bytes = EncodeBundle(SmallModel());
  bytes[8] = 4;
  EXPECT_TRUE(IsError(DecodeBundle(bytes, kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "format version 4", "reads 1 to 3"}));
  bytes[8] = 0;
  EXPECT_TRUE(IsError(DecodeBundle(bytes, kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "format version 0"}));
  bytes[11] = 1;  // 2^24
  EXPECT_TRUE(IsError(DecodeBundle(bytes, kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "format version 16777216"}));
}

TEST(DecodeBundleTest, RejectsTrailingData) {
  const std::string bytes = EncodeBundle(SmallModel());
  EXPECT_TRUE(IsError(DecodeBundle(bytes + "x", kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "trailing data"}));
  EXPECT_TRUE(IsError(DecodeBundle(bytes + bytes, kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "trailing data"}));
}

// Rejections of well-framed bundles of inconsistent models.

absl::Status DecodeModel(const Model& model) {
  return DecodeBundle(EncodeBundle(model), kName).status();
}

TEST(DecodeBundleTest, RejectsNonFiniteVectors) {
  Model model = SmallModel();
  model.user_vectors(2, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "user_vectors", "non-finite"}));
  model = SmallModel();
  model.movie_vectors(0, 0) = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "movie_vectors", "non-finite"}));
  model = SmallModel();
  model.retrieval->movie_tower().tables()[0].mutable_weights()(1, 1) =
      std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "movie_id", "non-finite"}));
}

TEST(DecodeBundleTest, RejectsInconsistentShapes) {
  Model model = SmallModel();
  // User vectors one column wider than movie vectors.
  model.user_vectors.conservativeResize(Eigen::NoChange,
                                        model.user_vectors.cols() + 1);
  model.user_vectors.rightCols(1).setZero();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "user_vectors", "shape"}));
  model = SmallModel();
  model.user_vectors.conservativeResize(model.user_vectors.rows() - 1,
                                        Eigen::NoChange);
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "user_vectors", "shape"}));
  model = SmallModel();
  model.movie_vectors.conservativeResize(model.movie_vectors.rows() + 1,
                                         Eigen::NoChange);
  model.movie_vectors.bottomRows(1).setZero();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "movie_vectors", "shape"}));
  model = SmallModel();
  model.popularity.pop_back();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "popularity has 11 entries for 12 movies"}));
}

TEST(DecodeBundleTest, RejectsTowersOfAnotherDimension) {
  Model model = SmallModel();
  RetrievalConfig config = SmallRetrievalConfig(true);
  config.embedding_dim = 6;
  model.retrieval.emplace(config, model.catalog);
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "retrieval towers have dimension 7, vectors 5"}));
}

TEST(DecodeBundleTest, RejectsSeenMovieOutOfRange) {
  Model model = SmallModel();
  const int movies = model.num_movies();
  model.seen = UserMovies(model.num_users(), {{0, 1}, {3, movies}});
  EXPECT_TRUE(
      IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
              {kName, absl::StrCat("seen movie row ", movies), "user row 3"}));
  model.seen = UserMovies(model.num_users() - 1, {});
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "seen_offsets"}));
}

TEST(DecodeBundleTest, RejectsEmptyCatalogue) {
  Model model;
  model.movie_vectors.resize(0, 3);
  model.popularity.clear();
  EXPECT_TRUE(IsError(DecodeModel(model), absl::StatusCode::kInvalidArgument,
                      {kName, "catalogue is empty"}));
}

// Rejections of hand-edited messages, re-framed with a valid checksum.

// `payload` framed with a valid checksum as format `version`.
std::string Frame(const std::string& payload,
                  uint32_t version = kOldestBundleFormatVersion) {
  std::string bytes = "MRBUNDLE";
  const auto put = [&bytes](uint64_t value, int n) {
    for (int i = 0; i < n; ++i) {
      bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
  };
  put(version, 4);
  put(crc32_z(0L, reinterpret_cast<const Bytef*>(payload.data()),
              payload.size()),
      4);
  put(payload.size(), 8);
  return bytes + payload;
}

// `proto` framed as the format version it names.
std::string Frame(const model::v1::ModelBundle& proto) {
  std::string payload;
  proto.SerializeToString(&payload);
  return Frame(payload, proto.format_version());
}

model::v1::ModelBundle Proto(const Model& model) {
  const std::string bytes = EncodeBundle(model);
  model::v1::ModelBundle proto;
  EXPECT_TRUE(proto.ParseFromString(bytes.substr(kHeaderSize)));
  return proto;
}

TEST(DecodeBundleTest, FramingOfThisTestIsRight) {
  const Model model = SmallModel();
  ASSERT_OK_AND_ASSIGN(const Model decoded,
                       DecodeBundle(Frame(Proto(model)), kName));
  ExpectSameModel(model, decoded);
}

TEST(DecodeBundleTest, RejectsInvalidMessages) {
  EXPECT_TRUE(IsError(
      DecodeBundle(Frame(std::string("\xff\xff\xff")), kName).status(),
      absl::StatusCode::kInvalidArgument, {kName, "not a valid ModelBundle"}));
  model::v1::ModelBundle proto = Proto(SmallModel());
  proto.set_format_version(3);
  EXPECT_TRUE(
      IsError(DecodeBundle(Frame(proto.SerializeAsString()), kName).status(),
              absl::StatusCode::kInvalidArgument,
              {kName, "header says format version 1, the payload 3"}));
  proto = Proto(SmallModel());
  proto.mutable_movies(3)->set_id(proto.movies(1).id());
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "not positive or not unique"}));
  proto = Proto(SmallModel());
  proto.set_format_version(kKeysBundleFormatVersion);
  proto.mutable_movies(1)->set_key("sku-1");
  proto.mutable_movies(3)->set_key("sku-1");
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "movie id \"sku-1\" is not unique"}));
  // A key that spells another movie's integer id.
  proto = Proto(SmallModel());
  proto.set_format_version(kKeysBundleFormatVersion);
  proto.mutable_movies(1)->set_key(absl::StrCat(proto.movies(3).id()));
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "is not unique"}));
  proto = Proto(SmallModel());
  proto.set_format_version(kKeysBundleFormatVersion);
  // (Invalid UTF-8 in a string field fails the message's parse already.)
  proto.mutable_users(2)->set_key(std::string(257, 'u'));
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "user ",
                       "key is not at most 256 bytes of valid "
                       "UTF-8"}));
  proto = Proto(SmallModel());
  proto.mutable_movies(0)->add_genres(5);
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "has genre 5 of 5"}));
  proto = Proto(SmallModel());
  proto.mutable_users(0)->set_occupation(99);
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "occupation 99"}));
  proto = Proto(SmallModel());
  proto.mutable_retrieval()->set_kind("other");
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "kind \"other\""}));
  proto = Proto(SmallModel());
  proto.mutable_retrieval()->mutable_tensors()->erase("movie_genre");
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "movie_genre is missing"}));
}

// seen_offsets that decrease must be refused before they are used to index
// seen_movies. Here user row 0 claims movies [0, 1000) of only 2.
TEST(DecodeBundleTest, RejectsDecreasingSeenOffsetsBeforeReadingPastTheEnd) {
  model::v1::ModelBundle proto = Proto(SmallModel());
  const int users = proto.users_size();
  proto.clear_seen_offsets();
  proto.clear_seen_movies();
  proto.add_seen_offsets(0);
  proto.add_seen_offsets(1000);
  for (int u = 2; u <= users; ++u) proto.add_seen_offsets(2);
  proto.add_seen_movies(0);
  proto.add_seen_movies(1);
  EXPECT_TRUE(IsError(DecodeBundle(Frame(proto), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "seen_offsets"}));
}

TEST(DecodeBundleTest, RejectsACorruptItemNeighbourTable) {
  Model model = SmallModel();
  model.item_neighbors =
      ItemNeighbors::Build(model.seen, model.num_movies(), /*k=*/3);
  const model::v1::ModelBundle good = Proto(model);
  ASSERT_GT(good.item_neighbors().neighbor_rows_size(), 0);
  model::v1::ModelBundle bad = good;
  bad.mutable_item_neighbors()->set_neighbor_rows(0, model.num_movies());
  EXPECT_TRUE(IsError(DecodeBundle(Frame(bad), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "item neighbours", "movie row"}));
  bad = good;
  bad.mutable_item_neighbors()->set_similarities(0, std::nanf(""));
  EXPECT_TRUE(IsError(DecodeBundle(Frame(bad), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "item neighbours", "similarity"}));
  bad = good;
  bad.mutable_item_neighbors()->mutable_offsets()->RemoveLast();
  EXPECT_TRUE(IsError(DecodeBundle(Frame(bad), kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "item neighbours", "offsets"}));
}

// `bad` is refused as InvalidArgument naming the file and every one of
// `words`.
void ExpectRefused(const model::v1::ModelBundle& bad,
                   std::initializer_list<absl::string_view> words) {
  const absl::Status status = DecodeBundle(Frame(bad), kName).status();
  EXPECT_TRUE(IsError(status, absl::StatusCode::kInvalidArgument, {kName}));
  for (const absl::string_view word : words) {
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(word));
  }
}

TEST(DecodeBundleTest, RejectsCorruptCandidateSources) {
  const model::v1::ModelBundle good = Proto(ModelWithSources());
  ASSERT_GT(good.sources().item_table().neighbor_rows_size(), 0);
  model::v1::ModelBundle bad = good;
  bad.mutable_sources()->set_item_kind("magic");
  ExpectRefused(bad, {"sources.item_kind", "magic"});
  bad = good;
  bad.mutable_sources()->set_item_budget(-1);
  ExpectRefused(bad, {"sources.item_budget", "-1"});
  bad = good;
  bad.mutable_sources()->set_popular_budget(kMaxNumCandidates + 1);
  ExpectRefused(bad, {"sources.popular_budget"});
  bad = good;
  bad.mutable_sources()->clear_item_kind();
  ExpectRefused(bad, {"item_kind"});
  bad = good;
  bad.mutable_sources()->mutable_item_table()->set_similarities(0, 0.0f);
  ExpectRefused(bad, {"sources.item_table", "similarity"});
  bad = good;
  bad.mutable_sources()->mutable_item_table()->set_similarities(0,
                                                                std::nanf(""));
  ExpectRefused(bad, {"sources.item_table", "similarity"});
  bad = good;
  bad.mutable_sources()->mutable_item_table()->set_neighbor_rows(0, -1);
  ExpectRefused(bad, {"sources.item_table", "movie row"});
  // Cosine tables keep their (0, 1] bound: an EASE^R weight is not one.
  bad = good;
  bad.mutable_sources()->set_item_kind("cooccurrence");
  bad.mutable_sources()->mutable_item_table()->set_similarities(0, -0.5f);
  ExpectRefused(bad, {"sources.item_table", "similarity"});
}

// A model.bin written before the format left the API package (package
// movierec.v1, tests/model/testdata/model-package-movierec.v1.bin, a copy of
// the fuzz seed of that time) loads under package movierec.model.v1, and
// encodes back to the very same bytes: the package name is not on the wire.
TEST(BundlePackageTest, AVersionWrittenUnderTheOldPackageLoadsByteForByte) {
  const std::string old_bytes = test::ReadFileOrFail(
      absl::StrCat(MOVIEREC_SOURCE_DIR,
                   "/tests/model/testdata/model-package-movierec.v1.bin"));
  ASSERT_GT(old_bytes.size(), 24u);

  // The payload parses as the new message and serialises back unchanged.
  model::v1::ModelBundle proto;
  ASSERT_TRUE(proto.ParseFromString(old_bytes.substr(24)));
  EXPECT_EQ(proto.GetDescriptor()->full_name(),
            "movierec.model.v1.ModelBundle");
  std::string payload;
  {
    google::protobuf::io::StringOutputStream stream(&payload);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    proto.SerializeToCodedStream(&coded);
  }
  EXPECT_EQ(payload, old_bytes.substr(24));

  // The whole file decodes to a Model, which encodes to the same bytes.
  absl::StatusOr<Model> model = DecodeBundle(old_bytes, "model.bin");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE(model->catalog.movies.empty());
  EXPECT_EQ(EncodeBundle(*model), old_bytes);
  // It has no string ids: the API spells the integer ids.
  for (const Movie& movie : model->catalog.movies) {
    EXPECT_EQ(ExternalId(movie), absl::StrCat(movie.id));
  }

  // A catalogue without string ids is still written as format version 1,
  // which servers older than the keys read.
  EXPECT_EQ(old_bytes[8], 1);

  // And it loads as a version directory, as the server reads it.
  ScopedTempDir base;
  const std::string version_dir = base.path() + "/1";
  fs::create_directories(version_dir);
  WriteFile(version_dir + "/" + kBundleFileName, old_bytes);
  absl::StatusOr<Model> loaded = ReadModelVersion(version_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(EncodeBundle(*loaded), old_bytes);
}

// SmallModel with two categorical user attributes ("plan" with a user
// without a value, "country"), which both stages use as features.
Model ModelWithAttributes() {
  MovieLens data = SmallMovieLens(8, 12, 5);
  data.user_attribute_names = {"plan", "country"};
  const char* plans[] = {"gold", "free", "", "gold"};
  const char* countries[] = {"fr", "de", "C\xC3\xB4te d'Or"};
  for (size_t u = 0; u < data.users.size(); ++u) {
    data.users[u].attributes = {plans[u % 4], countries[u % 3]};
  }
  Model model =
      MakeRandomModel(data, SmallRetrievalConfig(/*all_features=*/true), 1);
  AddRankingStage(&model, /*with_reranker=*/true, 2);
  return model;
}

// The users' attributes survive the bundle, and with them the towers'
// attribute tables: the decoded model encodes every user as the original
// does. They need format version 3, which a catalogue without them does not
// get (so that older servers keep loading those).
TEST(BundleUserAttributesTest, RoundTripAsFormatVersionThree) {
  const Model model = ModelWithAttributes();
  const std::vector<TableSpec>& tables =
      model.retrieval->featurizer().user_tables();
  ASSERT_TRUE(std::any_of(tables.begin(), tables.end(), [](const TableSpec& t) {
    return t.name == "user_attribute/plan" && t.rows == 2;
  }));
  const std::string bytes = EncodeBundle(model);
  EXPECT_EQ(bytes[8], 3);
  ASSERT_OK_AND_ASSIGN(const Model decoded, DecodeBundle(bytes, kName));
  ExpectSameModel(model, decoded);
  EXPECT_EQ(decoded.catalog.users[2].attributes[0], "");
  EXPECT_EQ(EncodeBundle(decoded), bytes);
  // Without attributes: version 1, and a stage's config does not name the
  // option when it is off (the bytes of the versions written before it).
  RetrievalConfig config = SmallRetrievalConfig(/*all_features=*/true);
  config.features.user_attributes = false;
  const Model plain = MakeRandomModel(SmallMovieLens(8, 12, 5), config, 1);
  EXPECT_EQ(EncodeBundle(plain)[8], 1);
  EXPECT_EQ(Proto(plain).retrieval().config_json().find("user_attributes"),
            std::string::npos);
}

TEST(BundleUserAttributesTest, RefusesInconsistentAttributes) {
  const model::v1::ModelBundle good = Proto(ModelWithAttributes());
  ASSERT_EQ(good.user_attributes_size(), 2);
  model::v1::ModelBundle bad = good;
  bad.set_format_version(kKeysBundleFormatVersion);
  ExpectRefused(bad, {kName, "user attributes in a format version 2 bundle",
                      "they need 3"});
  bad = good;
  bad.mutable_users(1)->set_attributes(1, 3);
  const std::string user_2 = absl::StrCat("user ", good.users(1).id());
  ExpectRefused(bad, {kName, user_2, "has value 3 of attribute \"country\"",
                      "which has 3"});
  bad = good;
  bad.mutable_users(1)->set_attributes(0, -2);
  ExpectRefused(bad, {kName, user_2, "has value -2 of attribute \"plan\""});
  bad = good;
  bad.mutable_users(4)->mutable_attributes()->RemoveLast();
  ExpectRefused(bad, {kName, absl::StrCat("user ", good.users(4).id()),
                      "has 1 attribute values, expected 2"});
  bad = good;
  bad.mutable_user_attributes(1)->set_name("plan");
  ExpectRefused(bad, {kName, "user attribute name \"plan\"", "not unique"});
  bad = good;
  bad.mutable_user_attributes(0)->set_name("");
  ExpectRefused(bad, {kName, "user attribute name \"\" is empty"});
  bad = good;
  bad.mutable_user_attributes(0)->set_values(1,
                                             bad.user_attributes(0).values(0));
  ExpectRefused(bad, {kName, "user attribute \"plan\" has value", "twice"});
  bad = good;
  bad.mutable_user_attributes(0)->set_values(0, "");
  ExpectRefused(bad, {kName, "user attribute \"plan\" has value \"\""});
  // The towers' tables follow the catalogue: dropping an attribute leaves
  // the version's tensors without a table to fill.
  bad = good;
  bad.mutable_user_attributes()->RemoveLast();
  for (model::v1::UserInfo& user : *bad.mutable_users()) {
    user.mutable_attributes()->RemoveLast();
  }
  ExpectRefused(bad, {kName, "tensors, expected"});
}

// String ids came with format version 2: a catalogue with keys is written
// as version 2 (so that a server that reads only version 1, and would answer
// with the integer ids, refuses it), one without as version 1; a version-1
// bundle with keys is refused naming the row.
TEST(BundleFormatVersionTest, KeysNeedVersionTwo) {
  Model model = SmallModel();
  EXPECT_EQ(EncodeBundle(model)[8], 1);
  model.catalog.movies[2].key = "sku-9f3a";
  const std::string keyed = EncodeBundle(model);
  EXPECT_EQ(keyed[8], 2);
  ASSERT_OK_AND_ASSIGN(const Model decoded, DecodeBundle(keyed, kName));
  EXPECT_EQ(decoded.catalog.movies[2].key, "sku-9f3a");

  model::v1::ModelBundle proto = Proto(model);
  ASSERT_EQ(proto.format_version(), 2u);
  proto.set_format_version(1);
  EXPECT_TRUE(IsError(
      DecodeBundle(Frame(proto), kName).status(),
      absl::StatusCode::kInvalidArgument,
      {kName, absl::StrCat("movie ", model.catalog.movies[2].id),
       "has a key (string id) in a format version 1 bundle (keys need 2)"}));
}

// The catalogue alone (DecodeBundleCatalog, ReadModelCatalog).

TEST(BundleCatalogTest, ReadsTheCatalogueTheWholeReaderReads) {
  Model model = SmallModel();
  for (size_t i = 0; i < model.catalog.movies.size(); ++i) {
    model.catalog.movies[i].key = absl::StrCat("sku-", i);
  }
  const std::string bytes = EncodeBundle(model);
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       DecodeBundleCatalog(bytes, kName));
  ExpectSameCatalog(model.catalog, catalog);
  EXPECT_EQ(ExternalId(catalog.movies[2]), "sku-2");
  const Model attributed = ModelWithAttributes();
  ASSERT_OK_AND_ASSIGN(const MovieLens attributes,
                       DecodeBundleCatalog(EncodeBundle(attributed), kName));
  ExpectSameCatalog(attributed.catalog, attributes);

  ScopedTempDir dir;
  ASSERT_OK(WriteModelVersion(dir.path(), model, ""));
  ASSERT_OK_AND_ASSIGN(const MovieLens read, ReadModelCatalog(dir.File("1")));
  ExpectSameCatalog(model.catalog, read);
  EXPECT_TRUE(IsError(ReadModelCatalog(dir.File("2")).status(),
                      absl::StatusCode::kNotFound, {dir.File("2/model.bin")}));
}

// The rest of the payload is skipped unparsed: a bundle whose vectors the
// whole reader refuses still gives its catalogue.
TEST(BundleCatalogTest, SkipsTheVectorsAndTables) {
  Model model = SmallModel();
  model.movie_vectors(0, 0) = std::numeric_limits<float>::infinity();
  const std::string bytes = EncodeBundle(model);
  EXPECT_TRUE(IsError(DecodeBundle(bytes, kName).status(),
                      absl::StatusCode::kInvalidArgument,
                      {kName, "movie_vectors", "non-finite"}));
  ASSERT_OK_AND_ASSIGN(const MovieLens catalog,
                       DecodeBundleCatalog(bytes, kName));
  ExpectSameCatalog(model.catalog, catalog);
}

TEST(BundleCatalogTest, RefusesWhatTheWholeReaderRefuses) {
  const std::string bytes = EncodeBundle(SmallModel());
  const auto refused = [](const std::string& damaged,
                          const std::string& reason) {
    return IsError(DecodeBundleCatalog(damaged, kName).status(),
                   absl::StatusCode::kInvalidArgument, {kName, reason});
  };
  EXPECT_TRUE(refused(bytes.substr(0, bytes.size() - 1), "truncated"));
  EXPECT_TRUE(refused(bytes + "x", "trailing data"));
  std::string flipped = bytes;
  flipped[bytes.size() - 1] = static_cast<char>(flipped.back() ^ 0x10);
  EXPECT_TRUE(refused(flipped, "checksum mismatch"));
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_TRUE(refused(magic, "bad magic"));
  // Malformed fields before the catalogue's and after them (where the
  // reader only skips).
  const std::string payload = bytes.substr(kHeaderSize);
  const std::pair<const char*, std::string> malformed[] = {
      {"a bad tag first", "\xff\xff\xff" + payload},
      {"a cut tag last", payload + "\xff\xff\xff"},
      // Field 10 (movie_vectors), said to be 16 bytes long, 3 there.
      {"a cut field last", payload + std::string("\x52\x10") + "abc"},
  };
  for (const auto& [what, bad] : malformed) {
    SCOPED_TRACE(what);
    EXPECT_TRUE(refused(Frame(bad), "not a valid ModelBundle"));
    EXPECT_TRUE(IsError(DecodeBundle(Frame(bad), kName).status(),
                        absl::StatusCode::kInvalidArgument,
                        {kName, "not a valid ModelBundle"}));
  }
  // An unknown field that is a group (field 99 holding 1: 1), which the
  // message parser skips: so does the catalogue reader.
  const std::string group = Frame(payload + "\x9b\x06\x08\x01\x9c\x06");
  ASSERT_OK(DecodeBundle(group, kName).status());
  ASSERT_OK(DecodeBundleCatalog(group, kName).status());
  EXPECT_TRUE(refused(Frame(payload + "\x9b\x06\x08\x01\x9c\x07"),
                      "not a valid ModelBundle"));  // ends another group
  model::v1::ModelBundle proto = Proto(SmallModel());
  proto.set_format_version(3);
  EXPECT_TRUE(refused(Frame(proto.SerializeAsString()),
                      "header says format version 1, the payload 3"));
  proto = Proto(SmallModel());
  proto.mutable_movies(3)->set_id(proto.movies(1).id());
  EXPECT_TRUE(refused(Frame(proto), "not positive or not unique"));
  proto = Proto(SmallModel());
  proto.mutable_users(0)->set_occupation(99);
  EXPECT_TRUE(refused(Frame(proto), "occupation 99"));
  proto = Proto(SmallModel());
  proto.clear_movies();
  EXPECT_TRUE(refused(Frame(proto), "catalogue is empty"));
}

}  // namespace
}  // namespace movierec
