// Tests of the training configuration (train/train_config.h) and its JSON
// form (train/config_json.h): the presets, ValidateConfig's refusal of each
// bad field, MergeConfigJson's patches and refusals, and the lossless JSON
// round trip.
#include "train/train_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/test_util.h"
#include "train/config_json.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::testing::HasSubstr;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TrainConfig Preset(const std::string& name) {
  absl::StatusOr<TrainConfig> config = PresetConfig(name);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.value_or(TrainConfig{});
}

nlohmann::json Json(const TrainConfig& config) {
  return nlohmann::json(config);
}

TEST(PresetConfigTest, KnownPresetsAreValidAndNamed) {
  EXPECT_EQ(PresetNames(), (std::vector<std::string>{"default", "tfrs"}));
  for (const std::string& name : PresetNames()) {
    ASSERT_OK_AND_ASSIGN(const TrainConfig config, PresetConfig(name));
    EXPECT_EQ(config.preset, name);
    EXPECT_OK(ValidateConfig(config)) << name;
  }
}

TEST(PresetConfigTest, TfrsIsTheTutorial) {
  const TrainConfig config = Preset("tfrs");
  EXPECT_EQ(config.retrieval.model.embedding_dim, 32);
  EXPECT_EQ(config.retrieval.softmax, "in_batch");
  EXPECT_EQ(config.retrieval.batch_size, 8192);
  EXPECT_EQ(config.retrieval.epochs, 3);
  EXPECT_FLOAT_EQ(config.retrieval.optimizer.learning_rate, 0.1f);
  EXPECT_FLOAT_EQ(config.retrieval.optimizer.initial_accumulator, 0.1f);
  EXPECT_EQ(config.validation_fraction, 0);
  EXPECT_TRUE(config.rating.enabled);
  EXPECT_TRUE(config.rating.model.mlp);
  EXPECT_FALSE(config.rating.model.biases);
  EXPECT_FALSE(config.rating.model.dot);
  EXPECT_EQ(config.rating.model.hidden, (std::vector<int>{256, 64}));
  EXPECT_FALSE(config.reranker.enabled);
}

TEST(PresetConfigTest, UnknownPresetIsRefusedNamingTheKnownOnes) {
  EXPECT_TRUE(IsError(PresetConfig("tfrs2").status(),
                      absl::StatusCode::kInvalidArgument,
                      {"\"tfrs2\"", "default", "tfrs"}));
  EXPECT_TRUE(IsError(PresetConfig("").status(),
                      absl::StatusCode::kInvalidArgument, {"default, tfrs"}));
}

struct BadField {
  std::string name;  // the field ValidateConfig must name
  std::function<void(TrainConfig*)> change;
};

// A bad setting of the LambdaMART reranker's boosting, on a config whose
// reranker is of that kind (the settings are checked only then).
BadField LambdaMartField(std::string name,
                         std::function<void(LambdaMartTraining*)> change) {
  return {std::move(name), [change](TrainConfig* c) {
            c->reranker.model.kind = kLambdaMartReranker;
            change(&c->reranker.lambdamart);
          }};
}

