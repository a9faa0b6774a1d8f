// SPDX-License-Identifier: Apache-2.0
//
// float_convert_test.cc: f32 <-> bf16/f16/e4m3 conversions against exhaustive and
// hand-checked cases (the reference values are what torch's casts produce; each
// listed case was derived by hand from the IEEE/OCP encodings). F32ToBF16Array
// (float_convert_array.h, both builds) against the scalar cast.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "core/float_convert.h"
#include "core/float_convert_array.h"
#include "core/rng.h"

namespace vlart {
namespace {

TEST(BF16, RoundTripsEveryBF16Value) {
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    const float f = BF16BitsToF32(static_cast<uint16_t>(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(BF16BitsToF32(F32ToBF16Bits(f))));
      continue;
    }
    EXPECT_EQ(F32ToBF16Bits(f), b) << b;
  }
}

TEST(BF16, RoundsToNearestEven) {
  // 1 + 2^-8 is exactly between bf16 1.0 (0x3f80) and 1.0078125 (0x3f81): ties to even.
  EXPECT_EQ(F32ToBF16Bits(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(F32ToBF16Bits(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(F32ToBF16Bits(1.0f + 3 * 0x1p-8f), 0x3f82);  // tie, odd below -> up to even
}

TEST(F16, RoundTripsEveryF16Value) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const float f = F16BitsToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToF16Bits(f), h) << std::hex << h;
  }
}

TEST(F16, HandlesOverflowSubnormalsAndTies) {
  EXPECT_EQ(F32ToF16Bits(65504.0f), 0x7bff);
  EXPECT_EQ(F32ToF16Bits(65519.0f), 0x7bff);
  EXPECT_EQ(F32ToF16Bits(65520.0f), 0x7c00);  // rounds to inf
  EXPECT_EQ(F32ToF16Bits(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToF16Bits(0x1p-25f), 0x0000);  // tie to even -> 0
  EXPECT_EQ(F32ToF16Bits(0x1.8p-25f), 0x0001);
  EXPECT_EQ(F32ToF16Bits(-2.0f), 0xc000);
  EXPECT_EQ(F32ToF16Bits(1.0f + 0x1p-11f), 0x3c00);  // tie to even
  EXPECT_EQ(F32ToF16Bits(1.0f + 3 * 0x1p-11f), 0x3c02);
}

TEST(E4M3, DecodesTheWholeTable) {
  EXPECT_EQ(E4M3BitsToF32(0x7e), 448.0f);
  EXPECT_EQ(E4M3BitsToF32(0x01), 0x1p-9f);
  EXPECT_EQ(E4M3BitsToF32(0x08), 0x1p-6f);
  EXPECT_EQ(E4M3BitsToF32(0x38), 1.0f);
  EXPECT_EQ(E4M3BitsToF32(0xb8), -1.0f);
  EXPECT_TRUE(std::isnan(E4M3BitsToF32(0x7f)));
  EXPECT_TRUE(std::isnan(E4M3BitsToF32(0xff)));
}

TEST(E4M3, RoundTripsEveryFiniteValueAndSaturates) {
  for (uint32_t b = 0; b < 0x100u; ++b) {
    const float f = E4M3BitsToF32(static_cast<uint8_t>(b));
    if (std::isnan(f)) continue;
    if (f == 0.0f) continue;  // -0 and +0 both fine
    EXPECT_EQ(F32ToE4M3Bits(f), b) << b;
  }
  EXPECT_EQ(F32ToE4M3Bits(1000.0f), 0x7e);
  EXPECT_EQ(F32ToE4M3Bits(-1e9f), 0xfe);
  EXPECT_EQ(F32ToE4M3Bits(464.0f), 0x7e);  // tie between 448 and 480 (not representable) -> 448
  EXPECT_EQ(F32ToE4M3Bits(1.0625f), 0x38);  // tie between 1 and 1.125 -> even (1.0)
  EXPECT_EQ(F32ToE4M3Bits(1.1875f), 0x3a);  // tie between 1.125 and 1.25 -> even (1.25)
  EXPECT_EQ(F32ToE4M3Bits(0x1p-10f), 0x00);  // half the smallest subnormal, tie -> 0
  EXPECT_EQ(F32ToE4M3Bits(0x1.8p-10f), 0x01);
}

TEST(F32ToBF16Array, EqualsTheScalarCastOnEveryHighHalfAndTheRoundingLowHalves) {
  // Every sign / exponent / top mantissa bits (the high 16 bits) with low halves on and
  // around bf16's rounding point, plus random ones: zeros, subnormals, inf, NaN
  // payloads (quieted), ties to even, carries into the exponent.
  std::vector<uint32_t> lows = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff};
  Rng rng(5);
  for (int i = 0; i < 5; ++i) lows.push_back(static_cast<uint32_t>(rng.NextU64() & 0xffffu));
  std::vector<float> src;
  for (uint32_t hi = 0; hi < 0x10000u; ++hi) {
    for (uint32_t lo : lows) src.push_back(std::bit_cast<float>(hi << 16 | lo));
  }
  const int64_t n = static_cast<int64_t>(src.size());
  std::vector<uint16_t> fast(n), portable(n);
  F32ToBF16Array(src.data(), fast.data(), n);
  F32ToBF16ArrayPortable(src.data(), portable.data(), n);
  int64_t bad = 0;
  for (int64_t i = 0; i < n && bad < 10; ++i) {
    const uint16_t want = F32ToBF16Bits(src[i]);
    if (fast[i] != want || portable[i] != want) {
      ++bad;
      ADD_FAILURE() << std::hex << "bits 0x" << std::bit_cast<uint32_t>(src[i]) << ": 0x"
                    << fast[i] << " (portable 0x" << portable[i] << "), want 0x" << want;
    }
  }
}

TEST(F32ToBF16Array, EveryLengthAndOffset) {
  // Vector bodies, scalar tails and unaligned starts, in both builds.
  std::vector<float> src(80);
  for (size_t i = 0; i < src.size(); ++i) src[i] = 0.3f * static_cast<float>(i) - 7.1f;
  for (auto* convert : {&F32ToBF16Array, &F32ToBF16ArrayPortable}) {
    for (int64_t off = 0; off < 4; ++off) {
      for (int64_t n = 0; n + off <= 80; ++n) {
        std::vector<uint16_t> bf(n + 1, 0xabcd);
        convert(src.data() + off, bf.data(), n);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(bf[i], F32ToBF16Bits(src[off + i])) << "n " << n << " off " << off;
        }
        EXPECT_EQ(bf[n], 0xabcd) << "wrote past the end";
      }
    }
  }
}

}  // namespace
}  // namespace vlart
