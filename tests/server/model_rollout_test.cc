// A bad model version never replaces a good one: ModelManager
// (server/model_manager.h) serves a good version 1, then a damaged version 2
// appears (truncated, a byte flipped, a file deleted, half written, NaN
// embeddings, inconsistent shapes). Version 2 is refused, the listener hears
// why, version 1 keeps serving, and a later good version 3 is picked up.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/bundle.h"
#include "server/model_manager.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using ::movierec::test::IsError;

Model GoodModel() {
  return test::MakeRandomModel(test::SmallMovieLens(6, 20, 5),
                               test::SmallRetrievalConfig(true), 2);
}

// How version 2 is damaged: what is put at MODEL_BASE/2, and the status the
// listener must hear (its code and parts of its message).
struct Damage {
  std::string name;
  // Makes version directory `dir` (which does not exist yet) from the
  // good model.
  std::function<void(const std::string& dir, const Model& good)> make;
  absl::StatusCode code;
  std::vector<std::string> reason;
};

void PrintTo(const Damage& damage, std::ostream* out) { *out << damage.name; }

// A version directory holding `bytes` as model.bin and a metrics.json.
void WriteBundleDir(const std::string& dir, const std::string& bytes) {
  fs::create_directories(dir);
  test::WriteFile(dir + "/" + kBundleFileName, bytes);
  test::WriteFile(dir + "/" + kMetricsFileName, "{}\n");
}

std::vector<Damage> Damages() {
  const auto bytes_of = [](std::function<std::string(std::string)> edit) {
    return [edit](const std::string& dir, const Model& good) {
      WriteBundleDir(dir, edit(EncodeBundle(good)));
    };
  };
  const auto model_of = [](std::function<void(Model*)> edit) {
    return [edit](const std::string& dir, const Model& good) {
      Model model = good;
      edit(&model);
      WriteBundleDir(dir, EncodeBundle(model));
    };
  };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return {
      {"TruncatedToHalf",
       bytes_of([](std::string b) { return b.substr(0, b.size() / 2); }),
       kInvalid,
       {"truncated"}},
      {"TruncatedInsideTheHeader",
       bytes_of([](std::string b) { return b.substr(0, 10); }),
       kInvalid,
       {"truncated", "shorter than the header"}},
      {"Empty",
       bytes_of([](std::string) { return std::string(); }),
       kInvalid,
       {"truncated: 0 bytes"}},
      {"FlippedPayloadByte",
       bytes_of([](std::string b) {
         b[b.size() * 2 / 3] ^= 0x40;
         return b;
       }),
       kInvalid,
       {"checksum mismatch"}},
      {"FlippedMagicByte",
       bytes_of([](std::string b) {
         b[2] ^= 0x01;
         return b;
       }),
       kInvalid,
       {"bad magic"}},
      {"FlippedLengthByte",
       bytes_of([](std::string b) {
         b[16] ^= 0x01;
         return b;
       }),
       kInvalid,
       {"header says"}},
      {"TrailingGarbage",
       bytes_of([](std::string b) { return b + "junk"; }),
       kInvalid,
       {"trailing data"}},
      {"BundleDeleted",
       [](const std::string& dir, const Model& good) {
         WriteBundleDir(dir, EncodeBundle(good));
         fs::remove(dir + "/" + kBundleFileName);
       },
       absl::StatusCode::kNotFound,
       {"cannot open", kBundleFileName}},
      {"EmptyDirectory",
       [](const std::string& dir, const Model&) {
         fs::create_directories(dir);
       },
       absl::StatusCode::kNotFound,
       {kBundleFileName}},
      // A writer that wrote in place and died: some of model.bin, no
      // metrics.json.
      {"HalfWrittenInPlace",
       [](const std::string& dir, const Model& good) {
         fs::create_directories(dir);
         const std::string b = EncodeBundle(good);
         test::WriteFile(dir + "/" + kBundleFileName,
                         b.substr(0, b.size() - 1));
       },
       kInvalid,
       {"truncated"}},
      {"BundleIsADirectory",
       [](const std::string& dir, const Model&) {
         fs::create_directories(dir + "/" + kBundleFileName);
       },
       absl::StatusCode::kInternal,
       {kBundleFileName}},
      {"NaNUserEmbedding",
       model_of([nan](Model* m) { m->user_vectors(1, 2) = nan; }),
       kInvalid,
       {"user_vectors", "non-finite"}},
      {"NaNMovieEmbedding",
       model_of([nan](Model* m) { m->movie_vectors(4, 0) = nan; }),
       kInvalid,
       {"movie_vectors", "non-finite"}},
      {"InfiniteTowerWeight",
       model_of([](Model* m) {
         m->retrieval->user_tower().tables()[0].mutable_weights()(0, 0) =
             std::numeric_limits<float>::infinity();
       }),
       kInvalid,
       {"non-finite"}},
      {"UserVectorsOneRowShort",
       model_of([](Model* m) {
         m->user_vectors.conservativeResize(m->user_vectors.rows() - 1,
                                            Eigen::NoChange);
       }),
       kInvalid,
       {"user_vectors", "shape"}},
      {"UserAndMovieDimensionsDiffer",
       model_of([](Model* m) {
         m->movie_vectors.conservativeResize(Eigen::NoChange,
                                             m->movie_vectors.cols() + 1);
         m->movie_vectors.rightCols(1).setZero();
       }),
       kInvalid,
       {"user_vectors", "shape"}},
      {"PopularityOfAnotherCatalogue",
       model_of([](Model* m) { m->popularity.push_back(1); }),
       kInvalid,
       {"popularity has 21 entries for 20 movies"}},
  };
}

