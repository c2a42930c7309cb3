// Tests of util/file_util.h's MapFile: a file's bytes mapped as they are,
// and a clear error naming the path for what cannot be mapped.
#include "util/file_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>

#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::WriteFile;

TEST(MapFileTest, MapsTheBytesOfTheFile) {
  ScopedTempDir dir;
  std::string contents(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < contents.size(); ++i) {
    contents[i] = static_cast<char>(i * 7);
  }
  WriteFile(dir.File("a"), contents);
  ASSERT_OK_AND_ASSIGN(const MappedFile mapped, MapFile(dir.File("a")));
  EXPECT_EQ(mapped.bytes(), contents);
}

TEST(MapFileTest, AnEmptyFileMapsToNoBytes) {
  ScopedTempDir dir;
  WriteFile(dir.File("empty"), "");
  ASSERT_OK_AND_ASSIGN(const MappedFile mapped, MapFile(dir.File("empty")));
  EXPECT_TRUE(mapped.bytes().empty());
}

TEST(MapFileTest, AMoveHandsTheMappingOver) {
  ScopedTempDir dir;
  WriteFile(dir.File("a"), "abc");
  WriteFile(dir.File("b"), "defg");
  ASSERT_OK_AND_ASSIGN(MappedFile a, MapFile(dir.File("a")));
  ASSERT_OK_AND_ASSIGN(MappedFile b, MapFile(dir.File("b")));
  MappedFile moved(std::move(a));
  EXPECT_EQ(moved.bytes(), "abc");
  EXPECT_TRUE(a.bytes().empty());  // NOLINT(bugprone-use-after-move)
  moved = std::move(b);            // unmaps "abc"
  EXPECT_EQ(moved.bytes(), "defg");
  EXPECT_TRUE(b.bytes().empty());  // NOLINT(bugprone-use-after-move)
}

TEST(MapFileTest, NamesWhatCannotBeMapped) {
  ScopedTempDir dir;
  EXPECT_TRUE(IsError(MapFile(dir.File("nope")).status(),
                      absl::StatusCode::kNotFound,
                      {"cannot open", dir.File("nope")}));
  std::filesystem::create_directory(dir.File("sub"));
  EXPECT_TRUE(IsError(MapFile(dir.File("sub")).status(),
                      absl::StatusCode::kInternal,
                      {dir.File("sub"), "Is a directory"}));
}

}  // namespace
}  // namespace movierec
