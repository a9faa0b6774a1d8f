// SPDX-License-Identifier: Apache-2.0
//
// ada_norm_row.cuh: one row of pi0.5's gated residual + adaRMS norm (MulAddAdaRmsNorm,
// backend.h) by one block, at most one 16-byte vector per thread, shared by the norm kernel
// (norm.cu, one block per row) and the few-row GEMM's tail (gemm_skinny.cu, the last cluster
// normalising every row after the product): the same loads, the same f32 arithmetic and the
// same BlockSum over the same block size give the same bits in both.
//
//   x   = x + y * gate            (one f32 FMA, rounded to T and stored back into x)
//   out = x * r * (1 + scale) + shift,  r = 1 / sqrt(Σ x² / C + eps)   (x as stored)
// Row pointers point at element 0 of the row; C = width <= blockDim.x * kVecWidth<T>; rows
// start 16-byte aligned. Every thread of the block must call it (BlockSum).
#pragma once

#include <cstdint>

#include "backends/cuda/device_common.cuh"

namespace vlart::cuda {

template <typename T>
constexpr int kVecWidth = 16 / static_cast<int>(sizeof(T));

template <typename T>
__device__ __forceinline__ void LoadVec(const T* p, float (&v)[kVecWidth<T>]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < kVecWidth<T>; ++i) v[i] = ToFloat(e[i]);
}

template <typename T>
__device__ __forceinline__ void StoreVec(T* p, const float (&v)[kVecWidth<T>]) {
  uint4 raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < kVecWidth<T>; ++i) e[i] = FromFloat<T>(v[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

// kResidual false: out = AdaRmsNorm(x) only (yr, gr unused, x untouched).
template <typename T, bool kResidual>
__device__ __forceinline__ void AdaRmsNormRowOneVec(T* xr, const T* yr, const T* gr, const T* sr,
                                                    const T* hr, T* orow, int64_t width, float eps,
                                                    float* scratch) {
  constexpr int kW = kVecWidth<T>;
  // x (after the residual), scale and shift are read once, all before the reduction (one
  // round trip, not a second one after it), and x is held in registers for the second pass.
  const int64_t c = static_cast<int64_t>(threadIdx.x) * kW;
  const bool has = c < width;
  float v[kW], g[kW], b[kW];
  float acc = 0.0f;
  if (has) {
    LoadVec(xr + c, v);
    LoadVec(sr + c, g);
    LoadVec(hr + c, b);
    if constexpr (kResidual) {
      float a[kW], gate[kW];
      LoadVec(yr + c, a);
      LoadVec(gr + c, gate);
#pragma unroll
      for (int i = 0; i < kW; ++i) v[i] = __fmaf_rn(a[i], gate[i], v[i]);
      StoreVec(xr + c, v);
#pragma unroll
      for (int i = 0; i < kW; ++i) v[i] = ToFloat(FromFloat<T>(v[i]));  // the stored values
    }
#pragma unroll
    for (int i = 0; i < kW; ++i) acc += v[i] * v[i];
  }
  acc = BlockSum(acc, scratch);
  const float r = 1.0f / sqrtf(acc / static_cast<float>(width) + eps);
  if (has) {
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = __fmaf_rn(v[i] * r, 1.0f + g[i], b[i]);
    StoreVec(orow + c, v);
  }
}

}  // namespace vlart::cuda
