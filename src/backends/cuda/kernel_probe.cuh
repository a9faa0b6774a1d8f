// SPDX-License-Identifier: Apache-2.0
//
// kernel_probe.cuh: a timing probe for where a latency-bound kernel's microseconds go, block
// by block, inside a real (graph, PDL) launch. Debug tooling: production never runs it.
//
// A kernel that supports probing takes a `bool kProbe` template parameter and a
// `__device__ KernelProbeBuffer g_<kernel>_probe` of its own file (no relocatable device code
// here: one per translation unit). Only the kProbe = true instance reads it and records; the
// production instance compiles to exactly what it was. Thread 0 of each block below
// buffer.blocks writes, into slots [block · kProbeSlots, +kProbeSlots) of buffer.slots:
//   slot 0: %globaltimer at entry (ns, device-wide: launch skew across blocks)
//   slot 1: the SM the block ran on
//   slot 2: clock64 at entry; slots 3..14: clock64 at the kernel's numbered marks (0 = not
//           reached); slot 15: %globaltimer at the end.
// Marks sit after barriers where they matter, so thread 0's clock is the block's. The host
// side (SetAttention*Probe, cuda_ops_bench --probe) turns the slots into per-phase medians.
#pragma once

#include <cstdint>

#include "backends/cuda/kernels.h"  // KernelProbeBuffer, kProbeSlots, kProbeEndSlot

namespace vlart::cuda {

__device__ __forceinline__ unsigned long long GlobalTimerNs() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ __forceinline__ unsigned int SmId() {
  unsigned int id;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(id));
  return id;
}

template <bool kOn>
struct BlockProbe {
  unsigned long long* slot = nullptr;
  __device__ __forceinline__ explicit BlockProbe(const KernelProbeBuffer& buffer) {
    if constexpr (kOn) {
      const unsigned int block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
      if (threadIdx.x != 0 || buffer.slots == nullptr || block >= buffer.blocks) return;
      slot = buffer.slots + static_cast<size_t>(block) * kProbeSlots;
      slot[0] = GlobalTimerNs();
      slot[1] = SmId();
      slot[2] = clock64();
    }
  }
  __device__ __forceinline__ void Mark(int i) {
    if constexpr (kOn) {
      if (slot != nullptr) slot[i] = clock64();
    }
  }
  __device__ __forceinline__ void End() {
    if constexpr (kOn) {
      if (slot != nullptr) slot[kProbeEndSlot] = GlobalTimerNs();
    }
  }
};

}  // namespace vlart::cuda
