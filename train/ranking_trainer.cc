#include "train/ranking_trainer.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "train/evaluator.h"

namespace movierec {

double AccumulateRatingGradients(const RatingTraining& config,
                                 absl::Span<const Interaction> batch,
                                 const UserMovies& history, RatingModel* model,
                                 RatingWorkspace* work, double* flops,
                                 Rng* history_rng) {
  const auto rows = static_cast<Eigen::Index>(batch.size());
  const int dim = model->tower_dim();
  const Featurizer& featurizer = model->featurizer();
  work->users.resize(rows, dim);
  work->movies.resize(rows, dim);
  work->user_bags.resize(batch.size());
  work->movie_bags.resize(batch.size());
  for (Eigen::Index i = 0; i < rows; ++i) {
    const Interaction& x = batch[i];
    Bag& user_bag = work->user_bags[i];
    Bag& movie_bag = work->movie_bags[i];
    user_bag.clear();
    movie_bag.clear();
    if (config.history_sample > 0) {
      featurizer.SampledUserBag(x.user, history.Of(x.user), x.movie,
                                config.history_sample, *history_rng, &user_bag);
    } else {
      featurizer.UserBag(x.user, history.Of(x.user), x.movie, &user_bag);
    }
    featurizer.MovieBag(x.movie, &movie_bag);
  }
  // The bags drew from the rng in order above; their encodings are
  // independent rows, computed by the threads.
  const Tower& user_tower = model->user_tower();
  const Tower& movie_tower = model->movie_tower();
#pragma omp parallel for schedule(static) if (rows >= 512)
  for (Eigen::Index i = 0; i < rows; ++i) {
    user_tower.Encode(work->user_bags[i], work->users.row(i).data());
    movie_tower.Encode(work->movie_bags[i], work->movies.row(i).data());
  }
  model->PredictBatch(work->users, work->movies, &work->predictions,
                      &work->activations);
  work->d_predictions.resize(rows);
  double loss = 0;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const float error = work->predictions(i) - batch[i].rating;
    loss += static_cast<double>(error) * error;
    work->d_predictions(i) = 2 * error * inv_rows;
  }
  loss *= inv_rows;
  model->BackwardBatch(work->users, work->movies, work->activations,
                       work->d_predictions, config.l2, &work->d_users,
                       &work->d_movies);
  // The penalty is per example, like the loss: l2 / rows per bag entry.
  const float l2 = config.l2 * inv_rows;
  loss += model->user_tower().BackwardBatch(
      work->user_bags, work->d_users.data(), work->d_users.cols(), l2);
  loss += model->movie_tower().BackwardBatch(
      work->movie_bags, work->d_movies.data(), work->d_movies.cols(), l2);
  if (config.l2 > 0 && model->config().mlp) {
    for (const DenseLayer& layer : model->mlp().layers()) {
      loss += config.l2 * layer.kernel.squaredNorm();
    }
  }
  *flops += model->config().mlp
                ? model->mlp().TrainFlops(static_cast<int>(rows))
                : 6.0 * rows * dim;
  return loss;
}

double RatingRmse(const RatingModel& model, const UserMovies& history,
                  const std::vector<Interaction>& test) {
  if (test.empty()) return 0;
  const RowMatrix users = model.UserVectors(history);
  std::vector<int32_t> popularity(static_cast<size_t>(model.num_movies()), 0);
  for (int u = 0; u < history.num_users(); ++u) {
    for (const int32_t movie : history.Of(u)) ++popularity[movie];
  }
  const RowMatrix movies = model.MovieVectors(popularity);
  constexpr size_t kChunk = 4096;
  double squared = 0;
  RowMatrix user_rows, movie_rows;
  Vector predictions;
  for (size_t begin = 0; begin < test.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, test.size() - begin);
    user_rows.resize(static_cast<Eigen::Index>(n), users.cols());
    movie_rows.resize(static_cast<Eigen::Index>(n), movies.cols());
    for (size_t i = 0; i < n; ++i) {
      user_rows.row(i) = users.row(test[begin + i].user);
      movie_rows.row(i) = movies.row(test[begin + i].movie);
    }
    model.PredictBatch(user_rows, movie_rows, &predictions, nullptr);
    for (size_t i = 0; i < n; ++i) {
      const double error = predictions(i) - test[begin + i].rating;
      squared += error * error;
    }
  }
  return std::sqrt(squared / static_cast<double>(test.size()));
}

