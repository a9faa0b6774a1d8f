// SPDX-License-Identifier: Apache-2.0
//
// device_common.cuh: device helpers shared by the CUDA kernels: dtype-dispatched loads and
// stores (f32 / f16 / bf16, converted through f32), strided index math, warp and block
// reductions, launch-size helpers.
//
// Conversions to 16-bit floats round to nearest even (__float2half_rn, __float2bfloat16_rn),
// which is what torch's `.to(dtype)` does. The runtime-dtype loads are for generic and
// fallback kernels; hot kernels template on the element type instead.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernel_args.h"

namespace vlart::cuda {

// ---- scalar conversions ---------------------------------------------------------------
__device__ __forceinline__ float ToFloat(float v) { return v; }
__device__ __forceinline__ float ToFloat(__half v) { return __half2float(v); }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ float FromFloat<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half FromFloat<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Element `index` of a float buffer of runtime dtype (host code guarantees F32/F16/BF16).
__device__ __forceinline__ float LoadAsFloat(const void* base, DType dtype, int64_t index) {
  if (dtype == DType::kF32) return static_cast<const float*>(base)[index];
  if (dtype == DType::kF16) return __half2float(static_cast<const __half*>(base)[index]);
  return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[index]);
}

__device__ __forceinline__ void StoreFromFloat(void* base, DType dtype, int64_t index, float v) {
  if (dtype == DType::kF32) {
    static_cast<float*>(base)[index] = v;
  } else if (dtype == DType::kF16) {
    static_cast<__half*>(base)[index] = __float2half_rn(v);
  } else {
    static_cast<__nv_bfloat16*>(base)[index] = __float2bfloat16_rn(v);
  }
}

// ---- strided index math -----------------------------------------------------------------
// Element offset (in elements) of row-major linear index `linear` over t's shape.
__device__ __forceinline__ int64_t OffsetOf(const StridedArg& t, int64_t linear) {
  int64_t off = 0;
#pragma unroll
  for (int d = kKernelMaxDims - 1; d >= 0; --d) {
    if (d < t.ndim) {
      const int64_t i = linear % t.shape[d];
      linear /= t.shape[d];
      off += i * t.stride[d];
    }
  }
  return off;
}

// Offset of row `row` where rows are all dims but the last (norms, softmax).
__device__ __forceinline__ int64_t RowOffsetOf(const StridedArg& t, int64_t row) {
  int64_t off = 0;
#pragma unroll
  for (int d = kKernelMaxDims - 2; d >= 0; --d) {
    if (d < t.ndim - 1) {
      const int64_t i = row % t.shape[d];
      row /= t.shape[d];
      off += i * t.stride[d];
    }
  }
  return off;
}

// Size and stride of the innermost dim, selected with unrolled compile-time indices: indexing
// the kernel-parameter arrays with ndim - 1 (or an equality select the compiler turns back into
// that) copies the struct to local memory (ptxas reports a stack frame).
__device__ __forceinline__ int64_t InnerSize(const StridedArg& t) {
  int64_t r = 1;
#pragma unroll
  for (int d = 0; d < kKernelMaxDims; ++d) r = d < t.ndim ? t.shape[d] : r;
  return r;
}

__device__ __forceinline__ int64_t InnerStride(const StridedArg& t) {
  int64_t r = 1;
#pragma unroll
  for (int d = 0; d < kKernelMaxDims; ++d) r = d < t.ndim ? t.stride[d] : r;
  return r;
}

// ---- activations (backend.h's formulas, in f32) -------------------------------------------
// Activate<kAct>: the activation as straight-line code. Hot epilogues template on it: a
// run-time switch per element puts a branch around every transcendental and stops the
// compiler from interleaving independent elements (the wgmma GEMM's epilogue ran ~3x slower).
template <ActKind kAct>
__device__ __forceinline__ float Activate(float x) {
  if constexpr (kAct == ActKind::kGeluErf) {
    return x * 0.5f * (1.0f + erff(x * 0.70710678118654752f));
  } else if constexpr (kAct == ActKind::kGeluTanh) {
    // torch: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
  } else if constexpr (kAct == ActKind::kSilu) {
    return x / (1.0f + expf(-x));
  } else if constexpr (kAct == ActKind::kSigmoid) {
    return 1.0f / (1.0f + expf(-x));
  } else {
    return x;
  }
}