// Each case changes one field of the (valid) default preset.
std::vector<BadField> BadFields() {
  using C = TrainConfig*;
  return {
      {"threads", [](C c) { c->threads = -1; }},
      {"threads", [](C c) { c->threads = 5000; }},
      {"retrieval.model.embedding_dim",
       [](C c) { c->retrieval.model.embedding_dim = 0; }},
      {"retrieval.model.embedding_dim",
       [](C c) { c->retrieval.model.embedding_dim = 5000; }},
      {"retrieval.members", [](C c) { c->retrieval.members = 0; }},
      {"retrieval.members", [](C c) { c->retrieval.members = 17; }},
      {"retrieval.members",
       [](C c) {
         c->retrieval.model.embedding_dim = 300;
         c->retrieval.members = 14;
       }},
      {"retrieval.model.init_scale",
       [](C c) { c->retrieval.model.init_scale = -0.1f; }},
      {"retrieval.model.init_scale",
       [](C c) { c->retrieval.model.init_scale = kNaN; }},
      {"retrieval.model.features",
       [](C c) {
         c->retrieval.model.features.user_id = false;
         c->retrieval.model.features.user_demographics = false;
         c->retrieval.model.features.user_history = false;
         c->retrieval.model.features.user_attributes = false;
       }},
      {"retrieval.model.features",
       [](C c) {
         c->retrieval.model.features.movie_id = false;
         c->retrieval.model.features.movie_genres = false;
         c->retrieval.model.features.movie_year = false;
       }},
      {"retrieval.softmax", [](C c) { c->retrieval.softmax = "bogus"; }},
      {"retrieval.softmax", [](C c) { c->retrieval.softmax = ""; }},
      {"retrieval.sampled_negatives",
       [](C c) { c->retrieval.sampled_negatives = 0; }},
      {"retrieval.batch_size", [](C c) { c->retrieval.batch_size = 0; }},
      {"retrieval.epochs", [](C c) { c->retrieval.epochs = 0; }},
      {"retrieval.optimizer.learning_rate",
       [](C c) { c->retrieval.optimizer.learning_rate = kNaN; }},
      {"retrieval.optimizer.learning_rate",
       [](C c) { c->retrieval.optimizer.learning_rate = 0; }},
      {"retrieval.optimizer.initial_accumulator",
       [](C c) { c->retrieval.optimizer.initial_accumulator = -1; }},
      {"retrieval.l2", [](C c) { c->retrieval.l2 = -0.01f; }},
      {"retrieval.l2", [](C c) { c->retrieval.l2 = kNaN; }},
      {"validation_fraction", [](C c) { c->validation_fraction = 1; }},
      {"validation_fraction", [](C c) { c->validation_fraction = -0.1; }},
      {"validation_fraction", [](C c) { c->validation_fraction = kNaN; }},
      {"retrieval.patience", [](C c) { c->retrieval.patience = 0; }},
      {"retrieval.block_rows", [](C c) { c->retrieval.block_rows = 0; }},
      {"rating.model.embedding_dim",
       [](C c) { c->rating.model.embedding_dim = 0; }},
      {"rating.model",
       [](C c) {
         c->rating.model.biases = false;
         c->rating.model.dot = false;
         c->rating.model.mlp = false;
       }},
      {"rating.model.hidden",
       [](C c) {
         c->rating.model.hidden = {64, 0};
       }},
      {"rating.batch_size", [](C c) { c->rating.batch_size = 0; }},
      {"rating.epochs", [](C c) { c->rating.epochs = -3; }},
      {"rating.optimizer.learning_rate",
       [](C c) { c->rating.optimizer.learning_rate = kNaN; }},
      {"rating.l2", [](C c) { c->rating.l2 = -1; }},
      {"rating.patience", [](C c) { c->rating.patience = 0; }},
      {"reranker.enabled", [](C c) { c->validation_fraction = 0; }},
      {"reranker.list_size", [](C c) { c->reranker.list_size = 0; }},
      {"reranker.epochs", [](C c) { c->reranker.epochs = 0; }},
      {"reranker.folds", [](C c) { c->reranker.folds = 1; }},
      {"reranker.batch_lists", [](C c) { c->reranker.batch_lists = 0; }},
      {"reranker.optimizer.learning_rate",
       [](C c) { c->reranker.optimizer.learning_rate = -0.1f; }},
      {"reranker.l2", [](C c) { c->reranker.l2 = kNaN; }},
      {"reranker.model.hidden", [](C c) { c->reranker.model.hidden = {-3}; }},
      {"reranker.item_neighbors", [](C c) { c->reranker.item_neighbors = 0; }},
      {"retrieval.history_sample",
       [](C c) { c->retrieval.history_sample = -1; }},
      {"rating.history_sample", [](C c) { c->rating.history_sample = -32; }},
      {"reranker.sources.item_budget",
       [](C c) { c->reranker.sources.item_budget = -1; }},
      {"reranker.sources.popular_budget",
       [](C c) { c->reranker.sources.popular_budget = kMaxNumCandidates + 1; }},
      {"reranker.sources.item_weights",
       [](C c) { c->reranker.sources.item_weights = 0; }},
      {"reranker.sources.ease_lambda",
       [](C c) { c->reranker.sources.ease_lambda = 0; }},
      {"reranker.visitor_lists",
       [](C c) {
         c->reranker.visitor_lists = {5, 0};
       }},
      {"reranker.model.kind", [](C c) { c->reranker.model.kind = "svm"; }},
      {"reranker.model.hidden",
       [](C c) {
         c->reranker.model.kind = kLambdaMartReranker;
         c->reranker.model.hidden = {8};
       }},
      LambdaMartField("reranker.lambdamart.trees",
                      [](LambdaMartTraining* m) { m->trees = 0; }),
      LambdaMartField("reranker.lambdamart.max_depth",
                      [](LambdaMartTraining* m) { m->max_depth = 17; }),
      LambdaMartField("reranker.lambdamart.learning_rate",
                      [](LambdaMartTraining* m) { m->learning_rate = 0; }),
      LambdaMartField(
          "reranker.lambdamart.min_child_weight",
          [](LambdaMartTraining* m) { m->min_child_weight = kNaN; }),
      LambdaMartField("reranker.lambdamart.subsample",
                      [](LambdaMartTraining* m) { m->subsample = 1.5f; }),
      LambdaMartField("reranker.lambdamart.l2",
                      [](LambdaMartTraining* m) { m->l2 = -1; }),
      {"evaluation_users", [](C c) { c->evaluation_users = -1; }},
      {"refit",
       [](C c) {
         c->refit = false;
         c->validation_fraction = 0;
       }},
  };
}

