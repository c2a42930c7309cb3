// Tests of Tower::BackwardBatch (model/tower.h): over any number of threads
// it accumulates bit for bit the gradients of Backward called bag by bag,
// lists every touched row once, and returns the same penalty up to rounding.
#include "model/tower.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "util/random.h"

namespace movierec {
namespace {

constexpr int kDim = 8;

std::vector<TableSpec> Specs() { return {{"ids", 5000}, {"history", 3000}}; }

Tower RandomTower() {
  Tower tower(Specs(), kDim);
  Rng rng(4);
  for (EmbeddingTable& table : tower.tables()) table.InitUniform(0.1f, rng);
  return tower;
}

// `count` bags of an id entry and 20 history entries (with repeats), and
// their gradients.
void RandomBags(int count, std::vector<Bag>* bags, RowMatrix* grads) {
  Rng rng(9);
  bags->assign(static_cast<size_t>(count), Bag{});
  grads->resize(count, kDim);
  for (int i = 0; i < count; ++i) {
    Bag& bag = (*bags)[i];
    bag.push_back({0, static_cast<int32_t>(rng.Uniform(5000)), 1.0f});
    for (int j = 0; j < 20; ++j) {
      bag.push_back({1, static_cast<int32_t>(rng.Uniform(3000)),
                     rng.UniformFloat(0.1f, 0.5f)});
    }
    for (int d = 0; d < kDim; ++d) (*grads)(i, d) = rng.UniformFloat(-1, 1);
  }
}

TEST(TowerBackwardBatchTest, EqualsBackwardBagByBagOnAnyThreadCount) {
  std::vector<Bag> bags;
  RowMatrix grads;
  RandomBags(600, &bags, &grads);  // 12,600 entries: the threaded path
  for (const float l2 : {0.0f, 0.03f}) {
    Tower serial = RandomTower();
    double serial_penalty = 0;
    for (size_t i = 0; i < bags.size(); ++i) {
      serial_penalty += serial.Backward(bags[i], grads.row(i).data(), l2);
    }
    for (const int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      Tower batched = RandomTower();
      const double penalty =
          batched.BackwardBatch(bags, grads.data(), grads.cols(), l2);
      EXPECT_NEAR(penalty, serial_penalty, 1e-9 * (1 + serial_penalty))
          << threads;
      for (size_t t = 0; t < serial.tables().size(); ++t) {
        const EmbeddingTable& a = serial.tables()[t];
        const EmbeddingTable& b = batched.tables()[t];
        for (int r = 0; r < a.rows(); ++r) {
          ASSERT_TRUE(
              std::equal(a.gradient(r), a.gradient(r) + kDim, b.gradient(r)))
              << "table " << t << " row " << r << ", " << threads
              << " threads, l2 " << l2;
        }
      }
      // Every touched row is stepped once, and the step is the same.
      AdagradOptions adagrad;
      Tower stepped = serial;
      stepped.ApplyAdagrad(adagrad);
      batched.ApplyAdagrad(adagrad);
      for (size_t t = 0; t < serial.tables().size(); ++t) {
        EXPECT_EQ(stepped.tables()[t].weights(), batched.tables()[t].weights())
            << "table " << t << ", " << threads << " threads";
      }
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

}  // namespace
}  // namespace movierec
