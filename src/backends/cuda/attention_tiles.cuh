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
//           the caller commits, waits and synchronises. LoadHeadRows fills a block's K, V and
//           query rows of one (batch, head) and waits for them.
// Operands: SmemRowOperands is the host-side test both kernels share: 16-bit q/k/v/out of one
//           dtype, head dim 32, 64 or 72 (= Dv), 16-byte rows and even output strides.
#pragma once

#include <cstdint>

#include "backends/cuda/kernels.h"
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

// Block (head blockIdx.y, batch blockIdx.z): K and V rows [0, keys_padded) of the head's KV
// group (zero past Sk) into ks / vs, query rows q0..q0 + q_rows_padded - 1 (zero past Sq) into
// qs, then waits for them and synchronises the block.
template <int kD, int kBlockThreads>
__device__ __forceinline__ void LoadHeadRows(const AttentionArgs& p, uint16_t* ks, uint16_t* vs, uint16_t* qs,
                                             int keys_padded, int q0, int q_rows_padded) {
  const int b = blockIdx.z;
  const int h = blockIdx.y;
  const int g = h / (p.hq / p.hkv);
  const uint16_t* qg = static_cast<const uint16_t*>(p.q) + b * p.q_sb + h * p.q_sh + q0 * p.q_ss;
  const uint16_t* kg = static_cast<const uint16_t*>(p.k) + b * p.k_sb + g * p.k_sh;
  const uint16_t* vg = static_cast<const uint16_t*>(p.v) + b * p.v_sb + g * p.v_sh;
  LoadRows<kD, kBlockThreads>(ks, kg, p.k_ss, p.sk, keys_padded);
  LoadRows<kD, kBlockThreads>(vs, vg, p.v_ss, p.sk, keys_padded);
  LoadRows<kD, kBlockThreads>(qs, qg, p.q_ss, min(q_rows_padded, p.sq - q0), q_rows_padded);
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
  __syncthreads();
}

// The operands both shared-memory-row kernels take (host side; lengths and shared-memory fit
// are each kernel's own test).
inline bool SmemRowOperands(const AttentionArgs& a) {
  const DType t = a.q_dtype;
  if (t != DType::kBF16 && t != DType::kF16) return false;
  if (a.k_dtype != t || a.v_dtype != t || a.out_dtype != t) return false;
  if ((a.d != 32 && a.d != 64 && a.d != 72) || a.dv != a.d) return false;
  if (a.sq < 1 || a.sk < 1 || a.hq % a.hkv != 0) return false;
  // 16-byte rows: base pointers aligned and every stride a multiple of 8 elements.
  for (const void* ptr : {a.q, a.k, a.v}) {
    if (!IsAligned(ptr, 16)) return false;
  }
  for (int64_t s : {a.q_sb, a.q_ss, a.q_sh, a.k_sb, a.k_ss, a.k_sh, a.v_sb, a.v_ss, a.v_sh}) {
    if (s % 8 != 0) return false;
  }
  // Output stores are 4-byte pairs.
  if ((reinterpret_cast<uintptr_t>(a.out) & 3) != 0) return false;
  for (int64_t s : {a.o_sb, a.o_ss, a.o_sh}) {
    if (s % 2 != 0) return false;
  }
  return true;
}

}  // namespace vlart::cuda::attention_tiles