// Fields the retrieval stage checks but the ranking stages did not.
std::vector<BadField> UncheckedRankingFields() {
  using C = TrainConfig*;
  return {
      // Adagrad's accumulator starts at initial_accumulator; a negative one
      // makes the first step's sqrt NaN, a zero one divides a small gradient
      // by epsilon. The retrieval stage refuses both; so must the others.
      {"rating.optimizer.initial_accumulator",
       [](C c) { c->rating.optimizer.initial_accumulator = -1; }},
      {"reranker.optimizer.initial_accumulator",
       [](C c) { c->reranker.optimizer.initial_accumulator = kNaN; }},
      // Weights start uniform in [-init_scale, init_scale).
      {"rating.model.init_scale",
       [](C c) { c->rating.model.init_scale = kNaN; }},
  };
}

void ExpectEachRefused(const std::vector<BadField>& cases) {
  const TrainConfig valid = Preset("default");
  ASSERT_OK(ValidateConfig(valid));
  for (const BadField& bad : cases) {
    TrainConfig config = valid;
    bad.change(&config);
    EXPECT_TRUE(IsError(ValidateConfig(config),
                        absl::StatusCode::kInvalidArgument,
                        {absl::StrCat("config field ", bad.name, " ")}))
        << "case " << bad.name;
  }
}

TEST(ValidateConfigTest, RefusesEachBadFieldNamingIt) {
  ExpectEachRefused(BadFields());
}

TEST(ValidateConfigTest, RefusesBadAdagradAndInitFieldsOfTheRankingStages) {
  ExpectEachRefused(UncheckedRankingFields());
}

