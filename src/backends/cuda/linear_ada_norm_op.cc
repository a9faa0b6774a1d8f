// SPDX-License-Identifier: Apache-2.0
//
// linear_ada_norm_op.cc: CudaBackend::LinearMulAddAdaRmsNorm, pi0.5's o_proj / down product
// followed by the gated residual and the next adaRMS norm (MulAddAdaRmsNorm).
//
// Fused form: the few-row GEMM (gemm_skinny.cu) with a tail (AdaTailArgs): it stores y as
// the plain Linear would, then the last of its clusters to finish runs MulAddAdaRmsNorm over
// y's rows with the norm kernel's row function (ada_norm_row.cuh), so one launch (and one
// kernel boundary) fewer per norm, and the same bits as the two ops: the GEMM's configuration
// is the tuner's pick for the plain product (GemmConfigFor, timed without the tail) and the
// row function runs on a block of the norm kernel's size. It needs: the pick to be a few-row
// GEMM configuration; bf16 / f16 operands of one dtype; rows of 16-byte vectors of which the
// norm kernel would give one per thread to a 128-thread block (N / 8 in 97..128: the expert's
// 1024); operands with at most two leading dims (AdaTailRows). Otherwise, or with
// VLART_FUSED_LINEAR_ADA_NORM=0, the two ops run.

#include <algorithm>
#include <cstdint>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

constexpr int kTailThreads = 128;  // gemm_skinny.cu's block size

// The row addressing of a [..., C] operand with at most two leading dims; false otherwise.
bool ToTailRows(const Tensor& t, AdaTailRows* rows) {
  if (t.ndim() < 1 || t.ndim() > 3 || (t.shape[t.ndim() - 1] > 1 && t.stride[t.ndim() - 1] != 1)) {
    return false;
  }
  rows->data = t.data;
  if (t.ndim() == 1) return true;  // one row
  if (t.ndim() == 2) {
    rows->inner_rows = std::max<int64_t>(t.shape[0], 1);
    rows->inner_stride = t.stride[0];
    return true;
  }
  rows->inner_rows = std::max<int64_t>(t.shape[1], 1);
  rows->inner_stride = t.stride[1];
  rows->outer_stride = t.stride[0];
  return true;
}

// The norm kernel's block size for a row of `vecs` 16-byte vectors (norm.cu ThreadsForRow).
int NormThreads(int64_t vecs) {
  const int64_t rounded = (vecs + 31) / 32 * 32;
  return static_cast<int>(rounded < 256 ? (rounded > 32 ? rounded : 32) : 256);
}

}  // namespace

void CudaBackend::LinearMulAddAdaRmsNorm(const Tensor& a, const Tensor& w, const Tensor& x,
                                         const Tensor& gate, const Tensor& scale, const Tensor& shift,
                                         float eps, const Tensor& y, const Tensor& out) {
  BeginOp();
  CheckLinearMulAddAdaRmsNormArgs(Device::kCuda, a, w, x, gate, scale, shift, eps, y, out);
  if (!force_fallback_ && fuse_linear_ada_norm_ && TryLinearAdaNorm(a, w, x, gate, scale, shift, eps, y, out)) {
    ++stats_.linear_ada_norm_fused;
    AfterOp("LinearMulAddAdaRmsNorm");
    return;
  }
  AfterOp("LinearMulAddAdaRmsNorm");
  Backend::LinearMulAddAdaRmsNorm(a, w, x, gate, scale, shift, eps, y, out);  // the two ops
}

bool CudaBackend::TryLinearAdaNorm(const Tensor& a, const Tensor& w, const Tensor& x, const Tensor& gate,
                                   const Tensor& scale, const Tensor& shift, float eps, const Tensor& y,
                                   const Tensor& out) {
  const DType t = a.dtype;
  if (t != DType::kBF16 && t != DType::kF16) return false;
  for (const Tensor* o : {&w, &x, &gate, &scale, &shift, &y, &out}) {
    if (o->dtype != t) return false;
  }
  const int64_t n = w.dim(0);
  if (n % 8 != 0 || NormThreads(n / 8) != kTailThreads || n / 8 > kTailThreads) return false;
  // The norm kernel's vector path: every operand's rows 16-byte vectors (kernels.h).
  const Tensor y_rows = y.Reshape(x.shape);
  StridedArg sx = ToArg(x), sy = ToArg(y_rows), sg = ToArg(gate), ss = ToArg(scale), sh = ToArg(shift),
             so = ToArg(out);
  if (!RowsOf16ByteVectors({&sx, &sy, &sg, &ss, &sh, &so})) return false;
  AdaTailArgs tail;
  if (!ToTailRows(x, &tail.x) || !ToTailRows(y_rows, &tail.y) || !ToTailRows(gate, &tail.gate) ||
      !ToTailRows(scale, &tail.scale) || !ToTailRows(shift, &tail.shift) || !ToTailRows(out, &tail.out)) {
    return false;
  }
  if (a.dim(1) > 1 && a.stride[1] != 1) return false;
  if (a.dim(0) > INT32_MAX || n > INT32_MAX || a.dim(1) > INT32_MAX) return false;
  GemmMmaArgs p;  // as TryGemmMma builds it for Linear(a, w) -> y
  p.m = static_cast<int>(a.dim(0));
  p.n = static_cast<int>(n);
  p.k = static_cast<int>(a.dim(1));
  p.a = a.data;
  p.lda = RowStride(a);
  p.b = w.data;
  p.ldb = w.dim(1);
  p.d = y.data;
  p.ldd = n;
  p.b_sealed = sealed_->Contains(w.data, static_cast<size_t>(w.numel()) * ElementBytes(t));
  p.late_trigger = gemm_late_trigger_;
  if (!GemmMmaSupported(p, t)) return false;
  const GemmMmaConfig config = GemmConfigFor(p, t);  // timed (if at all) without the tail
  if (config.tile < kSkinnyTileBase || config.tile >= kWgmmaTileBase) return false;
  tail.width = n;
  tail.eps = eps;
  tail.counter = tail_counter_;
  p.tail = tail;
  LaunchGemmMma(p, t, config, gemm_workspace_, gemm_counters_, stream_);
  ++stats_.gemm_mma;
  ++stats_.gemm_skinny;
  if (p.b_sealed) ++stats_.gemm_b_sealed;
  return true;
}

}  // namespace vlart::cuda