StageTrainingResult TrainRating(const RatingTraining& config,
                                const std::vector<Interaction>& train,
                                const std::vector<Interaction>* validation,
                                uint64_t seed, RatingModel* model,
                                Progress* progress, bool restore_best) {
  double sum = 0;
  for (const Interaction& x : train) sum += x.rating;
  model->set_global_mean(
      train.empty() ? 0.0f : static_cast<float>(sum / train.size()));
  Rng rng(seed);
  const UserMovies train_history(model->num_users(), train);
  RatingWorkspace work;
  EpochLoopOptions options;
  options.stage = "rating";
  options.epochs = config.epochs;
  options.batch_size = config.batch_size;
  options.patience = config.patience;
  options.higher_is_better = false;
  const std::function<double(absl::Span<const Interaction>, double*)> step =
      [&](absl::Span<const Interaction> batch, double* flops) {
        const double loss = AccumulateRatingGradients(
            config, batch, train_history, model, &work, flops, &rng);
        model->ApplyAdagrad(config.optimizer);
        // The loss is a batch mean; the loop sums per-example losses.
        return loss * static_cast<double>(batch.size());
      };
  std::function<double()> validate;
  if (validation != nullptr) {
    validate = [&] { return RatingRmse(*model, train_history, *validation); };
  }
  std::optional<RatingModel> best;
  if (restore_best && validate) options.on_best = [&] { best = *model; };
  StageTrainingResult result =
      RunEpochs<Interaction>(options, train, rng, step, validate, progress);
  if (best) *model = std::move(*best);
  return result;
}

namespace {

// The lists of the users with movies in `held_out` for whom `context_of`
// gives a context (others: nullopt), labelled by `held_out`.
std::vector<RerankList> LabelledLists(
    const Scorer& scorer, const std::vector<Interaction>& held_out,
    int list_size, bool rating_weighted,
    const std::function<std::optional<UserContext>(int)>& context_of) {
  const Model& model = scorer.model();
  // Each user's held-out movies and their ratings.
  std::vector<absl::flat_hash_map<int32_t, float>> truth(
      static_cast<size_t>(model.num_users()));
  for (const Interaction& x : held_out) truth[x.user][x.movie] = x.rating;
  std::vector<RerankList> lists;
  for (int user = 0; user < model.num_users(); ++user) {
    if (truth[user].empty()) continue;
    const std::optional<UserContext> given = context_of(user);
    if (!given) continue;
    const UserContext& context = *given;
    const CandidateSet candidates =
        scorer.RetrieveCandidates(context, context.history, list_size);
    RerankList list;
    list.user = user;
    list.gains.resize(candidates.size(), 0.0f);
    bool any = false;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const auto it = truth[user].find(candidates.movies[i].row);
      if (it == truth[user].end()) continue;
      list.gains[i] = rating_weighted ? it->second : 1.0f;
      any = true;
    }
    if (!any) continue;
    scorer.CandidateFeatures(context, candidates, &list.features);
    lists.push_back(std::move(list));
  }
  return lists;
}

}  // namespace

std::vector<RerankList> BuildRerankLists(
    const Scorer& scorer, const std::vector<Interaction>& held_out,
    int list_size, bool rating_weighted) {
  return LabelledLists(scorer, held_out, list_size, rating_weighted,
                       [&scorer](int user) -> std::optional<UserContext> {
                         return scorer.ForUser(user);
                       });
}

std::vector<RerankList> BuildVisitorRerankLists(
    const Scorer& scorer, const std::vector<Interaction>& held_out,
    const std::vector<std::vector<int32_t>>& recent, int list_size,
    bool rating_weighted) {
  return LabelledLists(scorer, held_out, list_size, rating_weighted,
                       [&](int user) -> std::optional<UserContext> {
                         if (static_cast<size_t>(user) >= recent.size() ||
                             recent[user].empty()) {
                           return std::nullopt;
                         }
                         return scorer.ForVisitor(recent[user]);
                       });
}

