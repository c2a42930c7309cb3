// Tests of ModelManager (server/model_manager.h): which version it loads,
// how it refuses a bad one while the serving snapshot stays, retries, the
// pinned version, and the background poller.
#include "server/model_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::ScopedTempDir;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

class ModelManagerTest : public ::testing::Test {
 protected:
  ModelManagerTest()
      : model_(MakeRandomModel(SmallMovieLens(6, 20, 5),
                               SmallRetrievalConfig(true), 2)),
        base_(dir_.File("models")) {}

  void WriteVersion() {
    ASSERT_OK(WriteModelVersion(base_, model_, "").status());
  }

  // Puts `bytes` as MODEL_BASE/<version>/model.bin, renamed into place whole.
  void WriteBundleBytes(int64_t version, const std::string& bytes) {
    const std::string staging = dir_.File(absl::StrCat("staging", version));
    std::filesystem::create_directories(staging);
    test::WriteFile(staging + "/" + kBundleFileName, bytes);
    std::filesystem::create_directories(base_);
    std::filesystem::rename(staging, absl::StrCat(base_, "/", version));
  }

  std::unique_ptr<ModelManager> NewManager(int64_t pinned = 0) {
    ModelManagerOptions options;
    options.model_base = base_;
    options.pinned_version = pinned;
    options.poll_interval = absl::Milliseconds(10);
    ModelManagerHooks hooks;
    hooks.loaded = [this](const LoadEvent& event) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(event);
      event_cv_.notify_all();
    };
    // A load is heard (loaded) before the poll publishes what serves.
    hooks.serving_changed = [this](const ServingSet& serving) {
      std::lock_guard<std::mutex> lock(mutex_);
      served_version_ =
          serving.primary() == nullptr ? 0 : serving.primary()->version();
      event_cv_.notify_all();
    };
    return std::make_unique<ModelManager>(options, std::move(hooks));
  }

  std::vector<LoadEvent> Events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

  ScopedTempDir dir_;
  Model model_;
  std::string base_;
  std::mutex mutex_;
  std::condition_variable event_cv_;
  std::vector<LoadEvent> events_;
  int64_t served_version_ = 0;
};

TEST_F(ModelManagerTest, LoadsTheNewestVersion) {
  WriteVersion();
  WriteVersion();
  auto manager = NewManager();
  EXPECT_EQ(manager->current(), nullptr);
  ASSERT_OK(manager->Poll());
  ASSERT_NE(manager->current(), nullptr);
  EXPECT_EQ(manager->current()->version(), 2);
  const std::vector<LoadEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].version, 2);
  EXPECT_OK(events[0].status);
  EXPECT_EQ(events[0].snapshot, manager->current());
  // Nothing newer: nothing happens.
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(ModelManagerTest, NoVersionIsNotFound) {
  auto manager = NewManager();
  EXPECT_TRUE(IsError(manager->Poll(), absl::StatusCode::kNotFound));
  std::filesystem::create_directories(base_);
  EXPECT_TRUE(IsError(manager->Poll(), absl::StatusCode::kNotFound,
                      {"no model version", base_}));
  EXPECT_EQ(manager->current(), nullptr);
}

// A damaged version 2 (how, and a part of the expected reason) is refused:
// version 1 keeps serving.
struct Damage {
  const char* name;
  std::function<std::string(Model model)> bytes;
  const char* reason;
};

void PrintTo(const Damage& damage, std::ostream* out) { *out << damage.name; }

class RefusalTest : public ModelManagerTest,
                    public ::testing::WithParamInterface<Damage> {};

