// Tests of the reranker (model/reranker.h) and its training
// (train/ranking_trainer.h): the listwise loss and its gradient, scoring with
// standardisation, the ToProto/FromProto round trip and its refusals,
// TrainReranker on lists where one feature gives the positives away, and
// BuildRerankLists' labels.
#include "model/reranker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/scorer.h"
#include "tests/test_util.h"
#include "train/evaluator.h"
#include "train/ranking_trainer.h"

namespace movierec {
namespace {

using ::movierec::test::CentralDifference;
using ::movierec::test::GradientNear;
using ::movierec::test::IsError;
using ::movierec::test::MakeRandomModel;
using ::movierec::test::RandomizeBiases;
using ::movierec::test::RandomMatrix;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

Vector MakeVector(std::initializer_list<float> values) {
  Vector v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (const float x : values) v(i++) = x;
  return v;
}

// -sum_j g_j log softmax(s)_j / sum_j g_j, in double.
double ExpectedListwiseLoss(const Vector& scores,
                            const std::vector<float>& gains) {
  const double max = scores.maxCoeff();
  double sum = 0;
  for (Eigen::Index j = 0; j < scores.size(); ++j) {
    sum += std::exp(scores(j) - max);
  }
  const double log_sum = std::log(sum) + max;
  double total = 0, loss = 0;
  for (const float g : gains) total += g;
  for (Eigen::Index j = 0; j < scores.size(); ++j) {
    loss -= gains[j] * (scores(j) - log_sum) / total;
  }
  return loss;
}

struct ListwiseCase {
  Vector scores;
  std::vector<float> gains;
};

TEST(ListwiseLossTest, ValueAndGradientMatchTheDefinition) {
  const std::vector<ListwiseCase> cases = {
      // One positive.
      {MakeVector({0.5f, -1, 2, 0.3f}), {1, 0, 0, 0}},
      // Several positives of unequal gains (star ratings).
      {MakeVector({0.2f, 1.5f, -0.7f, 0.9f, 0}), {0, 2, 0, 5, 1}},
      // Every candidate a positive.
      {MakeVector({1, -1, 0.5f}), {1, 1, 3}},
      // Large scores: the loss must not overflow.
      {MakeVector({1000, 999, 998}), {0, 1, 0}},
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(testing::Message() << "case " << c);
    Vector scores = cases[c].scores;
    const std::vector<float>& gains = cases[c].gains;
    Vector d_scores;
    const double loss = ListwiseLoss(scores, gains, &d_scores);
    ASSERT_TRUE(std::isfinite(loss));
    EXPECT_NEAR(loss, ExpectedListwiseLoss(scores, gains), 1e-5);
    ASSERT_EQ(d_scores.size(), scores.size());
    // softmax - g / sum(g): the gradient sums to zero.
    EXPECT_NEAR(d_scores.sum(), 0, 1e-6);
    if (scores.maxCoeff() > 100) continue;  // float steps are too coarse
    for (Eigen::Index j = 0; j < scores.size(); ++j) {
      Vector ignored;
      const double numeric = CentralDifference(
          [&] { return ListwiseLoss(scores, gains, &ignored); }, &scores(j));
      EXPECT_TRUE(GradientNear(d_scores(j), numeric)) << "score " << j;
    }
  }
}

TEST(ListwiseLossTest, IsLowestWhenThePositivesLead) {
  const std::vector<float> gains = {0, 1, 0};
  Vector d;
  const double good = ListwiseLoss(MakeVector({0, 5, 0}), gains, &d);
  const double bad = ListwiseLoss(MakeVector({5, 0, 0}), gains, &d);
  EXPECT_LT(good, bad);
  EXPECT_GT(good, 0);
  // Shifting every score by a constant changes nothing.
  EXPECT_NEAR(ListwiseLoss(MakeVector({3, 8, 3}), gains, &d), good, 1e-6);
}

// The features' mean and scale of a linear reranker, and a raw row.
TEST(RerankerTest, ScoreStandardisesThenAppliesTheModel) {
  Reranker reranker(RerankerConfig{});
  ASSERT_EQ(reranker.mlp().widths(), (std::vector<int>{kNumRerankFeatures, 1}));
  Rng rng(2);
  const RowMatrix kernel = RandomMatrix(kNumRerankFeatures, 1, 1.0f, rng);
  reranker.mlp().mutable_layers()[0].kernel = kernel;
  reranker.mlp().mutable_layers()[0].bias(0) = 0.25f;
  RowVector mean(kNumRerankFeatures), scale(kNumRerankFeatures);
  for (int i = 0; i < kNumRerankFeatures; ++i) {
    mean(i) = rng.UniformFloat(-1, 1);
    scale(i) = rng.UniformFloat(0.5f, 3);
  }
  // A constant feature (scale 0) is only centred.
  scale(kLogUserActivity) = 0;
  reranker.SetStandardization(mean, scale);
  const RowMatrix raw = RandomMatrix(4, kNumRerankFeatures, 2.0f, rng);

  const RowMatrix standardized = reranker.Standardize(raw);
  Vector scores;
  reranker.Score(raw, &scores);
  ASSERT_EQ(scores.size(), 4);
  for (int r = 0; r < 4; ++r) {
    double expected = 0.25;
    for (int i = 0; i < kNumRerankFeatures; ++i) {
      const double z =
          i == kLogUserActivity
              ? raw(r, i) - mean(i)
              : (raw(r, i) - mean(i)) / static_cast<double>(scale(i));
      EXPECT_NEAR(standardized(r, i), z, 1e-5) << r << ", " << i;
      expected += z * kernel(i, 0);
    }
    EXPECT_NEAR(scores(r), expected, 1e-4) << "row " << r;
  }
}

class RerankerProtoTest : public ::testing::Test {
 protected:
  RerankerProtoTest() : reranker_(Config()) {
    Rng rng(4);
    reranker_.InitRandom(rng);
    RandomizeBiases(&reranker_.mlp(), 0.3f, rng);
    RowVector mean(kNumRerankFeatures), scale(kNumRerankFeatures);
    for (int i = 0; i < kNumRerankFeatures; ++i) {
      mean(i) = rng.UniformFloat(-1, 1);
      scale(i) = rng.UniformFloat(0.5f, 2);
    }
    reranker_.SetStandardization(mean, scale);
    proto_ = reranker_.ToProto();
  }

