// Tests of the retrieval trainer (train/retrieval_trainer.h): the gradients
// AccumulateBatchGradients accumulates into every embedding table, checked
// against central finite differences of the loss it returns, for the three
// softmax kinds with and without the extra features; the loss itself; the
// negative sampler; and deterministic training.
#include "train/retrieval_trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/dataset.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::AllTables;
using ::movierec::test::Gradients;
using ::movierec::test::NamedTable;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

constexpr float kEps = 1e-3f;
constexpr double kRelTol = 1e-2;
constexpr double kAbsTol = 2e-3;
constexpr uint64_t kSamplerSeed = 99;

// A small model and training batch for one softmax kind.
class BatchFixture {
 public:
  BatchFixture(const std::string& softmax, bool all_features, float l2)
      : data_(SmallMovieLens(/*num_users=*/6, /*num_movies=*/9,
                             /*per_user=*/4, /*seed=*/2)) {
    config_.model = SmallRetrievalConfig(all_features);
    config_.softmax = softmax;
    config_.l2 = l2;
    config_.sampled_negatives = 5;
    config_.block_rows = 2;
    absl::StatusOr<std::vector<Interaction>> train =
        ToInteractions(data_.ratings, KnownIds::Of(data_));
    EXPECT_TRUE(train.ok()) << train.status();
    train_ = std::move(train).value_or(std::vector<Interaction>{});
    history_ = UserMovies(static_cast<int>(data_.users.size()), train_);
    sampler_ = std::make_unique<NegativeSampler>(
        static_cast<int>(data_.movies.size()), train_);
    model_ = std::make_unique<RetrievalModel>(config_.model, data_);
    Rng init(3);
    model_->InitRandom(init);
    // Biases start at zero; give them values so that their gradient is
    // checked away from zero as well.
    if (config_.model.movie_bias) {
      for (EmbeddingTable& table : model_->movie_tower().tables()) {
        for (int r = 0; r < table.rows(); ++r) {
          table.mutable_weights()(r, table.dim() - 1) =
              init.UniformFloat(-0.5f, 0.5f);
        }
      }
    }
    // Six examples: a repeated movie (a duplicate in-batch candidate) and a
    // repeated user.
    if (train_.size() < 9) return;
    batch_.assign(train_.begin(), train_.begin() + 5);
    Interaction repeat = train_[0];
    repeat.user = train_[8].user;
    batch_.push_back(repeat);
  }

  // The loss of the batch, with the tables' gradients cleared first (unless
  // `clear` is false); the sampled negatives are the same on every call.
  double Evaluate(bool clear = true) {
    if (clear) {
      for (const NamedTable& t : AllTables(model_.get())) {
        t.table->ClearGradients();
      }
    }
    Rng rng(kSamplerSeed);
    double flops = 0;
    const double loss =
        AccumulateBatchGradients(config_, batch_, history_, sampler_.get(), rng,
                                 model_.get(), &work_, &flops);
    EXPECT_GT(flops, 0);
    return loss;
  }

  RetrievalModel& model() { return *model_; }
  const std::vector<Interaction>& batch() const { return batch_; }
  RetrievalTraining& config() { return config_; }

 private:
  MovieLens data_;
  RetrievalTraining config_;
  std::vector<Interaction> train_;
  UserMovies history_;
  std::unique_ptr<NegativeSampler> sampler_;
  std::unique_ptr<RetrievalModel> model_;
  std::vector<Interaction> batch_;
  BatchWorkspace work_;
};

struct GradientCase {
  std::string softmax;
  bool all_features;
};

class RetrievalGradientTest : public ::testing::TestWithParam<GradientCase> {};

