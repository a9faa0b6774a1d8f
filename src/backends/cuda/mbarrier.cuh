// SPDX-License-Identifier: Apache-2.0
//
// mbarrier.cuh: shared-memory transaction barriers (mbarrier) and the copy engine's bulk
// copies that complete on them (sm_90: TMA), for the kernels that stream weights into shared
// memory (gemm_wgmma.cu: 2-D tensor-map boxes; gated_mlp.cu: 1-D row copies).
//
// The protocol: one thread initialises a barrier with an arrival count (MbarInit), makes it
// visible to the copy engine (FenceMbarInit) and, before or after the copies are issued,
// arrives once announcing the bytes they will deliver (MbarArriveExpectTx). The barrier's
// phase completes when every arrival has happened and the announced bytes have landed;
// waiters spin on that phase's parity (MbarWait, parity 0 for a barrier's first use).
// Addresses are shared-window addresses (SmemAddr in mma_sync.cuh, or __cvta_generic_to_shared).
// Only for sm_90 code paths: callers guard with __CUDA_ARCH__ >= 900.
#pragma once

#include <cstdint>

namespace vlart::cuda {

__device__ __forceinline__ void MbarInit(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}

// Makes the initialised barriers visible to the async proxy (the copy engine).
__device__ __forceinline__ void FenceMbarInit() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

// One arrival that also announces `bytes` of copy-engine traffic for the current phase.
__device__ __forceinline__ void MbarArriveExpectTx(uint32_t bar, int bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}

__device__ __forceinline__ void MbarWait(uint32_t bar, int parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (done == 0);
}

// Copies `bytes` (a multiple of 16; both addresses 16-byte aligned) from global memory to
// shared memory at `dst`; completes on `bar` (complete_tx). Without a cluster launch the
// shared::cluster window is the block's own shared memory.
__device__ __forceinline__ void BulkCopyToShared(uint32_t dst, const void* src, uint32_t bytes,
                                                 uint32_t bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(src)), "r"(bytes), "r"(bar)
      : "memory");
}

}  // namespace vlart::cuda
