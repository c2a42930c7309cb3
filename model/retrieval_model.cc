#include "model/retrieval_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "model/model_json.h"
#include "model/tensor_proto.h"
#include "util/status_macros.h"

namespace movierec {
RetrievalModel::RetrievalModel(const RetrievalConfig& config,
                               const MovieLens& catalog)
    : config_(config),
      featurizer_(config.features, catalog),
      user_tower_(featurizer_.user_tables(), config.embedding_dim),
      movie_tower_(featurizer_.movie_tables(),
                   config.embedding_dim + (config.movie_bias ? 1 : 0)),
      num_users_(static_cast<int>(catalog.users.size())),
      num_movies_(static_cast<int>(catalog.movies.size())) {}

int RetrievalModel::dim() const {
  return config_.embedding_dim + (config_.movie_bias ? 1 : 0);
}

void RetrievalModel::InitRandom(Rng& rng) {
  for (EmbeddingTable& table : user_tower_.tables()) {
    table.InitUniform(config_.init_scale, rng);
  }
  for (EmbeddingTable& table : movie_tower_.tables()) {
    table.InitUniform(config_.init_scale, rng);
    // Biases start at zero, as Keras' bias initialiser does.
    // (An empty table, e.g. genres of a catalogue without any, has no
    // column to take.)
    if (config_.movie_bias && table.mutable_weights().size() > 0) {
      table.mutable_weights().rightCols(1).setZero();
    }
  }
}

void RetrievalModel::EncodeUser(const Bag& bag, float* out) const {
  user_tower_.Encode(bag, out);
  if (config_.movie_bias) out[config_.embedding_dim] = 1.0f;
}

void RetrievalModel::EncodeMovie(const Bag& bag, float* out) const {
  movie_tower_.Encode(bag, out);
}

RowMatrix RetrievalModel::UserVectors(const UserMovies& history) const {
  RowMatrix vectors(num_users_, dim());
  Bag bag;
  for (int u = 0; u < num_users_; ++u) {
    bag.clear();
    featurizer_.UserBag(
        u, history.Of(u), /*exclude=*/-1, &bag,
        !history.Of(u).empty() || !featurizer_.ColdUserFromFeatures());
    EncodeUser(bag, vectors.row(u).data());
  }
  return vectors;
}

RowMatrix RetrievalModel::MovieVectors(
    absl::Span<const int32_t> popularity) const {
  RowMatrix vectors(num_movies_, dim());
  Bag bag;
  for (int m = 0; m < num_movies_; ++m) {
    bag.clear();
    featurizer_.MovieBag(m, &bag,
                         popularity.empty() || popularity[m] > 0 ||
                             !featurizer_.ColdMovieFromFeatures());
    EncodeMovie(bag, vectors.row(m).data());
  }
  return vectors;
}

model::v1::ParameterSet RetrievalModel::ToProto() const {
  model::v1::ParameterSet proto;
  proto.set_kind(kKind);
  proto.set_config_json(StageConfigJson(config_));
  user_tower_.ToProto("", featurizer_.user_tables(), &proto);
  movie_tower_.ToProto("", featurizer_.movie_tables(), &proto);
  return proto;
}

absl::StatusOr<RetrievalModel> RetrievalModel::FromProto(
    const model::v1::ParameterSet& proto, const MovieLens& catalog) {
  if (proto.kind() != kKind) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval parameters of kind \"", proto.kind(),
                     "\", expected \"", kKind, "\""));
  }
  MOVIEREC_ASSIGN_OR_RETURN(RetrievalConfig config,
                            ParseConfigJson<RetrievalConfig>(
                                proto.config_json(), "retrieval config"));
  if (config.embedding_dim <= 0 || config.embedding_dim > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retrieval embedding_dim ", config.embedding_dim, " is not in 1-4096"));
  }
  RetrievalModel model(config, catalog);
  MOVIEREC_RETURN_IF_ERROR(
      model.user_tower_.FromProto("", model.featurizer_.user_tables(), proto));
  MOVIEREC_RETURN_IF_ERROR(model.movie_tower_.FromProto(
      "", model.featurizer_.movie_tables(), proto));
  const size_t expected = model.featurizer_.user_tables().size() +
                          model.featurizer_.movie_tables().size();
  if (static_cast<size_t>(proto.tensors().size()) != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval parameters hold ", proto.tensors().size(),
                     " tensors, expected ", expected));
  }
  return model;
}

}  // namespace movierec
