// A small, fully specified pseudo-random generator (xoshiro256**, seeded by
// splitmix64), so that splits and initialisations are identical on every
// platform and standard library; std::uniform_*_distribution are not.
//
// An Rng is not safe for concurrent use; give each thread its own.
#ifndef MOVIEREC_UTIL_RANDOM_H_
#define MOVIEREC_UTIL_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace movierec {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(seed);
  }

  // 64 uniformly random bits.
  uint64_t Next() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
  }

  // Uniform in [0, n); n must be positive. Lemire's multiply-shift with
  // rejection, so there is no modulo bias.
  uint64_t Uniform(uint64_t n) {
    for (;;) {
      const unsigned __int128 product =
          static_cast<unsigned __int128>(Next()) * n;
      const auto low = static_cast<uint64_t>(product);
      if (low >= n || low >= (-n) % n) {
        return static_cast<uint64_t>(product >> 64);
      }
    }
  }

  // Uniform in [0, 1) with 24 bits of precision.
  float UniformFloat() { return static_cast<float>(Next() >> 40) * 0x1.0p-24f; }

  // Uniform in [lo, hi).
  float UniformFloat(float lo, float hi) {
    return lo + (hi - lo) * UniformFloat();
  }

  // Standard normal (Box-Muller).
  float Normal();

 private:
  static uint64_t RotateLeft(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }
  static uint64_t SplitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  uint64_t state_[4];
};

// Fisher-Yates shuffle driven by `rng`.
template <typename T>
void Shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[rng.Uniform(i)]);
  }
}

}  // namespace movierec

#endif  // MOVIEREC_UTIL_RANDOM_H_
