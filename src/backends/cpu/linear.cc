// SPDX-License-Identifier: Apache-2.0
//
// linear.cc: Linear and DomainLinear on the CPU reference backend.
//
// Math:
//   Linear:       out[m, n] = act(Σ_k x[m, k] w[n, k] + bias[n]) + residual[m, n]
//                 w is nn.Linear's [out_features, in_features]; the epilogue order is
//                 bias, then activation, then residual.
//   DomainLinear: out[b, t, n] = Σ_k x[b, t, k] W_d[k, n] + bias_table[d, n], d = ids[b],
//                 W_d = weight_table[d] viewed [K, N] (stored [in, out], X-VLA's
//                 DomainAwareLinear: nn.Embedding rows reshaped to (in, out)).
// Reference: torch.nn.functional.linear followed by the activation module and `+ residual`;
//   lerobot/policies/xvla/soft_transformer.py DomainAwareLinear.forward
//   (torch.matmul(x, weight) + bias).
// Numerics: the products and their f32 accumulation are OpenBLAS sgemm's (blas.h); the
// epilogue rounds after each step: t = acc + bias, a = act(t), out = a + residual.
// residual may alias out: the product goes to a scratch matrix first, and each out
// element is written after its residual element is read.

#include <cstdint>
#include <vector>

#include "backends/cpu/activation.h"
#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {

void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
            const Tensor* residual, const Tensor& out) {
  CheckLinearArgs(Device::kCpu, x, w, bias, residual, out);
  RequireF32("Linear", "x", x);
  RequireF32("Linear", "w", w);
  RequireF32("Linear", "out", out);
  if (bias != nullptr) RequireF32("Linear", "bias", *bias);
  if (residual != nullptr) RequireF32("Linear", "residual", *residual);
  const int64_t m = x.shape[0];
  const int64_t k = x.shape[1];
  const int64_t n = w.shape[0];
  if (m == 0 || n == 0) return;

  std::vector<float> acc(static_cast<size_t>(m * n));  // [M, N]
  Gemm(/*trans_a=*/false, {x.data_as<const float>(), m, k, x.stride[0]}, /*trans_b=*/true,
       {w.data_as<const float>(), n, k, k}, 1.0f, acc.data(), n);

  const float* b = bias != nullptr ? bias->data_as<const float>() : nullptr;
#pragma omp parallel for schedule(static) if (m * n >= kParallelWork)
  for (int64_t i = 0; i < m; ++i) {
    const float* a = acc.data() + i * n;
    const float* r = residual != nullptr ? RowPtr<const float>(*residual, i) : nullptr;
    float* o = RowPtr<float>(out, i);
    for (int64_t j = 0; j < n; ++j) {
      float t = a[j];
      if (b != nullptr) t = t + b[j];
      t = ApplyActivation(act, t);
      if (r != nullptr) t = t + r[j];
      o[j] = t;
    }
  }
}

void DomainLinear(const Tensor& x, const Tensor& weight_table, const Tensor& bias_table,
                  const Tensor& domain_ids, const Tensor& out) {
  CheckDomainLinearArgs(Device::kCpu, x, weight_table, bias_table, domain_ids, out);
  RequireF32("DomainLinear", "x", x);
  RequireF32("DomainLinear", "weight_table", weight_table);
  RequireF32("DomainLinear", "bias_table", bias_table);
  RequireF32("DomainLinear", "out", out);
  const int64_t batch = x.shape[0];
  const int64_t t = x.shape[1];
  const int64_t k = x.shape[2];
  const int64_t n = out.shape[2];
  const int64_t domains = weight_table.shape[0];
  const int32_t* ids = domain_ids.data_as<const int32_t>();
  std::vector<float> acc(static_cast<size_t>(t * n));  // [T, N]
  for (int64_t b = 0; b < batch; ++b) {
    const int32_t d = ids[b];
    VLART_CHECK(d >= 0 && d < domains,
                "DomainLinear: domain_ids[{}] = {} is outside the {} domains of weight_table", b,
                d, domains);
    if (t == 0 || n == 0) continue;
    const float* w_d = weight_table.data_as<const float>() + d * k * n;  // [K, N]
    const float* bias_d = bias_table.data_as<const float>() + d * n;     // [N]
    const float* x_b = x.data_as<const float>() + b * x.stride[0];
    Gemm(/*trans_a=*/false, {x_b, t, k, x.stride[1]}, /*trans_b=*/false, {w_d, k, n, n}, 1.0f,
         acc.data(), n);
    float* out_b = out.data_as<float>() + b * out.stride[0];
#pragma omp parallel for schedule(static) if (t * n >= kParallelWork)
    for (int64_t i = 0; i < t; ++i) {
      float* o = out_b + i * out.stride[1];
      const float* a = acc.data() + i * n;
      for (int64_t j = 0; j < n; ++j) o[j] = a[j] + bias_d[j];
    }
  }
}

}  // namespace vlart::cpu
