// Tests of RetrievalModel::Concatenate (model/retrieval_model.h): the one
// model that serves several retrieval members scores every (user, movie)
// pair as the sum of the members' scores, saves and loads as any model does,
// and refuses members that do not fit together.
#include "model/retrieval_model.h"

#include <gtest/gtest.h>

#include <vector>

#include "data/dataset.h"
#include "tests/test_util.h"
#include "util/random.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;
using ::movierec::test::SmallMovieLens;
using ::movierec::test::SmallRetrievalConfig;

// A randomly initialised model of `config`, its movie biases (which
// InitRandom leaves at zero) random as well.
RetrievalModel RandomModel(const RetrievalConfig& config, const MovieLens& data,
                           uint64_t seed) {
  RetrievalModel model(config, data);
  Rng rng(seed);
  model.InitRandom(rng);
  if (config.movie_bias) {
    for (EmbeddingTable& table : model.movie_tower().tables()) {
      for (int r = 0; r < table.rows(); ++r) {
        table.mutable_weights()(r, table.dim() - 1) =
            rng.UniformFloat(-0.5f, 0.5f);
      }
    }
  }
  return model;
}

// Every (user, movie) score of `model`, users by rows.
RowMatrix Scores(const RetrievalModel& model, const UserMovies& history) {
  return model.UserVectors(history) * model.MovieVectors().transpose();
}

class ConcatenateTest : public ::testing::TestWithParam<bool> {
 protected:
  ConcatenateTest()
      : data_(SmallMovieLens(/*num_users=*/10, /*num_movies=*/25,
                             /*per_user=*/6, /*seed=*/4)),
        history_(static_cast<int>(data_.users.size()),
                 test::InteractionsOf(data_)) {}

  MovieLens data_;
  UserMovies history_;
};

TEST_P(ConcatenateTest, ScoresEveryPairAsTheSumOfTheMembers) {
  const RetrievalConfig config = SmallRetrievalConfig(GetParam());
  std::vector<RetrievalModel> members;
  for (const uint64_t seed : {1, 2, 3}) {
    members.push_back(RandomModel(config, data_, seed));
  }
  absl::StatusOr<RetrievalModel> joined =
      RetrievalModel::Concatenate(members, data_);
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(joined->config().embedding_dim, 3 * config.embedding_dim);
  EXPECT_EQ(joined->dim(), 3 * config.embedding_dim + (GetParam() ? 1 : 0));
  RowMatrix sum = RowMatrix::Zero(data_.users.size(), data_.movies.size());
  for (const RetrievalModel& member : members) sum += Scores(member, history_);
  const RowMatrix scores = Scores(*joined, history_);
  ASSERT_EQ(scores.rows(), sum.rows());
  ASSERT_EQ(scores.cols(), sum.cols());
  EXPECT_LT((scores - sum).cwiseAbs().maxCoeff(), 1e-5f);
  // It is an ordinary model: it saves and loads as one, scores unchanged.
  absl::StatusOr<RetrievalModel> loaded =
      RetrievalModel::FromProto(joined->ToProto(), data_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Scores(*loaded, history_), scores);
}

TEST_P(ConcatenateTest, OneMemberIsThatMember) {
  const RetrievalConfig config = SmallRetrievalConfig(GetParam());
  const std::vector<RetrievalModel> members = {RandomModel(config, data_, 7)};
  absl::StatusOr<RetrievalModel> joined =
      RetrievalModel::Concatenate(members, data_);
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(Scores(*joined, history_), Scores(members[0], history_));
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutFeaturesAndBias, ConcatenateTest,
                         ::testing::Bool());

TEST(ConcatenateRefusalTest, NamesWhatDoesNotFit) {
  const MovieLens data = SmallMovieLens(8, 20, 5, 6);
  EXPECT_TRUE(IsError(RetrievalModel::Concatenate({}, data).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"no retrieval models"}));
  RetrievalConfig config = SmallRetrievalConfig(true);
  RetrievalConfig wider = config;
  wider.embedding_dim = config.embedding_dim + 1;
  const std::vector<RetrievalModel> unlike = {RandomModel(config, data, 1),
                                              RandomModel(wider, data, 2)};
  EXPECT_TRUE(IsError(RetrievalModel::Concatenate(unlike, data).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"retrieval model 1 of 2", "embedding_dim"}));
  const MovieLens other = SmallMovieLens(8, 21, 5, 6);
  const std::vector<RetrievalModel> elsewhere = {RandomModel(config, data, 1),
                                                 RandomModel(config, other, 2)};
  EXPECT_TRUE(IsError(RetrievalModel::Concatenate(elsewhere, data).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"8 users and 21 movies", "catalogue of 8 and 20"}));
}

}  // namespace
}  // namespace movierec
