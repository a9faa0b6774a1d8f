// SPDX-License-Identifier: Apache-2.0
//
// softmax.cc: Softmax over the last dim, and the row softmax the attentions share.
//
// Math: m = max_j x_j, e_j = exp(x_j - m), out_j = e_j / Σ_k e_k (the stable form).
// Reference: torch.softmax(x, dim=-1) (float path: max, exp(x - max), sum, scale).
// Numerics: x - m and exp are f32 (libm expf); the denominator Σe and the division
// are double, then rounded once to f32. Justification: torch's CPU softmax reduces the
// sum over vector lanes (8 or 16 partial sums), clearly better than a naive f32
// running sum over long rows; the double sum stays at least that close to the exact
// value. Rows that are all one finite value (every key masked with the finite
// -2.3819763e38, which absorbs any score added to it) give exactly 1/n, like torch;
// NaN anywhere in a row gives a NaN row (the max propagates it), and an all -inf row
// gives NaN, as in torch.

#include <cmath>
#include <cstdint>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {

void SoftmaxRowInPlace(float* x, int64_t n) {
  if (n == 0) return;
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) {
    if (std::isnan(x[i]) || x[i] > m) m = x[i];  // a NaN, once in m, stays
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(x[i] / sum);
}

void Softmax(const Tensor& x, const Tensor& out) {
  CheckSoftmaxArgs(Device::kCpu, x, out);
  RequireF32("Softmax", "x", x);
  RequireF32("Softmax", "out", out);
  const int64_t rows = NumRows(x);
  const int64_t n = RowLength(x);
  if (x.numel() == 0) return;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = RowPtr<const float>(x, r);
    float* o = RowPtr<float>(out, r);
    for (int64_t i = 0; i < n; ++i) o[i] = xr[i];
    SoftmaxRowInPlace(o, n);
  }
}

}  // namespace vlart::cpu
