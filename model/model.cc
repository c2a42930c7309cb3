#include "model/model.h"

namespace movierec {

std::vector<int32_t> Popularity(int num_movies,
                                const std::vector<Interaction>& train) {
  std::vector<int32_t> popularity(static_cast<size_t>(num_movies), 0);
  for (const Interaction& x : train) ++popularity[x.movie];
  return popularity;
}

}  // namespace movierec
