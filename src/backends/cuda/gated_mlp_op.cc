// SPDX-License-Identifier: Apache-2.0
//
// gated_mlp_op.cc: CudaBackend::GatedMlp, a gated MLP (Linear, GatedActivation, Linear) in
// one kernel for few rows (gated_mlp.cu), else the three ops of the default chain.
//
// The fused form needs: bf16 / f16 operands of one dtype, 1 <= M <= 16, the sizes
// gated_mlp.cu takes (K % 64, F % 256, N % 8, max(F / 32, N / 8) blocks no more than the
// SMs), a row scale (if any) that is x's own RMS statistic (row_scale.x is x: the kernel
// reads it from x's staged rows), and the backend's fusion switch on. The switch is OFF by
// default: in pi0.5's denoising graph (H100) the one kernel cost 12.5 us per layer-step where
// the three ops, overlapped by PDL and the L2 weight hints, cost less (denoise 8.55 against
// 8.21 ms; docs/PERFORMANCE.md, "One kernel for the expert's MLP"). VLART_FUSED_MLP=1 or
// SetGatedMlpFused turns it on. Otherwise, or when the launcher declines, the chain runs with
// whatever each op's own tuner picked.

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

bool SameDType(DType dt, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts) {
    if (t != nullptr && t->dtype != dt) return false;
  }
  return true;
}

bool ColumnsContiguous(const Tensor& t) { return t.dim(1) <= 1 || t.stride[1] == 1; }

}  // namespace

void CudaBackend::GatedMlp(const Tensor& x, const Tensor& gate_up_w, const Tensor& down_w,
                           Activation act, const RowRmsScale* row_scale, const Tensor* residual,
                           const Tensor& hidden, const Tensor& out) {
  BeginOp();
  CheckGatedMlpArgs(Device::kCuda, x, gate_up_w, down_w, row_scale, residual, hidden, out);
  const DType dt = x.dtype;
  const bool own_rms = row_scale == nullptr ||
                       (row_scale->x.data == x.data && row_scale->x.shape == x.shape &&
                        RowStride(row_scale->x) == RowStride(x) && row_scale->x.dtype == dt);
  const bool qualifies = !force_fallback_ && fuse_gated_mlp_ && grid_barrier_ != nullptr &&
                         own_rms && SameDType(dt, {&gate_up_w, &down_w, residual, &hidden, &out}) &&
                         x.dim(0) >= 1 && ColumnsContiguous(x) && ColumnsContiguous(hidden) &&
                         ColumnsContiguous(out) && (residual == nullptr || ColumnsContiguous(*residual));
  if (qualifies) {
    GatedMlpArgs p;
    p.m = static_cast<int>(x.dim(0));
    p.k = static_cast<int>(x.dim(1));
    p.f = static_cast<int>(down_w.dim(1));
    p.n = static_cast<int>(down_w.dim(0));
    p.x = x.data;
    p.ldx = RowStride(x);
    p.gate_up_w = gate_up_w.data;
    p.down_w = down_w.data;
    p.hidden = hidden.data;
    p.ldh = RowStride(hidden);
    if (residual != nullptr) {
      p.residual = residual->data;
      p.ldr = RowStride(*residual);
    }
    p.out = out.data;
    p.ldo = RowStride(out);
    p.act = static_cast<int>(ToActKind(act));
    p.row_rms = row_scale != nullptr;
    p.eps = row_scale != nullptr ? row_scale->eps : 0.0f;
    const size_t eb = static_cast<size_t>(ElementBytes(dt));
    p.weights_sealed = sealed_->Contains(gate_up_w.data, static_cast<size_t>(gate_up_w.numel()) * eb) &&
                       sealed_->Contains(down_w.data, static_cast<size_t>(down_w.numel()) * eb);
    p.barrier = grid_barrier_;
    if (LaunchGatedMlp(p, dt, num_sms_, stream_)) {
      ++stats_.gated_mlp_fused;
      AfterOp("GatedMlp");
      return;
    }
  }
  AfterOp("GatedMlp");
  Backend::GatedMlp(x, gate_up_w, down_w, act, row_scale, residual, hidden, out);  // the chain
}

}  // namespace vlart::cuda