double ListwiseLoss(const Vector& scores, absl::Span<const float> gains,
                    Vector* d_scores) {
  const float max = scores.maxCoeff();
  const Eigen::ArrayXf exp = (scores.array() - max).exp();
  const double sum = exp.cast<double>().sum();
  const double log_sum = std::log(sum) + max;
  double total_gain = 0;
  for (const float g : gains) total_gain += g;
  d_scores->resize(scores.size());
  double loss = 0;
  for (Eigen::Index j = 0; j < scores.size(); ++j) {
    const double weight = gains[j] / total_gain;
    loss -= weight * (scores(j) - log_sum);
    (*d_scores)(j) = static_cast<float>(exp(j) / sum - weight);
  }
  return loss;
}

double RerankListNdcg(const RerankList& list, const Vector& scores) {
  std::vector<int32_t> order(list.gains.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return scores(a) > scores(b); });
  std::vector<int32_t> relevant;
  for (size_t i = 0; i < list.gains.size(); ++i) {
    if (list.gains[i] > 0) relevant.push_back(static_cast<int32_t>(i));
  }
  order.resize(std::min<size_t>(order.size(), 10));
  return UserListMetrics(order, relevant).ndcg_at_10;
}

namespace {

// The mean RerankListNdcg of the lists `which` scored by `score_list`.
double ListNdcg(
    const std::vector<RerankList>& lists, absl::Span<const int32_t> which,
    const std::function<void(const RerankList&, Vector*)>& score_list) {
  double total = 0;
  Vector scores;
  for (const int32_t index : which) {
    score_list(lists[index], &scores);
    total += RerankListNdcg(lists[index], scores);
  }
  return which.empty() ? 0 : total / static_cast<double>(which.size());
}

}  // namespace

ListFolds::ListFolds(size_t lists, int folds, uint64_t seed)
    : shuffled(lists), folds(folds) {
  std::iota(shuffled.begin(), shuffled.end(), 0);
  Rng split(seed ^ 0x5eed);
  Shuffle(shuffled, split);
}

void ListFolds::Split(int f, std::vector<int32_t>* fit,
                      std::vector<int32_t>* validation) const {
  for (size_t i = 0; i < shuffled.size(); ++i) {
    (static_cast<int>(i % folds) == f ? validation : fit)
        ->push_back(shuffled[i]);
  }
}

double RetrievalOrderNdcg(const std::vector<RerankList>& lists,
                          absl::Span<const int32_t> which) {
  return ListNdcg(lists, which, [](const RerankList& list, Vector* scores) {
    *scores = -list.features.col(kLogRank);
  });
}

