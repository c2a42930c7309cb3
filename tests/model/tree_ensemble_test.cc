// Tests of the tree ensemble (model/tree_ensemble.h): XGBoost's split rule,
// the conversion from XGBoost's node arrays (pruned nodes dropped, non-trees
// refused), prefix sums tree by tree, and the disk form's round trip and its
// refusals of every broken rule.
#include "model/tree_ensemble.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tests/test_util.h"

namespace movierec {
namespace {

using ::movierec::test::IsError;

// x0 < 0.5 ? (x1 < 2 ? 1 : 2) : 3, in XGBoost's node order (root, then
// children in the order XGBoost numbers them), with node 5 a pruned leftover.
TreeEnsemble::Tree ThreeLeaves() {
  TreeEnsemble::Tree tree;
  tree.left = {1, 3, -1, -1, -1, -1};
  tree.right = {2, 4, -1, -1, -1, -1};
  tree.feature = {0, 1, 0, 0, 0, 0};
  tree.value = {0.5f, 2.0f, 3.0f, 1.0f, 2.0f, 99.0f};
  return tree;
}

TreeEnsemble::Tree Stump(int feature, float threshold, float left,
                         float right) {
  TreeEnsemble::Tree tree;
  tree.left = {1, -1, -1};
  tree.right = {2, -1, -1};
  tree.feature = {feature, 0, 0};
  tree.value = {threshold, left, right};
  return tree;
}

RowMatrix Rows(std::initializer_list<std::initializer_list<float>> rows) {
  RowMatrix m(static_cast<Eigen::Index>(rows.size()), 2);
  Eigen::Index r = 0;
  for (const auto& row : rows) {
    Eigen::Index c = 0;
    for (const float x : row) m(r, c++) = x;
    ++r;
  }
  return m;
}

TEST(TreeEnsembleTest, WalksLeftBelowTheThresholdAndRightFromIt) {
  absl::StatusOr<TreeEnsemble> ensemble =
      TreeEnsemble::FromTrees({ThreeLeaves()}, 0.25f, 2);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  EXPECT_EQ(ensemble->num_trees(), 1);
  EXPECT_EQ(ensemble->num_nodes(), 5);  // the pruned node is dropped
  Vector scores;
  ensemble->Predict(
      Rows({{0.0f, 0.0f}, {0.0f, 2.0f}, {0.5f, 0.0f}, {0.49f, 1.99f}}),
      &scores);
  ASSERT_EQ(scores.size(), 4);
  EXPECT_FLOAT_EQ(scores(0), 1.25f);
  EXPECT_FLOAT_EQ(scores(1), 2.25f);  // x1 == 2 goes right
  EXPECT_FLOAT_EQ(scores(2), 3.25f);  // x0 == 0.5 goes right
  EXPECT_FLOAT_EQ(scores(3), 1.25f);
}

TEST(TreeEnsembleTest, SumsTheTreesAndAddsPrefixesTreeByTree) {
  absl::StatusOr<TreeEnsemble> ensemble = TreeEnsemble::FromTrees(
      {ThreeLeaves(), Stump(1, 0.0f, -1.0f, 10.0f)}, 0.0f, 2);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  const RowMatrix rows = Rows({{0.0f, -1.0f}, {1.0f, 1.0f}});
  Vector all;
  ensemble->Predict(rows, &all);
  EXPECT_FLOAT_EQ(all(0), 0.0f);   // 1 - 1
  EXPECT_FLOAT_EQ(all(1), 13.0f);  // 3 + 10
  Vector prefix = Vector::Zero(2);
  ensemble->AddTrees(rows, 0, 1, &prefix);
  EXPECT_FLOAT_EQ(prefix(0), 1.0f);
  EXPECT_FLOAT_EQ(prefix(1), 3.0f);
  ensemble->AddTrees(rows, 1, 2, &prefix);
  EXPECT_FLOAT_EQ(prefix(0), all(0));
  EXPECT_FLOAT_EQ(prefix(1), all(1));
}

TEST(TreeEnsembleTest, ASingleLeafTreeIsAConstant) {
  TreeEnsemble::Tree leaf;
  leaf.left = {-1};
  leaf.right = {-1};
  leaf.feature = {0};
  leaf.value = {0.75f};
  absl::StatusOr<TreeEnsemble> ensemble =
      TreeEnsemble::FromTrees({leaf}, 0.0f, 2);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  Vector scores;
  ensemble->Predict(Rows({{5.0f, 5.0f}}), &scores);
  EXPECT_FLOAT_EQ(scores(0), 0.75f);
}

TEST(TreeEnsembleTest, RefusesWhatIsNotATree) {
  TreeEnsemble::Tree out_of_range = ThreeLeaves();
  out_of_range.right[1] = 6;
  EXPECT_TRUE(IsError(TreeEnsemble::FromTrees({out_of_range}, 0, 2).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"tree 0 node 1: child 6 of 6"}));
  TreeEnsemble::Tree shared = ThreeLeaves();
  shared.right[1] = 2;  // node 2 is also the root's right child
  EXPECT_TRUE(IsError(
      TreeEnsemble::FromTrees({Stump(0, 0, 0, 0), shared}, 0, 2).status(),
      absl::StatusCode::kInvalidArgument,
      {"tree 1 node 1: child 2 is reached twice"}));
  TreeEnsemble::Tree cycle = ThreeLeaves();
  cycle.left[1] = 0;
  EXPECT_TRUE(IsError(TreeEnsemble::FromTrees({cycle}, 0, 2).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"child 0 is reached twice"}));
  EXPECT_TRUE(
      IsError(TreeEnsemble::FromTrees({Stump(2, 0, 0, 0)}, 0, 2).status(),
              absl::StatusCode::kInvalidArgument, {"reads feature 2 of 2"}));
  TreeEnsemble::Tree nan = ThreeLeaves();
  nan.value[4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(IsError(TreeEnsemble::FromTrees({nan}, 0, 2).status(),
                      absl::StatusCode::kInvalidArgument,
                      {"tree 0 node 4: not finite"}));
  TreeEnsemble::Tree ragged = ThreeLeaves();
  ragged.value.pop_back();
  EXPECT_TRUE(IsError(TreeEnsemble::FromTrees({ragged}, 0, 2).status(),
                      absl::StatusCode::kInvalidArgument, {"unequal size"}));
  EXPECT_TRUE(
      IsError(TreeEnsemble::FromTrees({ThreeLeaves()}, INFINITY, 2).status(),
              absl::StatusCode::kInvalidArgument, {"base score"}));
  EXPECT_TRUE(IsError(TreeEnsemble::FromTrees({ThreeLeaves()}, 0, 0).status(),
                      absl::StatusCode::kInvalidArgument, {"over 0 features"}));
}

TEST(TreeEnsembleTest, RoundTripsThroughItsProto) {
  absl::StatusOr<TreeEnsemble> ensemble = TreeEnsemble::FromTrees(
      {ThreeLeaves(), Stump(1, 0.0f, -1.0f, 10.0f)}, 0.5f, 2);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  model::v1::TreeEnsemble proto;
  ensemble->ToProto(&proto);
  absl::StatusOr<TreeEnsemble> loaded = TreeEnsemble::FromProto(proto, 2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->num_trees(), 2);
  EXPECT_EQ(loaded->num_nodes(), ensemble->num_nodes());
  const RowMatrix rows =
      Rows({{0.0f, -1.0f}, {1.0f, 1.0f}, {0.2f, 3.0f}, {0.5f, 0.0f}});
  Vector expected, actual;
  ensemble->Predict(rows, &expected);
  loaded->Predict(rows, &actual);
  EXPECT_EQ(actual, expected);
}

TEST(TreeEnsembleTest, FromProtoRefusesEveryBrokenRule) {
  absl::StatusOr<TreeEnsemble> ensemble = TreeEnsemble::FromTrees(
      {ThreeLeaves(), Stump(1, 0.0f, -1.0f, 10.0f)}, 0.5f, 2);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  model::v1::TreeEnsemble good;
  ensemble->ToProto(&good);
  ASSERT_EQ(good.roots_size(), 2);
  ASSERT_EQ(good.roots(1), 5);
  const auto refused = [&](auto change, const std::string& message) {
    model::v1::TreeEnsemble proto = good;
    change(proto);
    EXPECT_TRUE(IsError(TreeEnsemble::FromProto(proto, 2).status(),
                        absl::StatusCode::kInvalidArgument, {message}))
        << message;
  };
  refused([](auto& p) { p.set_inputs(3); }, "read 3 features, expected 1-2");
  refused([](auto& p) { p.set_inputs(0); }, "read 0 features");
  refused([](auto& p) { p.set_base_score(NAN); }, "base score");
  refused([](auto& p) { p.mutable_value()->RemoveLast(); }, "node arrays");
  refused([](auto& p) { p.clear_roots(); }, "first tree's root");
  refused([](auto& p) { p.set_roots(0, 1); }, "first tree's root");
  refused([](auto& p) { p.set_roots(1, 9); },
          "tree 0's nodes [0, 9) are not in [0, 8)");
  refused([](auto& p) { p.set_roots(1, 0); }, "tree 0's nodes [0, 0)");
  // The root's children pointing back at it: a walk that would not end.
  refused([](auto& p) { p.set_left(0, 0); }, "tree 0 node 0: children 0");
  // A child inside the next tree.
  refused([](auto& p) { p.set_left(1, 4); }, "tree 0 node 1: children 4 and 5");
  refused([](auto& p) { p.set_left(5, 2147483647); }, "tree 1 node 5");
  refused([](auto& p) { p.set_feature(0, 2); }, "reads feature 2 of 2");
  refused([](auto& p) { p.set_feature(2, -2); }, "reads feature -2");
  refused([](auto& p) { p.set_value(3, INFINITY); }, "not finite");
}

}  // namespace
}  // namespace movierec
