// Tests of server/memory_limit.h: byte sizes as operators write them (and
// the errors for those that are not), the cgroup limit read as a container
// sets it, and how the limit is shared out.
#include "server/memory_limit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;

TEST(ParseByteSizeTest, AcceptsPlainAndSuffixedSizes) {
  EXPECT_EQ(*ParseByteSize("1073741824"), int64_t{1} << 30);
  EXPECT_EQ(*ParseByteSize("1Gi"), int64_t{1} << 30);
  EXPECT_EQ(*ParseByteSize("512Mi"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("512MiB"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("300M"), int64_t{300} * 1000 * 1000);
  EXPECT_EQ(*ParseByteSize("64Ki"), int64_t{64} << 10);
  EXPECT_EQ(*ParseByteSize(" 2G "), int64_t{2} * 1000 * 1000 * 1000);
  EXPECT_EQ(*ParseByteSize("1Ti"), int64_t{1} << 40);
}

TEST(ParseByteSizeTest, RefusesWhatIsNotASizeNamingIt) {
  for (const char* bad : {"", "Gi", "-1Gi", "1.5Gi", "1Gb", "1 Gi x", "1X",
                          "99999999999999999999", "9999999999Ti"}) {
    EXPECT_TRUE(IsError(ParseByteSize(bad).status(),
                        absl::StatusCode::kInvalidArgument,
                        {"bad byte size", bad}))
        << bad;
  }
}

TEST(ByteSizeFlagTest, EmptyMeansDetectAndErrorsAreReported) {
  ByteSize size{5};
  std::string error;
  EXPECT_TRUE(AbslParseFlag("", &size, &error));
  EXPECT_EQ(size.bytes, 0);
  EXPECT_TRUE(AbslParseFlag("256Mi", &size, &error));
  EXPECT_EQ(size.bytes, int64_t{256} << 20);
  EXPECT_FALSE(AbslParseFlag("lots", &size, &error));
  EXPECT_NE(error.find("lots"), std::string::npos) << error;
}

TEST(ByteSizeFlagTest, UnparsesInTheLargestExactBinaryUnit) {
  const std::pair<int64_t, const char*> cases[] = {
      {0, ""},
      {int64_t{64} << 20, "64Mi"},
      {int64_t{256} << 20, "256Mi"},
      {int64_t{3} << 30, "3Gi"},
      {int64_t{1536} << 20, "1536Mi"},
      {int64_t{2} << 40, "2Ti"},
      {4096, "4Ki"},
      {300 * 1000 * 1000, "300000000"},
      {1, "1"}};
  for (const auto& [bytes, text] : cases) {
    EXPECT_EQ(AbslUnparseFlag(ByteSize{bytes}), text) << bytes;
    // What --help shows parses back to the same size.
    ByteSize parsed{-1};
    std::string error;
    EXPECT_TRUE(
        AbslParseFlag(AbslUnparseFlag(ByteSize{bytes}), &parsed, &error))
        << error;
    EXPECT_EQ(parsed.bytes, bytes);
  }
}

TEST(DetectMemoryLimitTest, ReadsTheCgroupV2Limit) {
  ScopedTempDir dir;
  WriteFile(dir.File("memory.max"), "1073741824\n");
  EXPECT_EQ(DetectMemoryLimit(dir.path()), int64_t{1} << 30);
}

TEST(DetectMemoryLimitTest, ReadsTheCgroupV1Limit) {
  ScopedTempDir dir;
  std::filesystem::create_directories(dir.File("memory"));
  WriteFile(dir.File("memory/memory.limit_in_bytes"), "536870912\n");
  EXPECT_EQ(DetectMemoryLimit(dir.path()), int64_t{512} << 20);
}

TEST(DetectMemoryLimitTest, NoLimitIsPhysicalMemory) {
  ScopedTempDir none;
  const int64_t physical = DetectMemoryLimit(none.path());
  EXPECT_GT(physical, int64_t{64} << 20);
  ScopedTempDir max;
  WriteFile(max.File("memory.max"), "max\n");
  EXPECT_EQ(DetectMemoryLimit(max.path()), physical);
  // cgroup v1's "unlimited" is a huge number: capped at physical memory.
  ScopedTempDir v1;
  std::filesystem::create_directories(v1.File("memory"));
  WriteFile(v1.File("memory/memory.limit_in_bytes"), "9223372036854771712\n");
  EXPECT_EQ(DetectMemoryLimit(v1.path()), physical);
}

TEST(BudgetForTest, HalfForGrpcAndStreamsThatFitInIt) {
  const MemoryBudget one_gib = BudgetFor(int64_t{1} << 30, 1 << 20);
  EXPECT_EQ(one_gib.grpc_quota_bytes, int64_t{512} << 20);
  EXPECT_EQ(one_gib.max_concurrent_streams, 512);
  // Clamped to 16 .. 1024.
  EXPECT_EQ(BudgetFor(int64_t{64} << 20, 1 << 20).max_concurrent_streams, 32);
  EXPECT_EQ(BudgetFor(int64_t{16} << 20, 1 << 20).max_concurrent_streams, 16);
  EXPECT_EQ(BudgetFor(int64_t{64} << 30, 1 << 20).max_concurrent_streams, 1024);
}

TEST(GrpcQuotaForTest, TheModelsHeldComeFirst) {
  const int64_t gib = int64_t{1} << 30;
  const int64_t mib = int64_t{1} << 20;
  // No model yet: half, as BudgetFor.
  EXPECT_EQ(GrpcQuotaFor(gib, 0), gib / 2);
  // Stable and candidate of 100 MiB each, and room for a third loading
  // beside them: 300 MiB reserved, gRPC gets half of the rest.
  const int64_t reserved = ModelReserveBytes({100 * mib, 100 * mib});
  EXPECT_EQ(reserved, 300 * mib);
  EXPECT_EQ(GrpcQuotaFor(gib, reserved), (gib - 300 * mib) / 2);
  EXPECT_EQ(ModelReserveBytes({100 * mib}), 200 * mib);
  EXPECT_EQ(ModelReserveBytes({}), 0);
  // Models past the limit leave gRPC an eighth of it, never less.
  EXPECT_EQ(GrpcQuotaFor(gib, 2 * gib), gib / 8);
}

}  // namespace
}  // namespace movierec
