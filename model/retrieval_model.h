// The two-tower retrieval model: a user tower and a movie tower, each the
// weighted sum of the embedding rows of its bag (see features.h), scored by
// inner product. With `movie_bias`, movie tables carry one more column, the
// bias, and user vectors end in a constant 1, so that
//   score(user, movie) = user_vector . movie_vector = q . c + b
// is still a plain inner product that FAISS can search.
//
// Thread safety: const methods may be called concurrently; training methods
// (Backward, ApplyAdagrad) need exclusive access.
#ifndef MOVIEREC_MODEL_RETRIEVAL_MODEL_H_
#define MOVIEREC_MODEL_RETRIEVAL_MODEL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/dataset.h"
#include "data/features.h"
#include "model/tower.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/eigen_types.h"
#include "util/random.h"

namespace movierec {

struct RetrievalConfig {
  FeatureOptions features;
  int embedding_dim = 32;
  bool movie_bias = false;
  float init_scale = 0.05f;  // weights start uniform in [-scale, scale)
};

class RetrievalModel {
 public:
  RetrievalModel(const RetrievalConfig& config, const MovieLens& catalog);

  const RetrievalConfig& config() const { return config_; }
  const Featurizer& featurizer() const { return featurizer_; }
  // The dimension of user and movie vectors (embedding_dim, + 1 with bias).
  int dim() const;
  int num_users() const { return num_users_; }
  int num_movies() const { return num_movies_; }

  void InitRandom(Rng& rng);

  Tower& user_tower() { return user_tower_; }
  Tower& movie_tower() { return movie_tower_; }
  const Tower& user_tower() const { return user_tower_; }
  const Tower& movie_tower() const { return movie_tower_; }

  // Writes dim() values.
  void EncodeUser(const Bag& bag, float* out) const;
  void EncodeMovie(const Bag& bag, float* out) const;

  // The vectors of every user (with its training history) and every movie.
  // A user with no history and, when `popularity` (training ratings per
  // movie) is given, a movie with none are encoded from their features alone
  // (Featurizer::ColdUserFromFeatures).
  RowMatrix UserVectors(const UserMovies& history) const;
  RowMatrix MovieVectors(absl::Span<const int32_t> popularity = {}) const;

  // One model whose score for a (user, movie) pair is the sum of the
  // members' scores: the members' tables side by side (embedding_dim the
  // sum of theirs) and their movie biases added, so that it is served, saved
  // and loaded as any model is. The members must share one config (they
  // differ in their weights: e.g. seeded apart); InvalidArgument otherwise.
  static absl::StatusOr<RetrievalModel> Concatenate(
      absl::Span<const RetrievalModel> members, const MovieLens& catalog);

  // Parameters <-> their on-disk form. FromProto checks every shape and that
  // no weight is NaN or infinite.
  movierec::model::v1::ParameterSet ToProto() const;
  static absl::StatusOr<RetrievalModel> FromProto(
      const movierec::model::v1::ParameterSet& proto, const MovieLens& catalog);

  static constexpr const char* kKind = "bag_towers_v1";

 private:
  RetrievalConfig config_;
  Featurizer featurizer_;
  Tower user_tower_;
  Tower movie_tower_;
  int num_users_;
  int num_movies_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_RETRIEVAL_MODEL_H_
