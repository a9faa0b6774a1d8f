// SPDX-License-Identifier: Apache-2.0
//
// op_checks.h: argument validation shared by every Backend, one function per op.
//
// Each Check<Op>Args enforces what backend.h documents for that op (ranks, shapes,
// dtype classes, devices, strides, which outputs may alias which inputs) and aborts
// with VLART_CHECK and a message that names the op and both disagreeing tensors, e.g.
//   "Linear: x [7, 64] and w [32, 65] disagree on K (64 vs 65)".
// Backends call the matching check first, then add their own dtype restriction
// (the CPU reference accepts f32 only; see RequireDTypes). Calling the same checks
// from every backend is what makes them reject the same misuse.
//
// Layout rules applied unless an op says otherwise (backend.h, header comment):
//  - every stride is >= 0;
//  - inputs: innermost dim contiguous (stride 1, or size 1); elementwise inputs may be
//    any strides, because broadcasting makes stride-0 dims (innermost included);
//  - outputs: innermost dim contiguous and no broadcast (stride-0) dim of size > 1,
//    so that no element is written twice;
//  - an output may not start at the same address as an input unless the op allows
//    in place (a shared start address always means the views overlap; views that
//    interleave within one buffer without sharing elements remain allowed).
#pragma once

#include <initializer_list>
#include <span>
#include <string_view>

#include "core/tensor.h"
#include "ops/backend.h"

namespace vlart {

// ---- building blocks (also used by backends for their own restrictions) ----------

// Aborts unless t.dtype is one of `allowed`: "<op>: <name> F16[2, 3] (cpu): dtype F16 not
// supported by <who>; expected one of F32".
void RequireDTypes(std::string_view op, std::string_view name, const Tensor& t,
                   std::initializer_list<DType> allowed, std::string_view who);

// True when the innermost dim has stride 1 or size 1 (or t is 0-d).
bool InnermostContiguous(const Tensor& t);

// Output size of a convolution along one spatial axis: (in + 2p - k) / s + 1, or <= 0
// when the (padded) input is smaller than the kernel.
int64_t Conv2dOutputSize(int64_t in, int64_t kernel, const Conv2dParams& params);

// ---- memory --------------------------------------------------------------------
// `device` is the backend's device: backend tensors must live there, host tensors on kCpu.
void CheckUploadArgs(Device device, const Tensor& host_src, const Tensor& dst);
void CheckDownloadArgs(Device device, const Tensor& src, const Tensor& host_dst);

// ---- data movement -----------------------------------------------------------------
void CheckCopyArgs(Device device, const Tensor& src, const Tensor& dst);
void CheckFillArgs(Device device, const Tensor& dst);
void CheckPrefetchArgs(Device device, std::span<const Tensor> tensors);
void CheckEmbeddingArgs(Device device, const Tensor& ids, const Tensor& table, const Tensor& out);
void CheckNormalizePixelsArgs(Device device, const Tensor& pixels, const Tensor& table,
                              const Tensor& out);
// Whether pixels [N, H, W, C] is the Permute({0, 2, 3, 1}) of a contiguous [N, C, H, W]
// (planar bytes; dims of size 1 may have any stride).
bool PlanarPixels(const Tensor& pixels);
// Shapes and dtypes of ResizePixels (not the taps' values: those live on the device).
void CheckResizePixelsArgs(Device device, const Tensor& pixels, const Tensor& taps_x,
                           const Tensor& taps_y, const Tensor& out);

// ---- elementwise (in place allowed) -------------------------------------------------
// Add, Mul and Axpby: `op` names the op in messages.
void CheckBinaryElementwiseArgs(Device device, std::string_view op, const Tensor& a,
                                const Tensor& b, const Tensor& out);
void CheckActivateArgs(Device device, const Tensor& x, const Tensor& out);
void CheckGatedActivationArgs(Device device, const Tensor& gate, const Tensor& up,
                              const Tensor& out, const RowRmsScale* row_scale);
void CheckMulAddArgs(Device device, const Tensor& a, const Tensor& b, const Tensor& c,
                     const Tensor& out);

// ---- linear algebra -----------------------------------------------------------------
void CheckLinearArgs(Device device, const Tensor& x, const Tensor& w, const Tensor* bias,
                     const Tensor* residual, const Tensor& out);
void CheckDomainLinearArgs(Device device, const Tensor& x, const Tensor& weight_table,
                           const Tensor& bias_table, const Tensor& domain_ids, const Tensor& out);

// ---- normalisation -------------------------------------------------------------------
void CheckLayerNormArgs(Device device, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                        float eps, const Tensor& out);
void CheckRmsNormArgs(Device device, const Tensor& x, const Tensor& w, float eps,
                      const Tensor& out);
void CheckLinearResidualLayerNormArgs(Device device, const Tensor& x, const Tensor& w, const Tensor* bias,
                                      const Tensor& residual, const Tensor& out, const Tensor& gamma,
                                      const Tensor& beta, float eps, const Tensor& normed);
void CheckGatedMlpArgs(Device device, const Tensor& x, const Tensor& gate_up_w, const Tensor& down_w,
                       const RowRmsScale* row_scale, const Tensor* residual, const Tensor& hidden,
                       const Tensor& out);
void CheckMulAddAdaRmsNormArgs(Device device, const Tensor& x, const Tensor& y, const Tensor& gate,
                               const Tensor& scale, const Tensor& shift, float eps, const Tensor& out);
void CheckAdaRmsNormArgs(Device device, const Tensor& x, const Tensor& scale, const Tensor& shift,
                         float eps, const Tensor& out);
void CheckSoftmaxArgs(Device device, const Tensor& x, const Tensor& out);
void CheckMeanOverTokensArgs(Device device, const Tensor& x, const Tensor& out);

// ---- attention -----------------------------------------------------------------------
void CheckAttentionArgs(Device device, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor* mask, float scale, const Tensor& out);
void CheckChannelAttentionArgs(Device device, const Tensor& q, const Tensor& k, const Tensor& v,
                               float scale, const Tensor& out);
void CheckRopeArgs(Device device, const Tensor& x, const Tensor& positions, float theta,
                   const Tensor& out);
void CheckRopeQkvArgs(Device device, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& positions, float theta, const Tensor& q_out,
                      const Tensor& k_out, const Tensor& v_out, const RowRmsScale* row_scale);

// ---- convolution ---------------------------------------------------------------------
void CheckConv2dArgs(Device device, const Tensor& x, const Tensor& w, const Tensor* bias,
                     const Conv2dParams& params, const Tensor* residual, const Tensor& out);

}  // namespace vlart
