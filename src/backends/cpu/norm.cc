// SPDX-License-Identifier: Apache-2.0
//
// norm.cc: LayerNorm, RmsNorm, AdaRmsNorm and MeanOverTokens on the CPU reference backend.
//
// Math (rows = all dims but the last, C = row length):
//   LayerNorm:  mean = Σx/C, var = Σ(x - mean)²/C (biased), rstd = 1/sqrt(var + eps),
//               out = (x - mean) * rstd * gamma + beta
//   RmsNorm:    ms = Σx²/C, r = 1/sqrt(ms + eps), out = (x * r) * (weight_offset + w)
//   AdaRmsNorm: ms and r as RmsNorm, out = ((x * r) * (1 + scale)) + shift, with the row's
//               own scale and shift (x-shaped views, usually broadcast over rows)
//   MeanOverTokens: out[b, c] = Σ_n x[b, n, c] / N
//   ScaledByRowRms: t[r, ...] * RowInvRms(x[r]) (backend.h RowRmsScale: the statistic an op
//               applies where a model folded an RMSNorm's weight into the next GEMM)
// Reference: torch.nn.functional.layer_norm; transformers GemmaRMSNorm
//   (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + weight), all f32);
//   torch.mean(x, dim=1); AdaRmsNorm: openpi / lerobot PiGemmaRMSNorm with a condition
//   (normed * (1 + scale.float()) + shift.float(), all f32, one cast at the end).
// Numerics: the row statistics (Σx, Σ(x-mean)², Σx², Σ over tokens) are accumulated in
// double, then rounded to f32. Justification: torch's CPU ops do better than a naive
// f32 running sum here (layer_norm uses a cascaded Welford over vector lanes, mean uses
// cascade summation), so their results sit within a few ulp of the exact statistic;
// the double sum reproduces that exact statistic, whereas naive f32 summation would
// drift by up to C * 2^-24 relative. Everything after the statistics is f32 in the
// order written: var + eps, sqrt and the reciprocal each round to f32, as in torch.
// AdaRmsNorm is therefore bit for bit RmsNorm(x, scale row, eps, 1) followed by Add(shift)
// (-ffp-contract=off: no FMA joins the last product and the add).

#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {
namespace {

// 1 / sqrt(mean(x²) + eps) of one row: the statistic RmsNorm and AdaRmsNorm share (the
// sum in double, then f32 as torch rounds it; see the header).
float RowInvRms(const float* xr, int64_t c, float eps) {
  double sq = 0.0;
  for (int64_t i = 0; i < c; ++i) sq += static_cast<double>(xr[i]) * xr[i];
  const float ms = static_cast<float>(sq / static_cast<double>(c));
  return 1.0f / std::sqrt(ms + eps);
}

}  // namespace

void LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
               const Tensor& out) {
  CheckLayerNormArgs(Device::kCpu, x, gamma, beta, eps, out);
  RequireF32("LayerNorm", "x", x);
  RequireF32("LayerNorm", "gamma", gamma);
  RequireF32("LayerNorm", "beta", beta);
  RequireF32("LayerNorm", "out", out);
  const int64_t rows = NumRows(x);
  const int64_t c = RowLength(x);
  if (x.numel() == 0) return;
  const float* g = gamma.data_as<const float>();
  const float* b = beta.data_as<const float>();
#pragma omp parallel for schedule(static) if (rows * c >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = RowPtr<const float>(x, r);
    float* o = RowPtr<float>(out, r);
    double sum = 0.0;
    for (int64_t i = 0; i < c; ++i) sum += xr[i];
    const double mean = sum / static_cast<double>(c);
    double sq = 0.0;
    for (int64_t i = 0; i < c; ++i) {
      const double d = xr[i] - mean;
      sq += d * d;
    }
    const float mean_f = static_cast<float>(mean);
    const float var_f = static_cast<float>(sq / static_cast<double>(c));
    const float rstd = 1.0f / std::sqrt(var_f + eps);
    for (int64_t i = 0; i < c; ++i) o[i] = (xr[i] - mean_f) * rstd * g[i] + b[i];
  }
}

void RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset, const Tensor& out) {
  CheckRmsNormArgs(Device::kCpu, x, w, eps, out);
  RequireF32("RmsNorm", "x", x);
  RequireF32("RmsNorm", "w", w);
  RequireF32("RmsNorm", "out", out);
  const int64_t rows = NumRows(x);
  const int64_t c = RowLength(x);
  if (x.numel() == 0) return;
  const float* wp = w.data_as<const float>();
#pragma omp parallel for schedule(static) if (rows * c >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = RowPtr<const float>(x, r);
    float* o = RowPtr<float>(out, r);
    const float inv = RowInvRms(xr, c, eps);
    for (int64_t i = 0; i < c; ++i) o[i] = (xr[i] * inv) * (weight_offset + wp[i]);
  }
}

void AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                const Tensor& out) {
  CheckAdaRmsNormArgs(Device::kCpu, x, scale, shift, eps, out);
  RequireF32("AdaRmsNorm", "x", x);
  RequireF32("AdaRmsNorm", "scale", scale);
  RequireF32("AdaRmsNorm", "shift", shift);
  RequireF32("AdaRmsNorm", "out", out);
  const int64_t rows = NumRows(x);
  const int64_t c = RowLength(x);
  if (x.numel() == 0) return;
#pragma omp parallel for schedule(static) if (rows * c >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = RowPtr<const float>(x, r);
    const float* sc = RowPtr<const float>(scale, r);
    const float* sh = RowPtr<const float>(shift, r);
    float* o = RowPtr<float>(out, r);
    const float inv = RowInvRms(xr, c, eps);
    for (int64_t i = 0; i < c; ++i) {
      const float normed = (xr[i] * inv) * (1.0f + sc[i]);  // RmsNorm's store
      o[i] = normed + sh[i];                                 // Add's
    }
  }
}

void MeanOverTokens(const Tensor& x, const Tensor& out) {
  CheckMeanOverTokensArgs(Device::kCpu, x, out);
  RequireF32("MeanOverTokens", "x", x);
  RequireF32("MeanOverTokens", "out", out);
  const int64_t batch = x.shape[0];
  const int64_t tokens = x.shape[1];
  const int64_t c = x.shape[2];
#pragma omp parallel for collapse(2) schedule(static) if (x.numel() >= kParallelWork)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t j = 0; j < c; ++j) {
      const float* xb = x.data_as<const float>() + b * x.stride[0] + j;
      double sum = 0.0;
      for (int64_t n = 0; n < tokens; ++n) sum += xb[n * x.stride[1]];
      out.data_as<float>()[b * out.stride[0] + j] =
          static_cast<float>(sum / static_cast<double>(tokens));
    }
  }
}

HostTensor ScaledByRowRms(const Tensor& t, const RowRmsScale& scale) {
  RequireF32("RowRmsScale", "t", t);
  RequireF32("RowRmsScale", "row_scale.x", scale.x);
  const int64_t rows = scale.x.shape[0];
  const int64_t c = RowLength(scale.x);
  HostTensor out(DType::kF32, t.shape);
  if (t.numel() == 0) return out;
  const int64_t per_row = t.numel() / rows;  // the op checks: t's leading dims multiply to R
  std::vector<float> s(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = scale.x.data_as<const float>() + r * scale.x.stride[0];
    s[static_cast<size_t>(r)] = RowInvRms(xr, c, scale.eps);
  }
  const float* src = t.data_as<const float>();
  float* dst = out.view().data_as<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    dst[i] = src[ElementOffset(t, i)] * s[static_cast<size_t>(i / per_row)];
  }
  return out;
}

}  // namespace vlart::cpu