TEST(ValidateConfigTest, StageChecksApplyOnlyToEnabledStages) {
  TrainConfig config = Preset("default");
  config.rating.enabled = false;
  config.rating.epochs = 0;
  config.rating.model.biases = false;
  config.rating.model.dot = false;
  config.rating.model.mlp = false;
  config.reranker.enabled = false;
  config.reranker.folds = 0;
  config.validation_fraction = 0;
  EXPECT_OK(ValidateConfig(config));
  // Every version holds the neighbour table, reranker or not.
  config.reranker.item_neighbors = 0;
  EXPECT_TRUE(IsError(ValidateConfig(config),
                      absl::StatusCode::kInvalidArgument,
                      {"config field reranker.item_neighbors "}));
  config.reranker.item_neighbors = 50;
  // The bounds themselves are allowed.
  config = Preset("tfrs");
  config.threads = 1024;
  config.retrieval.model.embedding_dim = 4096;
  config.retrieval.model.init_scale = 0;
  config.retrieval.l2 = 0;
  config.validation_fraction = 0.999;
  config.rating.model.hidden = {1, 65536};
  EXPECT_OK(ValidateConfig(config));
}

TEST(MergeConfigJsonTest, AppliesANestedPatchAndNothingElse) {
  const TrainConfig before = Preset("default");
  TrainConfig config = before;
  ASSERT_OK(MergeConfigJson(R"({
      "seed": 7,
      "retrieval": {"model": {"embedding_dim": 8, "features": {"user_history": false}},
                    "l2": 0.5, "softmax": "sampled"},
      "rating": {"enabled": false, "model": {"hidden": [3, 2]}},
      "reranker": {"optimizer": {"learning_rate": 0.25}}
  })",
                            &config));
  EXPECT_EQ(config.seed, 7u);
  EXPECT_EQ(config.retrieval.model.embedding_dim, 8);
  EXPECT_FALSE(config.retrieval.model.features.user_history);
  EXPECT_EQ(config.retrieval.l2, 0.5f);
  EXPECT_EQ(config.retrieval.softmax, "sampled");
  EXPECT_FALSE(config.rating.enabled);
  EXPECT_EQ(config.rating.model.hidden, (std::vector<int>{3, 2}));
  EXPECT_EQ(config.reranker.optimizer.learning_rate, 0.25f);
  // Everything else is the preset's.
  TrainConfig expected = before;
  expected.seed = 7;
  expected.retrieval.model.embedding_dim = 8;
  expected.retrieval.model.features.user_history = false;
  expected.retrieval.l2 = 0.5f;
  expected.retrieval.softmax = "sampled";
  expected.rating.enabled = false;
  expected.rating.model.hidden = {3, 2};
  expected.reranker.optimizer.learning_rate = 0.25f;
  EXPECT_EQ(Json(config), Json(expected));
  // An empty patch changes nothing.
  ASSERT_OK(MergeConfigJson("{}", &config));
  EXPECT_EQ(Json(config), Json(expected));
}

// Every refusal leaves the config as it was.
void ExpectRefused(absl::string_view patch,
                   std::initializer_list<absl::string_view> parts) {
  const TrainConfig before = Preset("default");
  TrainConfig config = before;
  EXPECT_TRUE(IsError(MergeConfigJson(patch, &config),
                      absl::StatusCode::kInvalidArgument, parts))
      << "patch " << patch;
  EXPECT_EQ(Json(config), Json(before)) << "patch " << patch;
}

TEST(MergeConfigJsonTest, RefusesUnknownKeysNamingTheFullPath) {
  ExpectRefused(R"({"retrieval": {"model": {"embeding_dim": 8}}})",
                {"\"retrieval.model.embeding_dim\""});
  ExpectRefused(R"({"bogus": 1})", {"\"bogus\""});
  ExpectRefused(R"({"rating": {"optimizer": {"lr": 0.1}}})",
                {"\"rating.optimizer.lr\""});
  // A known key next to an unknown one: still refused, nothing applied.
  ExpectRefused(R"({"seed": 9, "reranker": {"enabled": true, "depth": 2}})",
                {"\"reranker.depth\""});
}

TEST(MergeConfigJsonTest, RefusesNonObjectsAndInvalidJson) {
  for (const absl::string_view patch : {"[1, 2]", "3", "\"seed\"", "null"}) {
    ExpectRefused(patch, {"must be a JSON object"});
  }
  for (const absl::string_view patch :
       {"", "{", "{\"seed\": }", "{'seed': 1}", "{\"seed\": 1} trailing"}) {
    ExpectRefused(patch, {"not valid JSON"});
  }
}

