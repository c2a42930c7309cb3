#include "train/retrieval_trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "index/candidate_index.h"
#include "train/epoch_loop.h"
#include "train/evaluator.h"
#include "train/softmax.h"

namespace movierec {
namespace {

// Fills work->candidates (and labels, offsets, candidate_movies) for the
// configured softmax.
void BuildCandidates(const RetrievalTraining& config,
                     absl::Span<const Interaction> batch,
                     const NegativeSampler* sampler, Rng& rng,
                     const RetrievalModel& model, BatchWorkspace* work) {
  const int batch_size = static_cast<int>(batch.size());
  std::vector<int32_t>& movies = work->candidate_movies;
  movies.clear();
  work->labels.resize(batch.size());
  work->offsets.clear();
  if (config.softmax == "in_batch") {
    for (int i = 0; i < batch_size; ++i) {
      movies.push_back(batch[i].movie);
      work->labels[i] = i;
    }
  } else if (config.softmax == "full") {
    movies.resize(static_cast<size_t>(model.num_movies()));
    std::iota(movies.begin(), movies.end(), 0);
    for (int i = 0; i < batch_size; ++i) work->labels[i] = batch[i].movie;
  } else {  // sampled: the batch's distinct movies, then sampled negatives
    absl::flat_hash_map<int32_t, int32_t> column;
    const auto add = [&](int32_t movie) {
      const auto [it, inserted] =
          column.emplace(movie, static_cast<int32_t>(movies.size()));
      if (inserted) movies.push_back(movie);
      return it->second;
    };
    for (int i = 0; i < batch_size; ++i) work->labels[i] = add(batch[i].movie);
    for (int n = 0; n < config.sampled_negatives; ++n)
      add(sampler->Sample(rng));
    for (const int32_t movie : movies) {
      work->offsets.push_back(-sampler->LogExpectedCount(
          movie, batch_size, config.sampled_negatives));
    }
  }
  const int n = static_cast<int>(movies.size());
  work->candidates.resize(n, model.dim());
  work->movie_bags.resize(static_cast<size_t>(n));
  // Each row is its own bag's encoding: threads change no bit of it.
#pragma omp parallel for schedule(static)
  for (int j = 0; j < n; ++j) {
    Bag& bag = work->movie_bags[j];
    bag.clear();
    model.featurizer().MovieBag(movies[j], &bag);
    model.EncodeMovie(bag, work->candidates.row(j).data());
  }
}

}  // namespace

NegativeSampler::NegativeSampler(int num_movies,
                                 const std::vector<Interaction>& train) {
  std::vector<double> counts(static_cast<size_t>(num_movies), 0);
  for (const Interaction& x : train) counts[x.movie] += 1;
  const double total = std::max<double>(1, static_cast<double>(train.size()));
  double weight_sum = 0;
  for (const double c : counts) weight_sum += std::pow(c + 1, 0.75);
  double cumulative = 0;
  for (const double c : counts) {
    const double p = std::pow(c + 1, 0.75) / weight_sum;
    sample_p_.push_back(p);
    data_p_.push_back(c / total);
    cumulative += p;
    cumulative_.push_back(cumulative);
  }
}

int32_t NegativeSampler::Sample(Rng& rng) const {
  const double u = rng.UniformFloat() * cumulative_.back();
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  return static_cast<int32_t>(
      std::min<ptrdiff_t>(it - cumulative_.begin(),
                          static_cast<ptrdiff_t>(cumulative_.size()) - 1));
}

float NegativeSampler::LogExpectedCount(int32_t movie, int batch,
                                        int negatives) const {
  const double expected = batch * data_p_[movie] + negatives * sample_p_[movie];
  return static_cast<float>(std::log(std::max(expected, 1e-12)));
}

double AccumulateBatchGradients(const RetrievalTraining& config,
                                absl::Span<const Interaction> batch,
                                const UserMovies& history,
                                const NegativeSampler* sampler, Rng& rng,
                                RetrievalModel* model, BatchWorkspace* work,
                                double* flops) {
  const int batch_size = static_cast<int>(batch.size());
  const Featurizer& featurizer = model->featurizer();
  work->queries.resize(batch_size, model->dim());
  work->user_bags.resize(batch.size());
  for (int i = 0; i < batch_size; ++i) {
    Bag& bag = work->user_bags[i];
    bag.clear();
    if (config.history_sample > 0) {
      featurizer.SampledUserBag(batch[i].user, history.Of(batch[i].user),
                                batch[i].movie, config.history_sample, rng,
                                &bag);
    } else {
      featurizer.UserBag(batch[i].user, history.Of(batch[i].user),
                         batch[i].movie, &bag);
    }
  }
  // The bags drew from `rng` in order above; their encodings are
  // independent rows, computed by the threads.
#pragma omp parallel for schedule(static)
  for (int i = 0; i < batch_size; ++i) {
    model->EncodeUser(work->user_bags[i], work->queries.row(i).data());
  }
  BuildCandidates(config, batch, sampler, rng, *model, work);

  SoftmaxOptions softmax;
  softmax.block_rows = config.block_rows;
  const double loss = SoftmaxCrossEntropy(
      work->queries, work->candidates,
      work->offsets.empty() ? nullptr : work->offsets.data(), work->labels,
      &work->d_queries, &work->d_candidates, softmax);
  *flops += SoftmaxFlops(batch_size, work->candidates.rows(), model->dim());

  // Tower::Backward reads the tower's own width, so the user vector's
  // constant bias coordinate, which has no parameters, gets no gradient.
  // The L2 penalty covers each example's user bag and positive movie's bag.
  double penalty =
      model->user_tower().BackwardBatch(work->user_bags, work->d_queries.data(),
                                        work->d_queries.cols(), config.l2);
  model->movie_tower().BackwardBatch(
      work->movie_bags, work->d_candidates.data(), work->d_candidates.cols());
  if (config.l2 > 0) {
    Bag movie_bag;
    for (int i = 0; i < batch_size; ++i) {
      movie_bag.clear();
      featurizer.MovieBag(batch[i].movie, &movie_bag);
      penalty += model->movie_tower().BackwardL2(movie_bag, config.l2);
    }
  }
  return loss + penalty;
}

double ValidationNdcg(const RetrievalModel& model, const UserMovies& history,
                      const std::vector<Interaction>& test) {
  const RowMatrix users = model.UserVectors(history);
  const std::unique_ptr<CandidateIndex> index =
      MakeFlatIndex(model.MovieVectors());
  const ListMetrics metrics =
      EvaluateProtocolB(model.num_users(), test, [&](int user) {
        std::vector<int32_t> top;
        for (const Candidate& c :
             index->Search(users.row(user).data(), 10, history.Of(user))) {
          top.push_back(c.row);
        }
        return top;
      });
  return metrics.ndcg_at_10;
}

StageTrainingResult TrainRetrieval(const RetrievalTraining& config,
                                   const std::vector<Interaction>& train,
                                   const std::vector<Interaction>* validation,
                                   uint64_t seed, RetrievalModel* model,
                                   Progress* progress, bool restore_best) {
  Rng rng(seed);
  const UserMovies history(model->num_users(), train);
  std::unique_ptr<NegativeSampler> sampler;
  if (config.softmax == "sampled") {
    sampler = std::make_unique<NegativeSampler>(model->num_movies(), train);
  }
  BatchWorkspace work;
  EpochLoopOptions options;
  options.stage = "retrieval";
  options.epochs = config.epochs;
  options.batch_size = config.batch_size;
  options.patience = config.patience;
  options.higher_is_better = true;
  const std::function<double(absl::Span<const Interaction>, double*)> step =
      [&](absl::Span<const Interaction> batch, double* flops) {
        const double loss = AccumulateBatchGradients(
            config, batch, history, sampler.get(), rng, model, &work, flops);
        model->user_tower().ApplyAdagrad(config.optimizer);
        model->movie_tower().ApplyAdagrad(config.optimizer);
        return loss;
      };
  std::function<double()> validate;
  if (validation != nullptr) {
    validate = [&] { return ValidationNdcg(*model, history, *validation); };
  }
  std::optional<RetrievalModel> best;
  if (restore_best && validate) options.on_best = [&] { best = *model; };
  StageTrainingResult result =
      RunEpochs<Interaction>(options, train, rng, step, validate, progress);
  if (best) *model = std::move(*best);
  return result;
}

}  // namespace movierec
