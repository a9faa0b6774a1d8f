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
// -ffp-contract=off, so no fused multiply-adds change it); erf/tanh/exp are libm's
// f32 functions (within an ulp or two of torch's vectorised ones). Large |x| behave
// as in torch: exp(-x) overflowing to inf gives Silu -0 and Sigmoid 0, not NaN.
#pragma once

#include <cmath>

#include "ops/backend.h"

namespace vlart::cpu {

inline float GeluErf(float x) {
  constexpr float kAlpha = 0.70710678118654752440f;  // 1/sqrt(2)
  return x * 0.5f * (1.0f + std::erf(x * kAlpha));
}

inline float GeluTanh(float x) {
  constexpr float kBeta = 0.79788456080286535588f;  // sqrt(2/pi)
  constexpr float kKappa = 0.044715f;
  const float x_cube = x * x * x;
  const float inner = kBeta * (x + kKappa * x_cube);
  return 0.5f * x * (1.0f + std::tanh(inner));
}

inline float Silu(float x) { return x / (1.0f + std::exp(-x)); }

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

inline float ApplyActivation(Activation act, float x) {
  switch (act) {
    case Activation::kNone: return x;
    case Activation::kGeluErf: return GeluErf(x);
    case Activation::kGeluTanh: return GeluTanh(x);
    case Activation::kSilu: return Silu(x);
    case Activation::kSigmoid: return Sigmoid(x);
  }
  return x;
}

}  // namespace vlart::cpu
