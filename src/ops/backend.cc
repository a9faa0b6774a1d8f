// SPDX-License-Identifier: Apache-2.0
//
// backend.cc: names for the op interface's enums, and the default decompositions of the
// composite ops (backends that fuse them override).

#include "ops/backend.h"

#include "ops/op_checks.h"

namespace vlart {

const char* ActivationName(Activation act) {
  switch (act) {
    case Activation::kNone: return "none";
    case Activation::kGeluErf: return "gelu_erf";
    case Activation::kGeluTanh: return "gelu_tanh";
    case Activation::kSilu: return "silu";
    case Activation::kSigmoid: return "sigmoid";
  }
  return "?";
}

void Backend::MulAddAdaRmsNorm(const Tensor& x, const Tensor& y, const Tensor& gate,
                               const Tensor& scale, const Tensor& shift, float eps,
                               const Tensor& out) {
  CheckMulAddAdaRmsNormArgs(device(), x, y, gate, scale, shift, eps, out);
  MulAdd(y, gate, x, x);
  AdaRmsNorm(x, scale, shift, eps, out);
}

void Backend::LinearResidualLayerNorm(const Tensor& x, const Tensor& w, const Tensor* bias,
                                      const Tensor& residual, const Tensor& out, const Tensor& gamma,
                                      const Tensor& beta, float eps, const Tensor& normed) {
  CheckLinearResidualLayerNormArgs(device(), x, w, bias, residual, out, gamma, beta, eps, normed);
  Linear(x, w, bias, Activation::kNone, &residual, out);
  LayerNorm(out, gamma, beta, eps, normed);
}

void Backend::GatedMlp(const Tensor& x, const Tensor& gate_up_w, const Tensor& down_w,
                       Activation act, const RowRmsScale* row_scale, const Tensor* residual,
                       const Tensor& hidden, const Tensor& out) {
  CheckGatedMlpArgs(device(), x, gate_up_w, down_w, row_scale, residual, hidden, out);
  const int64_t f = down_w.dim(1);
  Linear(x, gate_up_w, nullptr, Activation::kNone, nullptr, hidden);
  const Tensor gate = hidden.Slice(1, 0, f);
  GatedActivation(act, gate, hidden.Slice(1, f, 2 * f), gate, row_scale);
  Linear(gate, down_w, nullptr, Activation::kNone, residual, out);
}

}  // namespace vlart