TEST(MergeConfigJsonTest, RefusesValuesOfTheWrongType) {
  ExpectRefused(R"({"retrieval": {"epochs": "three"}})", {"wrong type"});
  ExpectRefused(R"({"retrieval": {"softmax": 5}})", {"wrong type"});
  ExpectRefused(R"({"retrieval": {"model": 5}})", {"wrong type"});
  ExpectRefused(R"({"rating": {"model": {"hidden": 64}}})", {"wrong type"});
  ExpectRefused(R"({"rating": {"model": {"hidden": ["a"]}}})", {"wrong type"});
  ExpectRefused(R"({"reranker": {"enabled": "yes"}})", {"wrong type"});
  ExpectRefused(R"({"validation_fraction": [0.1]})", {"wrong type"});
}

// A number that is not an integer, a boolean, or a negative number given for
// an integer (or unsigned) field is of the wrong type too; nlohmann::json
// would otherwise convert it silently (2.5 epochs -> 2, true threads -> 1,
// seed -1 -> 2^64 - 1).
TEST(MergeConfigJsonTest, RefusesNumbersOfTheWrongKindForIntegerFields) {
  ExpectRefused(R"({"retrieval": {"epochs": 2.5}})", {"retrieval.epochs"});
  ExpectRefused(R"({"threads": true})", {"threads"});
  ExpectRefused(R"({"seed": -1})", {"seed"});
}

// A TrainConfig with a value other than the default in every field.
TrainConfig Unusual() {
  TrainConfig c;
  c.preset = "custom \"quoted\" \xC3\xA9";
  c.seed = 0xFEDCBA9876543210ull;  // above 2^63
  c.threads = 3;
  c.validation_fraction = 0.123456789012345;
  RetrievalTraining& r = c.retrieval;
  r.model.features = {false, true, true, false, true, true};
  r.model.embedding_dim = 17;
  r.model.movie_bias = true;
  r.model.init_scale = 0.0123f;
  r.softmax = "sampled";
  r.sampled_negatives = 77;
  r.members = 5;
  r.batch_size = 333;
  r.epochs = 9;
  r.optimizer = {0.0371f, 0.3f, 1e-8f};
  r.l2 = 1.0f / 3;
  r.patience = 4;
  r.block_rows = 64;
  RatingTraining& g = c.rating;
  g.enabled = false;
  g.model.features = {true, false, true, true, false, true};
  g.model.embedding_dim = 5;
  g.model.biases = true;
  g.model.dot = true;
  g.model.mlp = false;
  g.model.hidden = {7, 3, 1};
  g.model.init_scale = 0.7f;
  g.batch_size = 12;
  g.epochs = 13;
  g.optimizer = {0.2f, 0.4f, 1e-6f};
  g.l2 = 2e-5f;
  g.patience = 6;
  RerankerTraining& k = c.reranker;
  k.enabled = true;
  k.model.hidden = {9};
  k.list_size = 55;
  k.epochs = 11;
  k.batch_lists = 3;
  k.optimizer = {0.05f, 0.6f, 1e-5f};
  k.l2 = 0.001f;
  k.rating_weighted = true;
  k.folds = 7;
  return c;
}

TEST(ConfigJsonTest, RoundTripIsLossless) {
  for (const TrainConfig& config :
       {Preset("default"), Preset("tfrs"), Unusual(), TrainConfig{}}) {
    const std::string text = nlohmann::json(config).dump();
    ASSERT_OK_AND_ASSIGN(const TrainConfig read,
                         ParseConfigJson<TrainConfig>(text, "config"));
    EXPECT_EQ(nlohmann::json(read).dump(), text);
    // Field by field, for a few that could lose precision or range.
    EXPECT_EQ(read.seed, config.seed);
    EXPECT_EQ(read.validation_fraction, config.validation_fraction);
    EXPECT_EQ(read.retrieval.l2, config.retrieval.l2);
    EXPECT_EQ(read.retrieval.optimizer.learning_rate,
              config.retrieval.optimizer.learning_rate);
    EXPECT_EQ(read.rating.optimizer.epsilon, config.rating.optimizer.epsilon);
    EXPECT_EQ(read.rating.model.hidden, config.rating.model.hidden);
    EXPECT_EQ(read.preset, config.preset);
  }
}

