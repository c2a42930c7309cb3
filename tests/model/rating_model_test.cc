// Tests of the rating model (model/rating_model.h) and its training
// (train/ranking_trainer.h): PredictBatch against its formula,
// BackwardBatch and AccumulateRatingGradients against central finite
// differences (for the TFRS replica, the default's biases + dot towers with
// features, and all three terms together), the loss and the history rule of
// AccumulateRatingGradients, RatingRmse by hand, and TrainRating's learning
// and early stopping.
#include "model/rating_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "data/dataset.h"
#include "tests/test_util.h"
#include "train/ranking_trainer.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::AllTables;
using ::movierec::test::ExpectGradientsMatch;
using ::movierec::test::Gradients;
using ::movierec::test::InteractionsOf;
using ::movierec::test::MinHiddenPreactivation;
using ::movierec::test::NamedTable;
using ::movierec::test::RandomizeBiases;
using ::movierec::test::RandomMatrix;
using ::movierec::test::SmallCatalog;
using ::movierec::test::SmallMovieLens;

constexpr float kKinkMargin = 0.02f;

FeatureOptions AllFeatures() { return {true, true, true, true, true, true}; }

// The TFRS basic-ranking replica, shrunk: id embeddings, concatenated, an
// MLP; no biases and no dot product.
RatingConfig TfrsReplica() {
  RatingConfig config;
  config.embedding_dim = 4;
  config.biases = false;
  config.dot = false;
  config.mlp = true;
  config.hidden = {6, 3};
  config.init_scale = 0.5f;
  return config;
}

// The default preset's kind, shrunk: every feature, biases and a dot
// product, no MLP.
RatingConfig DefaultStyle() {
  RatingConfig config;
  config.features = AllFeatures();
  config.embedding_dim = 4;
  config.biases = true;
  config.dot = true;
  config.mlp = false;
  config.init_scale = 0.5f;
  return config;
}

// All three terms.
RatingConfig AllTerms() {
  RatingConfig config = DefaultStyle();
  config.mlp = true;
  config.hidden = {5};
  return config;
}

struct RatingCase {
  std::string name;
  RatingConfig config;
};

std::vector<RatingCase> Cases() {
  return {{"tfrs_replica", TfrsReplica()},
          {"default_style", DefaultStyle()},
          {"biases_dot_mlp", AllTerms()}};
}

void ClearMlpGradients(Mlp* mlp) {
  for (DenseLayer& layer : mlp->mutable_layers()) {
    layer.kernel_grad.setZero();
    layer.bias_grad.setZero();
  }
}

// Random initialisation with non-zero biases (they start at zero).
void InitModel(RatingModel* model, uint64_t seed) {
  Rng rng(seed);
  model->InitRandom(rng);
  model->set_global_mean(3.2f);
  if (model->config().biases) {
    for (const NamedTable& t : AllTables(model)) {
      RowMatrix& w = t.table->mutable_weights();
      for (Eigen::Index r = 0; r < w.rows(); ++r) {
        w(r, w.cols() - 1) = rng.UniformFloat(-0.5f, 0.5f);
      }
    }
  }
  if (model->config().mlp) RandomizeBiases(&model->mlp(), 0.2f, rng);
}

class RatingModelTest : public ::testing::TestWithParam<RatingCase> {};

TEST_P(RatingModelTest, TowerWidthAndTables) {
  const MovieLens data = SmallMovieLens(6, 9, 4, 2);
  RatingModel model(GetParam().config, data);
  const RatingConfig& config = GetParam().config;
  EXPECT_EQ(model.tower_dim(), config.embedding_dim + (config.biases ? 1 : 0));
  EXPECT_EQ(model.num_users(), 6);
  EXPECT_EQ(model.num_movies(), 9);
  EXPECT_EQ(model.mlp().empty(), !config.mlp);
  if (config.mlp) {
    EXPECT_EQ(model.mlp().input_dim(), 2 * config.embedding_dim);
    EXPECT_EQ(model.mlp().output_dim(), 1);
  }
  EXPECT_EQ(model.user_tower().tables().size(),
            config.features.user_demographics ? 5u : 1u);
  EXPECT_EQ(model.movie_tower().tables().size(),
            config.features.movie_genres ? 3u : 1u);
}

