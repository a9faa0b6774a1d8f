// SPDX-License-Identifier: Apache-2.0
//
// linear_norm.cu: the second half of LinearResidualLayerNorm's fused form: the split-K
// partial products of a residual Linear summed with its bias and residual, rounded once into
// the residual stream, and that row's LayerNorm, in one kernel.
//
// Math:      out[m, n]    = round(Σ_s P[s, m, n] + bias[n] + residual[m, n])
//            normed[m, :] = (out[m, :] - mean) · 1/sqrt(var + eps) · gamma + beta  (biased var,
//                           statistics of the rounded out row)
//            P [S, M, N] f32: the S split-K partial products A[:, Ks·s ..] · B[:, Ks·s ..]ᵀ,
//            written by one strided-batched cuBLASLt call (linear_norm_op.cc).
// Mapping:   one block per row; thread t owns the 16-byte vector of columns 8t .. 8t+7 (N at most
//            8 x 256), holds its summed values in registers for the norm's three passes. The
//            thread count and every reduction are those of norm.cu's one-vector LayerNorm
//            (RowVecKernel<T, 0, true, true>): threads = N/8 rounded up to a warp (at least 32),
//            a per-thread sum over its 8 values in order, then BlockSum. So `normed` has the
//            bits that LayerNorm(out) has (NormParity-style check: LinearNormParity).
// Numerics:  partials summed in f32 in split order, then + bias, then + residual (the order of
//            linear.cu's epilogue pass: act none), rounded once to T; LayerNorm two-pass in f32,
//            1/sqrtf (IEEE), as norm.cu.
// Requires:  T bf16 or f16; N % 8 == 0, N <= 2048; 16-byte aligned rows of every operand
//            (checked by the launcher's caller, linear_norm_op.cc). residual may be out itself
//            (each thread reads its vector before writing it).
// Reference: backends/cpu Linear then LayerNorm (Backend::LinearResidualLayerNorm's default).
// Napkin:    X-VLA fc2 at batch 1 (M 262, N 1024, S 4): 4.3 MB of f32 partials from L2 and
//            1 MB of bf16 in and out; the kernel replaces cuBLASLt's split-K reduction and the
//            next layer's LayerNorm launch (3.95 + 3.34 us per layer-step, docs/PERFORMANCE.md).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kW = 8;  // 16-bit values per 16-byte vector

template <typename T>
__device__ __forceinline__ void LoadVec8(const T* p, float (&v)[kW]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < kW; ++i) v[i] = ToFloat(e[i]);
}

template <typename T>
__device__ __forceinline__ void StoreVec8(T* p, const float (&v)[kW]) {
  uint4 raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < kW; ++i) e[i] = FromFloat<T>(v[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

template <typename T>
__global__ void SplitSumLayerNormKernel(SplitSumNormArgs a) {
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh); after cuBLASLt this is an ordinary wait
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const int64_t c0 = static_cast<int64_t>(threadIdx.x) * kW;
  const bool mine = c0 < a.n;
  float v[kW];
  if (mine) {
    // Σ_s P[s] in split order, then bias, then residual (linear.cu's epilogue order).
    const float* p = a.partials + row * a.ldp + c0;
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = 0.0f;
    for (int s = 0; s < a.splits; ++s) {
      const float4 p0 = reinterpret_cast<const float4*>(p)[0];
      const float4 p1 = reinterpret_cast<const float4*>(p)[1];
      if (s == 0) {
        v[0] = p0.x, v[1] = p0.y, v[2] = p0.z, v[3] = p0.w;
        v[4] = p1.x, v[5] = p1.y, v[6] = p1.z, v[7] = p1.w;
      } else {
        v[0] += p0.x, v[1] += p0.y, v[2] += p0.z, v[3] += p0.w;
        v[4] += p1.x, v[5] += p1.y, v[6] += p1.z, v[7] += p1.w;
      }
      p += a.split_stride;
    }
    float t[kW];
    if (a.bias != nullptr) {
      LoadVec8(static_cast<const T*>(a.bias) + c0, t);
#pragma unroll
      for (int i = 0; i < kW; ++i) v[i] += t[i];
    }
    LoadVec8(static_cast<const T*>(a.residual) + row * a.ldr + c0, t);
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] += t[i];
    StoreVec8(static_cast<T*>(a.out) + row * a.ldo + c0, v);
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = ToFloat(FromFloat<T>(v[i]));  // the stored values
  } else {
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = 0.0f;
  }

  // LayerNorm of the rounded row, written exactly as norm.cu's RowVecKernel<T, 0, true, true>,
  // with the same explicit roundings (intrinsics: no contraction for the compiler to choose
  // differently in the two kernels; the first device run, before they were spelled out, found
  // 1-3 elements in 268288 one ulp apart).
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kW; ++i) sum += v[i];
  const float center = BlockSum(sum, scratch) / static_cast<float>(a.n);
  float acc = 0.0f;
  if (mine) {
#pragma unroll
    for (int i = 0; i < kW; ++i) {
      const float d = __fsub_rn(v[i], center);
      acc = __fadd_rn(acc, __fmul_rn(d, d));
    }
  }
  acc = BlockSum(acc, scratch);
  const float scale = 1.0f / sqrtf(acc / static_cast<float>(a.n) + a.eps);
  if (!mine) return;
  float g[kW], b[kW];
  LoadVec8(static_cast<const T*>(a.gamma) + c0, g);
  LoadVec8(static_cast<const T*>(a.beta) + c0, b);
#pragma unroll
  for (int i = 0; i < kW; ++i) v[i] = __fmaf_rn(__fmul_rn(__fsub_rn(v[i], center), scale), g[i], b[i]);
  StoreVec8(static_cast<T*>(a.normed) + row * a.ldn + c0, v);
}

}  // namespace

int SplitSumLayerNormThreads(int64_t n) {
  // norm.cu's ThreadsForRow(n / 8): the same block size, hence the same reduction tree.
  const int64_t vecs = n / kW;
  const int64_t rounded = (vecs + 31) / 32 * 32;
  return static_cast<int>(rounded < 256 ? (rounded > 32 ? rounded : 32) : 256);
}

void LaunchSplitSumLayerNorm(const SplitSumNormArgs& a, DType dtype, cudaStream_t stream) {
  if (a.m == 0) return;  // the caller checked the Requires above (linear_norm_op.cc)
  const dim3 grid(static_cast<unsigned int>(a.m));
  const dim3 block(static_cast<unsigned int>(SplitSumLayerNormThreads(a.n)));
  if (dtype == DType::kF16) {
    LaunchPdl(SplitSumLayerNormKernel<__half>, grid, block, 0, stream, 1, a);
  } else {  // bf16
    LaunchPdl(SplitSumLayerNormKernel<__nv_bfloat16>, grid, block, 0, stream, 1, a);
  }
}

}  // namespace vlart::cuda
