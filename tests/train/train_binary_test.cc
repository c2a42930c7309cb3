// The real movierec-train binary on a small synthetic MovieLens, through its
// command line: the quality gate's exit statuses (0 published, 2 bad flag, 3
// refused) and what each leaves in the model base, --force, the relative
// gate skipped for versions evaluated on other data or without a
// fingerprint; retention with --keep_versions, --protect and the pin file,
// including a trainer killed in the middle of a removal
// (--testonly_kill_during_removal) and the next run finishing it; --split
// (bad values refused, the split recorded in metrics.json); and --help
// against docs/flags.md.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "model/bundle.h"
#include "tests/e2e/subprocess.h"
#include "tests/test_util.h"

namespace movierec {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The default preset shrunk to about a second on the synthetic catalogue
// (as tests/train/trainer_test.cc's SmallConfig): all three stages, so the
// served figures are the pipeline's.
constexpr char kConfig[] =
    R"({"retrieval": {"model": {"embedding_dim": 6, "init_scale": 0.1},)"
    R"( "batch_size": 64, "epochs": 4, "patience": 2},)"
    R"( "rating": {"model": {"embedding_dim": 4}, "batch_size": 64,)"
    R"( "epochs": 4, "patience": 2},)"
    R"( "reranker": {"epochs": 4, "folds": 2, "batch_lists": 4}})";

struct Result {
  int exit_status = -1;  // -SIGNAL when killed by SIGNAL
  std::string output;
};

class TrainBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(data_);
    test::WriteMovieLensFiles(test::SmallMovieLens(30, 40, 12, 3), data_);
  }

  // Runs movierec-train on the synthetic data into base_ with `extra` flags.
  Result Train(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        MOVIEREC_TRAIN_BIN, "--data_dir=" + data_, "--model_base=" + base_,
        std::string("--config=") + kConfig, "--threads=1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunBinary(argv);
  }

  static Result RunBinary(const std::vector<std::string>& argv) {
    Result result;
    absl::StatusOr<std::unique_ptr<test::Subprocess>> child =
        test::Subprocess::Start(argv);
    EXPECT_OK(child);
    if (!child.ok()) return result;
    const std::optional<int> status = (*child)->WaitForExit(absl::Seconds(120));
    EXPECT_TRUE(status.has_value()) << "movierec-train did not exit";
    result.output = (*child)->Output();
    if (status && WIFEXITED(*status)) result.exit_status = WEXITSTATUS(*status);
    if (status && WIFSIGNALED(*status)) result.exit_status = -WTERMSIG(*status);
    return result;
  }

  std::vector<int64_t> Versions() {
    absl::StatusOr<std::vector<int64_t>> versions = ListVersions(base_);
    return versions.ok() ? *versions : std::vector<int64_t>();
  }

  // Every listed version reads back valid; the names of the other entries
  // of the model base.
  std::set<std::string> ExpectWholeVersionsAndReturnTheRest() {
    for (const int64_t version : Versions()) {
      EXPECT_OK(ReadModelVersion(absl::StrCat(base_, "/", version))) << version;
    }
    std::set<std::string> rest;
    for (const auto& entry : fs::directory_iterator(base_)) {
      const std::string name = entry.path().filename().string();
      int64_t version = 0;
      if (!absl::SimpleAtoi(name, &version)) rest.insert(name);
    }
    return rest;
  }

  std::string MetricsPath(int64_t version) {
    return absl::StrCat(base_, "/", version, "/", kMetricsFileName);
  }
  nlohmann::json ReadMetrics(int64_t version) {
    return nlohmann::json::parse(test::ReadFileOrFail(MetricsPath(version)));
  }
  void WriteMetrics(int64_t version, const nlohmann::json& metrics) {
    test::WriteFile(MetricsPath(version), metrics.dump(2));
  }

  test::ScopedTempDir dir_;
  std::string data_ = dir_.File("ml");
  std::string base_ = dir_.File("models");
};

