// Training of the retrieval towers with a softmax over candidates (in-batch,
// full catalogue or sampled with the log-Q correction; see softmax.h) and
// sparse Adagrad.
//
// Deterministic: the same config, data, seed and OpenMP thread count give the
// same weights, bit for bit.
#ifndef MOVIEREC_TRAIN_RETRIEVAL_TRAINER_H_
#define MOVIEREC_TRAIN_RETRIEVAL_TRAINER_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "data/dataset.h"
#include "model/retrieval_model.h"
#include "train/epoch_loop.h"
#include "train/progress.h"
#include "train/train_config.h"
#include "util/random.h"

namespace movierec {

// Draws negatives for the sampled softmax from the training popularity
// (count + 1)^0.75, and gives every candidate its log-Q correction.
class NegativeSampler {
 public:
  NegativeSampler(int num_movies, const std::vector<Interaction>& train);

  int32_t Sample(Rng& rng) const;
  // log of the expected number of times `movie` is among the candidates of a
  // batch of `batch` positives and `negatives` sampled negatives.
  float LogExpectedCount(int32_t movie, int batch, int negatives) const;

 private:
  std::vector<double> cumulative_;  // of the sampling distribution
  std::vector<double> sample_p_;    // sampling probability
  std::vector<double> data_p_;      // share of training positives
};

// Reusable scratch space for AccumulateBatchGradients.
struct BatchWorkspace {
  RowMatrix queries, candidates, d_queries, d_candidates;
  std::vector<int32_t> labels, candidate_movies;
  std::vector<float> offsets;
  std::vector<Bag> user_bags, movie_bags;
};

// Computes the summed loss of `batch` and accumulates its gradients (loss and
// L2 penalty) into the tables of `model`, without applying them. `history`
// gives each user's training movies (for the history feature, with the
// example's own movie left out); `sampler` is needed for the sampled softmax
// only. Adds the step's floating-point operations to *flops.
double AccumulateBatchGradients(const RetrievalTraining& config,
                                absl::Span<const Interaction> batch,
                                const UserMovies& history,
                                const NegativeSampler* sampler, Rng& rng,
                                RetrievalModel* model, BatchWorkspace* work,
                                double* flops);

// Trains `model` (already initialised) on `train`. With `validation`, scores
// NDCG@10 on it after every epoch (movies of `train` excluded) and stops after
// config.patience epochs without improvement; the weights are those of the
// last epoch run, or with `restore_best` of the best-scoring epoch.
StageTrainingResult TrainRetrieval(const RetrievalTraining& config,
                                   const std::vector<Interaction>& train,
                                   const std::vector<Interaction>* validation,
                                   uint64_t seed, RetrievalModel* model,
                                   Progress* progress,
                                   bool restore_best = false);

// The mean NDCG@10 of `model` on `test`, leaving out each user's movies in
// `history` (the evaluation of early stopping and hyper-parameter choice).
double ValidationNdcg(const RetrievalModel& model, const UserMovies& history,
                      const std::vector<Interaction>& test);

}  // namespace movierec

#endif  // MOVIEREC_TRAIN_RETRIEVAL_TRAINER_H_
