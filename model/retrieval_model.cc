#include "model/retrieval_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "model/config_json.h"
#include "model/status_macros.h"
#include "model/tensor_proto.h"

namespace movierec {
Tower::Tower(const std::vector<TableSpec>& tables, int dim) : dim_(dim) {
  tables_.reserve(tables.size());
  for (const TableSpec& spec : tables) tables_.emplace_back(spec.rows, dim);
}

void Tower::Encode(const Bag& bag, float* out) const {
  Eigen::Map<RowVector> result(out, dim_);
  result.setZero();
  for (const BagEntry& e : bag) {
    result += e.weight *
              Eigen::Map<const RowVector>(tables_[e.table].row(e.row), dim_);
  }
}

void Tower::Backward(const Bag& bag, const float* grad) {
  for (const BagEntry& e : bag) {
    tables_[e.table].AccumulateGradient(e.row, grad, e.weight);
  }
}

void Tower::BackwardL2(const Bag& bag, float l2) {
  for (const BagEntry& e : bag) {
    EmbeddingTable& table = tables_[e.table];
    table.AccumulateGradient(e.row, table.row(e.row), 2 * l2 * e.weight);
  }
}

void Tower::ApplyAdagrad(const AdagradOptions& options) {
  for (EmbeddingTable& table : tables_) table.ApplyAdagrad(options);
}

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
    if (config_.movie_bias) table.mutable_weights().rightCols(1).setZero();
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
    featurizer_.UserBag(u, history.Of(u), /*exclude=*/-1, &bag);
    EncodeUser(bag, vectors.row(u).data());
  }
  return vectors;
}

RowMatrix RetrievalModel::MovieVectors() const {
  RowMatrix vectors(num_movies_, dim());
  Bag bag;
  for (int m = 0; m < num_movies_; ++m) {
    bag.clear();
    featurizer_.MovieBag(m, &bag);
    EncodeMovie(bag, vectors.row(m).data());
  }
  return vectors;
}

v1::ParameterSet RetrievalModel::ToProto() const {
  v1::ParameterSet proto;
  proto.set_kind(kKind);
  proto.set_config_json(nlohmann::json(config_).dump());
  auto& tensors = *proto.mutable_tensors();
  for (size_t t = 0; t < user_tower_.tables().size(); ++t) {
    ToTensor(user_tower_.tables()[t].weights(),
             &tensors[featurizer_.user_tables()[t].name]);
  }
  for (size_t t = 0; t < movie_tower_.tables().size(); ++t) {
    ToTensor(movie_tower_.tables()[t].weights(),
             &tensors[featurizer_.movie_tables()[t].name]);
  }
  return proto;
}

absl::StatusOr<RetrievalModel> RetrievalModel::FromProto(
    const v1::ParameterSet& proto, const MovieLens& catalog) {
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
  size_t expected_tensors = 0;
  const auto load = [&](Tower& tower,
                        const std::vector<TableSpec>& specs) -> absl::Status {
    for (size_t t = 0; t < specs.size(); ++t) {
      const auto it = proto.tensors().find(specs[t].name);
      if (it == proto.tensors().end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("retrieval tensor ", specs[t].name, " is missing"));
      }
      MOVIEREC_ASSIGN_OR_RETURN(tower.tables()[t].mutable_weights(),
                                MatrixFromTensor(it->second, specs[t].name,
                                                 specs[t].rows, tower.dim()));
      ++expected_tensors;
    }
    return absl::OkStatus();
  };
  MOVIEREC_RETURN_IF_ERROR(
      load(model.user_tower_, model.featurizer_.user_tables()));
  MOVIEREC_RETURN_IF_ERROR(
      load(model.movie_tower_, model.featurizer_.movie_tables()));
  if (static_cast<size_t>(proto.tensors().size()) != expected_tensors) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval parameters hold ", proto.tensors().size(),
                     " tensors, expected ", expected_tensors));
  }
  return model;
}

}  // namespace movierec
