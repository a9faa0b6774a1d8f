// SPDX-License-Identifier: Apache-2.0
//
// prefetch.cu: L2 prefetch of byte ranges (Backend::Prefetch), the weight-streaming hint.
//
// Why:       at the action expert's sizes (50 or 10 token rows) every GEMM is a pass over
//            its weights, and a cold pass from HBM pays the memory latency ramp inside the
//            GEMM (pi0 expert gate_up 16.8 MB: ~9 us against 5 us of HBM time). The ops
//            between two GEMMs (RoPE, attention over the cached prefix, norms) move well
//            under 1 MB. Prefetching the next GEMMs' weights before those ops overlaps the
//            HBM reads with them, and the GEMMs then read L2 (50 MB on the H100).
// Mapping:   a grid of up to one 256-thread block per SM; thread t of the grid issues one
//            `prefetch.global.L2` per 128-byte line at lines t, t + grid threads, ... of
//            every range in turn. A prefetch has no destination register, so the kernel
//            finishes once the requests are issued; the lines arrive while later kernels run.
// Numerics:  none: nothing is written, so no result of any op can change.
// Ordering:  launched through LaunchPdl, it waits for the previous kernel like every PDL
//            kernel (pdl.cuh), so the PDL chain stays transitive and ranges that earlier
//            kernels write are prefetched after those writes.
// Reference: none (a hint); tests/ops/cuda_prefetch_test.cc checks the argument handling,
//            that memory is untouched and that graphs capture it.

#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kLineBytes = 128;  // L2 line (sector group) size the prefetches are issued at
constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) PrefetchL2Kernel(PrefetchArgs a) {
  PdlWaitPrior();
  PdlAllowDependents();
  const int64_t threads = static_cast<int64_t>(gridDim.x) * kThreads;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  for (int r = 0; r < a.count; ++r) {
    const char* base = static_cast<const char*>(a.ptr[r]);
    const int64_t lines = (a.bytes[r] + kLineBytes - 1) / kLineBytes;
    for (int64_t line = first; line < lines; line += threads) {
      asm volatile("prefetch.global.L2 [%0];\n" ::"l"(base + line * kLineBytes));
    }
  }
}

}  // namespace

void LaunchPrefetchL2(const PrefetchArgs& args, int num_sms, cudaStream_t stream) {
  int64_t lines = 0;
  for (int r = 0; r < args.count; ++r) lines += (args.bytes[r] + kLineBytes - 1) / kLineBytes;
  if (lines == 0) return;
  const int64_t blocks_needed = (lines + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(blocks_needed < num_sms ? blocks_needed : num_sms);
  LaunchPdl(PrefetchL2Kernel, dim3(blocks), dim3(kThreads), 0, stream, 1, args);
}

}  // namespace vlart::cuda