// Host side: calls f(std::integral_constant<ActKind, kAct>{}) for the run-time `act`, so a
// launcher instantiates one kernel per activation without a switch of its own.
template <typename F>
void WithAct(ActKind act, F&& f) {
  switch (act) {
    case ActKind::kNone: f(std::integral_constant<ActKind, ActKind::kNone>{}); return;
    case ActKind::kGeluErf: f(std::integral_constant<ActKind, ActKind::kGeluErf>{}); return;
    case ActKind::kGeluTanh: f(std::integral_constant<ActKind, ActKind::kGeluTanh>{}); return;
    case ActKind::kSilu: f(std::integral_constant<ActKind, ActKind::kSilu>{}); return;
    case ActKind::kSigmoid: f(std::integral_constant<ActKind, ActKind::kSigmoid>{}); return;
  }
}

__device__ __forceinline__ float ApplyActivation(ActKind act, float x) {
  switch (act) {
    case ActKind::kNone: return x;
    case ActKind::kGeluErf: return Activate<ActKind::kGeluErf>(x);
    case ActKind::kGeluTanh: return Activate<ActKind::kGeluTanh>(x);
    case ActKind::kSilu: return Activate<ActKind::kSilu>(x);
    case ActKind::kSigmoid: return Activate<ActKind::kSigmoid>(x);
  }
  return x;
}

// ---- reductions -----------------------------------------------------------------------
__device__ __forceinline__ float WarpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float WarpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
// `scratch` is __shared__ float[32]. Fixed reduction tree, so results are deterministic.
__device__ __forceinline__ float BlockSum(float v, float* scratch) {
  v = WarpSum(v);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int num_warps = blockDim.x >> 5;
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return WarpSum(lane < num_warps ? scratch[lane] : 0.0f);
}

__device__ __forceinline__ float BlockMax(float v, float* scratch) {
  v = WarpMax(v);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int num_warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return WarpMax(lane < num_warps ? scratch[lane] : -INFINITY);
}

// RmsNorm's statistic 1 / sqrt(Σ x[i]² / width + eps) of the `width` elements at data + offset,
// data + offset + step, ... (runtime float dtype), summed in f32 over the whole block: every
// thread must call it and every thread gets the result; 1/sqrtf (IEEE). `scratch` is
// __shared__ float[32]. The one statistic of RmsNorm, AdaRmsNorm (norm.cu, scalar kernels) and
// a RowRmsScale (BlockRowInvRms).
__device__ __forceinline__ float BlockInvRms(const void* data, DType dtype, int64_t offset,
                                             int64_t step, int64_t width, float eps,
                                             float* scratch) {
  float sq = 0.0f;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = LoadAsFloat(data, dtype, offset + c * step);
    sq += v * v;
  }
  const float mean_sq = BlockSum(sq, scratch) / static_cast<float>(width);
  return 1.0f / sqrtf(mean_sq + eps);
}

// BlockInvRms of row `row` of a RowRmsArg (backend.h RowRmsScale).
__device__ __forceinline__ float BlockRowInvRms(const RowRmsArg& s, int64_t row, float* scratch) {
  return BlockInvRms(s.x, s.dtype, row * s.row_stride, 1, s.cols, s.eps, scratch);
}

// ---- launch helpers --------------------------------------------------------------------
inline unsigned int GridFor(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  constexpr int64_t kMaxBlocks = int64_t{1} << 30;  // grid-stride loops cover the rest
  return static_cast<unsigned int>(blocks < kMaxBlocks ? (blocks > 0 ? blocks : 1) : kMaxBlocks);
}

}  // namespace vlart::cuda
