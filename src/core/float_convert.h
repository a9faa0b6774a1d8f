// SPDX-License-Identifier: Apache-2.0
//
// float_convert.h: scalar conversions between f32 and the 16- and 8-bit float
// formats, bit-exact with PyTorch's CPU casts.
//
// Rounding is round-to-nearest-even everywhere (what torch's `.to(dtype)` does).
// NaN stays NaN; f32 -> e4m3 saturates to +-448 like torch.float8_e4m3fn's
// saturating cast in our quantizers (a plain torch cast gives NaN on overflow;
// callers that need that use the explicit flag). The functions are constexpr
// and header-only so the CPU backend, quantizers and tests share one copy.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace vlart {

constexpr uint16_t F32ToBF16Bits(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding_bias) >> 16);
}

constexpr float BF16BitsToF32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

constexpr uint16_t F32ToF16Bits(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero) in f16: value = abs_f / 2^-24, rounded to nearest even.
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25: rounds to zero
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exp;  // value / 2^-24 = mant * 2^(exp - 126), exp in [102, 112]
    const uint32_t half = 1u << (shift - 1);
    uint32_t r = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even.
  uint32_t v = abs - (112u << 23);
  v += 0xfffu + ((v >> 13) & 1u);
  return static_cast<uint16_t>(sign | (v >> 13));
}

constexpr float F16BitsToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    // Subnormal: normalize.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    mant &= 0x3ffu;
    return std::bit_cast<float>(sign | ((112u - static_cast<uint32_t>(e)) << 23) | (mant << 13));
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

// FP8 E4M3 ("fn" variant): bias 7, no infinities, 0x7f/0xff are NaN, max finite 448.
constexpr float E4M3BitsToF32(uint8_t b) {
  const uint32_t sign = (b & 0x80u) ? 0x80000000u : 0u;
  const uint32_t exp = (b >> 3) & 0xfu;
  const uint32_t mant = b & 0x7u;
  if (exp == 0xf && mant == 0x7) return std::bit_cast<float>(sign | 0x7fc00000u);
  if (exp == 0) {
    // Subnormal: mant * 2^-9.
    const float v = static_cast<float>(mant) * (1.0f / 512.0f);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 120u) << 23) | (mant << 20));
}

// Round-to-nearest-even into E4M3; finite inputs beyond 448 saturate to +-448, NaN maps to NaN.
constexpr uint8_t F32ToE4M3Bits(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  const uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint8_t>(sign | 0x7fu);
  const float a = std::bit_cast<float>(abs);
  if (a >= 464.0f) return static_cast<uint8_t>(sign | 0x7eu);  // 448 is the max; >= 464 rounds past it
  if (abs < 0x3c800000u) {
    // Below 2^-6: subnormal grid of 2^-9. Round a * 512 to nearest even integer.
    const float scaled = a * 512.0f;
    uint32_t r = static_cast<uint32_t>(scaled);
    const float frac = scaled - static_cast<float>(r);
    if (frac > 0.5f || (frac == 0.5f && (r & 1u))) ++r;
    return static_cast<uint8_t>(sign | r);  // r == 8 becomes the smallest normal 0x08, which is right
  }
  uint32_t v = abs - (120u << 23);
  v += 0x7ffffu + ((v >> 20) & 1u);
  uint32_t bits = v >> 20;
  if (bits > 0x7eu) bits = 0x7eu;  // values in [448, 464) round to 448
  return static_cast<uint8_t>(sign | bits);
}

}  // namespace vlart
