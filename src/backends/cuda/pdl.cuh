// SPDX-License-Identifier: Apache-2.0
//
// pdl.cuh: programmatic dependent launch (PDL, Hopper and later) for the hot kernels.
//
// A kernel launched through LaunchPdl may start while the kernel before it on the stream is
// still finishing: its blocks get scheduled, set up shared memory and barriers, and then
// PdlWaitPrior() blocks until the previous grid has completed and its writes are visible.
// Inside a captured graph this turns the ~1-2 us launch gap between dependent kernels into
// overlap (performance.md §0c / fastest-engines.md §7: "PDL is the cheap first step").
//
// The contract for a kernel launched through LaunchPdl:
//   * call PdlWaitPrior() before its first global-memory access (read or write): anything
//     before it may run concurrently with the previous kernel;
//   * call PdlAllowDependents() once it no longer minds the next kernel's blocks being
//     scheduled (most kernels call it first thing: the next kernel's own PdlWaitPrior() keeps
//     it safe, and the hardware only launches it once every block of this grid has signalled
//     or exited). The few-row GEMMs (gemm_skinny.cu, gemm_wgmma.cu) call it after their main
//     loop: signalled first thing, each launch let a chain of waiting kernels start early
//     (the next one signals at its own start, and so on), and pi0.5's denoise was 0.55 ms
//     slower with the skinny GEMM than without; signalled late, 0.71 ms faster (same-call
//     A/Bs, docs/PERFORMANCE.md, 2026-11-23).
// Kernels not launched through LaunchPdl are unaffected; a PDL kernel after a plain one (or
// after cuBLAS, a memcpy, an event) simply waits as usual. VLART_PDL=0 turns it off (A/B runs).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <utility>

#include "backends/cuda/cuda_check.h"

namespace vlart::cuda {

__device__ __forceinline__ void PdlWaitPrior() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void PdlAllowDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// True when the current device and this build's code for it support PDL (sm_90+,
// kernel_image.h) and VLART_PDL != 0.
bool PdlEnabled();

// Launches kernel<<<grid, block, smem, stream>>>(args...) with programmatic stream
// serialization when PdlEnabled(); `cluster_x` > 1 also sets a (cluster_x, 1, 1) cluster.
template <typename... Params, typename... Args>
void LaunchPdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
               unsigned int cluster_x, Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attrs[2];
  unsigned int n = 0;
  if (PdlEnabled()) {
    attrs[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attrs[n].val.programmaticStreamSerializationAllowed = 1;
    ++n;
  }
  if (cluster_x > 1) {
    attrs[n].id = cudaLaunchAttributeClusterDimension;
    attrs[n].val.clusterDim.x = cluster_x;
    attrs[n].val.clusterDim.y = 1;
    attrs[n].val.clusterDim.z = 1;
    ++n;
  }
  cfg.attrs = attrs;
  cfg.numAttrs = n;
  VLART_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace vlart::cuda