  static RerankerConfig Config() {
    RerankerConfig config;
    config.hidden = {5};
    return config;
  }

  absl::Status Read(const model::v1::ParameterSet& proto) {
    return Reranker::FromProto(proto).status();
  }

  Reranker reranker_;
  model::v1::ParameterSet proto_;
};

TEST_F(RerankerProtoTest, RoundTripScoresIdentically) {
  EXPECT_EQ(proto_.kind(), Reranker::kKind);
  // The standardisation and the MLP's two layers.
  EXPECT_EQ(proto_.tensors_size(), 2 + 4);
  ASSERT_OK_AND_ASSIGN(const Reranker read, Reranker::FromProto(proto_));
  EXPECT_EQ(read.config().hidden, std::vector<int>{5});
  Rng rng(8);
  const RowMatrix raw = RandomMatrix(7, kNumRerankFeatures, 2.0f, rng);
  Vector a, b;
  reranker_.Score(raw, &a);
  read.Score(raw, &b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(read.Standardize(raw), reranker_.Standardize(raw));

  // The default (linear) reranker too.
  Reranker linear(RerankerConfig{});
  linear.InitRandom(rng);
  ASSERT_OK_AND_ASSIGN(const Reranker linear_read,
                       Reranker::FromProto(linear.ToProto()));
  EXPECT_TRUE(linear_read.config().hidden.empty());
  linear.Score(raw, &a);
  linear_read.Score(raw, &b);
  EXPECT_EQ(a, b);
}

// A reranker saved before the candidate sources reads the first
// kNumRerankFeaturesBeforeSources features: it loads as such and scores the
// current feature rows on those columns alone.
TEST_F(RerankerProtoTest, AReRankerFromBeforeTheSourcesReadsItsFeaturesOnly) {
  Rng rng(9);
  Reranker old(RerankerConfig{}, kNumRerankFeaturesBeforeSources);
  old.InitRandom(rng);
  ASSERT_OK_AND_ASSIGN(const Reranker read, Reranker::FromProto(old.ToProto()));
  EXPECT_EQ(read.inputs(), kNumRerankFeaturesBeforeSources);
  EXPECT_EQ(reranker_.inputs(), kNumRerankFeatures);
  RowMatrix raw = RandomMatrix(6, kNumRerankFeatures, 2.0f, rng);
  Vector before, after;
  read.Score(raw, &before);
  raw.rightCols(kNumRerankFeatures - kNumRerankFeaturesBeforeSources)
      .setConstant(100);
  read.Score(raw, &after);
  EXPECT_EQ(before, after);
  Vector original;
  old.Score(raw, &original);
  EXPECT_EQ(after, original);
  // Any other width is refused.
  model::v1::ParameterSet proto = old.ToProto();
  (*proto.mutable_tensors())["feature_mean"].set_shape(0, 5);
  EXPECT_FALSE(Reranker::FromProto(proto).ok());
}

TEST_F(RerankerProtoTest, RefusesAnotherKind) {
  model::v1::ParameterSet proto = proto_;
  proto.set_kind("rating_towers_mlp_v1");
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"rating_towers_mlp_v1", Reranker::kKind}));
}