// rating = [mean + user bias + movie bias] + [u . m] + [MLP(u, m)].
TEST_P(RatingModelTest, PredictBatchFollowsItsFormula) {
  const MovieLens data = SmallMovieLens(6, 9, 4, 2);
  RatingModel model(GetParam().config, data);
  InitModel(&model, 3);
  const RatingConfig& config = model.config();
  const int d = config.embedding_dim;
  Rng rng(4);
  const RowMatrix users = RandomMatrix(5, model.tower_dim(), 0.5f, rng);
  const RowMatrix movies = RandomMatrix(5, model.tower_dim(), 0.5f, rng);
  Vector predictions;
  model.PredictBatch(users, movies, &predictions, nullptr);
  ASSERT_EQ(predictions.size(), 5);
  RowMatrix mlp_out;
  if (config.mlp) {
    RowMatrix input(5, 2 * d);
    input << users.leftCols(d), movies.leftCols(d);
    model.mlp().Forward(input, &mlp_out);
  }
  for (int i = 0; i < 5; ++i) {
    double expected = 0;
    if (config.biases) expected += 3.2 + users(i, d) + movies(i, d);
    if (config.dot) expected += users.row(i).head(d).dot(movies.row(i).head(d));
    if (config.mlp) expected += mlp_out(i, 0);
    EXPECT_NEAR(predictions(i), expected, 1e-5) << "row " << i;
  }
  // The single-user form agrees with the batch.
  const RowMatrix all_movies = movies;
  std::vector<int32_t> rows = {0, 1, 2, 3, 4};
  for (int i = 0; i < 5; ++i) {
    float one = 0;
    RowMatrix same_user = users.row(i).replicate(5, 1);
    Vector batch;
    model.PredictBatch(same_user, movies, &batch, nullptr);
    model.Predict(users.row(i).data(), all_movies, {rows[i]}, &one);
    EXPECT_NEAR(one, batch(i), 1e-6);
  }
}

// L = sum_i w_i prediction_i (+ l2 |kernels|^2 with an MLP).
TEST_P(RatingModelTest, BackwardBatchMatchesFiniteDifferences) {
  const MovieLens data = SmallMovieLens(6, 9, 4, 2);
  RatingModel model(GetParam().config, data);
  InitModel(&model, 3);
  const RatingConfig& config = model.config();
  const int d = config.embedding_dim;
  const float l2 = 0.05f;
  Rng rng(4);
  RowMatrix users, movies;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    users = RandomMatrix(5, model.tower_dim(), 0.5f, rng);
    movies = RandomMatrix(5, model.tower_dim(), 0.5f, rng);
    if (!config.mlp) break;
    RowMatrix input(5, 2 * d);
    input << users.leftCols(d), movies.leftCols(d);
    if (MinHiddenPreactivation(model.mlp(), input) > kKinkMargin) break;
  }
  const Vector w = RandomMatrix(5, 1, 1.0f, rng).col(0);
  const auto loss = [&] {
    Vector predictions;
    model.PredictBatch(users, movies, &predictions, nullptr);
    double value = predictions.cast<double>().dot(w.cast<double>());
    if (config.mlp) {
      for (const DenseLayer& layer : model.mlp().layers()) {
        value += l2 * layer.kernel.cast<double>().squaredNorm();
      }
    }
    return value;
  };
  Vector predictions;
  RatingActivations activations;
  model.PredictBatch(users, movies, &predictions, &activations);
  RowMatrix d_users, d_movies;
  model.BackwardBatch(users, movies, activations, w, l2, &d_users, &d_movies);
  int nonzero = ExpectGradientsMatch(loss, users.data(), d_users.data(),
                                     d_users.size(), "d_users");
  nonzero += ExpectGradientsMatch(loss, movies.data(), d_movies.data(),
                                  d_movies.size(), "d_movies");
  EXPECT_EQ(nonzero, d_users.size() + d_movies.size());
  if (config.mlp) {
    for (size_t i = 0; i < model.mlp().layers().size(); ++i) {
      DenseLayer& layer = model.mlp().mutable_layers()[i];
      const RowMatrix kernel_grad = layer.kernel_grad;
      const RowVector bias_grad = layer.bias_grad;
      ExpectGradientsMatch(loss, layer.kernel.data(), kernel_grad.data(),
                           kernel_grad.size(), absl::StrCat("mlp kernel ", i));
      ExpectGradientsMatch(loss, layer.bias.data(), bias_grad.data(),
                           bias_grad.size(), absl::StrCat("mlp bias ", i));
    }
  }
}

