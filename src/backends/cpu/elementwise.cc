// SPDX-License-Identifier: Apache-2.0
//
// elementwise.cc: Add, Mul, Axpby, Activate, GatedActivation and MulAdd on the CPU reference
// backend.
//
// Math: out = a + b; out = a * b; out = alpha * x + beta * y; out = act(x)
// (activation.h lists the activations); out = act(gate) * up; out = c + a * b. Shapes are
// equal; broadcasting is done by the caller with stride-0 views (Tensor::Broadcast), so
// inputs may have any strides, innermost included. In place allowed: out may be exactly a
// (or b, c, x, y).
// Reference: torch.add, torch.mul, alpha * x + beta * y (two products, then the sum:
// three f32 roundings, which is what that PyTorch expression computes), torch GELU /
// SiLU / sigmoid; GatedActivation is torch's act(gate) * up (HF GemmaMLP, pi0's GeGLU);
// MulAdd is openpi's gated residual x + y * gate (pi0.5 adaRMS layers).
// Numerics: one f32 operation per element, -ffp-contract=off (no FMA; baseline x86-64 has
// no FMA instruction either). GatedActivation rounds act(gate) to f32 and then the product:
// bit for bit Activate followed by Mul. MulAdd rounds a * b to f32 and then c + that: bit for
// bit Mul followed by Add.

#include <cstdint>

#include "backends/cpu/activation.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {
namespace {

// out[i] = f(a[i], b[i]) over rows; safe in place because each element is read
// before it is written and out is either exactly a/b or disjoint from them.
template <typename F>
void Binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  if (out.numel() == 0) return;
  const int64_t rows = NumRows(out);
  const int64_t n = RowLength(out);
  const int64_t as = InnerStride(a);
  const int64_t bs = InnerStride(b);
#pragma omp parallel for schedule(static) if (rows * n >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* pa = RowPtr<const float>(a, r);
    const float* pb = RowPtr<const float>(b, r);
    float* po = RowPtr<float>(out, r);
    if (as == 1 && bs == 1) {  // the common dense case, kept separate so it vectorises
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i * as], pb[i * bs]);
    }
  }
}

// out[i] = f(a[i], b[i], c[i]): Binary with a third operand.
template <typename F>
void Ternary(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out, F f) {
  if (out.numel() == 0) return;
  const int64_t rows = NumRows(out);
  const int64_t n = RowLength(out);
  const int64_t as = InnerStride(a);
  const int64_t bs = InnerStride(b);
  const int64_t cs = InnerStride(c);
#pragma omp parallel for schedule(static) if (rows * n >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const float* pa = RowPtr<const float>(a, r);
    const float* pb = RowPtr<const float>(b, r);
    const float* pc = RowPtr<const float>(c, r);
    float* po = RowPtr<float>(out, r);
    if (as == 1 && bs == 1 && cs == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i], pc[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i * as], pb[i * bs], pc[i * cs]);
    }
  }
}

void RequireAllF32(std::string_view op, const Tensor& a, const Tensor& b, const Tensor& out) {
  RequireF32(op, "a", a);
  RequireF32(op, "b", b);
  RequireF32(op, "out", out);
}

}  // namespace

void Add(const Tensor& a, const Tensor& b, const Tensor& out) {
  CheckBinaryElementwiseArgs(Device::kCpu, "Add", a, b, out);
  RequireAllF32("Add", a, b, out);
  Binary(a, b, out, [](float x, float y) { return x + y; });
}

void Mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  CheckBinaryElementwiseArgs(Device::kCpu, "Mul", a, b, out);
  RequireAllF32("Mul", a, b, out);
  Binary(a, b, out, [](float x, float y) { return x * y; });
}

void Axpby(float alpha, const Tensor& x, float beta, const Tensor& y, const Tensor& out) {
  CheckBinaryElementwiseArgs(Device::kCpu, "Axpby", x, y, out);
  RequireAllF32("Axpby", x, y, out);
  Binary(x, y, out, [alpha, beta](float xv, float yv) { return alpha * xv + beta * yv; });
}

void Activate(Activation act, const Tensor& x, const Tensor& out) {
  CheckActivateArgs(Device::kCpu, x, out);
  RequireF32("Activate", "x", x);
  RequireF32("Activate", "out", out);
  WithActivation(act, [&](auto fn) { Binary(x, x, out, [fn](float v, float) { return fn(v); }); });
}

void GatedActivation(Activation act, const Tensor& gate, const Tensor& up, const Tensor& out,
                     const RowRmsScale* row_scale) {
  CheckGatedActivationArgs(Device::kCpu, gate, up, out, row_scale);
  RequireF32("GatedActivation", "gate", gate);
  RequireF32("GatedActivation", "up", up);
  RequireF32("GatedActivation", "out", out);
  if (row_scale != nullptr) {  // the chain: scale both inputs (f32 copies), then the op itself
    const HostTensor g = ScaledByRowRms(gate, *row_scale);
    const HostTensor u = ScaledByRowRms(up, *row_scale);
    GatedActivation(act, g.view(), u.view(), out, nullptr);
    return;
  }
  WithActivation(act, [&](auto fn) {
    Binary(gate, up, out, [fn](float g, float u) {
      const float a = fn(g);  // rounded to f32 here, as Activate stores it
      return a * u;
    });
  });
}

void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out) {
  CheckMulAddArgs(Device::kCpu, a, b, c, out);
  RequireAllF32("MulAdd", a, b, out);
  RequireF32("MulAdd", "c", c);
  Ternary(a, b, c, out, [](float x, float y, float z) {
    const float p = x * y;  // rounded to f32 here, as Mul stores it (no contraction)
    return z + p;
  });
}

}  // namespace vlart::cpu