TEST_P(RetrievalGradientTest, TableGradientsMatchFiniteDifferences) {
  BatchFixture f(GetParam().softmax, GetParam().all_features, /*l2=*/0.05f);
  const double loss = f.Evaluate();
  ASSERT_TRUE(std::isfinite(loss));
  std::vector<RowMatrix> analytic;
  for (const NamedTable& t : AllTables(&f.model())) {
    analytic.push_back(Gradients(*t.table));
  }
  // The configured features are all there.
  EXPECT_EQ(analytic.size(), GetParam().all_features ? 8u : 2u);

  const std::vector<NamedTable> tables = AllTables(&f.model());
  int nonzero = 0;
  for (size_t t = 0; t < tables.size(); ++t) {
    RowMatrix& weights = tables[t].table->mutable_weights();
    for (Eigen::Index r = 0; r < weights.rows(); ++r) {
      for (Eigen::Index k = 0; k < weights.cols(); ++k) {
        const float saved = weights(r, k);
        weights(r, k) = saved + kEps;
        const double up = f.Evaluate();
        weights(r, k) = saved - kEps;
        const double down = f.Evaluate();
        weights(r, k) = saved;
        const double numeric = (up - down) / (2.0 * kEps);
        const double a = analytic[t](r, k);
        nonzero += a != 0;
        EXPECT_NEAR(
            a, numeric,
            kAbsTol + kRelTol * std::max(std::abs(a), std::abs(numeric)))
            << tables[t].name << " row " << r << " column " << k;
      }
    }
  }
  EXPECT_GT(nonzero, 20);
}

INSTANTIATE_TEST_SUITE_P(
    SoftmaxKinds, RetrievalGradientTest,
    ::testing::Values(GradientCase{"in_batch", false},
                      GradientCase{"in_batch", true},
                      GradientCase{"full", false}, GradientCase{"full", true},
                      GradientCase{"sampled", false},
                      GradientCase{"sampled", true}),
    [](const ::testing::TestParamInfo<GradientCase>& info) {
      return absl::StrCat(info.param.softmax, info.param.all_features
                                                  ? "_all_features"
                                                  : "_ids_only");
    });

// With ids only, queries are user rows and candidates movie rows: the loss
// of a full softmax and its L2 penalty can be written down directly.
TEST(AccumulateBatchGradientsTest, FullSoftmaxLossAndPenalty) {
  BatchFixture f("full", /*all_features=*/false, /*l2=*/0);
  const RowMatrix& users = f.model().user_tower().tables()[0].weights();
  const RowMatrix& movies = f.model().movie_tower().tables()[0].weights();
  double expected = 0;
  double squares = 0;
  for (const Interaction& x : f.batch()) {
    const Eigen::VectorXd logits =
        (movies.cast<double>() * users.row(x.user).cast<double>().transpose());
    const double max = logits.maxCoeff();
    expected +=
        std::log((logits.array() - max).exp().sum()) + max - logits(x.movie);
    squares += users.row(x.user).cast<double>().squaredNorm() +
               movies.row(x.movie).cast<double>().squaredNorm();
  }
  const double loss = f.Evaluate();
  EXPECT_NEAR(loss, expected, 1e-5 * expected);
  f.config().l2 = 0.1f;
  EXPECT_NEAR(f.Evaluate() - loss, 0.1 * squares, 1e-5 * squares);
}

TEST(AccumulateBatchGradientsTest, GradientsAccumulateUntilCleared) {
  BatchFixture f("sampled", /*all_features=*/true, /*l2=*/0.01f);
  const double loss = f.Evaluate();
  std::vector<RowMatrix> once;
  for (const NamedTable& t : AllTables(&f.model())) {
    once.push_back(Gradients(*t.table));
  }
  // A second call without clearing adds the same gradient again.
  EXPECT_EQ(f.Evaluate(/*clear=*/false), loss);
  const std::vector<NamedTable> tables = AllTables(&f.model());
  for (size_t t = 0; t < tables.size(); ++t) {
    EXPECT_LT((Gradients(*tables[t].table) - 2 * once[t]).cwiseAbs().maxCoeff(),
              1e-5)
        << tables[t].name;
  }
  // Clearing, then one call, gives the first gradient back exactly.
  f.Evaluate();
  for (size_t t = 0; t < tables.size(); ++t) {
    EXPECT_EQ(Gradients(*tables[t].table), once[t]) << tables[t].name;
  }
}