// The lambdamart kind: trees scored as TreeEnsemble scores them, through
// the disk form, and a kind that disagrees with its config or carries the
// other kind's parameters refused.
TEST(RerankerTreesTest, ScoresWithItsTreesAndChecksItsKind) {
  TreeEnsemble::Tree stump;
  stump.left = {1, -1, -1};
  stump.right = {2, -1, -1};
  stump.feature = {kItemSourceZ, 0, 0};
  stump.value = {0.0f, -1.0f, 1.0f};
  ASSERT_OK_AND_ASSIGN(
      TreeEnsemble trees,
      TreeEnsemble::FromTrees({stump}, 0.5f, kNumRerankFeatures));
  RerankerConfig config;
  config.kind = kLambdaMartReranker;
  Reranker reranker(config);
  reranker.set_trees(trees);
  RowMatrix raw = RowMatrix::Zero(2, kNumRerankFeatures);
  raw(0, kItemSourceZ) = -2;
  raw(1, kItemSourceZ) = 3;
  ASSERT_OK_AND_ASSIGN(const Reranker read,
                       Reranker::FromProto(reranker.ToProto()));
  EXPECT_TRUE(read.is_trees());
  Vector scores;
  read.Score(raw, &scores);
  ASSERT_EQ(scores.size(), 2);
  EXPECT_FLOAT_EQ(scores(0), -0.5f);
  EXPECT_FLOAT_EQ(scores(1), 1.5f);

  model::v1::ParameterSet proto = reranker.ToProto();
  EXPECT_EQ(proto.kind(), Reranker::kTreesKind);
  proto.set_config_json(R"({"kind": "listwise"})");
  EXPECT_TRUE(IsError(Reranker::FromProto(proto).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"configured as \"listwise\""}));
  proto = reranker.ToProto();
  proto.mutable_trees()->set_inputs(kNumRerankFeatures + 1);
  EXPECT_TRUE(IsError(Reranker::FromProto(proto).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"reranker trees", "features"}));
  proto = reranker.ToProto();
  proto.mutable_trees()->set_left(0, 0);
  EXPECT_TRUE(IsError(Reranker::FromProto(proto).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"reranker trees", "tree 0 node 0"}));
  proto = reranker.ToProto();
  (*proto.mutable_tensors())["feature_mean"];
  EXPECT_TRUE(IsError(Reranker::FromProto(proto).status(),
                      absl::StatusCode::kInvalidArgument, {"tensors"}));
  // A listwise reranker carrying trees.
  Reranker listwise{RerankerConfig{}};
  proto = listwise.ToProto();
  reranker.trees().ToProto(proto.mutable_trees());
  EXPECT_TRUE(IsError(Reranker::FromProto(proto).status(),
                      absl::StatusCode::kInvalidArgument, {"with trees"}));
}