// A small model and batch for AccumulateRatingGradients.
class RatingBatchFixture {
 public:
  RatingBatchFixture(const RatingConfig& model_config, float l2)
      : data_(SmallMovieLens(/*num_users=*/6, /*num_movies=*/9,
                             /*per_user=*/4, /*seed=*/2)),
        train_(InteractionsOf(data_)),
        history_(static_cast<int>(data_.users.size()), train_),
        model_(model_config, data_) {
    config_.model = model_config;
    config_.l2 = l2;
    if (train_.size() < 9) {
      ADD_FAILURE() << "too few ratings";
      return;
    }
    // Six examples, one user twice, one of them with a movie the user did
    // not rate.
    batch_.assign(train_.begin(), train_.begin() + 5);
    Interaction repeat = train_[0];
    repeat.user = train_[8].user;
    repeat.rating = 2;
    batch_.push_back(repeat);
    // An initialisation whose MLP inputs keep clear of the ReLU kinks.
    for (uint64_t seed = 3; seed < 1000; ++seed) {
      InitModel(&model_, seed);
      Evaluate();
      if (!model_config.mlp ||
          MinHiddenPreactivation(model_.mlp(), work_.activations.mlp_input) >
              kKinkMargin) {
        break;
      }
    }
  }

  // The loss of the batch, with every gradient cleared first.
  double Evaluate() {
    for (const NamedTable& t : AllTables(&model_)) t.table->ClearGradients();
    ClearMlpGradients(&model_.mlp());
    double flops = 0;
    const double loss = AccumulateRatingGradients(config_, batch_, history_,
                                                  &model_, &work_, &flops);
    EXPECT_GT(flops, 0);
    return loss;
  }

  RatingModel& model() { return model_; }
  RatingTraining& config() { return config_; }
  std::vector<Interaction>& batch() { return batch_; }
  const UserMovies& history() const { return history_; }
  const RatingWorkspace& work() const { return work_; }

 private:
  MovieLens data_;
  std::vector<Interaction> train_;
  UserMovies history_;
  RatingModel model_;
  RatingTraining config_;
  std::vector<Interaction> batch_;
  RatingWorkspace work_;
};

TEST_P(RatingModelTest, AccumulateRatingGradientsMatchesFiniteDifferences) {
  RatingBatchFixture f(GetParam().config, /*l2=*/0.05f);
  if (f.model().config().mlp) {
    ASSERT_GT(
        MinHiddenPreactivation(f.model().mlp(), f.work().activations.mlp_input),
        kKinkMargin);
  }
  const double loss = f.Evaluate();
  ASSERT_TRUE(std::isfinite(loss));
  std::vector<RowMatrix> analytic;
  for (const NamedTable& t : AllTables(&f.model())) {
    analytic.push_back(Gradients(*t.table));
  }
  std::vector<RowMatrix> kernel_grads;
  std::vector<RowVector> bias_grads;
  for (const DenseLayer& layer : f.model().mlp().layers()) {
    kernel_grads.push_back(layer.kernel_grad);
    bias_grads.push_back(layer.bias_grad);
  }
  const auto evaluate = [&f] { return f.Evaluate(); };
  const std::vector<NamedTable> tables = AllTables(&f.model());
  int nonzero = 0;
  for (size_t t = 0; t < tables.size(); ++t) {
    RowMatrix& weights = tables[t].table->mutable_weights();
    nonzero +=
        ExpectGradientsMatch(evaluate, weights.data(), analytic[t].data(),
                             weights.size(), tables[t].name);
  }
  for (size_t i = 0; i < kernel_grads.size(); ++i) {
    DenseLayer& layer = f.model().mlp().mutable_layers()[i];
    nonzero += ExpectGradientsMatch(
        evaluate, layer.kernel.data(), kernel_grads[i].data(),
        kernel_grads[i].size(), absl::StrCat("mlp kernel ", i));
    nonzero += ExpectGradientsMatch(evaluate, layer.bias.data(),
                                    bias_grads[i].data(), bias_grads[i].size(),
                                    absl::StrCat("mlp bias ", i));
  }
  EXPECT_GT(nonzero, 30);
}

