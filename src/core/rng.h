// SPDX-License-Identifier: Apache-2.0
//
// rng.h: vlart's deterministic random numbers (initial noise, synthetic weights, tests).
//
// xoshiro256** seeded through SplitMix64; normals by the Box-Muller transform in double,
// rounded to f32. The same seed gives the same stream on every platform and build, which
// is what "same seed, same actions" rests on. This is not torch's generator: goldens
// inject their noise explicitly instead of sharing a seed.
#pragma once

#include <cmath>
#include <cstdint>

namespace vlart {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = SplitMix(seed);
  }

  uint64_t NextU64() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

  // Standard normal.
  float Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return static_cast<float>(spare_);
    }
    double u1 = 0, u2 = 0;
    NextPairUniforms(&u1, &u2);
    const NormalPair p = BoxMuller(u1, u2);
    spare_ = p.second;
    has_spare_ = true;
    return static_cast<float>(p.first);
  }

  // The two uniforms behind the next pair of normals, drawn as Normal() draws them
  // (u1 redrawn while it is 0). core/normal_fill.h splits a fill this way.
  void NextPairUniforms(double* u1, double* u2) {
    *u1 = Uniform();
    while (*u1 <= 0.0) *u1 = Uniform();
    *u2 = Uniform();
  }

  // Box-Muller: Normal() returns `first`, then `second` (both rounded to f32).
  struct NormalPair {
    double first, second;
  };
  static NormalPair BoxMuller(double u1, double u2) {
    const double r = std::sqrt(-2.0 * std::log(u1));
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    return {r * std::cos(kTwoPi * u2), r * std::sin(kTwoPi * u2)};
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace vlart
