#include "model/embedding_table.h"

#include <cmath>

namespace movierec {

EmbeddingTable::EmbeddingTable(int rows, int dim)
    : weights_(RowMatrix::Zero(rows, dim)) {}

void EmbeddingTable::PrepareForTraining() {
  const size_t rows = static_cast<size_t>(weights_.rows());
  if (touched_flag_.size() == rows) return;
  accumulator_.resize(weights_.rows(), weights_.cols());
  gradient_.setZero(weights_.rows(), weights_.cols());
  touched_flag_.assign(rows, 0);
  has_accumulator_.assign(rows, 0);
}

void EmbeddingTable::InitUniform(float scale, Rng& rng) {
  for (Eigen::Index i = 0; i < weights_.size(); ++i) {
    weights_.data()[i] = rng.UniformFloat(-scale, scale);
  }
}

void EmbeddingTable::AccumulateGradient(int row, const float* grad, float scale,
                                        std::vector<int>* touched) {
  if (!touched_flag_[row]) {
    touched_flag_[row] = 1;
    (touched != nullptr ? touched : &touched_)->push_back(row);
  }
  // A plain loop: rows are short (tens of floats), where Eigen's dynamic-size
  // expression setup costs more than the arithmetic.
  float* out = gradient_.data() + static_cast<Eigen::Index>(row) * dim();
  const int n = dim();
  for (int i = 0; i < n; ++i) out[i] += scale * grad[i];
}

float EmbeddingTable::AccumulateGradientWithDecay(int row, const float* grad,
                                                  float scale, float decay,
                                                  std::vector<int>* touched) {
  if (!touched_flag_[row]) {
    touched_flag_[row] = 1;
    (touched != nullptr ? touched : &touched_)->push_back(row);
  }
  const int n = dim();
  float* out = gradient_.data() + static_cast<Eigen::Index>(row) * n;
  const float* weights = weights_.data() + static_cast<Eigen::Index>(row) * n;
  float squared = 0;
  if (grad != nullptr) {
    for (int i = 0; i < n; ++i) {
      out[i] += scale * grad[i] + decay * weights[i];
      squared += weights[i] * weights[i];
    }
  } else {
    for (int i = 0; i < n; ++i) {
      out[i] += decay * weights[i];
      squared += weights[i] * weights[i];
    }
  }
  return squared;
}

void EmbeddingTable::ApplyAdagrad(const AdagradOptions& options) {
  // Rows update independently, so threads split them without changing a
  // bit of the result; below a few thousand rows a team costs more than
  // it saves.
  constexpr size_t kParallelRows = 4096;
  const auto n = static_cast<int64_t>(touched_.size());
#pragma omp parallel for schedule(static) if (touched_.size() >= kParallelRows)
  for (int64_t i = 0; i < n; ++i) {
    const int r = touched_[i];
    if (!has_accumulator_[r]) {
      accumulator_.row(r).setConstant(options.initial_accumulator);
      has_accumulator_[r] = 1;
    }
    AdagradUpdate(options, weights_.row(r), accumulator_.row(r),
                  gradient_.row(r));
    gradient_.row(r).setZero();
  }
  // Apart: a flag is a byte, and threads writing neighbouring ones would
  // share their cache lines.
  for (const int r : touched_) touched_flag_[r] = 0;
  touched_.clear();
}

void EmbeddingTable::ClearGradients() {
  for (const int r : touched_) {
    gradient_.row(r).setZero();
    touched_flag_[r] = 0;
  }
  touched_.clear();
}

}  // namespace movierec
