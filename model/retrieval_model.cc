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

absl::StatusOr<RetrievalModel> RetrievalModel::Concatenate(
    absl::Span<const RetrievalModel> members, const MovieLens& catalog) {
  if (members.empty()) {
    return absl::InvalidArgumentError("no retrieval models to concatenate");
  }
  const RetrievalConfig& first = members[0].config();
  const std::string first_json = StageConfigJson(first);
  for (size_t i = 1; i < members.size(); ++i) {
    const std::string json = StageConfigJson(members[i].config());
    if (json != first_json) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retrieval model ", i, " of ", members.size(), " has the config ",
          json, ", unlike the first's ", first_json));
    }
  }
  const int dim = first.embedding_dim;
  RetrievalConfig config = first;
  config.embedding_dim = dim * static_cast<int>(members.size());
  RetrievalModel model(config, catalog);
  const int users = static_cast<int>(catalog.users.size());
  const int movies = static_cast<int>(catalog.movies.size());
  for (const RetrievalModel& member : members) {
    if (member.num_users() != users || member.num_movies() != movies) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a retrieval model of ", member.num_users(), " users and ",
          member.num_movies(), " movies, concatenated for a catalogue of ",
          users, " and ", movies));
    }
  }
  for (size_t i = 0; i < members.size(); ++i) {
    const Eigen::Index begin = static_cast<Eigen::Index>(i) * dim;
    const std::vector<EmbeddingTable>& user = members[i].user_tower().tables();
    for (size_t t = 0; t < user.size(); ++t) {
      model.user_tower_.tables()[t].mutable_weights().middleCols(begin, dim) =
          user[t].weights();
    }
    const std::vector<EmbeddingTable>& movie =
        members[i].movie_tower().tables();
    for (size_t t = 0; t < movie.size(); ++t) {
      RowMatrix& weights = model.movie_tower_.tables()[t].mutable_weights();
      if (weights.rows() == 0) continue;
      weights.middleCols(begin, dim) = movie[t].weights().leftCols(dim);
      if (!config.movie_bias) continue;
      // The bias column: the members' biases added (zero before the first).
      if (i == 0) weights.rightCols(1).setZero();
      weights.rightCols(1) += movie[t].weights().rightCols(1);
    }
  }
  return model;
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