TEST_P(RefusalTest, RefusesTheVersionAndKeepsServing) {
  WriteVersion();
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  const std::shared_ptr<const Snapshot> before = manager->current();
  WriteBundleBytes(2, GetParam().bytes(model_));

  EXPECT_TRUE(IsError(manager->Poll(), absl::StatusCode::kInvalidArgument,
                      {"2/model.bin", GetParam().reason}));
  EXPECT_EQ(manager->current(), before);
  const std::vector<LoadEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].version, 2);
  EXPECT_FALSE(events[1].status.ok());
  EXPECT_EQ(events[1].snapshot, nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Damages, RefusalTest,
    ::testing::Values(Damage{"FlippedByte",
                             [](Model model) {
                               std::string bytes = EncodeBundle(model);
                               bytes[bytes.size() / 2] ^= 0x20;
                               return bytes;
                             },
                             "checksum mismatch"},
                      Damage{"Truncated",
                             [](Model model) {
                               const std::string bytes = EncodeBundle(model);
                               return bytes.substr(0, bytes.size() - 10);
                             },
                             "truncated"},
                      Damage{"NotABundle",
                             [](Model) { return std::string(100, 'x'); },
                             "bad magic"},
                      Damage{"NaN",
                             [](Model model) {
                               model.movie_vectors(3, 1) =
                                   std::numeric_limits<float>::quiet_NaN();
                               return EncodeBundle(model);
                             },
                             "non-finite"},
                      Damage{"Shape",
                             [](Model model) {
                               model.user_vectors.conservativeResize(
                                   model.user_vectors.rows() - 1,
                                   Eigen::NoChange);
                               return EncodeBundle(model);
                             },
                             "shape"},
                      Damage{"Vocabulary",
                             [](Model model) {
                               model.popularity.pop_back();
                               return EncodeBundle(model);
                             },
                             "popularity"}),
    [](const ::testing::TestParamInfo<Damage>& info) {
      return info.param.name;
    });

TEST_F(ModelManagerTest, RetriesARefusedVersionOnlyOnceItChanges) {
  WriteVersion();
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  WriteBundleBytes(2, "not a bundle");
  EXPECT_FALSE(manager->Poll().ok());
  EXPECT_EQ(Events().size(), 2u);
  // Unchanged: not read again, not reported again.
  EXPECT_OK(manager->Poll());
  EXPECT_EQ(Events().size(), 2u);
  // Repaired in place (another size): loads.
  test::WriteFile(base_ + "/2/" + kBundleFileName, EncodeBundle(model_));
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(manager->current()->version(), 2);
  EXPECT_EQ(Events().size(), 3u);
}

TEST_F(ModelManagerTest, ABadNewestVersionLeavesTheNextNewestToLoad) {
  WriteVersion();
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  WriteVersion();  // 2, good
  WriteBundleBytes(3, "not a bundle");
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(manager->current()->version(), 2);
  const std::vector<LoadEvent> events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].version, 3);
  EXPECT_FALSE(events[1].status.ok());
  EXPECT_EQ(events[2].version, 2);
  EXPECT_OK(events[2].status);
}

TEST_F(ModelManagerTest, ServesThePinnedVersionOnly) {
  WriteVersion();
  WriteVersion();
  auto manager = NewManager(/*pinned=*/1);
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(manager->current()->version(), 1);
  WriteVersion();
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(manager->current()->version(), 1);

  auto missing = NewManager(/*pinned=*/7);
  EXPECT_TRUE(IsError(missing->Poll(), absl::StatusCode::kNotFound, {"7"}));
  EXPECT_EQ(missing->current(), nullptr);
}

TEST_F(ModelManagerTest, AReaderKeepsItsSnapshotAcrossASwap) {
  WriteVersion();
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  const std::shared_ptr<const Snapshot> held = manager->current();
  const std::vector<ScoredMovie> before = held->scorer().Recommend(0, 5);
  WriteVersion();
  ASSERT_OK(manager->Poll());
  EXPECT_EQ(manager->current()->version(), 2);
  EXPECT_EQ(held->version(), 1);
  const std::vector<ScoredMovie> after = held->scorer().Recommend(0, 5);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].movie, before[i].movie);
  }
}

TEST_F(ModelManagerTest, ThePollerLoadsNewVersionsInTheBackground) {
  WriteVersion();
  auto manager = NewManager();
  ASSERT_OK(manager->Poll());
  manager->StartPolling();
  WriteVersion();
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // The second load, then its publication (the loaded hook runs before
    // the poll swaps what serves: waiting for the load alone raced).
    ASSERT_TRUE(event_cv_.wait_for(lock, std::chrono::seconds(10), [this] {
      return events_.size() == 2 && events_[1].status.ok() &&
             served_version_ == 2;
    }));
  }
  EXPECT_EQ(manager->current()->version(), 2);
  manager->Stop();
  manager->Stop();  // idempotent
}

}  // namespace
}  // namespace movierec