TEST_F(RerankerProtoTest, RefusesABadConfig) {
  model::v1::ParameterSet proto = proto_;
  proto.set_config_json("{\"hidden\": ");
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"reranker config"}));
  proto.set_config_json("{\"hidden\": \"wide\"}");
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"reranker config"}));
  proto.set_config_json("{\"hidden\": [0]}");
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"hidden width 0"}));
  // A config whose widths disagree with the stored tensors.
  proto.set_config_json("{\"hidden\": [6]}");
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"mlp/0/kernel"}));
}

TEST_F(RerankerProtoTest, RefusesMissingOrMisshapenTensorsNamingThem) {
  for (const std::string name :
       {"feature_mean", "feature_inv_scale", "mlp/0/kernel", "mlp/1/bias"}) {
    model::v1::ParameterSet proto = proto_;
    proto.mutable_tensors()->erase(name);
    EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                        {name, "missing"}));
  }
  model::v1::ParameterSet proto = proto_;
  (*proto.mutable_tensors())["feature_inv_scale"]
      .mutable_values()
      ->RemoveLast();
  (*proto.mutable_tensors())["feature_inv_scale"].set_shape(
      0, kNumRerankFeatures - 1);
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"feature_inv_scale"}));
  proto = proto_;
  (*proto.mutable_tensors())["feature_mean"].set_values(
      2, std::numeric_limits<float>::infinity());
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"feature_mean"}));
}

TEST_F(RerankerProtoTest, RefusesAnExtraTensor) {
  model::v1::ParameterSet proto = proto_;
  (*proto.mutable_tensors())["mlp/2/kernel"] = proto.tensors().at("mlp/1/bias");
  EXPECT_TRUE(IsError(Read(proto), absl::StatusCode::kInvalidArgument,
                      {"7 tensors", "expected 6"}));
}

// NDCG@10 of lists re-sorted by `score` (positives: gain > 0), as the
// trainer measures it.
double MeanNdcg(const std::vector<RerankList>& lists,
                const std::function<Vector(const RerankList&)>& score) {
  double total = 0;
  for (const RerankList& list : lists) {
    const Vector scores = score(list);
    std::vector<int32_t> order(list.gains.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return scores(a) > scores(b);
    });
    order.resize(std::min<size_t>(order.size(), 10));
    std::vector<int32_t> relevant;
    for (size_t i = 0; i < list.gains.size(); ++i) {
      if (list.gains[i] > 0) relevant.push_back(static_cast<int32_t>(i));
    }
    total += UserListMetrics(order, relevant).ndcg_at_10;
  }
  return total / static_cast<double>(lists.size());
}

// Lists of 20 candidates in retrieval order with two positives each at
// random places; every feature is noise except kItemClosest, which is 1 for
// the positives and 0 for the others.
std::vector<RerankList> GiveawayLists(int count, uint64_t seed) {
  Rng rng(seed);
  std::vector<RerankList> lists;
  for (int l = 0; l < count; ++l) {
    RerankList list;
    list.user = l;
    list.features = RandomMatrix(20, kNumRerankFeatures, 1.0f, rng);
    list.gains.assign(20, 0.0f);
    const auto first = static_cast<int>(rng.Uniform(20));
    auto second = static_cast<int>(rng.Uniform(19));
    if (second >= first) ++second;
    list.gains[first] = 1;
    list.gains[second] = 1;
    for (int i = 0; i < 20; ++i) {
      list.features(i, kLogRank) = std::log1p(static_cast<float>(i));
      list.features(i, kItemClosest) = list.gains[i] > 0 ? 1.0f : 0.0f;
    }
    lists.push_back(std::move(list));
  }
  return lists;
}

RerankerTraining SmallRerankerTraining() {
  RerankerTraining config;
  config.enabled = true;
  config.epochs = 20;
  config.batch_lists = 8;
  config.folds = 4;
  return config;
}

