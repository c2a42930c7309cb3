#include "model/rating_model.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/model_json.h"
#include "model/tensor_proto.h"
#include "util/prefetch.h"
#include "util/status_macros.h"

namespace movierec {
namespace {

std::vector<int> MlpWidths(const RatingConfig& config) {
  if (!config.mlp) return {};
  std::vector<int> widths = {2 * config.embedding_dim};
  widths.insert(widths.end(), config.hidden.begin(), config.hidden.end());
  widths.push_back(1);
  return widths;
}

}  // namespace

RatingModel::RatingModel(const RatingConfig& config, const MovieLens& catalog)
    : config_(config),
      featurizer_(config.features, catalog),
      user_tower_(featurizer_.user_tables(),
                  config.embedding_dim + (config.biases ? 1 : 0)),
      movie_tower_(featurizer_.movie_tables(),
                   config.embedding_dim + (config.biases ? 1 : 0)),
      mlp_(MlpWidths(config)),
      num_users_(static_cast<int>(catalog.users.size())),
      num_movies_(static_cast<int>(catalog.movies.size())) {}

void RatingModel::InitRandom(Rng& rng) {
  for (Tower* tower : {&user_tower_, &movie_tower_}) {
    for (EmbeddingTable& table : tower->tables()) {
      table.InitUniform(config_.init_scale, rng);
      if (config_.biases) table.mutable_weights().rightCols(1).setZero();
    }
  }
  mlp_.InitGlorot(rng);
}

void RatingModel::PredictBatch(const RowMatrix& users, const RowMatrix& movies,
                               Vector* out,
                               RatingActivations* activations) const {
  const Eigen::Index rows = users.rows();
  const int d = config_.embedding_dim;
  out->setConstant(rows, config_.biases ? global_mean_ : 0.0f);
  if (config_.biases) *out += users.col(d) + movies.col(d);
  if (config_.dot) {
    *out += (users.leftCols(d).array() * movies.leftCols(d).array())
                .rowwise()
                .sum()
                .matrix();
  }
  if (config_.mlp) {
    RatingActivations local;
    RatingActivations* a = activations != nullptr ? activations : &local;
    a->mlp_input.resize(rows, 2 * d);
    a->mlp_input.leftCols(d) = users.leftCols(d);
    a->mlp_input.rightCols(d) = movies.leftCols(d);
    RowMatrix mlp_out;
    mlp_.Forward(a->mlp_input, &mlp_out,
                 activations != nullptr ? &a->mlp : nullptr);
    *out += mlp_out.col(0);
  }
}

void RatingModel::BackwardBatch(const RowMatrix& users, const RowMatrix& movies,
                                const RatingActivations& activations,
                                const Vector& d_out, float l2,
                                RowMatrix* d_users, RowMatrix* d_movies) {
  const int d = config_.embedding_dim;
  d_users->setZero(users.rows(), users.cols());
  d_movies->setZero(movies.rows(), movies.cols());
  if (config_.biases) {
    d_users->col(d) = d_out;
    d_movies->col(d) = d_out;
  }
  if (config_.dot) {
    d_users->leftCols(d).array() +=
        movies.leftCols(d).array().colwise() * d_out.array();
    d_movies->leftCols(d).array() +=
        users.leftCols(d).array().colwise() * d_out.array();
  }
  if (config_.mlp) {
    RowMatrix d_input;
    mlp_.Backward(activations.mlp, d_out, l2, &d_input);
    d_users->leftCols(d) += d_input.leftCols(d);
    d_movies->leftCols(d) += d_input.rightCols(d);
  }
}

void RatingModel::ApplyAdagrad(const AdagradOptions& options) {
  user_tower_.ApplyAdagrad(options);
  movie_tower_.ApplyAdagrad(options);
  if (config_.mlp) mlp_.ApplyAdagrad(options);
}

void RatingModel::EncodeUser(const Bag& bag, float* out) const {
  user_tower_.Encode(bag, out);
}

RowMatrix RatingModel::UserVectors(const UserMovies& history) const {
  RowMatrix vectors(num_users_, tower_dim());
  Bag bag;
  for (int u = 0; u < num_users_; ++u) {
    bag.clear();
    featurizer_.UserBag(
        u, history.Of(u), /*exclude=*/-1, &bag,
        !history.Of(u).empty() || !featurizer_.ColdUserFromFeatures());
    user_tower_.Encode(bag, vectors.row(u).data());
  }
  return vectors;
}

RowMatrix RatingModel::MovieVectors(
    absl::Span<const int32_t> popularity) const {
  RowMatrix vectors(num_movies_, tower_dim());
  Bag bag;
  for (int m = 0; m < num_movies_; ++m) {
    bag.clear();
    featurizer_.MovieBag(m, &bag,
                         popularity.empty() || popularity[m] > 0 ||
                             !featurizer_.ColdMovieFromFeatures());
    movie_tower_.Encode(bag, vectors.row(m).data());
  }
  return vectors;
}

void RatingModel::Predict(const float* user_vector,
                          const RowMatrix& movie_vectors,
                          absl::Span<const int32_t> movies, float* out) const {
  const auto n = static_cast<Eigen::Index>(movies.size());
  const Eigen::Map<const RowVector> user(user_vector, tower_dim());
  if (!config_.mlp) {
    // Biases and a dot product: each movie's row read in place, the same
    // sums in the same order as PredictBatch (so the same floats), without
    // first copying the user's row and the movies' rows n times.
    const int d = config_.embedding_dim;
    // The rows kAhead movies on are requested while this one is read
    // (util/prefetch.h): scattered rows, out of the caches under load.
    constexpr Eigen::Index kAhead = 4;
    const auto row_bytes = static_cast<size_t>(movie_vectors.cols()) * 4;
    for (Eigen::Index i = 0; i < std::min(kAhead, n); ++i) {
      PrefetchForRead(movie_vectors.row(movies[i]).data(), row_bytes);
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        PrefetchForRead(movie_vectors.row(movies[i + kAhead]).data(),
                        row_bytes);
      }
      const auto movie = movie_vectors.row(movies[i]);
      float prediction = config_.biases ? global_mean_ : 0.0f;
      if (config_.biases) prediction += user(d) + movie(d);
      if (config_.dot) {
        prediction += (user.head(d).array() * movie.head(d).array()).sum();
      }
      out[i] = prediction;
    }
    return;
  }
  // Per-thread scratch: a serving call allocates none of these.
  thread_local RowMatrix users;
  thread_local RowMatrix candidates;
  thread_local Vector predictions;
  users.resize(n, tower_dim());
  candidates.resize(n, tower_dim());
  for (Eigen::Index i = 0; i < n; ++i) {
    users.row(i) = user;
    candidates.row(i) = movie_vectors.row(movies[i]);
  }
  PredictBatch(users, candidates, &predictions, nullptr);
  Eigen::Map<Vector>(out, n) = predictions;
}