class ModelRolloutTest : public ::testing::TestWithParam<Damage> {
 protected:
  ModelRolloutTest() : good_(GoodModel()), base_(dir_.File("models")) {}

  std::unique_ptr<ModelManager> NewManager(absl::Duration poll_interval) {
    ModelManagerOptions options;
    options.model_base = base_;
    options.poll_interval = poll_interval;
    return std::make_unique<ModelManager>(options, [this](const LoadEvent& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(e);
      changed_.notify_all();
    });
  }

  // The events heard so far, once there are at least `n` (or after 30 s).
  std::vector<LoadEvent> Events(size_t n = 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(30),
                      [&] { return events_.size() >= n; });
    return events_;
  }

  void ExpectRefusal(const LoadEvent& event) {
    EXPECT_EQ(event.version, 2);
    EXPECT_EQ(event.snapshot, nullptr);
    EXPECT_TRUE(
        IsError(event.status, GetParam().code, {absl::StrCat(base_, "/2")}))
        << "the reason must name the version";
    for (const std::string& part : GetParam().reason) {
      EXPECT_TRUE(IsError(event.status, GetParam().code, {part}));
    }
  }

  test::ScopedTempDir dir_;
  const Model good_;
  const std::string base_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<LoadEvent> events_;
};

TEST_P(ModelRolloutTest, RefusesBadVersionKeepsServingThenTakesTheNext) {
  ASSERT_OK(WriteModelVersion(base_, good_, "{}\n"));  // 1
  auto manager = NewManager(absl::ZeroDuration());
  ASSERT_OK(manager->Poll());
  const std::shared_ptr<const Snapshot> one = manager->current();
  ASSERT_NE(one, nullptr);
  ASSERT_EQ(one->version(), 1);

  GetParam().make(base_ + "/2", good_);
  const absl::Status refused = manager->Poll();
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(manager->current(), one) << "version 1 must keep serving";
  std::vector<LoadEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_OK(events[0].status);
  ExpectRefusal(events[1]);
  EXPECT_EQ(refused, events[1].status);
  // Polling again neither reloads nor reports the unchanged bad version:
  // nothing new, so OK.
  EXPECT_OK(manager->Poll());
  EXPECT_EQ(manager->current(), one);
  EXPECT_EQ(Events().size(), 2u);

  ASSERT_OK_AND_ASSIGN(const int64_t three,
                       WriteModelVersion(base_, good_, "{}\n"));
  ASSERT_EQ(three, 3);
  ASSERT_OK(manager->Poll());
  ASSERT_NE(manager->current(), nullptr);
  EXPECT_EQ(manager->current()->version(), 3);
  events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].version, 3);
  EXPECT_OK(events[2].status);
}

// The same, with the background poller doing the polling while a reader
// keeps taking the serving snapshot.
TEST_P(ModelRolloutTest, ThePollerRefusesBadVersionWhileServing) {
  ASSERT_OK(WriteModelVersion(base_, good_, "{}\n"));  // 1
  auto manager = NewManager(absl::Milliseconds(5));
  ASSERT_OK(manager->Poll());
  manager->StartPolling();
  std::atomic<bool> stop{false};
  std::atomic<int> null_snapshots{0};
  std::thread reader([&] {
    while (!stop) {
      if (manager->current() == nullptr) ++null_snapshots;
    }
  });

  // Made aside and renamed into place: the poller runs every 5 ms, and must
  // see the damaged version whole (made in place, it could find the
  // directory before its model.bin and refuse it for that instead).
  const std::string staging = base_ + "/staging-2";
  GetParam().make(staging, good_);
  fs::rename(staging, base_ + "/2");
  std::vector<LoadEvent> events = Events(2);
  ASSERT_GE(events.size(), 2u);
  ExpectRefusal(events[1]);
  EXPECT_EQ(manager->current()->version(), 1);

  ASSERT_OK(WriteModelVersion(base_, good_, "{}\n"));  // 3
  events = Events(3);
  stop = true;
  reader.join();
  manager->Stop();
  ASSERT_EQ(events.size(), 3u) << "the bad version was reported again";
  EXPECT_EQ(events[2].version, 3);
  EXPECT_OK(events[2].status);
  EXPECT_EQ(manager->current()->version(), 3);
  EXPECT_EQ(null_snapshots, 0);
}

INSTANTIATE_TEST_SUITE_P(Damages, ModelRolloutTest,
                         ::testing::ValuesIn(Damages()),
                         [](const ::testing::TestParamInfo<Damage>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace movierec