TEST(TrainRerankerTest, LearnsTheFeatureThatGivesThePositivesAway) {
  const std::vector<RerankList> lists = GiveawayLists(80, 3);
  const RerankerTraining config = SmallRerankerTraining();
  Reranker reranker(config.model);
  Rng init(5);
  reranker.InitRandom(init);
  Progress silent = Progress::Silent();
  const StageTrainingResult result =
      TrainReranker(config, lists, 11, &reranker, &silent);

  // The reference is the retrieval order.
  const double reference =
      MeanNdcg(lists, [](const RerankList& list) -> Vector {
        return -list.features.col(kLogRank);
      });
  EXPECT_NEAR(result.reference_validation, reference, 1e-9);
  EXPECT_LT(reference, 0.8);
  EXPECT_GT(result.best_validation, result.reference_validation);
  EXPECT_GT(result.best_validation, 0.95);
  // The final model trained for the chosen number of epochs.
  EXPECT_GE(result.best_epochs, 1);
  EXPECT_LE(result.best_epochs, config.epochs);
  EXPECT_EQ(static_cast<int>(result.epochs.size()), result.best_epochs);

  const double trained = MeanNdcg(lists, [&](const RerankList& list) {
    Vector scores;
    reranker.Score(list.features, &scores);
    return scores;
  });
  EXPECT_GT(trained, 0.99);
  // The learned weight of the give-away feature dominates.
  const RowMatrix& kernel = reranker.mlp().layers()[0].kernel;
  Eigen::Index strongest = 0;
  kernel.col(0).cwiseAbs().maxCoeff(&strongest);
  EXPECT_EQ(strongest, kItemClosest);
  EXPECT_GT(kernel(kItemClosest, 0), 0);
}

TEST(TrainRerankerTest, StandardisesWithTheListsStatisticsAndIsDeterministic) {
  const std::vector<RerankList> lists = GiveawayLists(40, 6);
  RerankerTraining config = SmallRerankerTraining();
  config.model.hidden = {4};
  config.epochs = 5;
  Progress silent = Progress::Silent();
  Reranker a(config.model), b(config.model);
  Rng init_a(5), init_b(5);
  a.InitRandom(init_a);
  b.InitRandom(init_b);
  TrainReranker(config, lists, 11, &a, &silent);
  TrainReranker(config, lists, 11, &b, &silent);

  RowMatrix all(40 * 20, kNumRerankFeatures);
  for (size_t l = 0; l < lists.size(); ++l) {
    all.middleRows(static_cast<Eigen::Index>(l) * 20, 20) = lists[l].features;
  }
  const RowMatrix z = a.Standardize(all);
  for (int i = 0; i < kNumRerankFeatures; ++i) {
    const double mean = z.col(i).cast<double>().mean();
    const double sd =
        std::sqrt((z.col(i).cast<double>().array() - mean).square().mean());
    EXPECT_NEAR(mean, 0, 1e-4) << "feature " << i;
    EXPECT_NEAR(sd, 1, 1e-3) << "feature " << i;
  }
  Vector sa, sb;
  a.Score(all, &sa);
  b.Score(all, &sb);
  EXPECT_EQ(sa, sb);
}

// A random retrieval model over a small catalogue and its scorer.
class BuildRerankListsTest : public ::testing::Test {
 protected:
  BuildRerankListsTest()
      : model_(std::make_shared<const Model>(MakeRandomModel(
            SmallMovieLens(/*num_users=*/6, /*num_movies=*/30, /*per_user=*/5),
            SmallRetrievalConfig(false), 7))),
        scorer_(model_) {}

  // The row at `position` of the user's retrieval order (unseen movies).
  int32_t At(int user, int position) const {
    return scorer_.Retrieve(user, model_->num_movies())[position].movie;
  }

  std::shared_ptr<const Model> model_;
  Scorer scorer_;
};

