// SPDX-License-Identifier: Apache-2.0
//
// finite_test.cc: FirstNonFinite (and its portable twin, which CPUs without AVX2 run)
// against a plain std::isfinite scan: every kind of bad value, at block boundaries and in
// short tails, and on random bit patterns (every exponent, so NaN payloads and
// infinities of both signs occur).

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/finite.h"
#include "core/rng.h"

namespace vlart {
namespace {

// Both builds of the check must give the same answer; returns it.
int64_t Both(const float* x, int64_t n) {
  const int64_t fast = FirstNonFinite(x, n);
  EXPECT_EQ(fast, FirstNonFinitePortable(x, n)) << "n " << n;
  return fast;
}

int64_t Naive(const std::vector<float>& x) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) return static_cast<int64_t>(i);
  }
  return -1;
}

TEST(FirstNonFinite, FiniteExtremesAreFinite) {
  const std::vector<float> x = {0.0f, -0.0f, std::numeric_limits<float>::max(),
                                -std::numeric_limits<float>::max(),
                                std::numeric_limits<float>::denorm_min(),
                                std::numeric_limits<float>::min(), 1.0f, -3.5f};
  EXPECT_EQ(Both(x.data(), static_cast<int64_t>(x.size())), -1);
  EXPECT_EQ(Both(x.data(), 0), -1);
}

TEST(FirstNonFinite, EveryBadKindAtEveryAwkwardPlace) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       -std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::signaling_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(),
                       std::bit_cast<float>(0x7f800001u),   // smallest NaN payload
                       std::bit_cast<float>(0xffffffffu)};
  // Sizes around the 1024-value block, places at its edges and in the tail.
  for (int64_t n : {1, 7, 1023, 1024, 1025, 3000}) {
    for (int64_t at : {int64_t{0}, int64_t{1}, int64_t{1023}, int64_t{1024}, int64_t{2047},
                       int64_t{2048}, n - 1}) {
      if (at < 0 || at >= n) continue;
      for (float b : bad) {
        std::vector<float> x(n, 0.25f);
        x[at] = b;
        EXPECT_EQ(Both(x.data(), n), at) << "n " << n << " at " << at;
        if (at + 1 < n) {  // a later bad value does not hide the first
          x[n - 1] = b;
          EXPECT_EQ(Both(x.data(), n), at) << "n " << n << " at " << at;
        }
      }
    }
  }
}

TEST(FirstNonFinite, RandomBitPatternsAgreeWithAPlainScan) {
  Rng rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + static_cast<int64_t>(rng.NextU64() % 5000);
    std::vector<float> x(n);
    for (float& v : x) {
      // Mostly finite; about one value in 3000 has the all-ones exponent.
      uint32_t u = static_cast<uint32_t>(rng.NextU64());
      if ((u & 0x7f800000u) == 0x7f800000u) u ^= 0x00800000u;
      if (rng.NextU64() % 3000 == 0) u |= 0x7f800000u;
      v = std::bit_cast<float>(u);
    }
    EXPECT_EQ(Both(x.data(), n), Naive(x)) << "trial " << trial;
  }
}

}  // namespace
}  // namespace vlart