// The served form (one user, movies by row) gives exactly the floats of the
// batch form the trainer evaluates, for the widths the vector units split
// differently (4, 8, 31, 32, 33 and the default's 32 + bias): the server
// ranks as the evaluation did.
TEST(RatingModelPredictTest, GivesExactlyThePredictBatchFloats) {
  const MovieLens data = SmallMovieLens(6, 9, 4, 2);
  for (const RatingConfig& shape : {DefaultStyle(), AllTerms()}) {
    for (const int dim : {4, 8, 31, 32, 33}) {
      for (const bool biases : {false, true}) {
        RatingConfig config = shape;
        config.embedding_dim = dim;
        config.biases = biases;
        RatingModel model(config, data);
        InitModel(&model, 3);
        Rng rng(dim);
        const RowMatrix users = RandomMatrix(3, model.tower_dim(), 0.5f, rng);
        const RowMatrix catalogue =
            RandomMatrix(97, model.tower_dim(), 0.5f, rng);
        std::vector<int32_t> order(97);
        RowMatrix ordered(97, model.tower_dim());
        for (int m = 0; m < 97; ++m) {
          order[m] = (m * 31) % 97;
          ordered.row(m) = catalogue.row(order[m]);
        }
        for (int u = 0; u < 3; ++u) {
          std::vector<float> served(97);
          model.Predict(users.row(u).data(), catalogue, order, served.data());
          Vector batch;
          model.PredictBatch(users.row(u).replicate(97, 1), ordered, &batch,
                             nullptr);
          for (int m = 0; m < 97; ++m) {
            ASSERT_EQ(served[m], batch(m))
                << "dim " << dim << (biases ? " with" : " without")
                << " biases, mlp " << config.mlp << ", user " << u << ", movie "
                << m;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, RatingModelTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<RatingCase>& info) {
                           return info.param.name;
                         });

// With ids only, the towers' outputs are table rows: the loss is the mean
// squared error of the batch, and the L2 penalty l2 / rows per bag entry
// plus l2 |kernel|^2 for the MLP.
TEST(AccumulateRatingGradientsTest, LossIsMeanSquaredErrorPlusPenalty) {
  RatingBatchFixture f(TfrsReplica(), /*l2=*/0);
  const RowMatrix& users = f.model().user_tower().tables()[0].weights();
  const RowMatrix& movies = f.model().movie_tower().tables()[0].weights();
  const auto rows = static_cast<double>(f.batch().size());
  double squared = 0;
  double row_norms = 0;
  for (const Interaction& x : f.batch()) {
    float predicted = 0;
    f.model().Predict(users.row(x.user).data(), movies, {x.movie}, &predicted);
    squared += (predicted - x.rating) * (predicted - x.rating);
    row_norms += users.row(x.user).cast<double>().squaredNorm() +
                 movies.row(x.movie).cast<double>().squaredNorm();
  }
  double kernels = 0;
  for (const DenseLayer& layer : f.model().mlp().layers()) {
    kernels += layer.kernel.cast<double>().squaredNorm();
  }
  const double loss = f.Evaluate();
  EXPECT_NEAR(loss, squared / rows, 1e-5 * loss);
  f.config().l2 = 0.1f;
  const double penalty = 0.1 * row_norms / rows + 0.1 * kernels;
  EXPECT_NEAR(f.Evaluate() - loss, penalty, 1e-4 * penalty);
}

// The user's history leaves the example's own movie out: its history row
// gets no gradient from a batch of that one example, the other movies of the
// history do.
TEST(AccumulateRatingGradientsTest, HistoryLeavesTheExamplesMovieOut) {
  RatingBatchFixture f(DefaultStyle(), /*l2=*/0.05f);
  const Interaction example = f.batch()[0];
  const absl::Span<const int32_t> history = f.history().Of(example.user);
  ASSERT_TRUE(f.history().Contains(example.user, example.movie));
  ASSERT_GE(history.size(), 2u);
  f.batch() = {example};
  f.Evaluate();
  int table = -1;
  for (size_t t = 0; t < f.model().featurizer().user_tables().size(); ++t) {
    if (f.model().featurizer().user_tables()[t].name == "user_history") {
      table = static_cast<int>(t);
    }
  }
  ASSERT_GE(table, 0);
  const EmbeddingTable& rows = f.model().user_tower().tables()[table];
  const int dim = rows.dim();
  for (const int32_t movie : history) {
    const Eigen::Map<const RowVector> g(rows.gradient(movie), dim);
    if (movie == example.movie) {
      EXPECT_TRUE(g.isZero(0)) << "history row of the example's own movie";
    } else {
      EXPECT_FALSE(g.isZero(0)) << "history row " << movie;
    }
  }
}

// A rating model with ids only, biases and a 2-d dot product whose rows are
// set by hand.
TEST(RatingRmseTest, MatchesHandComputation) {
  const MovieLens catalog = SmallCatalog(3, 4);
  RatingConfig config;
  config.embedding_dim = 2;
  config.biases = true;
  config.dot = true;
  config.mlp = false;
  RatingModel model(config, catalog);
  model.set_global_mean(3);
  RowMatrix& users = model.user_tower().tables()[0].mutable_weights();
  RowMatrix& movies = model.movie_tower().tables()[0].mutable_weights();
  users.row(0) << 1, 0, 0.5f;
  users.row(1) << 0, 2, -0.5f;
  movies.row(0) << 1, 1, 0.25f;
  movies.row(1) << 0.5f, -1, 0;
  // (0, 0): 3 + 0.5 + 0.25 + 1 = 4.75 against 5;
  // (1, 1): 3 - 0.5 + 0 - 2 = 0.5 against 1;
  // (0, 1): 3 + 0.5 + 0 + 0.5 = 4 against 3.
  const std::vector<Interaction> test = {{0, 0, 5}, {1, 1, 1}, {0, 1, 3}};
  const UserMovies history(3, {});
  EXPECT_NEAR(RatingRmse(model, history, test),
              std::sqrt((0.0625 + 0.25 + 1.0) / 3.0), 1e-6);
  EXPECT_EQ(RatingRmse(model, history, {}), 0.0);
}

// Ratings a model can learn: users and movies have a kind (row parity); a
// user rates movies of its own kind 5 and the others 1. Each user rates 15
// consecutive movies of the catalogue's first 30.
std::vector<Interaction> KindRatings(int num_users, int first, int count) {
  std::vector<Interaction> ratings;
  for (int u = 0; u < num_users; ++u) {
    for (int k = first; k < first + count; ++k) {
      const int m = (3 * u + k) % 30;
      ratings.push_back({u, m, u % 2 == m % 2 ? 5.0f : 1.0f, k});
    }
  }
  return ratings;
}

double MeanBaselineRmse(const std::vector<Interaction>& ratings, double mean) {
  double squared = 0;
  for (const Interaction& x : ratings) {
    squared += (x.rating - mean) * (x.rating - mean);
  }
  return std::sqrt(squared / static_cast<double>(ratings.size()));
}

RatingTraining SmallRatingTraining() {
  RatingTraining config;
  config.model.embedding_dim = 4;
  config.model.biases = true;
  config.model.dot = true;
  config.model.mlp = false;
  config.model.init_scale = 0.3f;
  config.batch_size = 32;
  config.epochs = 30;
  config.optimizer.learning_rate = 0.5f;
  config.l2 = 1e-4f;
  config.patience = 2;
  return config;
}

TEST(TrainRatingTest, LearnsBelowTheGlobalMeanBaseline) {
  const MovieLens catalog = SmallCatalog(40, 30);
  const std::vector<Interaction> train = KindRatings(40, 0, 15);
  const std::vector<Interaction> unseen = KindRatings(40, 15, 2);
  const RatingTraining config = SmallRatingTraining();
  RatingModel model(config.model, catalog);
  Rng init(1);
  model.InitRandom(init);
  Progress silent = Progress::Silent();
  const StageTrainingResult result =
      TrainRating(config, train, nullptr, 7, &model, &silent);

  double sum = 0;
  for (const Interaction& x : train) sum += x.rating;
  const double mean = sum / static_cast<double>(train.size());
  EXPECT_FLOAT_EQ(model.global_mean(), static_cast<float>(mean));
  ASSERT_EQ(result.epochs.size(), 30u);
  EXPECT_EQ(result.best_epochs, 30);
  EXPECT_LT(result.epochs.back().loss, result.epochs.front().loss);

  const UserMovies history(40, train);
  const double baseline = MeanBaselineRmse(train, mean);
  ASSERT_GT(baseline, 1.5);
  const double train_rmse = RatingRmse(model, history, train);
  EXPECT_LT(train_rmse, 0.5 * baseline);
  // The kinds generalise to pairs not trained on.
  EXPECT_LT(RatingRmse(model, history, unseen),
            0.5 * MeanBaselineRmse(unseen, mean));
}

// Validation pairs whose user and movie have no training ratings: with ids
// only and no MLP their rows are never updated (sparse Adagrad), so the
// validation RMSE is the same after every epoch. The first epoch is the best
// and, with patience 2, training must stop after epoch 3.
TEST(TrainRatingTest, StopsAfterPatienceEpochsWithoutImprovement) {
  const MovieLens catalog = SmallCatalog(42, 32);
  const std::vector<Interaction> train = KindRatings(40, 0, 15);
  const std::vector<Interaction> validation = {
      {40, 30, 5}, {41, 31, 1}, {40, 31, 3}};
  RatingTraining config = SmallRatingTraining();
  config.epochs = 10;
  RatingModel model(config.model, catalog);
  Rng init(1);
  model.InitRandom(init);
  Progress silent = Progress::Silent();
  const StageTrainingResult result =
      TrainRating(config, train, &validation, 7, &model, &silent);
  ASSERT_EQ(result.epochs.size(), 3u);
  EXPECT_EQ(result.best_epochs, 1);
  EXPECT_TRUE(result.epochs[0].best);
  for (const EpochReport& epoch : result.epochs) {
    EXPECT_EQ(epoch.validation, result.epochs[0].validation);
  }
  EXPECT_FALSE(result.epochs[1].best);
  EXPECT_FALSE(result.epochs[2].best);
  EXPECT_EQ(result.best_validation, result.epochs[0].validation);
  // And the training loss still went down.
  EXPECT_LT(result.epochs.back().loss, result.epochs.front().loss);
}

// On a held-out part of the learnable ratings, whatever the curve: the best
// epoch is the one with the lowest validation RMSE, and training ran at most
// `patience` epochs past it (exactly that many when it stopped early).
TEST(TrainRatingTest, EarlyStoppingKeepsItsDocumentedRelations) {
  const MovieLens catalog = SmallCatalog(40, 30);
  const std::vector<Interaction> train = KindRatings(40, 0, 15);
  const std::vector<Interaction> validation = KindRatings(40, 15, 2);
  for (const int patience : {1, 2, 3}) {
    RatingTraining config = SmallRatingTraining();
    config.epochs = 40;
    config.patience = patience;
    RatingModel model(config.model, catalog);
    Rng init(1);
    model.InitRandom(init);
    Progress silent = Progress::Silent();
    const StageTrainingResult result =
        TrainRating(config, train, &validation, 7, &model, &silent);
    const int run = static_cast<int>(result.epochs.size());
    ASSERT_GE(result.best_epochs, 1) << patience;
    EXPECT_LE(result.best_epochs, run) << patience;
    EXPECT_LE(run, result.best_epochs + patience) << patience;
    if (run < config.epochs) {
      EXPECT_EQ(run, result.best_epochs + patience);
    }
    double lowest = INFINITY;
    for (const EpochReport& epoch : result.epochs) {
      EXPECT_EQ(epoch.best, epoch.validation < lowest) << epoch.epoch;
      lowest = std::min(lowest, epoch.validation);
    }
    EXPECT_EQ(result.best_validation, lowest);
    EXPECT_EQ(result.epochs[result.best_epochs - 1].validation, lowest);
    // Validation is the model's RMSE: learning the kinds beats the mean.
    double sum = 0;
    for (const Interaction& x : train) sum += x.rating;
    EXPECT_LT(lowest, 0.5 * MeanBaselineRmse(validation, sum / train.size()));
  }
}

// With restore_best the model ends at its best epoch's weights, whose RMSE
// is the best validation score, however many epochs ran past it; the same
// holds with the history sampled.
TEST(TrainRatingTest, RestoreBestEndsAtTheBestEpoch) {
  const MovieLens catalog = SmallCatalog(40, 30);
  const std::vector<Interaction> train = KindRatings(40, 0, 15);
  const std::vector<Interaction> validation = KindRatings(40, 15, 2);
  for (const int history_sample : {0, 3}) {
    RatingTraining config = SmallRatingTraining();
    config.epochs = 40;
    config.patience = 3;
    config.history_sample = history_sample;
    RatingModel model(config.model, catalog);
    Rng init(1);
    model.InitRandom(init);
    Progress silent = Progress::Silent();
    const StageTrainingResult result =
        TrainRating(config, train, &validation, 7, &model, &silent,
                    /*restore_best=*/true);
    const UserMovies history(model.num_users(), train);
    EXPECT_EQ(RatingRmse(model, history, validation), result.best_validation)
        << history_sample;
  }
}

}  // namespace
}  // namespace movierec