model::v1::ParameterSet RatingModel::ToProto() const {
  model::v1::ParameterSet proto;
  proto.set_kind(kKind);
  proto.set_config_json(StageConfigJson(config_));
  ToTensor(Vector(Vector::Constant(1, global_mean_)),
           &(*proto.mutable_tensors())["global_mean"]);
  user_tower_.ToProto("user/", featurizer_.user_tables(), &proto);
  movie_tower_.ToProto("movie/", featurizer_.movie_tables(), &proto);
  mlp_.ToProto("mlp/", &proto);
  return proto;
}

absl::StatusOr<RatingModel> RatingModel::FromProto(
    const model::v1::ParameterSet& proto, const MovieLens& catalog) {
  if (proto.kind() != kKind) {
    return absl::InvalidArgumentError(
        absl::StrCat("rating parameters of kind \"", proto.kind(),
                     "\", expected \"", kKind, "\""));
  }
  MOVIEREC_ASSIGN_OR_RETURN(
      RatingConfig config,
      ParseConfigJson<RatingConfig>(proto.config_json(), "rating config"));
  if (config.embedding_dim <= 0 || config.embedding_dim > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rating embedding_dim ", config.embedding_dim, " is not in 1-4096"));
  }
  for (const int width : config.hidden) {
    if (width <= 0 || width > 65536) {
      return absl::InvalidArgumentError(
          absl::StrCat("rating hidden width ", width, " is not in 1-65536"));
    }
  }
  RatingModel model(config, catalog);
  const auto mean = proto.tensors().find("global_mean");
  if (mean == proto.tensors().end()) {
    return absl::InvalidArgumentError("tensor global_mean is missing");
  }
  MOVIEREC_ASSIGN_OR_RETURN(Vector mean_value,
                            VectorFromTensor(mean->second, "global_mean", 1));
  model.global_mean_ = mean_value(0);
  MOVIEREC_RETURN_IF_ERROR(model.user_tower_.FromProto(
      "user/", model.featurizer_.user_tables(), proto));
  MOVIEREC_RETURN_IF_ERROR(model.movie_tower_.FromProto(
      "movie/", model.featurizer_.movie_tables(), proto));
  MOVIEREC_RETURN_IF_ERROR(model.mlp_.FromProto("mlp/", proto));
  const size_t expected = 1 + model.featurizer_.user_tables().size() +
                          model.featurizer_.movie_tables().size() +
                          static_cast<size_t>(model.mlp_.tensor_count());
  if (static_cast<size_t>(proto.tensors().size()) != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("rating parameters hold ", proto.tensors().size(),
                     " tensors, expected ", expected));
  }
  return model;
}

}  // namespace movierec