TEST_F(TrainBinaryTest, GatePassesRefusesAndIsForced) {
  // A first version: nothing to compare with.
  Result run = Train({"--min_ndcg_at_10=0.01", "--min_recall_at_10=0.01"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("relative gate skipped: no published "
                                    "version to compare with"));
  EXPECT_THAT(run.output, HasSubstr("quality gate: passed (2 checks)"));
  ASSERT_THAT(Versions(), ElementsAre(1));
  const nlohmann::json first = ReadMetrics(1);
  ASSERT_TRUE(first["data"]["fingerprint"].is_string());
  const double ndcg = first["pipeline"]["ndcg_at_10"].get<double>();
  ASSERT_GT(ndcg, 0);
  ASSERT_LT(ndcg, 0.9);

  // The same training again reproduces the figures: the relative gate
  // compares (same data) and passes.
  run = Train({});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("against version 1's"));
  ASSERT_THAT(Versions(), ElementsAre(1, 2));

  // An absolute floor above the figures: refused with exit status 3, the
  // message naming the metric, its value and the threshold; nothing new in
  // the model base.
  run = Train({"--min_ndcg_at_10=0.99"});
  EXPECT_EQ(run.exit_status, 3) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr(absl::StrFormat("quality gate refused the new version "
                                        "(not published; --force overrides): "
                                        "served (retrieval -> ranking) ndcg@10 "
                                        "%.4f is below 0.9900 "
                                        "(--min_ndcg_at_10)",
                                        ndcg)));
  EXPECT_THAT(Versions(), ElementsAre(1, 2));
  EXPECT_TRUE(ExpectWholeVersionsAndReturnTheRest().empty());

  // The newest version made 10% better on paper: the same training is now
  // a regression beyond 2%.
  nlohmann::json better = ReadMetrics(2);
  better["pipeline"]["ndcg_at_10"] = ndcg * 1.1;
  WriteMetrics(2, better);
  run = Train({});
  EXPECT_EQ(run.exit_status, 3) << run.output;
  EXPECT_THAT(run.output, HasSubstr("(--max_relative_regression=0.02 against "
                                    "version 2's"));
  EXPECT_THAT(Versions(), ElementsAre(1, 2));
  EXPECT_TRUE(ExpectWholeVersionsAndReturnTheRest().empty());
  // A dry run applies the gate too and writes nothing.
  run = Train({"--dry_run"});
  EXPECT_EQ(run.exit_status, 3) << run.output;
  EXPECT_THAT(Versions(), ElementsAre(1, 2));

  // --force publishes it, saying what it overrode.
  run = Train({"--force"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("--force overrides the refusal: "));
  EXPECT_THAT(run.output, HasSubstr("wrote model version 3"));
  EXPECT_THAT(Versions(), ElementsAre(1, 2, 3));

  // Other data (another fingerprint): the relative gate is skipped, saying
  // why, and the version is published.
  better = ReadMetrics(3);
  better["pipeline"]["ndcg_at_10"] = ndcg * 1.5;
  better["data"]["fingerprint"] = "v1:other";
  WriteMetrics(3, better);
  run = Train({});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("relative gate skipped: version 3 (the "
                                    "newest) was evaluated on other data"));
  EXPECT_THAT(Versions(), ElementsAre(1, 2, 3, 4));

  // A version from before the gate (no fingerprint): skipped too.
  better = ReadMetrics(4);
  better["pipeline"]["ndcg_at_10"] = ndcg * 1.5;
  better["data"].erase("fingerprint");
  WriteMetrics(4, better);
  run = Train({});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("version 4 (the newest) records no "
                                    "evaluation-data fingerprint"));
  EXPECT_THAT(Versions(), ElementsAre(1, 2, 3, 4, 5));
}

TEST_F(TrainBinaryTest, BadFlagValuesAreUsageErrorsNamingTheFlag) {
  fs::create_directories(base_ + "/1");
  const auto refused = [&](const std::vector<std::string>& flags,
                           const std::string& message) {
    const Result run = Train(flags);
    EXPECT_EQ(run.exit_status, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(message));
  };
  refused({"--min_ndcg_at_10=1.5"}, "--min_ndcg_at_10=1.5: must be a share");
  refused({"--min_recall_at_10=-0.1"}, "--min_recall_at_10=-0.1: must be");
  refused({"--max_rmse=0"}, "--max_rmse=0: must be positive and finite");
  refused({"--max_relative_regression=2"}, "--max_relative_regression=2: must");
  refused({"--keep_versions=0"}, "--keep_versions=0: must be >= 1");
  refused({"--keep_versions=2", "--protect=1,x"},
          "--protect=1,x: \"x\" is not a version number");
  refused({"--keep_versions=2", "--protect=1,9"},
          "--protect: version 9 is not in");
  refused({"--protect=1"}, "--protect needs --keep_versions");
  refused({"--keep_versions=2", "--dry_run"}, "not with --dry_run");
  refused({"--format=ml-20m"},
          "--format: data format \"ml-20m\" is not one of auto, ml-100k");
  test::WriteFile(base_ + "/PINNED", "1\nstable\n");
  refused({"--keep_versions=2"}, "PINNED:2: \"stable\" is not a version");
  // Nothing was trained or written.
  EXPECT_THAT(Versions(), ElementsAre(1));
}

