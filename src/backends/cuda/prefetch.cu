// SPDX-License-Identifier: Apache-2.0
//
// prefetch.cu: L2 prefetch of byte ranges (Backend::Prefetch), the weight-streaming hint.
//
// Why:       at VLA sizes (10-262 token rows) every GEMM is a short pass over its weights and
//            pays the HBM latency ramp inside itself (docs/PERFORMANCE.md: the same GEMMs
//            reading from L2 were up to ~6 us per pi0 expert layer-step faster). The ops
//            between two GEMMs (RoPE, attention, norms) move well under 1 MB, so HBM is idle
//            while they run. Pulling the next GEMMs' weights into L2 (50 MB on the H100)
//            during those ops takes the ramp out of the GEMMs, if it does not hold them up.
// Placement: inside a CUDA graph capture the kernel becomes a *leaf branch*: a node added to
//            the graph being captured that depends on the stream's current nodes (it starts
//            once the op before the hint has finished) and that nothing depends on
//            (cudaStreamGetCaptureInfo + cudaGraphAddKernelNode; the stream's own dependency
//            set is left unchanged, so the next op does not wait for it and the PDL chain of
//            the stream is untouched). The graph executor runs it beside the ops that follow.
//            A first version (0a85eaa, reverted) launched it in stream order and made the
//            stream wait for the whole transfer: X-VLA's policy 1.9 ms slower. Outside a
//            capture (eager runs: parity, --profile-ops) it is launched in stream order.
// Mapping:   one 32-thread block per MiB of the ranges, at most kDefaultBlocks (or
//            VLART_PREFETCH_BLOCKS), so the requests come from several SMs' copy engines at
//            a bounded rate. On sm_90 each thread issues
//            `cp.async.bulk.prefetch.L2` for 32 KB chunks (a bulk request the copy engine
//            expands into line requests; no data returns to the SM and no barrier tracks
//            it). Whether a block waits for its requests before retiring is the hardware's
//            business: as a leaf branch it holds no op up either way. Older images issue one
//            `prefetch.global.L2` per 128-byte line instead. Ranges are widened to 16-byte
//            bounds (the bulk copy's unit); allocations are 256-byte aligned, so the widened
//            range never leaves the allocation.
// Numerics:  none: nothing is written, so no result of any op can change.
// Reference: none (a hint); tests/ops/cuda_graph_test.cc checks the argument handling, that
//            memory is untouched, the leaf-branch placement and that replays match eager runs.

#include <cstdint>
#include <cstdlib>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 32;
constexpr int64_t kChunkBytes = 32 << 10;               // one bulk prefetch request
constexpr int64_t kBytesPerBlock = kThreads * kChunkBytes;  // 1 MiB: one chunk per thread
constexpr int kMaxBlocks = 48;
constexpr int kDefaultBlocks = 8;

// Chunk c of the ranges laid end to end: (range, byte offset, bytes), bytes 0 when past the end.
struct Chunk {
  const char* ptr = nullptr;
  int64_t bytes = 0;
};

__device__ Chunk ChunkAt(const PrefetchArgs& a, int64_t c) {
  for (int r = 0; r < a.count; ++r) {
    const int64_t chunks = (a.bytes[r] + kChunkBytes - 1) / kChunkBytes;
    if (c < chunks) {
      const int64_t off = c * kChunkBytes;
      const int64_t left = a.bytes[r] - off;
      return {static_cast<const char*>(a.ptr[r]) + off, left < kChunkBytes ? left : kChunkBytes};
    }
    c -= chunks;
  }
  return {};
}

__global__ void __launch_bounds__(kThreads) PrefetchL2Kernel(PrefetchArgs a, int64_t chunks) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; c < chunks; c += stride) {
    const Chunk ch = ChunkAt(a, c);
    if (ch.bytes <= 0) continue;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    // Widen to 16-byte bounds: start rounded down, end rounded up.
    const uint64_t begin = reinterpret_cast<uint64_t>(ch.ptr) & ~uint64_t{15};
    const uint64_t end = (reinterpret_cast<uint64_t>(ch.ptr) + ch.bytes + 15) & ~uint64_t{15};
    const uint32_t size = static_cast<uint32_t>(end - begin);
    asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(begin), "r"(size) : "memory");
#else
    constexpr int64_t kLineBytes = 128;  // pre-Hopper: one prefetch per L2 line
    for (int64_t off = 0; off < ch.bytes; off += kLineBytes) {
      asm volatile("prefetch.global.L2 [%0];\n" ::"l"(ch.ptr + off));
    }
#endif
  }
}

}  // namespace

void LaunchPrefetchL2(const PrefetchArgs& args, cudaStream_t stream) {
  int64_t bytes = 0, chunks = 0;
  for (int r = 0; r < args.count; ++r) {
    bytes += args.bytes[r];
    chunks += (args.bytes[r] + kChunkBytes - 1) / kChunkBytes;
  }
  if (chunks == 0) return;
  // The grid sets the request rate (each block's copy engine issues ~0.1 TB/s on the H100,
  // 2026-11-24 trace: 1 MB per block in 6-9 us): VLART_PREFETCH_BLOCKS=N caps it at N
  // blocks, so the bytes trickle in over the ops after the hint instead of arriving in one
  // burst that queues ahead of those ops' own memory requests.
  static const int64_t cap = [] {
    const char* v = std::getenv("VLART_PREFETCH_BLOCKS");
    const long n = v == nullptr ? 0L : std::strtol(v, nullptr, 10);
    return n > 0 && n < kMaxBlocks ? static_cast<int64_t>(n) : static_cast<int64_t>(kDefaultBlocks);
  }();
  const int64_t want = (bytes + kBytesPerBlock - 1) / kBytesPerBlock;
  const dim3 grid(static_cast<unsigned>(want < cap ? want : cap));
  const dim3 block(kThreads);

  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  cudaGraph_t graph = nullptr;
  const cudaGraphNode_t* deps = nullptr;
  const cudaGraphEdgeData* edges = nullptr;  // queried so that PDL edge data is not a lossy query
  size_t num_deps = 0;
  VLART_CUDA_CHECK(cudaStreamGetCaptureInfo(stream, &status, nullptr, &graph, &deps, &edges, &num_deps));
  if (status != cudaStreamCaptureStatusActive) {
    PrefetchL2Kernel<<<grid, block, 0, stream>>>(args, chunks);
    return;
  }
  // A leaf branch of the graph being captured: full-completion edges from the stream's
  // current nodes, no edge out, the stream's dependency set unchanged.
  PrefetchArgs a = args;
  void* params[] = {&a, &chunks};
  cudaKernelNodeParams node = {};
  node.func = reinterpret_cast<void*>(&PrefetchL2Kernel);
  node.gridDim = grid;
  node.blockDim = block;
  node.sharedMemBytes = 0;
  node.kernelParams = params;
  cudaGraphNode_t added = nullptr;
  VLART_CUDA_CHECK(cudaGraphAddKernelNode(&added, graph, deps, num_deps, &node));
}

}  // namespace vlart::cuda
