// SPDX-License-Identifier: Apache-2.0
//
// attention_tiles.cuh: the shared-memory row layout of the attention kernels that hold a
// head's whole K and V on chip (attention_resident.cu, attention_rows.cu), and the copy that
// fills it.
//
// Layout:   a row of kD 16-bit values is stored zero-padded to Padded<kD>() (the mma k-step,
//           16) with a row pitch of Stride<kD>() = Padded + 8 elements: every padded row is an
//           odd number of 16-byte chunks (72, 88 or 40 elements), so the 8 rows one ldmatrix
//           reads hit 8 different bank groups, transposed or not.
// Copy:     LoadRows issues one 16-byte cp.async per chunk (rows and column halves spread over
//           the block's threads) and zero-fills the rows past `rows` and the padded columns;
//           the caller commits, waits and synchronises.
#pragma once

#include <cstdint>

#include "backends/cuda/mma_sync.cuh"

namespace vlart::cuda::attention_tiles {

// Head dim rounded up to the mma k-step (16): what shared memory holds per row.
template <int kD>
constexpr int Padded() {
  return (kD + 15) / 16 * 16;
}

template <int kD>
constexpr int Stride() {
  return Padded<kD>() + 8;
}

__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(SmemAddr(smem)), "l"(gmem));
}

// Copies `rows` rows of kD 16-bit values from global (row stride `ld` elements) into shared
// memory (row stride Stride<kD>()), zero-filling rows [rows, rows_padded) and the padded
// columns [kD, Padded<kD>()).
template <int kD, int kBlockThreads>
__device__ __forceinline__ void LoadRows(uint16_t* smem, const uint16_t* g, int64_t ld, int rows,
                                         int rows_padded) {
  constexpr int kChunks = Padded<kD>() / 8;  // 16-byte chunks per shared row
  for (int idx = threadIdx.x; idx < rows_padded * kChunks; idx += kBlockThreads) {
    const int r = idx / kChunks;
    const int c = (idx % kChunks) * 8;
    uint16_t* dst = smem + r * Stride<kD>() + c;
    if (r < rows && c < kD) {
      CpAsync16(dst, g + r * ld + c);
    } else {
      *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
    }
  }
}

}  // namespace vlart::cuda::attention_tiles
