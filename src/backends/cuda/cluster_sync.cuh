// SPDX-License-Identifier: Apache-2.0
//
// cluster_sync.cuh: the two thread-block-cluster barriers of the kernels that reduce split
// partials through distributed shared memory (attention_flash.cu's cluster merge,
// gemm_wgmma.cu and gemm_skinny.cu's split-K).
//
// ClusterSync: release this block's shared-memory writes, acquire the peers' (after the
//   partials are parked, before anyone reads a peer's). Every thread of every block of the
//   cluster must execute it.
// ClusterExitSync: the last barrier, which only keeps each block (and so its shared memory)
//   alive until no peer reads it any more. It orders nothing: every value a thread loaded from
//   a peer has been consumed by the arithmetic before it (a warp issues in order, and that
//   arithmetic waits for the loaded registers), so the reads are complete when it arrives. A
//   release here compiles to MEMBAR.ALL.GPU (cuobjdump -sass), which waits until this block's
//   output stores reach L2 before the block may arrive.
// ClusterSharedAddr: a peer's shared memory as a 32-bit shared::cluster address (mapa).
// StoreAsyncCluster: an 8- or 16-byte st.async into a peer's shared memory that completes
//   on the peer's mbarrier (mbarrier.cuh: complete_tx of its bytes). Posted: no round trip
//   per store, and no cluster barrier is needed for the peer to see it (it waits on its
//   barrier's phase instead).
// sm_90+ only; callers compile these paths for sm_90 and trap or skip below it.
#pragma once

#include <cstdint>

namespace vlart::cuda {

__device__ __forceinline__ void ClusterSync() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::
                   : "memory");
#endif
}

__device__ __forceinline__ void ClusterExitSync() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.arrive.relaxed.aligned;\nbarrier.cluster.wait.aligned;\n" ::: "memory");
#endif
}

// The address in block `rank`'s shared memory of the variable at `local` in this block's.
__device__ __forceinline__ uint32_t ClusterSharedAddr(const void* local, int rank) {
  uint32_t out = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  const auto cta = static_cast<uint32_t>(__cvta_generic_to_shared(local));
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(out) : "r"(cta), "r"(rank));
#endif
  return out;
}

// addr and bar: shared::cluster addresses in the same peer (ClusterSharedAddr).
__device__ __forceinline__ void StoreAsyncCluster(uint32_t addr, float2 v, uint32_t bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v2.f32 [%0], {%1, %2}, [%3];\n" ::"r"(addr),
               "f"(v.x), "f"(v.y), "r"(bar)
               : "memory");
#endif
}

__device__ __forceinline__ void StoreAsyncCluster(uint32_t addr, float4 v, uint32_t bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v4.f32 [%0], {%1, %2, %3, %4}, [%5];\n" ::"r"(
                   addr),
               "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w), "r"(bar)
               : "memory");
#endif
}

}  // namespace vlart::cuda
