// Tests of version retention (train/retention.h): the pin file and --protect
// parsing, the checks made before training, which versions go, and the
// crash safety of removal: a process killed (SIGKILL) in the middle of
// removing a version leaves no half version visible to ListVersions (what the
// server's poller lists), and the next run finishes the removal.
#include "train/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using ::movierec::test::IsError;
using ::movierec::test::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PinFileTest, OneVersionPerLineWithComments) {
  absl::StatusOr<std::vector<int64_t>> pinned = ParsePinFile(
      "# canary: stable and candidate\n"
      "41\n"
      "\n"
      "  42  # the release of 2026-12-01\n"
      "\t7\r\n"
      "0",
      "PINNED");
  ASSERT_OK(pinned);
  EXPECT_THAT(*pinned, ElementsAre(41, 42, 7, 0));
  ASSERT_OK(pinned = ParsePinFile("", "PINNED"));
  EXPECT_THAT(*pinned, IsEmpty());

  for (const char* bad :
       {"41\nstable=3\n", "41\n-3\n", "41\n07\n", "41\n4 2\n"}) {
    EXPECT_TRUE(IsError(ParsePinFile(bad, "base/PINNED").status(),
                        absl::StatusCode::kInvalidArgument,
                        {"base/PINNED:2: ", "is not a version number"}))
        << bad;
  }
}

TEST(PinFileTest, MissingPinsNothingUnreadableIsAnError) {
  ScopedTempDir dir;
  absl::StatusOr<std::vector<int64_t>> pinned =
      ReadPinnedVersions(dir.File("no-such-base"));
  ASSERT_OK(pinned);
  EXPECT_THAT(*pinned, IsEmpty());
  ASSERT_OK(pinned = ReadPinnedVersions(dir.path()));
  EXPECT_THAT(*pinned, IsEmpty());

  test::WriteFile(dir.File(kPinFileName), "3\n5 # keep\n");
  ASSERT_OK(pinned = ReadPinnedVersions(dir.path()));
  EXPECT_THAT(*pinned, ElementsAre(3, 5));

  test::WriteFile(dir.File(kPinFileName), "3\nfive\n");
  EXPECT_TRUE(IsError(ReadPinnedVersions(dir.path()).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"PINNED:2: \"five\""}));

  // A directory where the file should be cannot be read.
  fs::remove(dir.File(kPinFileName));
  fs::create_directory(dir.File(kPinFileName));
  EXPECT_TRUE(IsError(ReadPinnedVersions(dir.path()).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"the pin file is unreadable", "PINNED"}));
}

TEST(ProtectListTest, CommaSeparatedVersions) {
  absl::StatusOr<std::vector<int64_t>> list =
      ParseVersionList("3,7", "protect");
  ASSERT_OK(list);
  EXPECT_THAT(*list, ElementsAre(3, 7));
  ASSERT_OK(list = ParseVersionList(" 3 , 7 ", "protect"));
  EXPECT_THAT(*list, ElementsAre(3, 7));
  ASSERT_OK(list = ParseVersionList("", "protect"));
  EXPECT_THAT(*list, IsEmpty());
  for (const char* bad : {"3,x", "3,,7", "-1", "07", "3;7"}) {
    EXPECT_TRUE(IsError(ParseVersionList(bad, "protect").status(),
                        absl::StatusCode::kInvalidArgument,
                        {"--protect=", "is not a version number"}))
        << bad;
  }
}

TEST(VersionsToRemoveTest, KeepsTheNewestAndTheHeld) {
  const std::vector<int64_t> versions = {1, 2, 3, 5, 8, 9};
  EXPECT_THAT(VersionsToRemove(versions, 2, {}), ElementsAre(1, 2, 3, 5));
  EXPECT_THAT(VersionsToRemove(versions, 2, {2, 5, 9}), ElementsAre(1, 3));
  EXPECT_THAT(VersionsToRemove(versions, 6, {}), IsEmpty());
  EXPECT_THAT(VersionsToRemove(versions, 10, {}), IsEmpty());
  EXPECT_THAT(VersionsToRemove(versions, 1, {}), ElementsAre(1, 2, 3, 5, 8));
  EXPECT_THAT(VersionsToRemove({}, 1, {}), IsEmpty());
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(base_); }

  // A stand-in version: its two files, enough to tell whole from half.
  void AddVersion(int64_t version) {
    const std::string dir = absl::StrCat(base_, "/", version);
    fs::create_directory(dir);
    test::WriteFile(dir + "/" + kBundleFileName, "bundle");
    test::WriteFile(dir + "/" + kMetricsFileName, "{}");
  }

  std::vector<int64_t> Versions() {
    absl::StatusOr<std::vector<int64_t>> versions = ListVersions(base_);
    EXPECT_OK(versions);
    return versions.ok() ? *versions : std::vector<int64_t>();
  }

  // Every listed version is whole; the names of the other entries.
  std::set<std::string> ExpectWholeVersionsAndReturnTheRest() {
    for (const int64_t version : Versions()) {
      const std::string dir = absl::StrCat(base_, "/", version);
      EXPECT_TRUE(fs::exists(dir + "/" + kBundleFileName)) << dir;
      EXPECT_TRUE(fs::exists(dir + "/" + kMetricsFileName)) << dir;
    }
    std::set<std::string> rest;
    for (const auto& entry : fs::directory_iterator(base_)) {
      const std::string name = entry.path().filename().string();
      int64_t version = 0;
      if (!absl::SimpleAtoi(name, &version)) rest.insert(name);
    }
    return rest;
  }

  ScopedTempDir dir_;
  std::string base_ = dir_.File("models");
};

