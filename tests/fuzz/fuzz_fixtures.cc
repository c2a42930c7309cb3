#include "tests/fuzz/fuzz_fixtures.h"

#include <zlib.h>

#include <cstdint>

#include "model/bundle.h"
#include "tests/test_util.h"

namespace movierec::fuzz {

KnownIds Known() {
  KnownIds known;
  for (int32_t id = 1; id <= 50; ++id) {
    known.user_row.emplace(id, id - 1);
    known.movie_row.emplace(id, id - 1);
  }
  return known;
}

namespace {

Model RankedModel(int num_users, int num_movies, int per_user) {
  Model model = test::MakeRandomModel(
      test::SmallMovieLens(num_users, num_movies, per_user),
      test::SmallRetrievalConfig(/*all_features=*/true), 11);
  test::AddRankingStage(&model, /*with_reranker=*/true, 12);
  return model;
}

}  // namespace

Model ServedModel() {
  absl::StatusOr<Model> loaded =
      DecodeBundle(EncodeBundle(RankedModel(10, 40, 8)), "served/model.bin");
  MOVIEREC_FUZZ_CHECK(loaded.ok(), loaded.status().ToString());
  return *std::move(loaded);
}

Model SeedModel() { return RankedModel(3, 5, 2); }

std::string FrameBundle(absl::string_view payload) {
  std::string bytes = "MRBUNDLE";
  const auto put = [&bytes](uint64_t value, int n) {
    for (int i = 0; i < n; ++i) {
      bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
  };
  put(kBundleFormatVersion, 4);
  put(crc32_z(0L, reinterpret_cast<const Bytef*>(payload.data()),
              payload.size()),
      4);
  put(payload.size(), 8);
  bytes.append(payload.data(), payload.size());
  return bytes;
}

}  // namespace movierec::fuzz
