// Tests of index/index_options.h: parsing, validation (errors name the field
// and value), the automatic kind and cell count.
#include "index/index_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::testing::HasSubstr;

TEST(IndexOptionsTest, ParsesEveryKindAndModeByName) {
  for (const IndexKind kind : {IndexKind::kAuto, IndexKind::kFlat,
                               IndexKind::kHnsw, IndexKind::kIvf}) {
    absl::StatusOr<IndexKind> parsed = ParseIndexKind(IndexKindName(kind));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, kind);
  }
  for (const ExclusionMode mode :
       {ExclusionMode::kAuto, ExclusionMode::kSelector,
        ExclusionMode::kOverFetch}) {
    absl::StatusOr<ExclusionMode> parsed =
        ParseExclusionMode(ExclusionModeName(mode));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, mode);
  }
}

TEST(IndexOptionsTest, RefusesUnknownNamesQuotingThem) {
  EXPECT_TRUE(IsError(ParseIndexKind("HNSW").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"\"HNSW\"", "auto, flat, hnsw or ivf"}));
  EXPECT_TRUE(IsError(ParseIndexKind("").status(),
                      absl::StatusCode::kInvalidArgument, {"\"\""}));
  EXPECT_TRUE(IsError(ParseExclusionMode("bitmap").status(),
                      absl::StatusCode::kInvalidArgument, {"\"bitmap\""}));
}

TEST(IndexOptionsTest, DefaultsValidate) {
  EXPECT_TRUE(ValidateIndexOptions(IndexOptions{}).ok());
}

TEST(IndexOptionsTest, ValidationNamesTheFieldAndValue) {
  IndexOptions options;
  options.hnsw_m = 1;
  EXPECT_TRUE(IsError(ValidateIndexOptions(options),
                      absl::StatusCode::kInvalidArgument,
                      {"hnsw_m is 1", ">= 2"}));
  options = {};
  options.hnsw_ef_construction = 0;
  EXPECT_TRUE(IsError(ValidateIndexOptions(options),
                      absl::StatusCode::kInvalidArgument,
                      {"hnsw_ef_construction is 0"}));
  options = {};
  options.hnsw_ef_search = -4;
  EXPECT_TRUE(IsError(ValidateIndexOptions(options),
                      absl::StatusCode::kInvalidArgument,
                      {"hnsw_ef_search is -4"}));
  options = {};
  options.ivf_nlist = -1;
  EXPECT_TRUE(IsError(ValidateIndexOptions(options),
                      absl::StatusCode::kInvalidArgument, {"ivf_nlist is -1"}));
  options = {};
  options.ivf_nprobe = 0;
  EXPECT_TRUE(IsError(ValidateIndexOptions(options),
                      absl::StatusCode::kInvalidArgument, {"ivf_nprobe is 0"}));
}

TEST(IndexOptionsTest, AutoIsFlatUpToTheThresholdThenIvf) {
  const IndexOptions automatic;
  EXPECT_EQ(ResolveIndexKind(automatic, 0), IndexKind::kFlat);
  EXPECT_EQ(ResolveIndexKind(automatic, kAutoFlatMaxVectors), IndexKind::kFlat);
  EXPECT_EQ(ResolveIndexKind(automatic, kAutoFlatMaxVectors + 1),
            IndexKind::kIvf);
  IndexOptions ivf;
  ivf.kind = IndexKind::kIvf;
  EXPECT_EQ(ResolveIndexKind(ivf, 10), IndexKind::kIvf);
}

TEST(IndexOptionsTest, AutomaticCellCountIsTwiceTheSquareRoot) {
  IndexOptions options;
  EXPECT_EQ(ResolveIvfNlist(options, 1000000), 2000);
  EXPECT_EQ(ResolveIvfNlist(options, 10000), 200);
  EXPECT_EQ(ResolveIvfNlist(options, 0), 1);
  options.ivf_nlist = 77;
  EXPECT_EQ(ResolveIvfNlist(options, 1000000), 77);
}

TEST(IndexOptionsTest, DescriptionsNameTheParametersOfTheKind) {
  IndexOptions options;
  options.hnsw_m = 12;
  options.ivf_nprobe = 9;
  EXPECT_THAT(DescribeIndexOptions(IndexKind::kHnsw, options),
              HasSubstr("hnsw(M=12"));
  EXPECT_THAT(DescribeIndexOptions(IndexKind::kIvf, options),
              HasSubstr("nlist=auto, nprobe=9"));
  EXPECT_EQ(DescribeIndexOptions(IndexKind::kFlat, options),
            "flat(exclusion=auto)");
}

}  // namespace
}  // namespace movierec
