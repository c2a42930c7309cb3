// A gradient-boosted ensemble of binary regression trees: the model of the
// LambdaMART reranker (train/lambdamart.h fits it with XGBoost and converts
// it here, so the server evaluates it without linking XGBoost).
//
// The score of a feature row x is base_score plus, for each tree, the value
// of the leaf x reaches from the tree's root; at a split it goes left when
// x[feature] < threshold, XGBoost's rule, so the scores are XGBoost's own
// (tests/model/tree_ensemble_test.cc checks them against its predictions).
// Features are never missing here: every reranker feature is defined.
//
// Layout: every tree's nodes in one array, each tree's root first, a split's
// two children side by side (right = left + 1) and after it, so that a walk
// is a loop of one compare and one add per level.
//
// Thread safety: const methods may be called concurrently.
#ifndef MOVIEREC_MODEL_TREE_ENSEMBLE_H_
#define MOVIEREC_MODEL_TREE_ENSEMBLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "movierec/model/v1/model_bundle.pb.h"
#include "util/eigen_types.h"

namespace movierec {

class TreeEnsemble {
 public:
  // One tree in XGBoost's form: node i is a leaf when left[i] < 0, with
  // value[i] its value; else it reads feature[i], goes to node left[i] when
  // x[feature[i]] < value[i], to right[i] otherwise. Node 0 is the root.
  struct Tree {
    std::vector<int32_t> left, right, feature;
    std::vector<float> value;
  };

  TreeEnsemble() = default;

  // The ensemble of `trees` over rows of `inputs` features. InvalidArgument
  // naming the tree and node when one is not a tree (a child out of range,
  // a node reached twice, a cycle), reads a feature >= inputs, or holds a
  // value that is not finite. Nodes the root does not reach are dropped.
  static absl::StatusOr<TreeEnsemble> FromTrees(const std::vector<Tree>& trees,
                                                float base_score, int inputs);

  int inputs() const { return inputs_; }
  int num_trees() const { return static_cast<int>(roots_.size()); }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  float base_score() const { return base_score_; }

  // The scores of `rows` (at least inputs() columns; the first ones are
  // read) into *out.
  void Predict(const RowMatrix& rows, Vector* out) const;
  // Adds the values of trees [first, end) for `rows` to *scores (sized to
  // the rows): the scores of each prefix of the ensemble, tree by tree.
  void AddTrees(const RowMatrix& rows, int first, int end,
                Vector* scores) const;

  void ToProto(movierec::model::v1::TreeEnsemble* proto) const;
  // InvalidArgument when `proto` breaks a rule of its message's comment, or
  // reads more than `max_inputs` features.
  static absl::StatusOr<TreeEnsemble> FromProto(
      const movierec::model::v1::TreeEnsemble& proto, int max_inputs);

 private:
  struct Node {
    int32_t feature;  // < 0: a leaf
    float value;      // a split's threshold, or a leaf's value
    int32_t left;     // a split's left child; the right one is left + 1
  };

  float Walk(const float* row, int32_t node) const {
    while (nodes_[node].feature >= 0) {
      const Node& split = nodes_[node];
      node = split.left + (row[split.feature] < split.value ? 0 : 1);
    }
    return nodes_[node].value;
  }

  int inputs_ = 0;
  float base_score_ = 0;
  std::vector<int32_t> roots_;
  std::vector<Node> nodes_;
};

}  // namespace movierec

#endif  // MOVIEREC_MODEL_TREE_ENSEMBLE_H_