TEST_F(BuildRerankListsTest, LabelsExactlyTheHeldOutCandidates) {
  constexpr int kListSize = 5;
  const std::vector<Interaction> held_out = {
      // User 0: two held-out movies among its first five, one beyond.
      {0, At(0, 1), 4},
      {0, At(0, 3), 2},
      {0, At(0, 12), 5},
      // User 1: only beyond the list: skipped.
      {1, At(1, 7), 5},
      // User 2: only a movie it saw in training, never a candidate: skipped.
      {2, model_->seen.Of(2)[0], 3},
      // User 3: its first candidate.
      {3, At(3, 0), 5},
      // Users 4 and 5 have nothing held out: skipped.
  };
  for (const bool weighted : {false, true}) {
    SCOPED_TRACE(weighted ? "rating weighted" : "binary");
    const std::vector<RerankList> lists =
        BuildRerankLists(scorer_, held_out, kListSize, weighted);
    ASSERT_EQ(lists.size(), 2u);
    EXPECT_EQ(lists[0].user, 0);
    EXPECT_EQ(lists[1].user, 3);
    const std::vector<float> expected_0 =
        weighted ? std::vector<float>{0, 4, 0, 2, 0}
                 : std::vector<float>{0, 1, 0, 1, 0};
    const std::vector<float> expected_3 =
        weighted ? std::vector<float>{5, 0, 0, 0, 0}
                 : std::vector<float>{1, 0, 0, 0, 0};
    EXPECT_EQ(lists[0].gains, expected_0);
    EXPECT_EQ(lists[1].gains, expected_3);
    // The features are the scorer's for the same candidates in the same
    // order.
    for (const RerankList& list : lists) {
      const UserContext context = scorer_.ForUser(list.user);
      const CandidateSet candidates =
          scorer_.RetrieveCandidates(context, context.history, kListSize);
      RowMatrix features;
      scorer_.CandidateFeatures(context, candidates, &features);
      EXPECT_EQ(list.features, features) << "user " << list.user;
    }
  }
}

// A visitor's list is the server's for their movies: candidates of
// ForVisitor(recent), only those movies left out, and its features; labelled
// by the same held-out movies. Users who give nothing are skipped.
TEST_F(BuildRerankListsTest, VisitorListsAreTheServersForTheMoviesGiven) {
  constexpr int kListSize = 12;
  std::vector<Interaction> held_out;
  std::vector<std::vector<int32_t>> recent(
      static_cast<size_t>(model_->num_users()));
  for (int user = 0; user < model_->num_users(); ++user) {
    const absl::Span<const int32_t> seen = model_->seen.Of(user);
    // Two of the user's movies, unsorted: the rest of their history may be
    // proposed, as it is to a visitor.
    if (user != 2) recent[user] = {seen[1], seen[0]};
    // Positives the visitor's candidates hold: its first and third.
    const CandidateSet set = scorer_.RetrieveCandidates(
        scorer_.ForVisitor(recent[user]),
        scorer_.ForVisitor(recent[user]).history, kListSize);
    held_out.push_back({user, set.movies[0].row, 5, 0});
    held_out.push_back({user, set.movies[2].row, 3, 0});
  }
  const std::vector<RerankList> lists =
      BuildVisitorRerankLists(scorer_, held_out, recent, kListSize, false);
  ASSERT_EQ(lists.size(), static_cast<size_t>(model_->num_users() - 1));
  for (const RerankList& list : lists) {
    SCOPED_TRACE(testing::Message() << "user " << list.user);
    EXPECT_NE(list.user, 2);
    const UserContext visitor = scorer_.ForVisitor(recent[list.user]);
    const CandidateSet set =
        scorer_.RetrieveCandidates(visitor, visitor.history, kListSize);
    RowMatrix features;
    scorer_.CandidateFeatures(visitor, set, &features);
    EXPECT_EQ(list.features, features);
    ASSERT_EQ(list.gains.size(), set.size());
    for (size_t i = 0; i < set.size(); ++i) {
      EXPECT_EQ(list.gains[i], (i == 0 || i == 2) ? 1.0f : 0.0f) << i;
    }
    // Not the user's own list: a visitor knows two movies.
    RowMatrix as_user;
    const UserContext known = scorer_.ForUser(list.user);
    scorer_.CandidateFeatures(
        known, scorer_.RetrieveCandidates(known, known.history, kListSize),
        &as_user);
    EXPECT_NE(list.features, as_user);
  }
}

TEST_F(BuildRerankListsTest, NothingHeldOutGivesNoLists) {
  EXPECT_TRUE(BuildRerankLists(scorer_, {}, 10, false).empty());
}

}  // namespace
}  // namespace movierec