namespace {

// Sets the reranker's standardisation to the statistics of every list's rows.
void StandardizeOnLists(const std::vector<RerankList>& lists,
                        Reranker* reranker) {
  int64_t rows = 0;
  RowVector mean = RowVector::Zero(kNumRerankFeatures);
  RowVector square = RowVector::Zero(kNumRerankFeatures);
  for (const RerankList& list : lists) {
    rows += list.features.rows();
    mean += list.features.colwise().sum();
    square += list.features.array().square().matrix().colwise().sum();
  }
  if (rows > 0) {
    mean /= static_cast<float>(rows);
    square /= static_cast<float>(rows);
  }
  reranker->SetStandardization(
      mean, (square.array() - mean.array().square()).max(0).sqrt().matrix());
}

// One optimiser step of the listwise loss over the lists `batch`; returns
// the batch's loss and adds its FLOPs to *flops.
double RerankerStep(const RerankerTraining& config,
                    const std::vector<RerankList>& lists,
                    absl::Span<const int32_t> batch, Reranker* model,
                    double* flops) {
  double loss = 0;
  for (const int32_t index : batch) {
    const RerankList& list = lists[index];
    MlpActivations activations;
    RowMatrix out;
    model->mlp().Forward(model->Standardize(list.features), &out, &activations);
    Vector d_scores;
    loss += ListwiseLoss(out.col(0), list.gains, &d_scores);
    model->mlp().Backward(activations, d_scores, 0, nullptr);
    *flops += model->mlp().TrainFlops(static_cast<int>(list.features.rows()));
  }
  if (config.l2 > 0) {
    for (DenseLayer& layer : model->mlp().mutable_layers()) {
      layer.kernel_grad += 2 * config.l2 * layer.kernel;
    }
  }
  model->mlp().ApplyAdagrad(config.optimizer);
  return loss;
}

// Trains *model for `epochs` epochs on the lists `which`, measuring NDCG@10
// on the lists `validation` after each epoch when there are any.
StageTrainingResult FitReranker(const RerankerTraining& config,
                                const std::vector<RerankList>& lists,
                                absl::Span<const int32_t> which, int epochs,
                                absl::Span<const int32_t> validation,
                                uint64_t seed, Reranker* model,
                                Progress* progress) {
  Rng rng(seed);
  EpochLoopOptions options;
  options.stage = "reranker";
  options.epochs = epochs;
  options.batch_size = config.batch_lists;
  // Folds run every epoch, so that their curves can be averaged.
  options.patience = epochs;
  options.higher_is_better = true;
  const std::function<double(absl::Span<const int32_t>, double*)> step =
      [&](absl::Span<const int32_t> batch, double* flops) {
        return RerankerStep(config, lists, batch, model, flops);
      };
  std::function<double()> validate;
  if (!validation.empty()) {
    validate = [&] {
      return ListNdcg(lists, validation,
                      [&](const RerankList& list, Vector* scores) {
                        model->Score(list.features, scores);
                      });
    };
  }
  return RunEpochs<int32_t>(options,
                            std::vector<int32_t>(which.begin(), which.end()),
                            rng, step, validate, progress);
}

// The mean validation NDCG@10 after each epoch over `folds` folds of the
// lists `shuffled`, each fold's model trained from `initial` on the others.
std::vector<double> CrossValidatedCurve(const RerankerTraining& config,
                                        const std::vector<RerankList>& lists,
                                        const ListFolds& folds,
                                        const Reranker& initial, uint64_t seed,
                                        Progress* progress) {
  std::vector<double> mean_curve(static_cast<size_t>(config.epochs), 0.0);
  for (int f = 0; f < folds.folds; ++f) {
    std::vector<int32_t> fit, validation;
    folds.Split(f, &fit, &validation);
    Reranker fold_model = initial;
    const StageTrainingResult curve =
        FitReranker(config, lists, fit, config.epochs, validation, seed,
                    &fold_model, progress);
    for (size_t e = 0; e < curve.epochs.size(); ++e) {
      mean_curve[e] += curve.epochs[e].validation / folds.folds;
    }
  }
  return mean_curve;
}

}  // namespace

StageTrainingResult TrainReranker(const RerankerTraining& config,
                                  const std::vector<RerankList>& lists,
                                  uint64_t seed, Reranker* reranker,
                                  Progress* progress) {
  StandardizeOnLists(lists, reranker);
  const Reranker initial = *reranker;
  // Choose the epoch count by k-fold cross-validation over users (the lists
  // are few, so one held-out part would be noisy), then train on all lists.
  const ListFolds folds(lists.size(), std::max(2, config.folds), seed);
  const std::vector<double> mean_curve =
      CrossValidatedCurve(config, lists, folds, initial, seed, progress);
  const int best_epochs =
      static_cast<int>(std::max_element(mean_curve.begin(), mean_curve.end()) -
                       mean_curve.begin()) +
      1;
  *reranker = initial;
  StageTrainingResult result = FitReranker(
      config, lists, folds.shuffled, best_epochs, {}, seed, reranker, progress);
  result.best_epochs = best_epochs;
  result.best_validation = mean_curve[best_epochs - 1];
  result.reference_validation = RetrievalOrderNdcg(lists, folds.shuffled);
  return result;
}

}  // namespace movierec
