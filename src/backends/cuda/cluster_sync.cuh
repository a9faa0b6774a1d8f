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
// sm_90+ only; callers compile these paths for sm_90 and trap or skip below it.
#pragma once

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

}  // namespace vlart::cuda
