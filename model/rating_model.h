// The rating model of the ranking stage: predicts a user's star rating of a
// movie. Two bag-of-embeddings towers (features.h) feed up to three terms:
//
//   rating = [mean + user bias + movie bias]   (biases)
//          + [u . m]                           (dot)
//          + [MLP(concat(u, m))]               (mlp)
//
// The `tfrs` preset is the TFRS basic-ranking tutorial: 32-d id embeddings,
// concatenated, Dense 256 ReLU, Dense 64 ReLU, Dense 1. The default adds
// biases, the dot product and the user and movie features.
//
// Thread safety: const methods may be called concurrently.
#ifndef MOVIEREC_MODEL_RATING_MODEL_H_
#define MOVIEREC_MODEL_RATING_MODEL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/dataset.h"
#include "data/features.h"
#include "model/mlp.h"
#include "model/tower.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/eigen_types.h"
#include "util/random.h"

namespace movierec {

struct RatingConfig {
  FeatureOptions features;
  int embedding_dim = 32;
  bool biases = false;
  bool dot = false;
  bool mlp = true;
  std::vector<int> hidden = {256, 64};
  float init_scale = 0.05f;
};

// What PredictBatch keeps for BackwardBatch.
struct RatingActivations {
  RowMatrix mlp_input;
  MlpActivations mlp;
};

class RatingModel {
 public:
  RatingModel(const RatingConfig& config, const MovieLens& catalog);

  const RatingConfig& config() const { return config_; }
  const Featurizer& featurizer() const { return featurizer_; }
  // Width of the tower outputs: embedding_dim, + 1 (the bias) with biases.
  int tower_dim() const { return user_tower_.dim(); }
  float global_mean() const { return global_mean_; }
  int num_users() const { return num_users_; }
  int num_movies() const { return num_movies_; }
  void set_global_mean(float mean) { global_mean_ = mean; }

  void InitRandom(Rng& rng);

  Tower& user_tower() { return user_tower_; }
  Tower& movie_tower() { return movie_tower_; }
  Mlp& mlp() { return mlp_; }

  // Predicted ratings of row pairs (users.row(i), movies.row(i)) of tower
  // outputs. With `activations`, keeps what BackwardBatch needs.
  void PredictBatch(const RowMatrix& users, const RowMatrix& movies,
                    Vector* out, RatingActivations* activations) const;

  // Given d_out = dLoss/d(prediction), accumulates the MLP's gradients and
  // writes the gradients of the tower outputs.
  void BackwardBatch(const RowMatrix& users, const RowMatrix& movies,
                     const RatingActivations& activations, const Vector& d_out,
                     float l2, RowMatrix* d_users, RowMatrix* d_movies);

  void ApplyAdagrad(const AdagradOptions& options);

  // The user tower's output for `bag` (tower_dim() values): how a visitor
  // without a user row is encoded (features.h).
  void EncodeUser(const Bag& bag, float* out) const;

  // The tower outputs of every user (with its training history) and movie.
  // A user with no history and, when `popularity` (training ratings per
  // movie) is given, a movie with none are encoded from their features alone
  // (Featurizer::ColdUserFromFeatures).
  RowMatrix UserVectors(const UserMovies& history) const;
  RowMatrix MovieVectors(absl::Span<const int32_t> popularity = {}) const;

  // Predicted ratings of `movies` (rows of movie_vectors) for one user
  // vector, into out[0 .. movies.size()).
  void Predict(const float* user_vector, const RowMatrix& movie_vectors,
               absl::Span<const int32_t> movies, float* out) const;

  movierec::model::v1::ParameterSet ToProto() const;
  static absl::StatusOr<RatingModel> FromProto(
      const movierec::model::v1::ParameterSet& proto, const MovieLens& catalog);

  static constexpr const char* kKind = "rating_towers_mlp_v1";

 private:
  RatingConfig config_;
  Featurizer featurizer_;
  Tower user_tower_;
  Tower movie_tower_;
  Mlp mlp_;
  float global_mean_ = 0;
  int num_users_;
  int num_movies_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_RATING_MODEL_H_