TEST(NegativeSamplerTest, ExpectedCountsFollowTheDefinition) {
  // Movie 0 has three training ratings, movie 1 one, movie 2 none.
  const std::vector<Interaction> train = {{0, 0}, {1, 0}, {2, 0}, {0, 1}};
  const NegativeSampler sampler(3, train);
  const double w[] = {std::pow(4.0, 0.75), std::pow(2.0, 0.75), 1.0};
  const double total = w[0] + w[1] + w[2];
  const double data_p[] = {0.75, 0.25, 0};
  for (int m = 0; m < 3; ++m) {
    const double expected = 10 * data_p[m] + 5 * w[m] / total;
    EXPECT_NEAR(sampler.LogExpectedCount(m, 10, 5), std::log(expected), 1e-5)
        << "movie " << m;
  }
}

TEST(NegativeSamplerTest, SamplesByPopularity) {
  const std::vector<Interaction> train = {{0, 0}, {1, 0}, {2, 0}, {0, 1}};
  const NegativeSampler sampler(3, train);
  Rng rng(1);
  std::vector<int> counts(3, 0);
  constexpr int kDraws = 30000;
  for (int i = 0; i < kDraws; ++i) {
    const int32_t m = sampler.Sample(rng);
    ASSERT_GE(m, 0);
    ASSERT_LT(m, 3);
    ++counts[m];
  }
  const double w[] = {std::pow(4.0, 0.75), std::pow(2.0, 0.75), 1.0};
  const double total = w[0] + w[1] + w[2];
  for (int m = 0; m < 3; ++m) {
    EXPECT_NEAR(counts[m] / static_cast<double>(kDraws), w[m] / total, 0.015)
        << "movie " << m;
  }
}

struct Trained {
  std::unique_ptr<RetrievalModel> model;
  StageTrainingResult result;
};

// Four epochs of training on `data`'s ratings.
Trained TrainSmall(const MovieLens& data, const std::string& softmax,
                   uint64_t seed) {
  RetrievalTraining config;
  config.model = SmallRetrievalConfig(/*all_features=*/true);
  config.model.init_scale = 0.05f;
  config.softmax = softmax;
  config.sampled_negatives = 8;
  config.batch_size = 32;
  config.epochs = 4;
  config.l2 = 1e-3f;
  absl::StatusOr<std::vector<Interaction>> train =
      ToInteractions(data.ratings, KnownIds::Of(data));
  EXPECT_TRUE(train.ok()) << train.status();
  Trained trained;
  trained.model = std::make_unique<RetrievalModel>(config.model, data);
  Rng init(7);
  trained.model->InitRandom(init);
  Progress silent = Progress::Silent();
  trained.result = TrainRetrieval(config, *train, /*validation=*/nullptr, seed,
                                  trained.model.get(), &silent);
  return trained;
}

TEST(TrainRetrievalTest, LowersTheLossAndIsDeterministic) {
  const MovieLens data = SmallMovieLens(30, 40, 12, 4);
  for (const std::string softmax : {"in_batch", "full", "sampled"}) {
    const Trained a = TrainSmall(data, softmax, 5);
    const Trained b = TrainSmall(data, softmax, 5);
    ASSERT_EQ(a.result.epochs.size(), 4u) << softmax;
    EXPECT_LT(a.result.epochs.back().loss, a.result.epochs.front().loss)
        << softmax;
    EXPECT_EQ(a.model->MovieVectors(), b.model->MovieVectors()) << softmax;
    const UserMovies history(a.model->num_users(), {});
    EXPECT_EQ(a.model->UserVectors(history), b.model->UserVectors(history))
        << softmax;
  }
}

// SampledUserBag: the whole bag when the history is short enough; otherwise
// the user's other entries and exactly `sample` history movies, never the
// excluded one, weighted so that each movie's expected weight is UserBag's.
bool SameEntry(const BagEntry& a, const BagEntry& b) {
  return a.table == b.table && a.row == b.row && a.weight == b.weight;
}

bool SameBag(const Bag& a, const Bag& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), SameEntry);
}

