// SPDX-License-Identifier: Apache-2.0
//
// conv2d_op.cc: CudaBackend::Conv2d: validation and path choice (kernels in conv2d.cu).
//
// Paths:
//  - depthwise (groups == Cin == Cout): direct kernel, 3x3 unrolled. DaViT's conv1/conv2.
//  - dense (groups == 1), F32/F16/BF16 weights, out rows collapsible with contiguous
//    channels: im2col into backend scratch, in row chunks that fit (no allocation, so the op
//    stays graph-capturable and any size runs), then RunGemm (cuBLASLt, bias epilogue,
//    residual as C). Chosen over an implicit-GEMM kernel for this pass: cuBLASLt gives tensor
//    cores immediately and the extra traffic (the patch matrix, 7.2 MB for DaViT's stage-1
//    conv with 2 views) is small next to the GEMM.
//  - everything else (grouped convs, odd layouts, force_fallback_kernels): the direct kernel.

#include <algorithm>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {

void CudaBackend::Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias,
                         const Conv2dParams& params, const Tensor* residual, const Tensor& out) {
  BeginOp();
  // x [B, H, W, Cin], w [Cout, Cin/groups, kh, kw], bias [Cout], residual/out [B, Ho, Wo, Cout]
  CheckConv2dArgs(Device::kCuda, x, w, bias, params, residual, out);
  const int64_t cin = x.dim(3);
  const int64_t cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const int groups = params.groups;
  if (out.numel() == 0) {
    AfterOp("Conv2d");
    return;
  }
  ConvArgs a;
  a.x = ToArg(x);
  a.w = w.data;
  a.w_dtype = w.dtype;
  a.out = ToArg(out);
  a.kh = static_cast<int>(kh);
  a.kw = static_cast<int>(kw);
  a.stride = params.stride;
  a.padding = params.padding;
  a.groups = groups;
  if (bias != nullptr) {
    a.bias = bias->data;
    a.bias_dtype = bias->dtype;
    a.bias_stride = bias->stride[0];
  }
  if (residual != nullptr) {
    a.residual = ToArg(*residual);
  }

  if (groups == cin && cout == cin) {
    if (force_fallback_) {
      LaunchConv2dDirect(a, stream_);
      ++stats_.conv_direct;
    } else {
      if (LaunchDepthwiseConv2d(a, stream_)) ++stats_.conv_depthwise_vec;
      ++stats_.conv_depthwise;
    }
    AfterOp("Conv2d");
    return;
  }

  GemmOperands g;
  int64_t rows = 0;
  bool gemm_ok = groups == 1 && !force_fallback_ && (out.dtype == w.dtype || out.dtype == DType::kF32) &&
                 (out.stride[3] == 1 || cout == 1) && CollapseRows(out, &rows, &g.ldd);
  if (gemm_ok && residual != nullptr) {
    int64_t r_rows = 0;
    gemm_ok = (residual->stride[3] == 1 || cout == 1) && CollapseRows(*residual, &r_rows, &g.ldr);
  }
  if (!gemm_ok) {
    LaunchConv2dDirect(a, stream_);
    ++stats_.conv_direct;
    AfterOp("Conv2d");
    return;
  }
  g.m = rows;
  g.n = cout;
  g.k = cin * kh * kw;
  g.a_dtype = w.dtype;
  g.b = w.data;
  g.b_dtype = w.dtype;
  g.ldb = g.k;
  g.bias = a.bias;
  g.bias_dtype = a.bias_dtype;
  g.bias_stride = a.bias_stride;
  g.d = out.data;
  g.d_dtype = out.dtype;
  if (rows <= 1) g.ldd = std::max<int64_t>(cout, 1);
  if (residual != nullptr) {
    g.residual = residual->data;
    g.residual_dtype = residual->dtype;
    if (rows <= 1) g.ldr = std::max<int64_t>(cout, 1);
  }
  const RowMaterializer im2col = [this, &a](int64_t row0, int64_t count, void* dst, int64_t ld) {
    LaunchIm2col(a, row0, count, dst, a.w_dtype, ld, stream_);
  };
  RunGemm(g, &im2col);
  ++stats_.conv_im2col_gemm;
  AfterOp("Conv2d");
}

}  // namespace vlart::cuda
