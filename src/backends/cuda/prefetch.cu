// SPDX-License-Identifier: Apache-2.0
//
// prefetch.cu: L2 prefetch of byte ranges (Backend::Prefetch), the weight-streaming hint.
//
// Why:       at the action expert's sizes (50 or 10 token rows) every GEMM is one pass over
//            its weights, and a cold pass from HBM pays the memory latency ramp inside the
//            GEMM. The ops between two GEMMs (RoPE, attention over the cached prefix, norms)
//            move well under 1 MB. Pulling the next GEMMs' weights into L2 (50 MB on the H100)
//            while those ops run lets the GEMMs read L2.
// Ordering:  the kernel runs on a side branch of the captured graph (prefetch_op.cc), never
//            in the op chain: a first version (0a85eaa) ran it in the chain, and every later
//            kernel waited for its HBM transfer (X-VLA policy +1.9 ms). The branch depends on
//            the op before the hint and joins the graph's end, so no op waits for it.
// Mapping:   a few 32-thread blocks (they fit beside any other kernel's blocks); the ranges
//            are cut into kChunkBytes chunks dealt round-robin to the lanes of the grid. On
//            sm_90+ a lane issues one bulk prefetch per chunk (cp.async.bulk.prefetch.L2: the
//            copy engine walks the lines, no completion is tracked, the lane moves on); on
//            older GPUs, or for a range whose start is not 16-byte aligned, one
//            prefetch.global.L2 per 128-byte line.
// Numerics:  none: nothing is written, so no result of any op can change.
// Reference: none (a hint); tests/ops/cuda_graph_test.cc checks that memory is untouched, that
//            graphs capture and replay it, and that the results of a model forward match.

#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kLineBytes = 128;            // L2 line size for the per-line fallback
constexpr int64_t kChunkBytes = 16 << 10;  // one bulk prefetch
constexpr int kThreads = 32;
constexpr int kMaxBlocks = 16;

__device__ __forceinline__ void PrefetchChunk(const char* p, int64_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if ((reinterpret_cast<uintptr_t>(p) & 15) == 0) {
    const int64_t bulk = bytes & ~int64_t{15};
    if (bulk > 0) {
      asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(p), "r"(static_cast<uint32_t>(bulk))
                   : "memory");
    }
    if (bulk == bytes) return;
    p += bulk;
    bytes -= bulk;
  }
#endif
  for (int64_t off = 0; off < bytes; off += kLineBytes) {
    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p + off));
  }
}

__global__ void __launch_bounds__(kThreads) PrefetchL2Kernel(PrefetchArgs a) {
  const int64_t lanes = static_cast<int64_t>(gridDim.x) * kThreads;
  const int64_t lane = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  for (int r = 0; r < a.count; ++r) {
    const char* base = static_cast<const char*>(a.ptr[r]);
    const int64_t chunks = (a.bytes[r] + kChunkBytes - 1) / kChunkBytes;
    for (int64_t c = lane; c < chunks; c += lanes) {
      const int64_t off = c * kChunkBytes;
      PrefetchChunk(base + off, a.bytes[r] - off < kChunkBytes ? a.bytes[r] - off : kChunkBytes);
    }
  }
}

}  // namespace

void LaunchPrefetchL2(const PrefetchArgs& args, cudaStream_t stream) {
  int64_t chunks = 0;
  for (int r = 0; r < args.count; ++r) chunks += (args.bytes[r] + kChunkBytes - 1) / kChunkBytes;
  if (chunks == 0) return;
  const int64_t blocks_needed = (chunks + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(blocks_needed < kMaxBlocks ? blocks_needed : kMaxBlocks);
  PrefetchL2Kernel<<<blocks, kThreads, 0, stream>>>(args);
  VLART_CUDA_CHECK(cudaGetLastError());
}

}  // namespace vlart::cuda
