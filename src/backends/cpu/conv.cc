// SPDX-License-Identifier: Apache-2.0
//
// conv.cc: Conv2d (NHWC activations, PyTorch weight layout) on the CPU reference.
//
// Math, with Cg = Cin/groups input channels and Cog = Cout/groups outputs per group,
// g = co / Cog, s = stride, p = padding (zeros outside the image):
//   out[b, y, x, co] = bias[co]
//       + Σ_{ci' < Cg, ky, kx} w[co, ci', ky, kx] · in[b, y*s - p + ky, x*s - p + kx, g*Cg + ci']
//       (+ residual[b, y, x, co])
// x [B, H, W, Cin] may have any strides (an NCHW image is x.Permute({0, 2, 3, 1})).
// Reference: torch.nn.functional.conv2d(x_nchw, w, bias, stride, padding, groups=groups),
//   with the result read back in NHWC order, then `+ residual`.
// Algorithm: dense and grouped convolutions (Cg > 1) build an im2col matrix per image and
//   group, col[(y, x), (ci', ky, kx)] (the K order of w's contiguous [Cog, Cg*kh*kw]
//   rows), and multiply with OpenBLAS: acc[P, Cog] = col · w_gᵀ. Depthwise convolutions
//   (Cg = 1) are direct loops over (ky, kx).
// Numerics: f32 products and accumulation (sgemm's order for the dense path; ky-major,
//   kx-minor order for depthwise), then out = (acc + bias) + residual, each rounded to f32.
//   residual may alias out: each out element is written after its residual is read.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {
namespace {

struct ConvGeometry {
  int64_t batch, h, w, cin;       // input [B, H, W, Cin]
  int64_t cout, kh, kw;           // weight [Cout, Cg, kh, kw]
  int64_t ho, wo;                 // output [B, Ho, Wo, Cout]
  int64_t groups, cg, cog;        // channels per group in / out
  int64_t stride, pad;
};

// x element (b, iy, ix, c) or 0 in the padding.
inline float Input(const Tensor& x, int64_t b, int64_t iy, int64_t ix, int64_t c,
                   const ConvGeometry& g) {
  if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return 0.0f;
  return x.data_as<const float>()[b * x.stride[0] + iy * x.stride[1] + ix * x.stride[2] +
                                  c * x.stride[3]];
}

// out[b, y, x, co] = (acc + bias[co]) + residual[b, y, x, co] for one pixel's Cog values.
inline void Epilogue(const float* acc, int64_t co0, int64_t count, const float* bias,
                     const Tensor* residual, const Tensor& out, int64_t b, int64_t y,
                     int64_t x) {
  float* o = out.data_as<float>() + b * out.stride[0] + y * out.stride[1] + x * out.stride[2] + co0;
  const float* r = residual == nullptr
                       ? nullptr
                       : residual->data_as<const float>() + b * residual->stride[0] +
                             y * residual->stride[1] + x * residual->stride[2] + co0;
  for (int64_t c = 0; c < count; ++c) {
    float t = acc[c];
    if (bias != nullptr) t = t + bias[co0 + c];
    if (r != nullptr) t = t + r[c];
    o[c] = t;
  }
}

void ConvIm2col(const Tensor& x, const Tensor& w, const float* bias, const Tensor* residual,
                const Tensor& out, const ConvGeometry& g) {
  const int64_t p_count = g.ho * g.wo;
  const int64_t k_count = g.cg * g.kh * g.kw;
  std::vector<float> col(static_cast<size_t>(p_count * k_count));  // [P, Cg*kh*kw]
  std::vector<float> acc(static_cast<size_t>(p_count * g.cog));    // [P, Cog]
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t grp = 0; grp < g.groups; ++grp) {
#pragma omp parallel for schedule(static) if (p_count * k_count >= kParallelWork)
      for (int64_t p = 0; p < p_count; ++p) {
        const int64_t oy = p / g.wo;
        const int64_t ox = p % g.wo;
        float* row = col.data() + p * k_count;
        for (int64_t ci = 0; ci < g.cg; ++ci) {
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              *row++ = Input(x, b, oy * g.stride - g.pad + ky, ox * g.stride - g.pad + kx,
                             grp * g.cg + ci, g);
            }
          }
        }
      }
      const float* w_g = w.data_as<const float>() + grp * g.cog * k_count;  // [Cog, K]
      Gemm(/*trans_a=*/false, {col.data(), p_count, k_count, k_count}, /*trans_b=*/true,
           {w_g, g.cog, k_count, k_count}, 1.0f, acc.data(), g.cog);
#pragma omp parallel for schedule(static) if (p_count * g.cog >= kParallelWork)
      for (int64_t p = 0; p < p_count; ++p) {
        Epilogue(acc.data() + p * g.cog, grp * g.cog, g.cog, bias, residual, out, b, p / g.wo,
                 p % g.wo);
      }
    }
  }
}

void ConvDepthwise(const Tensor& x, const Tensor& w, const float* bias, const Tensor* residual,
                   const Tensor& out, const ConvGeometry& g) {
  const float* wp = w.data_as<const float>();  // [Cout, 1, kh, kw]
  const int64_t kk = g.kh * g.kw;
#pragma omp parallel for collapse(2) schedule(static) \
    if (g.batch * g.ho * g.wo * g.cout * kk >= kParallelWork)
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t oy = 0; oy < g.ho; ++oy) {
      std::vector<float> acc(static_cast<size_t>(g.cout));  // [Cout] for one pixel
      for (int64_t ox = 0; ox < g.wo; ++ox) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.stride - g.pad + kx;
            if (ix < 0 || ix >= g.w) continue;
            for (int64_t co = 0; co < g.cout; ++co) {
              acc[co] = acc[co] + wp[co * kk + ky * g.kw + kx] * Input(x, b, iy, ix, co / g.cog, g);
            }
          }
        }
        Epilogue(acc.data(), 0, g.cout, bias, residual, out, b, oy, ox);
      }
    }
  }
}

}  // namespace

void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& params,
            const Tensor* residual, const Tensor& out) {
  CheckConv2dArgs(Device::kCpu, x, w, bias, params, residual, out);
  RequireF32("Conv2d", "x", x);
  RequireF32("Conv2d", "w", w);
  RequireF32("Conv2d", "out", out);
  if (bias != nullptr) RequireF32("Conv2d", "bias", *bias);
  if (residual != nullptr) RequireF32("Conv2d", "residual", *residual);
  ConvGeometry g{};
  g.batch = x.shape[0];
  g.h = x.shape[1];
  g.w = x.shape[2];
  g.cin = x.shape[3];
  g.cout = w.shape[0];
  g.kh = w.shape[2];
  g.kw = w.shape[3];
  g.ho = out.shape[1];
  g.wo = out.shape[2];
  g.groups = params.groups;
  g.cg = g.cin / g.groups;
  g.cog = g.cout / g.groups;
  g.stride = params.stride;
  g.pad = params.padding;
  if (out.numel() == 0) return;
  const float* b = bias != nullptr ? bias->data_as<const float>() : nullptr;
  if (g.cg == 1) {
    ConvDepthwise(x, w, b, residual, out, g);
  } else {
    ConvIm2col(x, w, b, residual, out, g);
  }
}

}  // namespace vlart::cpu
