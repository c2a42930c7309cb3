// Training of the ranking stage: the rating model (mean squared error on the
// stars) and the reranker (listwise softmax over each user's retrieved
// candidates, the held-out movies as positives).
#ifndef MOVIEREC_TRAIN_RANKING_TRAINER_H_
#define MOVIEREC_TRAIN_RANKING_TRAINER_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "data/dataset.h"
#include "model/rating_model.h"
#include "model/reranker.h"
#include "model/scorer.h"
#include "train/epoch_loop.h"
#include "train/progress.h"
#include "train/train_config.h"

namespace movierec {

// Reusable scratch space of AccumulateRatingGradients.
struct RatingWorkspace {
  RowMatrix users, movies, d_users, d_movies;
  std::vector<Bag> user_bags, movie_bags;
  Vector predictions, d_predictions;
  RatingActivations activations;
};

// Computes the mean squared error of `batch` (plus the L2 penalty) and
// accumulates its gradients into `model`, without applying them. Each user's
// history leaves the example's own movie out; with config.history_sample
// > 0 it is sampled from `history_rng` (Featurizer::SampledUserBag), which
// must then be set.
double AccumulateRatingGradients(const RatingTraining& config,
                                 absl::Span<const Interaction> batch,
                                 const UserMovies& history, RatingModel* model,
                                 RatingWorkspace* work, double* flops,
                                 Rng* history_rng = nullptr);

// Root mean squared error of `model` on `test`, users encoded with `history`.
double RatingRmse(const RatingModel& model, const UserMovies& history,
                  const std::vector<Interaction>& test);

// Trains `model` (initialised) for config.epochs epochs; with `validation`,
// reports its RMSE after each epoch and stops after config.patience epochs
// without improvement (the weights then those of the last epoch run, or
// with `restore_best` of the best-scoring one). The global mean is set from
// `train`.
StageTrainingResult TrainRating(const RatingTraining& config,
                                const std::vector<Interaction>& train,
                                const std::vector<Interaction>* validation,
                                uint64_t seed, RatingModel* model,
                                Progress* progress, bool restore_best = false);

// One user's retrieved candidates, their raw features and labels.
struct RerankList {
  int user = 0;
  RowMatrix features;
  std::vector<float> gains;  // > 0 for held-out movies, 0 otherwise
};

// The candidate lists of every user with movies in `held_out`: the top
// `list_size` of `scorer`'s retrieval and what its other sources add
// (Scorer::RetrieveCandidates; a model that has not seen `held_out`),
// labelled by
// `held_out` (gain = 1, or the star rating when `rating_weighted`). Users
// whose list holds no held-out movie are skipped.
std::vector<RerankList> BuildRerankLists(
    const Scorer& scorer, const std::vector<Interaction>& held_out,
    int list_size, bool rating_weighted);

// The same lists for the users as visitors: each user with movies in
// `held_out` comes as a visitor who gives recent[user] (their most recent
// movies the scorer's model saw: RecentMovies), as the server answers a
// request with recent_movie_ids and no user id (Scorer::ForVisitor; only
// the movies given are left out). Users who give nothing are skipped.
std::vector<RerankList> BuildVisitorRerankLists(
    const Scorer& scorer, const std::vector<Interaction>& held_out,
    const std::vector<std::vector<int32_t>>& recent, int list_size,
    bool rating_weighted);

// The listwise loss of one list's scores and its gradient:
//   loss = -sum_j g_j log softmax(s)_j / sum_j g_j.
double ListwiseLoss(const Vector& scores, absl::Span<const float> gains,
                    Vector* d_scores);

// NDCG@10 of `list` re-sorted by `scores` (ties kept in list order), its
// positives being the candidates of gain > 0; the IDCG counts the
// positives in the list.
double RerankListNdcg(const RerankList& list, const Vector& scores);

// The lists cut into folds over users, to choose how long a reranker
// trains (epochs, trees) by cross-validation: their indices shuffled by
// `seed`; fold f holds every folds-th of them from the f-th.
struct ListFolds {
  ListFolds(size_t lists, int folds, uint64_t seed);
  // The lists of fold f into *validation, the others into *fit.
  void Split(int f, std::vector<int32_t>* fit,
             std::vector<int32_t>* validation) const;

  std::vector<int32_t> shuffled;
  int folds;
};

// The mean NDCG@10 of the lists `which` in retrieval order: what a reranker
// has to beat.
double RetrievalOrderNdcg(const std::vector<RerankList>& lists,
                          absl::Span<const int32_t> which);

// Trains `reranker` (initialised) on `lists`: chooses the epoch count on a
// config.validation_users share of the users (NDCG@10 of the re-sorted
// lists), then trains on every list for that many epochs.
StageTrainingResult TrainReranker(const RerankerTraining& config,
                                  const std::vector<RerankList>& lists,
                                  uint64_t seed, Reranker* reranker,
                                  Progress* progress);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_RANKING_TRAINER_H_
