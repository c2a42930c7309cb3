#include "model/tree_ensemble.h"

#include <cmath>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"

namespace movierec {
namespace {

absl::Status NodeError(size_t tree, size_t node, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("tree ", tree, " node ", node, ": ", what));
}

}  // namespace

absl::StatusOr<TreeEnsemble> TreeEnsemble::FromTrees(
    const std::vector<Tree>& trees, float base_score, int inputs) {
  if (inputs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tree ensemble over ", inputs, " features"));
  }
  if (!std::isfinite(base_score)) {
    return absl::InvalidArgumentError("the base score is not finite");
  }
  TreeEnsemble ensemble;
  ensemble.inputs_ = inputs;
  ensemble.base_score_ = base_score;
  for (size_t t = 0; t < trees.size(); ++t) {
    const Tree& tree = trees[t];
    const size_t n = tree.left.size();
    if (n == 0 || tree.right.size() != n || tree.feature.size() != n ||
        tree.value.size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("tree ", t, " has no nodes or arrays of unequal size"));
    }
    // Breadth first from the root, each split's children given two
    // adjacent places. XGBoost keeps pruned nodes in its arrays: nodes the
    // root does not reach are dropped.
    std::vector<bool> reached(n, false);
    std::deque<std::pair<int32_t, size_t>> pending;  // (source node, place)
    ensemble.roots_.push_back(static_cast<int32_t>(ensemble.nodes_.size()));
    ensemble.nodes_.push_back({});
    pending.emplace_back(0, ensemble.nodes_.size() - 1);
    reached[0] = true;
    while (!pending.empty()) {
      const auto [source, place] = pending.front();
      pending.pop_front();
      const float value = tree.value[source];
      if (!std::isfinite(value)) return NodeError(t, source, "not finite");
      if (tree.left[source] < 0) {
        ensemble.nodes_[place] = {-1, value, 0};
        continue;
      }
      const int32_t children[2] = {tree.left[source], tree.right[source]};
      for (const int32_t child : children) {
        if (child < 0 || static_cast<size_t>(child) >= n) {
          return NodeError(t, source, absl::StrCat("child ", child, " of ", n));
        }
        if (reached[child]) {
          return NodeError(t, source,
                           absl::StrCat("child ", child, " is reached twice"));
        }
        reached[child] = true;
      }
      if (tree.feature[source] < 0 || tree.feature[source] >= inputs) {
        return NodeError(t, source,
                         absl::StrCat("reads feature ", tree.feature[source],
                                      " of ", inputs));
      }
      const auto left = static_cast<int32_t>(ensemble.nodes_.size());
      ensemble.nodes_[place] = {tree.feature[source], value, left};
      ensemble.nodes_.push_back({});
      ensemble.nodes_.push_back({});
      pending.emplace_back(children[0], left);
      pending.emplace_back(children[1], left + 1);
    }
  }
  return ensemble;
}

void TreeEnsemble::AddTrees(const RowMatrix& rows, int first, int end,
                            Vector* scores) const {
  // Tree by tree (its nodes stay in cache), rows in blocks of kLanes that
  // walk it side by side: one walk is a chain of dependent loads (node,
  // feature, value, child), so independent walks interleaved keep the core
  // busy while each waits.
  constexpr int kLanes = 8;
  const Eigen::Index n = rows.rows();
  const Eigen::Index stride = rows.cols();
  const float* data = rows.data();
  const Node* nodes = nodes_.data();
  Eigen::Index r = 0;
  for (; r + kLanes <= n; r += kLanes) {
    float sum[kLanes] = {};
    for (int t = first; t < end; ++t) {
      int32_t at[kLanes];
      for (int k = 0; k < kLanes; ++k) at[k] = roots_[t];
      bool walking = true;
      while (walking) {
        walking = false;
        for (int k = 0; k < kLanes; ++k) {
          const Node& node = nodes[at[k]];
          if (node.feature < 0) continue;
          const float x = data[(r + k) * stride + node.feature];
          at[k] = node.left + (x < node.value ? 0 : 1);
          walking = true;
        }
      }
      for (int k = 0; k < kLanes; ++k) sum[k] += nodes[at[k]].value;
    }
    for (int k = 0; k < kLanes; ++k) (*scores)(r + k) += sum[k];
  }
  for (; r < n; ++r) {
    float sum = 0;
    for (int t = first; t < end; ++t) sum += Walk(data + r * stride, roots_[t]);
    (*scores)(r) += sum;
  }
}

void TreeEnsemble::Predict(const RowMatrix& rows, Vector* out) const {
  out->setConstant(rows.rows(), base_score_);
  AddTrees(rows, 0, num_trees(), out);
}

void TreeEnsemble::ToProto(model::v1::TreeEnsemble* proto) const {
  proto->Clear();
  proto->set_inputs(inputs_);
  proto->set_base_score(base_score_);
  proto->mutable_roots()->Add(roots_.begin(), roots_.end());
  for (const Node& node : nodes_) {
    proto->add_feature(node.feature);
    proto->add_value(node.value);
    proto->add_left(node.left);
  }
}

absl::StatusOr<TreeEnsemble> TreeEnsemble::FromProto(
    const model::v1::TreeEnsemble& proto, int max_inputs) {
  if (proto.inputs() < 1 || proto.inputs() > max_inputs) {
    return absl::InvalidArgumentError(
        absl::StrCat("the trees read ", proto.inputs(),
                     " features, expected 1-", max_inputs));
  }
  if (!std::isfinite(proto.base_score())) {
    return absl::InvalidArgumentError("the base score is not finite");
  }
  const int n = proto.feature_size();
  if (proto.value_size() != n || proto.left_size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the trees' node arrays have ", n, ", ", proto.value_size(), " and ",
        proto.left_size(), " entries"));
  }
  if (proto.roots_size() == 0 || proto.roots(0) != 0) {
    return absl::InvalidArgumentError("the first tree's root is not node 0");
  }
  TreeEnsemble ensemble;
  ensemble.inputs_ = proto.inputs();
  ensemble.base_score_ = proto.base_score();
  ensemble.roots_.assign(proto.roots().begin(), proto.roots().end());
  ensemble.nodes_.resize(n);
  for (int t = 0; t < proto.roots_size(); ++t) {
    const int32_t begin = proto.roots(t);
    const int32_t end = t + 1 < proto.roots_size() ? proto.roots(t + 1) : n;
    if (end <= begin || end > n) {
      return absl::InvalidArgumentError(
          absl::StrCat("tree ", t, "'s nodes [", begin, ", ", end,
                       ") are not in [0, ", n, ") or empty"));
    }
    for (int32_t i = begin; i < end; ++i) {
      const Node node = {proto.feature(i), proto.value(i), proto.left(i)};
      if (!std::isfinite(node.value)) return NodeError(t, i, "not finite");
      if (node.feature >= ensemble.inputs_ || node.feature < -1) {
        return NodeError(t, i,
                         absl::StrCat("reads feature ", node.feature, " of ",
                                      ensemble.inputs_));
      }
      // Children after their parent and inside its tree: every walk ends.
      if (node.feature >= 0 &&
          (node.left <= i || int64_t{node.left} + 1 >= end)) {
        return NodeError(t, i,
                         absl::StrCat("children ", node.left, " and ",
                                      int64_t{node.left} + 1, " are not in (",
                                      i, ", ", end, ")"));
      }
      ensemble.nodes_[i] = node;
    }
  }
  return ensemble;
}

}  // namespace movierec
