// SPDX-License-Identifier: Apache-2.0
//
// gemm_tile_load.cuh: how the mma.sync GEMMs (gemm_mma.cu, gemm_skinny.cu) stage operands.
//
// Both walk K in 64-wide slices of K-contiguous 16-bit operands (A [M, K] tokens, B [N, K]
// weights) and keep each slice in shared memory as rows of kSmemStride elements (144 bytes:
// ldmatrix reads them without bank conflicts). LoadSlice issues the 16-byte cp.async copies
// of one slice, zero-filling rows past `rows_valid` and columns past `k_end` (a copy of 0
// bytes reads nothing). A K split rounds each range up to whole slices (KPerSplit), which
// can leave fewer ranges than asked (UsedSplits).
#pragma once

#include <cstdint>

#include "backends/cuda/mma_sync.cuh"

namespace vlart::cuda {

inline constexpr int kGemmBK = 64;                  // K per slice
inline constexpr int kGemmSmemStride = kGemmBK + 8;  // elements per staged row

// 16-byte async copy; `bytes` < 16 zero-fills the rest (0: all zeros, src not read).
__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem)), "l"(gmem),
               "r"(bytes));
}

// Copies a kRows x 64 slice (columns k0..k0+63, clipped to k_end; rows row0.. clipped to
// rows_valid) of a K-contiguous matrix with row stride `ld`, by kThreads threads.
template <int kRows, int kThreads>
__device__ __forceinline__ void LoadSlice(uint16_t* smem, const uint16_t* g, int64_t ld, int row0,
                                          int rows_valid, int k0, int k_end) {
  constexpr int kChunks = kRows * (kGemmBK / 8);
  static_assert(kChunks % kThreads == 0, "whole chunks per thread");
#pragma unroll
  for (int i = 0; i < kChunks / kThreads; ++i) {
    const int idx = threadIdx.x + i * kThreads;
    const int r = idx / (kGemmBK / 8);
    const int c = (idx % (kGemmBK / 8)) * 8;
    const int gr = row0 + r;
    const int gk = k0 + c;
    int bytes = 0;
    const uint16_t* src = g;
    if (gr < rows_valid && gk < k_end) {
      bytes = min(8, k_end - gk) * 2;
      src = g + static_cast<int64_t>(gr) * ld + gk;
    }
    CpAsync16(smem + r * kGemmSmemStride + c, src, bytes);
  }
}

// K per range when K is split `splits` ways, rounded up to whole slices.
template <typename I>
__host__ __device__ constexpr I KPerSplit(I k, I splits) {
  return ((k + splits - 1) / splits + kGemmBK - 1) / kGemmBK * kGemmBK;
}
// How many non-empty ranges of k_per_split cover K.
template <typename I>
__host__ __device__ constexpr I UsedSplits(I k, I k_per_split) {
  return (k + k_per_split - 1) / k_per_split;
}

}  // namespace vlart::cuda
