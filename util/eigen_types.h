// Eigen aliases used across model/, index/ and server/. Embedding tables and
// batches are row-major: one row per user, movie or example.
#ifndef MOVIEREC_UTIL_EIGEN_TYPES_H_
#define MOVIEREC_UTIL_EIGEN_TYPES_H_

#include <Eigen/Core>

namespace movierec {

using RowMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;
using RowVector = Eigen::RowVectorXf;

}  // namespace movierec

#endif  // MOVIEREC_UTIL_EIGEN_TYPES_H_
