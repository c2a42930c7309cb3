// Checks the fuzz seed corpus (tests/fuzz/corpus/<target>/) against the code,
// with the fuzzers' own parameters (fuzz_fixtures.h): every seed named
// valid-* is accepted and every invalid-* refused, so that the seeds keep
// starting the fuzzers on both sides of each check. Seeds stay small.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "data/movielens.h"
#include "model/bundle.h"
#include "server/http_api.h"
#include "server/recommender.h"
#include "server/snapshot.h"
#include "tests/fuzz/fuzz_fixtures.h"
#include "tests/test_util.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;

struct Seed {
  std::string name;
  std::string bytes;
  bool valid;
};

// The seeds of `target`, with at least one valid and one invalid.
std::vector<Seed> Seeds(const std::string& target) {
  const std::string dir =
      std::string(MOVIEREC_SOURCE_DIR) + "/tests/fuzz/corpus/" + target;
  std::vector<Seed> seeds;
  int valid = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool is_valid = absl::StartsWith(name, "valid-");
    EXPECT_TRUE(is_valid || absl::StartsWith(name, "invalid-"))
        << target << "/" << name << " is named neither valid-* nor invalid-*";
    EXPECT_LE(entry.file_size(), 8192u) << target << "/" << name;
    seeds.push_back({name, test::ReadFileOrFail(entry.path()), is_valid});
    valid += is_valid;
  }
  EXPECT_GT(valid, 0) << target << " has no valid seed";
  EXPECT_LT(valid, static_cast<int>(seeds.size()))
      << target << " has no invalid seed";
  return seeds;
}

void ExpectAcceptance(const std::string& target,
                      const std::function<absl::Status(const Seed&)>& run) {
  for (const Seed& seed : Seeds(target)) {
    const absl::Status status = run(seed);
    EXPECT_EQ(status.ok(), seed.valid)
        << target << "/" << seed.name << ": " << status;
  }
}

TEST(FuzzCorpusTest, MovieLensSeeds) {
  const KnownIds known = fuzz::Known();
  ExpectAcceptance("movielens_ratings", [&](const Seed& seed) {
    return ParseRatings(seed.bytes, seed.name, known).status();
  });
  ExpectAcceptance("movielens_item", [](const Seed& seed) {
    return ParseMovies(seed.bytes, seed.name, fuzz::kNumGenres).status();
  });
  ExpectAcceptance("movielens_user", [](const Seed& seed) {
    return ParseUsers(seed.bytes, seed.name).status();
  });
  ExpectAcceptance("movielens_genre", [](const Seed& seed) {
    return ParseGenres(seed.bytes, seed.name).status();
  });
}

TEST(FuzzCorpusTest, LaterMovieLensFormatSeeds) {
  for (const auto& [target, format] :
       {std::pair("movielens_1m", MovieLensFormat::k1M),
        std::pair("movielens_10m", MovieLensFormat::k10M),
        std::pair("movielens_csv", MovieLensFormat::kCsv)}) {
    ExpectAcceptance(target, [format = format](const Seed& seed) {
      const absl::Status status = fuzz::FuzzMovieLensFile(format, seed.bytes);
      // A seed that names no file of the format would test nothing.
      EXPECT_FALSE(absl::IsNotFound(status)) << seed.name << ": " << status;
      return status;
    });
  }
}

TEST(FuzzCorpusTest, GenericFormatSeeds) {
  ExpectAcceptance("generic_format", [](const Seed& seed) {
    const absl::Status status = fuzz::FuzzGenericFile(seed.bytes);
    EXPECT_FALSE(absl::IsNotFound(status)) << seed.name << ": " << status;
    return status;
  });
}

TEST(FuzzCorpusTest, BundleSeeds) {
  ExpectAcceptance("bundle", [](const Seed& seed) {
    // The fuzzer tries both; a seed is valid when either decodes.
    absl::Status whole = DecodeBundle(seed.bytes, seed.name).status();
    if (whole.ok()) return whole;
    absl::Status framed =
        DecodeBundle(fuzz::FrameBundle(seed.bytes), seed.name).status();
    return framed.ok() ? framed : whole;
  });
}

TEST(FuzzCorpusTest, RecommendSeeds) {
  const auto snapshot = std::make_shared<const Snapshot>(
      3, std::make_shared<const Model>(fuzz::ServedModel()));
  const Recommender recommender([snapshot] { return snapshot; });
  ExpectAcceptance("recommend", [&](const Seed& seed) {
    v1::RecommendRequest request;
    if (!request.ParseFromString(seed.bytes)) {
      return absl::DataLossError("not a RecommendRequest");
    }
    v1::RecommendResponse response;
    return recommender.Recommend(request, &response);
  });
}

TEST(FuzzCorpusTest, HttpSeeds) {
  const auto snapshot = std::make_shared<const Snapshot>(
      3, std::make_shared<const Model>(fuzz::ServedModel()));
  const Recommender recommender([snapshot] { return snapshot; });
  ExpectAcceptance("http", [&](const Seed& seed) {
    v1::RecommendRequest request;
    MOVIEREC_RETURN_IF_ERROR(ParseJsonBody(seed.bytes, &request));
    v1::RecommendResponse response;
    return recommender.Recommend(request, &response);
  });
}

}  // namespace
}  // namespace movierec
