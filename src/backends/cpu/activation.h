// SPDX-License-Identifier: Apache-2.0
//
// activation.h: the scalar activations of the CPU reference, in f32.
//
// Math and reference (torch 2.x, aten/src/ATen/native/cpu/Activation.cpp, float path):
//   GeluErf   x * 0.5 * (1 + erf(x * (1/sqrt(2))))                 nn.GELU()
//   GeluTanh  0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  nn.GELU(approximate='tanh')
//   Silu      x / (1 + exp(-x))                                      nn.SiLU
//   Sigmoid   1 / (1 + exp(-x))                                      torch.sigmoid
// Numerics: every step rounds to f32 in the order written (the backend is built with
// -ffp-contract=off, so no fused multiply-adds change it); erf and exp are libm's f32
// functions, tanh is Tanh below (correctly rounded); all within an ulp or two of torch's
// vectorised ones. Large |x| behave
// as in torch: exp(-x) overflowing to inf gives Silu -0 and Sigmoid 0, not NaN.
#pragma once

#include <cmath>

#include "ops/backend.h"

namespace vlart::cpu {

inline float GeluErf(float x) {
  constexpr float kAlpha = 0.70710678118654752440f;  // 1/sqrt(2)
  return x * 0.5f * (1.0f + std::erf(x * kAlpha));
}

// tanh of an f32, correctly rounded to f32 except in rare near-ties: evaluated in double
// as tanh|y| = (1 - e) / (1 + e), e = exp(-2|y|). The double quotient's relative error is
// a few 2^-53 plus 2^-53 / (2|y|) from the cancellation in 1 - e, at most 2^-28 (u/16)
// for |y| >= 2^-26; below that tanh(y) = y - y^3/3 rounds to y. (glibc's tanhf is off by
// up to 2 ulp and, on random inputs, several times slower; torch's vectorised tanhf is
// within 1 ulp, so this agrees with torch within an ulp.) NaN stays NaN, ±inf gives ±1.
inline float Tanh(float y) {
  const double a = std::fabs(static_cast<double>(y));
  if (a < 0x1p-26) return y;
  const double e = std::exp(-2.0 * a);
  return static_cast<float>(std::copysign((1.0 - e) / (1.0 + e), static_cast<double>(y)));
}

inline float GeluTanh(float x) {
  constexpr float kBeta = 0.79788456080286535588f;  // sqrt(2/pi)
  constexpr float kKappa = 0.044715f;
  const float x_cube = x * x * x;
  const float inner = kBeta * (x + kKappa * x_cube);
  return 0.5f * x * (1.0f + Tanh(inner));
}

inline float Silu(float x) { return x / (1.0f + std::exp(-x)); }

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Calls body(fn) with fn the scalar function of `act`, so that loops dispatch on the
// activation once instead of per element.
template <typename Body>
void WithActivation(Activation act, Body&& body) {
  switch (act) {
    case Activation::kNone: body([](float x) { return x; }); return;
    case Activation::kGeluErf: body([](float x) { return GeluErf(x); }); return;
    case Activation::kGeluTanh: body([](float x) { return GeluTanh(x); }); return;
    case Activation::kSilu: body([](float x) { return Silu(x); }); return;
    case Activation::kSigmoid: body([](float x) { return Sigmoid(x); }); return;
  }
}

}  // namespace vlart::cpu
