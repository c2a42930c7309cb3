#include "util/random.h"

#include <cmath>

namespace movierec {

float Rng::Normal() {
  // 1 - u keeps the logarithm's argument in (0, 1].
  const double u = 1.0 - static_cast<double>(Next() >> 11) * 0x1.0p-53;
  const double v = static_cast<double>(Next() >> 11) * 0x1.0p-53;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u)) *
                            std::cos(2.0 * M_PI * v));
}

}  // namespace movierec
