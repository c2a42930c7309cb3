// The reranker of the ranking stage: scores each retrieved candidate of a
// user from features of the pair (below) with a linear model (or an MLP)
// trained listwise, or with gradient-boosted trees trained by LambdaMART, to
// put the movies the user goes on to rate at the top of the list. Its score
// is what the served list is ordered by.
//
// Why not sort by predicted stars: a list sorted by predicted rating pushes
// obscure five-star movies up and loses NDCG (see docs/models.md, "Why the
// reranker"); the reranker learns how much the retrieval score, the predicted
// rating, popularity and taste each matter from held-out interactions.
//
// Thread safety: const methods may be called concurrently.
#ifndef MOVIEREC_MODEL_RERANKER_H_
#define MOVIEREC_MODEL_RERANKER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/mlp.h"
#include "model/tree_ensemble.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/eigen_types.h"
#include "util/random.h"

namespace movierec {

// The raw features of a (user, candidate) pair, in column order. They are
// chosen to keep their scale when the models are retrained on more data: the
// reranker learns from models fit on part of train and then serves with
// models fit on all of it (docs/models.md, "Why the reranker").
enum RerankFeature {
  kRetrievalZ,          // retrieval score, standardised within the list
  kRetrievalGap,        // (score - the list's best) / the list's deviation
  kLogRank,             // log(1 + position in the retrieval list)
  kPredictedRating,     // the rating model's predicted stars (0 without one)
  kRelativeRating,      // predicted stars minus the list's mean prediction
  kRelativePopularity,  // log((1 + ratings) / (1 + mean ratings per movie))
  kLogUserActivity,     // log(1 + the user's training ratings)
  kGenreAffinity,       // overlap of the movie's genres with the user's
  kItemAffinity,        // co-occurrence ties to the user's movies (sum)
  kItemClosest,         // the strongest single tie to one of them
  kReleaseYear,         // (year - 1990) / 10, clipped to [-6, 1]; 0 if unknown
  kYearDistance,        // |year - the user's mean year| / 10; 0 if unknown
  kPopularityActivity,  // kRelativePopularity * kLogUserActivity
  // Versions before the candidate sources had the features above only.
  kNumRerankFeaturesBeforeSources,
  // The item-to-item source's score (model/ease.h): the history's weights
  // towards the movie, summed, over sqrt(history size); 0 without it.
  kItemSourceScore = kNumRerankFeaturesBeforeSources,
  kItemSourceZ,    // the same, standardised within the list
  kFromRetrieval,  // 1: among retrieval's candidates, else 0
  kFromItems,      // 1: among the item-to-item source's, else 0
  kFromPopular,    // 1: among the popularity source's, else 0
  kNumRerankFeatures
};

inline constexpr const char* kListwiseReranker = "listwise";
inline constexpr const char* kLambdaMartReranker = "lambdamart";

struct RerankerConfig {
  // "listwise": a linear model (or an MLP) of standardised features, trained
  // with the listwise softmax loss; "lambdamart": gradient-boosted trees of
  // the raw features (model/tree_ensemble.h), trained by XGBoost's
  // rank:ndcg (train/lambdamart.h). docs/models.md, "The reranker's model",
  // compares them on validation.
  std::string kind = kListwiseReranker;
  // Hidden layer widths of the listwise kind; none (the default) makes it a
  // linear model, which measured better than an MLP on the validation lists.
  std::vector<int> hidden;
};

class Reranker {
 public:
  // A reranker of the first `inputs` features (kNumRerankFeatures; a
  // version written before the candidate sources has fewer).
  explicit Reranker(const RerankerConfig& config,
                    int inputs = kNumRerankFeatures);

  const RerankerConfig& config() const { return config_; }
  // How many of the raw features (the first ones) it reads.
  int inputs() const { return inputs_; }
  bool is_trees() const { return config_.kind == kLambdaMartReranker; }
  // The listwise kind's network.
  Mlp& mlp() { return mlp_; }
  // The lambdamart kind's trees (reading inputs() features).
  const TreeEnsemble& trees() const { return trees_; }
  void set_trees(TreeEnsemble trees) { trees_ = std::move(trees); }

  void InitRandom(Rng& rng);

  // Sets the standardisation of raw features: (x - mean) / scale.
  void SetStandardization(const RowVector& mean, const RowVector& scale);
  // Standardised features of raw rows.
  RowMatrix Standardize(const RowMatrix& raw) const;

  // Scores of raw feature rows (kNumRerankFeatures columns, of which it
  // reads the first inputs()), into *out.
  void Score(const RowMatrix& raw, Vector* out) const;

  movierec::model::v1::ParameterSet ToProto() const;
  static absl::StatusOr<Reranker> FromProto(
      const movierec::model::v1::ParameterSet& proto);

  // ParameterSet kinds: the listwise network, the trees.
  static constexpr const char* kKind = "reranker_mlp_v1";
  static constexpr const char* kTreesKind = "reranker_gbdt_v1";

 private:
  RerankerConfig config_;
  int inputs_;
  Mlp mlp_;
  RowVector mean_;
  RowVector inv_scale_;
  TreeEnsemble trees_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_RERANKER_H_