TEST_F(TrainBinaryTest, BadSplitsAreUsageErrorsNamingTheFlag) {
  const auto refused = [&](const std::vector<std::string>& flags,
                           const std::string& message) {
    const Result run = Train(flags);
    EXPECT_EQ(run.exit_status, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(message));
  };
  refused({"--split=temporal2"},
          "--split: unknown split \"temporal2\": expected random, temporal "
          "or leave_last_n=N");
  refused({"--split=leave_last_n=0"},
          "--split: split \"leave_last_n=0\": N in leave_last_n=N must be an "
          "integer >= 1, got \"0\"");
  refused({"--split=leave_last_n=abc"}, "got \"abc\"");
  test::WriteFile(dir_.File("u1.base"), "1\t1\t3\t5\n");
  test::WriteFile(dir_.File("u1.test"), "1\t3\t3\t6\n");
  refused({"--split=temporal", "--train=" + dir_.File("u1.base"),
           "--test=" + dir_.File("u1.test")},
          "--split=temporal cannot be combined with --train/--test");
  refused({"--split=random", "--train=" + dir_.File("u1.base"),
           "--test=" + dir_.File("u1.test")},
          "--split=random cannot be combined with --train/--test");
  EXPECT_TRUE(Versions().empty());
}

TEST_F(TrainBinaryTest, MetricsRecordTheSplit) {
  ASSERT_EQ(Train({}).exit_status, 0);
  nlohmann::json split = ReadMetrics(1)["split"];
  EXPECT_EQ(split["kind"], "random");
  EXPECT_EQ(split["test_fraction"], 0.2);
  EXPECT_EQ(split["validation"]["kind"], "random");
  EXPECT_EQ(split["train"].get<int>() + split["test"].get<int>(), 30 * 12);
  EXPECT_EQ(split["test"], ReadMetrics(1)["data"]["test_ratings"]);

  Result run = Train({"--split=temporal"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("temporal split; cold:"));
  split = ReadMetrics(2)["split"];
  EXPECT_EQ(split["kind"], "temporal");
  EXPECT_EQ(split["test"], 72);  // 20% of 360
  EXPECT_EQ(split["validation"]["kind"], "temporal");
  EXPECT_EQ(split["validation"]["fraction"], 0.1);
  for (const char* key :
       {"cut_timestamp", "cold_users", "cold_user_test_interactions",
        "cold_movies", "cold_movie_test_interactions", "test_users",
        "test_movies"}) {
    EXPECT_TRUE(split.contains(key)) << key;
  }

  run = Train({"--split=leave_last_n=2"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  split = ReadMetrics(3)["split"];
  EXPECT_EQ(split["kind"], "leave_last_n=2");
  EXPECT_EQ(split["n"], 2);
  EXPECT_EQ(split["test"], 60);  // 30 users with 12 ratings each
  EXPECT_EQ(split["users_held_out"], 30);
  EXPECT_EQ(split["users_all_in_train"], 0);
  EXPECT_EQ(split["cold_users"], 0);
  EXPECT_EQ(split["validation"]["kind"], "leave_last_n=2");
}

// An IVF version: by default the trainer measures the nprobe that finds 95%
// of the exact top 100 for the model's users, records the ladder in
// metrics.json and saves the index searching with it; --ivf_nprobe=N is
// saved as given, with nothing measured. A flat version records its kind.
TEST_F(TrainBinaryTest, IvfVersionsSaveTheNprobeChosenOrGiven) {
  fs::remove_all(data_);
  fs::create_directories(data_);
  test::WriteMovieLensFiles(test::SmallMovieLens(60, 400, 30, 3), data_);
  Result run = Train({"--index_kind=ivf", "--ivf_nlist=40"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("of the exact top 100 for 60 users"));
  nlohmann::json index = ReadMetrics(1)["index"];
  EXPECT_EQ(index["kind"], "ivf");
  const nlohmann::json& chosen = index["nprobe_chosen_for"];
  EXPECT_EQ(chosen["k"], 100);
  EXPECT_EQ(chosen["recall"], 0.95);
  EXPECT_EQ(chosen["users"], 60);
  const nlohmann::json& ladder = chosen["ladder"];
  ASSERT_FALSE(ladder.empty());
  const int nprobe = ladder.back()["nprobe"];
  EXPECT_GE(ladder.back()["recall"].get<double>(), 0.95);
  for (size_t i = 0; i + 1 < ladder.size(); ++i) {
    EXPECT_LT(ladder[i]["recall"].get<double>(), 0.95) << i;
  }
  const std::string described = absl::StrCat("nprobe=", nprobe, ",");
  EXPECT_THAT(index["described"].get<std::string>(), HasSubstr(described));
  absl::StatusOr<Model> model = ReadModelVersion(absl::StrCat(base_, "/1"));
  ASSERT_OK(model);
  ASSERT_TRUE(model->saved_index.has_value());
  EXPECT_THAT(model->saved_index->description, HasSubstr(described));

  run = Train({"--index_kind=ivf", "--ivf_nlist=40", "--ivf_nprobe=7"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  index = ReadMetrics(2)["index"];
  EXPECT_FALSE(index.contains("nprobe_chosen_for"));
  EXPECT_THAT(index["described"].get<std::string>(), HasSubstr("nprobe=7,"));

  run = Train({});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_EQ(ReadMetrics(3)["index"], nlohmann::json({{"kind", "flat"}}));
}

// The synthetic catalogue written as MovieLens 20M-style CSV (no users file,
// so no demographics) is detected and trains, its user towers without the
// demographic tables.
TEST_F(TrainBinaryTest, TrainsOnTheCsvFormatWithoutDemographics) {
  const MovieLens data = test::SmallMovieLens(30, 40, 12, 3);
  const std::string csv = dir_.File("ml-csv");
  fs::create_directories(csv);
  std::string movies = "movieId,title,genres\r\n";
  for (const Movie& movie : data.movies) {
    std::vector<std::string> genres;
    for (const int32_t g : movie.genres) genres.push_back(data.genre_names[g]);
    absl::StrAppend(&movies, movie.id, ",\"", movie.title, ", The (",
                    movie.release_year, ")\",", absl::StrJoin(genres, "|"),
                    "\r\n");
  }
  test::WriteFile(csv + "/movies.csv", movies);
  std::string ratings = "userId,movieId,rating,timestamp\n";
  for (const Rating& r : data.ratings) {
    absl::StrAppend(&ratings, r.user_id, ",", r.movie_id, ",",
                    absl::StrFormat("%.1f", r.rating), ",", r.timestamp, "\n");
  }
  test::WriteFile(csv + "/ratings.csv", ratings);

  const Result run =
      RunBinary({MOVIEREC_TRAIN_BIN, "--data_dir=" + csv, "--dry_run",
                 std::string("--config=") + kConfig, "--threads=1"});
  EXPECT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("the users have no demographics"));
  EXPECT_THAT(run.output, HasSubstr("served pipeline"));
  // --format names the reader; the wrong one names the missing file.
  const Result wrong = RunBinary(
      {MOVIEREC_TRAIN_BIN, "--data_dir=" + csv, "--format=ml-1m", "--dry_run"});
  EXPECT_EQ(wrong.exit_status, 1) << wrong.output;
  EXPECT_THAT(wrong.output, HasSubstr(csv + "/movies.dat"));
}

// A generic folder whose users.csv has two extra columns: the one with
// values is a user feature (logged with its count of values), the empty one
// is not; the version written keeps the attributes (format version 3), its
// towers have the attribute's table, and it reads back valid.
TEST_F(TrainBinaryTest, GenericUsersColumnsAreUserFeatures) {
  const MovieLens data = test::SmallMovieLens(30, 40, 12, 3);
  const std::string generic = dir_.File("generic");
  fs::create_directories(generic);
  std::string items = "item_id,title\n";
  for (const Movie& movie : data.movies) {
    absl::StrAppend(&items, "m", movie.id, ",", test::CsvQuoted(movie.title),
                    "\n");
  }
  test::WriteFile(generic + "/items.csv", items);
  std::string users = "user_id,plan,note\n";
  for (size_t u = 0; u < data.users.size(); ++u) {
    const char* const plans[] = {"", "gold", "free"};
    absl::StrAppend(&users, "u", data.users[u].id, ",", plans[u % 3], ",\n");
  }
  test::WriteFile(generic + "/users.csv", users);
  std::string interactions = "user_id,item_id,rating\n";
  for (const Rating& r : data.ratings) {
    absl::StrAppend(&interactions, "u", r.user_id, ",m", r.movie_id, ",",
                    r.rating, "\n");
  }
  test::WriteFile(generic + "/interactions.csv", interactions);

  const Result run = RunBinary(
      {MOVIEREC_TRAIN_BIN, "--data_dir=" + generic, "--model_base=" + base_,
       std::string("--config=") + kConfig, "--threads=1"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("the users' categorical attributes, user features: "
                        "plan (2 values), note (no user has a value: not a "
                        "feature)"));
  ASSERT_THAT(Versions(), ElementsAre(1));
  const std::string version_dir = absl::StrCat(base_, "/1");
  EXPECT_EQ(test::ReadFileOrFail(version_dir + "/" + kBundleFileName)[8], 3);
  ASSERT_OK_AND_ASSIGN(const Model model, ReadModelVersion(version_dir));
  EXPECT_THAT(model.catalog.user_attribute_names, ElementsAre("plan", "note"));
  std::vector<std::string> tables;
  for (const TableSpec& table : model.retrieval->featurizer().user_tables()) {
    tables.push_back(table.name);
  }
  EXPECT_THAT(tables, testing::Contains("user_attribute/plan"));
  EXPECT_THAT(tables, testing::Not(testing::Contains("user_attribute/note")));
  const nlohmann::json metrics = ReadMetrics(1);
  EXPECT_EQ(
      metrics["config"]["retrieval"]["model"]["features"]["user_attributes"],
      true);
}

TEST_F(TrainBinaryTest, KilledMidRemovalThenTheNextRunFinishes) {
  ASSERT_EQ(Train({}).exit_status, 0);
  // Versions 2 and 3: copies of 1 (whole, valid versions).
  for (const char* copy : {"2", "3"}) {
    fs::copy(base_ + "/1", base_ + "/" + copy, fs::copy_options::recursive);
  }
  ASSERT_THAT(Versions(), ElementsAre(1, 2, 3));

  // Publishes 4, then is killed after the first file of version 1 goes.
  Result run = Train({"--keep_versions=2", "--testonly_kill_during_removal"});
  ASSERT_EQ(run.exit_status, -SIGKILL) << run.output;
  EXPECT_THAT(run.output, HasSubstr("wrote model version 4"));
  EXPECT_THAT(Versions(), ElementsAre(2, 3, 4));
  EXPECT_EQ(ExpectWholeVersionsAndReturnTheRest(),
            std::set<std::string>{".deleting-1"});

  // The next run finishes the removal first, then keeps the newest 2 and
  // the protected 2.
  run = Train({"--keep_versions=2", "--protect=2"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("finished the interrupted removal of"));
  EXPECT_THAT(run.output, HasSubstr("removed [3], kept [2,4,5]"));
  EXPECT_THAT(Versions(), ElementsAre(2, 4, 5));
  EXPECT_TRUE(ExpectWholeVersionsAndReturnTheRest().empty());

  // A pinned version stays; an unprotected one goes.
  test::WriteFile(base_ + "/PINNED", "# canary stable\n4\n");
  run = Train({"--keep_versions=1"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("removed [2,5], kept [4,6], pinned in "
                                    "PINNED [4]"));
  EXPECT_THAT(Versions(), ElementsAre(4, 6));
  EXPECT_EQ(ExpectWholeVersionsAndReturnTheRest(),
            std::set<std::string>{"PINNED"});
}

TEST_F(TrainBinaryTest, HelpListsEveryFlagAndDocsFlagsDocumentsThem) {
  const Result help = RunBinary({MOVIEREC_TRAIN_BIN, "--help"});
  std::set<std::string> flags;
  const std::regex flag_line("^    --([a-z_0-9]+) \\(");
  std::istringstream lines(help.output);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, flag_line)) flags.insert(match[1]);
  }
  for (const char* expected :
       {"data_dir", "model_base", "min_ndcg_at_10", "min_recall_at_10",
        "max_rmse", "max_relative_regression", "force", "keep_versions",
        "protect", "testonly_kill_during_removal"}) {
    EXPECT_EQ(flags.count(expected), 1u)
        << "--help lacks --" << expected << ":\n"
        << help.output;
  }
  EXPECT_THAT(help.output, HasSubstr("3 refused by the quality gate"));
  const std::string docs =
      test::ReadFileOrFail(absl::StrCat(MOVIEREC_SOURCE_DIR, "/docs/flags.md"));
  const size_t section = docs.find("## movierec-train");
  const size_t next = docs.find("\n## ", section + 1);
  ASSERT_NE(section, std::string::npos);
  const std::string train_docs = docs.substr(section, next - section);
  for (const std::string& flag : flags) {
    EXPECT_THAT(train_docs, HasSubstr(absl::StrCat("`--", flag, "`")))
        << "docs/flags.md's movierec-train section does not document --"
        << flag;
  }
}

}  // namespace
}  // namespace movierec