TEST(SampledUserBagTest, ShortHistoriesAreWholeLongOnesUnbiasedSamples) {
  const MovieLens data = SmallMovieLens(4, 30, 20, 3);
  const Featurizer featurizer(
      SmallRetrievalConfig(/*all_features=*/true).features, data);
  std::vector<int32_t> history(20);
  for (int i = 0; i < 20; ++i) history[i] = i;
  Rng rng(11);
  Bag whole, sampled;
  featurizer.UserBag(1, history, /*exclude=*/4, &whole);
  featurizer.SampledUserBag(1, history, 4, /*sample=*/19, rng, &sampled);
  EXPECT_TRUE(SameBag(sampled, whole));
  // The history's entries come last; the id's and demographics' first.
  const int history_table = whole.back().table;
  const auto others = static_cast<size_t>(std::count_if(
      whole.begin(), whole.end(),
      [&](const BagEntry& e) { return e.table != history_table; }));
  ASSERT_EQ(whole.size(), others + 19);
  const float full_weight = whole.back().weight;  // 1 / sqrt(19)
  constexpr int kSample = 5;
  constexpr int kDraws = 20000;
  std::vector<double> weight_sum(20, 0);
  for (int draw = 0; draw < kDraws; ++draw) {
    sampled.clear();
    featurizer.SampledUserBag(1, history, 4, kSample, rng, &sampled);
    ASSERT_EQ(sampled.size(), others + kSample);
    for (size_t i = 0; i < others; ++i) {
      EXPECT_TRUE(SameEntry(sampled[i], whole[i]));
    }
    for (size_t i = others; i < sampled.size(); ++i) {
      ASSERT_EQ(sampled[i].table, history_table);
      ASSERT_NE(sampled[i].row, 4);
      EXPECT_FLOAT_EQ(sampled[i].weight, std::sqrt(19.0f) / kSample);
      weight_sum[sampled[i].row] += sampled[i].weight;
    }
  }
  EXPECT_EQ(weight_sum[4], 0);
  for (int movie = 0; movie < 20; ++movie) {
    if (movie == 4) continue;
    EXPECT_NEAR(weight_sum[movie] / kDraws, full_weight, 0.05 * full_weight)
        << "movie " << movie;
  }
  // A sample of 0 means the whole history.
  sampled.clear();
  featurizer.SampledUserBag(1, history, 4, 0, rng, &sampled);
  EXPECT_TRUE(SameBag(sampled, whole));
}

// With a validation set and restore_best, the model ends at its best
// epoch's weights: its validation NDCG is the best score, even when later
// epochs ran; history sampling trains deterministically too.
TEST(TrainRetrievalTest, RestoreBestEndsAtTheBestEpoch) {
  const MovieLens data = SmallMovieLens(40, 50, 14, 6);
  absl::StatusOr<std::vector<Interaction>> all =
      ToInteractions(data.ratings, KnownIds::Of(data));
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<Interaction> train, validation;
  for (size_t i = 0; i < all->size(); ++i) {
    (i % 5 == 0 ? validation : train).push_back((*all)[i]);
  }
  for (const int history_sample : {0, 4}) {
    RetrievalTraining config;
    config.model = SmallRetrievalConfig(/*all_features=*/true);
    config.model.init_scale = 0.05f;
    config.softmax = "sampled";
    config.sampled_negatives = 8;
    config.batch_size = 32;
    config.epochs = 12;
    config.patience = 12;
    config.history_sample = history_sample;
    const auto train_once = [&](RetrievalModel* model) {
      Rng init(7);
      model->InitRandom(init);
      Progress silent = Progress::Silent();
      return TrainRetrieval(config, train, &validation, 5, model, &silent,
                            /*restore_best=*/true);
    };
    RetrievalModel a(config.model, data), b(config.model, data);
    const StageTrainingResult result = train_once(&a);
    train_once(&b);
    ASSERT_EQ(result.epochs.size(), 12u);
    const UserMovies history(a.num_users(), train);
    EXPECT_EQ(ValidationNdcg(a, history, validation), result.best_validation)
        << history_sample;
    EXPECT_EQ(a.MovieVectors(), b.MovieVectors()) << history_sample;
  }
}

}  // namespace
}  // namespace movierec