TEST(ConfigJsonTest, MissingKeysKeepTheirDefaults) {
  ASSERT_OK_AND_ASSIGN(
      const TrainConfig read,
      ParseConfigJson<TrainConfig>(R"({"retrieval": {"epochs": 4}})", "c"));
  TrainConfig expected;
  expected.retrieval.epochs = 4;
  EXPECT_EQ(Json(read), Json(expected));
}

TEST(ConfigJsonTest, ParseRefusesNamingWhatWasParsed) {
  EXPECT_TRUE(
      IsError(ParseConfigJson<TrainConfig>("{\"seed\": \"x\"}", "bundle config")
                  .status(),
              absl::StatusCode::kInvalidArgument, {"bundle config"}));
  EXPECT_TRUE(IsError(
      ParseConfigJson<TrainConfig>("not json", "bundle config").status(),
      absl::StatusCode::kInvalidArgument, {"bundle config"}));
}

TEST(AdaptToScaleTest, MovieLensSizedDataKeepsThePreset) {
  for (const DataScale scale :
       {DataScale{80'000, 1'682}, DataScale{800'000, 3'706},
        DataScale{kLargeDataInteractions, 10'000}}) {
    TrainConfig config = Preset("default");
    EXPECT_TRUE(AdaptToScale(scale, &config).empty());
    EXPECT_EQ(nlohmann::json(config), nlohmann::json(Preset("default")));
  }
}

TEST(AdaptToScaleTest, ALargeCatalogueSamplesTheSoftmax) {
  TrainConfig config = Preset("default");
  const std::vector<std::string> changes =
      AdaptToScale({800'000, 10'001}, &config);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(changes[0], HasSubstr("retrieval.softmax = sampled"));
  EXPECT_EQ(config.retrieval.softmax, "sampled");
  EXPECT_EQ(config.retrieval.members, 1);
  EXPECT_THAT(changes[0], HasSubstr("retrieval.members = 1"));
  EXPECT_TRUE(config.refit);
  EXPECT_EQ(config.evaluation_users, 0);
  EXPECT_OK(ValidateConfig(config));
}

TEST(AdaptToScaleTest, LargeDataTrainsForItsBudget) {
  TrainConfig config = Preset("default");
  const std::vector<std::string> changes =
      AdaptToScale({20'000'076, 59'047}, &config);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_THAT(changes[1], HasSubstr("refit = false"));
  EXPECT_EQ(config.retrieval.softmax, "sampled");
  EXPECT_FALSE(config.refit);
  EXPECT_GT(config.validation_fraction, 0);
  EXPECT_GT(config.evaluation_users, 0);
  EXPECT_GT(config.retrieval.history_sample, 0);
  EXPECT_GT(config.rating.history_sample, 0);
  EXPECT_LE(config.retrieval.epochs, 3);
  EXPECT_LE(config.rating.epochs, 3);
  EXPECT_EQ(config.retrieval.members, 1);
  EXPECT_OK(ValidateConfig(config));
  // --config is merged afterwards and can undo any of it.
  ASSERT_OK(
      MergeConfigJson(R"({"refit": true, "evaluation_users": 0})", &config));
  EXPECT_TRUE(config.refit);
  EXPECT_EQ(config.evaluation_users, 0);
}

TEST(AdaptToScaleTest, TheTfrsReplicaIsNeverChanged) {
  TrainConfig config = Preset("tfrs");
  EXPECT_TRUE(AdaptToScale({20'000'076, 59'047}, &config).empty());
  EXPECT_EQ(nlohmann::json(config), nlohmann::json(Preset("tfrs")));
}

}  // namespace
}  // namespace movierec
