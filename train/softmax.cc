#include "train/softmax.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace movierec {

double SoftmaxCrossEntropy(const RowMatrix& queries,
                           const RowMatrix& candidates, const float* offsets,
                           absl::Span<const int32_t> labels,
                           RowMatrix* d_queries, RowMatrix* d_candidates,
                           const SoftmaxOptions& options) {
  const Eigen::Index batch = queries.rows();
  const Eigen::Index n = candidates.rows();
  const Eigen::Index dim = queries.cols();
  const Eigen::Index block = std::max(1, options.block_rows);
  const Eigen::Index num_blocks = (batch + block - 1) / block;
  d_queries->setZero(batch, dim);
  d_candidates->setZero(n, dim);

  const int max_threads = static_cast<int>(std::min<Eigen::Index>(
      omp_get_max_threads(), std::max<Eigen::Index>(num_blocks, 1)));
  std::vector<RowMatrix> d_candidates_part(static_cast<size_t>(max_threads));
  std::vector<double> loss_part(static_cast<size_t>(max_threads), 0.0);

#pragma omp parallel num_threads(max_threads)
  {
    const int t = omp_get_thread_num();
    const int threads = omp_get_num_threads();
    RowMatrix& d_cand = d_candidates_part[t];
    if (t > 0) d_cand.setZero(n, dim);
    RowMatrix& d_cand_out = t == 0 ? *d_candidates : d_cand;
    RowMatrix logits(block, n);
    double loss = 0;
    for (Eigen::Index b = t; b < num_blocks; b += threads) {
      const Eigen::Index r0 = b * block;
      const Eigen::Index rows = std::min(block, batch - r0);
      auto q = queries.middleRows(r0, rows);
      auto l = logits.topRows(rows);
      l.noalias() = q * candidates.transpose();
      if (offsets != nullptr) {
        l.rowwise() += Eigen::Map<const RowVector>(offsets, n);
      }
      for (Eigen::Index i = 0; i < rows; ++i) {
        auto row = l.row(i).array();
        const int32_t label = labels[r0 + i];
        const float max = row.maxCoeff();
        const float label_logit = row(label) - max;
        row = (row - max).exp();
        const double sum = row.template cast<double>().sum();
        loss += std::log(sum) - static_cast<double>(label_logit);
        row *= static_cast<float>(1.0 / sum);
        row(label) -= 1.0f;
      }
      d_queries->middleRows(r0, rows).noalias() = l * candidates;
      d_cand_out.noalias() += l.transpose() * q;
    }
    loss_part[t] = loss;
  }
  double loss = 0;
  for (int t = 0; t < max_threads; ++t) {
    loss += loss_part[t];
    if (t > 0) *d_candidates += d_candidates_part[t];
  }
  return loss;
}

double SoftmaxFlops(int64_t batch, int64_t candidates, int64_t dim) {
  return 6.0 * static_cast<double>(batch) * static_cast<double>(candidates) *
         static_cast<double>(dim);
}

}  // namespace movierec
