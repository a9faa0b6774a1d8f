// SPDX-License-Identifier: Apache-2.0
//
// mbarrier.cuh: the shared-memory transaction barrier (mbarrier) operations that asynchronous
// copies complete on: TMA tile loads in gemm_wgmma.cu, st.async pushes between the blocks of a
// cluster in attention_flash.cu. Addresses are 32-bit shared::cta addresses (SmemAddr).
//
// A phase completes when its expected arrivals have arrived and its transaction count (bytes
// announced by expect_tx, minus bytes landed by complete_tx copies) is back to zero; waiting
// on it (MbarWait, parity of the phase) also makes the landed bytes visible to the waiter.
// sm_90+ only (expect_tx, fence.mbarrier_init); below it the bodies are empty and callers
// never run these paths.
#pragma once

#include <cstdint>

namespace vlart::cuda {

__device__ __forceinline__ void MbarInit(uint32_t bar, int count) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
#endif
}

// Makes initialised barriers visible to the async proxy and to the cluster's other blocks
// (their copies complete on them); a cluster barrier must follow before any peer uses them.
__device__ __forceinline__ void FenceMbarInit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}

// One arrival that also announces `bytes` of asynchronous traffic for the current phase.
__device__ __forceinline__ void MbarArriveExpectTx(uint32_t bar, int bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
#endif
}

// Spins until the phase with parity `parity` of the barrier has completed.
__device__ __forceinline__ void MbarWait(uint32_t bar, int parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (done == 0);
#endif
}

}  // namespace vlart::cuda