TEST_F(RetentionTest, ValidatesBeforeTraining) {
  AddVersion(1);
  AddVersion(2);
  RetentionOptions options;
  options.keep_versions = 2;
  options.protect = {1};
  EXPECT_OK(ValidateRetention(base_, options));

  for (const int bad : {0, -3}) {
    RetentionOptions zero = options;
    zero.keep_versions = bad;
    EXPECT_TRUE(IsError(ValidateRetention(base_, zero),
                        absl::StatusCode::kInvalidArgument,
                        {absl::StrCat("--keep_versions=", bad), ">= 1"}));
  }
  RetentionOptions unknown = options;
  unknown.protect = {1, 9};
  EXPECT_TRUE(IsError(ValidateRetention(base_, unknown),
                      absl::StatusCode::kInvalidArgument,
                      {"--protect: version 9 is not in", "versions: 1,2"}));
  EXPECT_TRUE(IsError(ValidateRetention(dir_.File("none"), unknown),
                      absl::StatusCode::kInvalidArgument,
                      {"--protect: version 1", "versions: none"}));

  test::WriteFile(base_ + "/" + kPinFileName, "2\nlatest\n");
  EXPECT_TRUE(IsError(ValidateRetention(base_, options),
                      absl::StatusCode::kInvalidArgument, {"PINNED:2"}));
}

TEST_F(RetentionTest, RemovesAllButTheNewestProtectedAndPinned) {
  for (int64_t v = 1; v <= 7; ++v) AddVersion(v);
  test::WriteFile(base_ + "/" + kPinFileName, "3\n42  # not here: no error\n");
  RetentionOptions options;
  options.keep_versions = 2;
  options.protect = {1};
  absl::StatusOr<RetentionResult> result = ApplyRetention(base_, options);
  ASSERT_OK(result);
  EXPECT_THAT(result->removed, ElementsAre(2, 4, 5));
  EXPECT_THAT(result->kept, ElementsAre(1, 3, 6, 7));
  EXPECT_THAT(result->pinned, ElementsAre(3, 42));
  EXPECT_THAT(Versions(), ElementsAre(1, 3, 6, 7));
  EXPECT_EQ(ExpectWholeVersionsAndReturnTheRest(),
            std::set<std::string>{kPinFileName});

  // Again: nothing more to remove.
  ASSERT_OK(result = ApplyRetention(base_, options));
  EXPECT_THAT(result->removed, IsEmpty());
  RetentionOptions zero;
  zero.keep_versions = 0;
  EXPECT_TRUE(IsError(ApplyRetention(base_, zero).status(),
                      absl::StatusCode::kInvalidArgument, {"keep_versions"}));
}

TEST_F(RetentionTest, KilledMidRemovalLeavesNoHalfVersionAndIsFinishedLater) {
  for (int64_t v = 1; v <= 4; ++v) AddVersion(v);
  // A child removes with keep 1 and is killed after the first file of the
  // first version goes.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    RetentionOptions options;
    options.keep_versions = 1;
    options.after_file_removed = [](const std::string&) { ::raise(SIGKILL); };
    ApplyRetention(base_, options).IgnoreError();
    ::_exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

  // Version 1 is gone from the listing, half removed under its hidden name;
  // the others are whole.
  EXPECT_THAT(Versions(), ElementsAre(2, 3, 4));
  EXPECT_EQ(ExpectWholeVersionsAndReturnTheRest(),
            std::set<std::string>{".deleting-1"});
  size_t left = 0;
  for ([[maybe_unused]] const auto& entry :
       fs::directory_iterator(base_ + "/.deleting-1")) {
    ++left;
  }
  EXPECT_EQ(left, 1u) << "one of the two files should be gone";

  // The next run finishes it first, then applies its own retention.
  RetentionOptions options;
  options.keep_versions = 2;
  absl::StatusOr<RetentionResult> result = ApplyRetention(base_, options);
  ASSERT_OK(result);
  EXPECT_THAT(result->finished, ElementsAre(".deleting-1"));
  EXPECT_THAT(result->removed, ElementsAre(2));
  EXPECT_THAT(Versions(), ElementsAre(3, 4));
  EXPECT_THAT(ExpectWholeVersionsAndReturnTheRest(), IsEmpty());
}

TEST_F(RetentionTest, FinishPendingRemovalsTouchesOnlyItsOwnLeftovers) {
  AddVersion(5);
  fs::create_directories(base_ + "/.deleting-3/sub");
  test::WriteFile(base_ + "/.deleting-3/model.bin", "x");
  test::WriteFile(base_ + "/.deleting-4", "a stray file");
  fs::create_directories(base_ + "/.tmp-123-456");  // a writer's, not ours
  absl::StatusOr<std::vector<std::string>> finished =
      FinishPendingRemovals(base_);
  ASSERT_OK(finished);
  EXPECT_EQ(std::set<std::string>(finished->begin(), finished->end()),
            (std::set<std::string>{".deleting-3", ".deleting-4"}));
  EXPECT_THAT(Versions(), ElementsAre(5));
  EXPECT_EQ(ExpectWholeVersionsAndReturnTheRest(),
            std::set<std::string>{".tmp-123-456"});
  ASSERT_OK(finished = FinishPendingRemovals(dir_.File("no-such-base")));
  EXPECT_THAT(*finished, IsEmpty());
}

}  // namespace
}  // namespace movierec
