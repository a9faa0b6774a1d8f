// SPDX-License-Identifier: Apache-2.0
//
// rope.cc: rotary position embedding (rotate-half convention) on the CPU reference.
//
// Math, for x, out [B, S, H, D], positions I32 [B, S], half = D/2, i < half:
//   inv_freq[i] = 1 / theta^(2i / D)
//   angle       = positions[b, s] * inv_freq[i]
//   out[..., i]        = x[..., i] cos(angle) - x[..., i + half] sin(angle)
//   out[..., i + half] = x[..., i + half] cos(angle) + x[..., i] sin(angle)
// Reference: transformers GemmaRotaryEmbedding (default rope) and apply_rotary_pos_emb
//   (q * cos + rotate_half(q) * sin), which pi0/pi0.5 use through PaliGemma/Gemma.
// Numerics, following that code step by step in f32:
//   inv_freq = 1.0f / powf(theta, float(2i) / float(D))   (arange(0, D, 2).float() / D,
//              then base ** that, then 1.0 / that, all f32 tensors);
//   angle    = float(pos) * inv_freq                      (the f32 outer-product matmul;
//              positions below 2^24 convert exactly);
//   cos/sin  = libm cosf/sinf of the f32 angle            (forced f32 in transformers;
//              torch's vectorised versions agree within an ulp);
//   each product rounds, then the sum rounds (no FMA: -ffp-contract=off).
// The f32 angle matters: at position 1000 its rounding (~3e-5 rad) dominates the error,
// and computing it in double would not match PyTorch. In place allowed (out == x): each
// (i, i + half) pair is read before either is written.
//
// RopeQkv (backend.h) is, by definition, Rope(q), Rope(k) and Copy(v) in that order: the
// fused op's reference is literally that chain, so it is bit-identical to the three calls.

#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {

void Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) {
  CheckRopeArgs(Device::kCpu, x, positions, theta, out);
  RequireF32("Rope", "x", x);
  RequireF32("Rope", "out", out);
  const int64_t batch = x.shape[0];
  const int64_t seq = x.shape[1];
  const int64_t heads = x.shape[2];
  const int64_t dim = x.shape[3];
  const int64_t half = dim / 2;
  if (x.numel() == 0) return;
  std::vector<float> inv_freq(static_cast<size_t>(half));  // [D/2]
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv_freq[i] = 1.0f / std::pow(theta, exponent);
  }
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() >= kParallelWork)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      const int32_t pos =
          positions.data_as<const int32_t>()[b * positions.stride[0] + s * positions.stride[1]];
      std::vector<float> cos_v(static_cast<size_t>(half));
      std::vector<float> sin_v(static_cast<size_t>(half));
      for (int64_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(pos) * inv_freq[i];
        cos_v[i] = std::cos(angle);
        sin_v[i] = std::sin(angle);
      }
      for (int64_t h = 0; h < heads; ++h) {
        const float* xr = x.data_as<const float>() + b * x.stride[0] + s * x.stride[1] +
                          h * x.stride[2];
        float* o = out.data_as<float>() + b * out.stride[0] + s * out.stride[1] + h * out.stride[2];
        for (int64_t i = 0; i < half; ++i) {
          const float x1 = xr[i];
          const float x2 = xr[i + half];
          o[i] = x1 * cos_v[i] - x2 * sin_v[i];
          o[i + half] = x2 * cos_v[i] + x1 * sin_v[i];
        }
      }
    }
  }
}

void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
             float theta, const Tensor& q_out, const Tensor& k_out, const Tensor& v_out,
             const RowRmsScale* row_scale) {
  CheckRopeQkvArgs(Device::kCpu, q, k, v, positions, theta, q_out, k_out, v_out, row_scale);
  RequireF32("RopeQkv", "q", q);
  RequireF32("RopeQkv", "k", k);
  RequireF32("RopeQkv", "q_out", q_out);
  RequireF32("RopeQkv", "k_out", k_out);
  if (row_scale != nullptr) {  // the chain: scale q, k, v (f32 copies), then the op itself
    const HostTensor qs = ScaledByRowRms(q, *row_scale);
    const HostTensor ks = ScaledByRowRms(k, *row_scale);
    const HostTensor vs = ScaledByRowRms(v, *row_scale);
    RopeQkv(qs.view(), ks.view(), vs.view(), positions, theta, q_out, k_out, v_out, nullptr);
    return;
  }
  Rope(q, positions, theta, q_out);  // [B, S, Hq, D]
  Rope(k, positions, theta, k_out);  // [B, S, Hkv, D]
  Copy(v, v_out);                    // [B, S, Hkv, Dv]
}

}  // namespace vlart::cpu
