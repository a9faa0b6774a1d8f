// SPDX-License-Identifier: Apache-2.0
//
// gemm_tune_neighbor.cu: the stand-in for "the kernel before this GEMM" in the GEMM tuner's
// timing bursts (CudaBackend::GemmConfigFor).
//
// Why:      inside a model a GEMM follows a norm, RoPE, attention or another GEMM, launched
//           with programmatic dependent launch (pdl.cuh). A GEMM that itself uses PDL can start
//           early behind that kernel (its blocks resident, its sealed weights already
//           streaming); cuBLASLt's kernels cannot. Bursts of one GEMM alone credit neither
//           effect correctly: each copy overlaps the previous copy of itself, which no model
//           does (gemm_skinny.cu measured faster alone and slower in the model this way). The
//           tuner therefore times [neighbor, GEMM] pairs and subtracts a burst of neighbors.
// Mapping:  one 128-thread block per SM, no shared memory (so any GEMM block fits beside it),
//           launched with PDL: it allows its dependents first, waits for the previous kernel,
//           then spins for a fixed number of SM clock cycles (~1.5 us), touching no memory.
// Numerics: none (writes nothing).

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

__global__ void __launch_bounds__(128) TuneNeighborKernel(long long cycles) {
  PdlAllowDependents();
  PdlWaitPrior();
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
}

}  // namespace

void LaunchTuneNeighbor(int num_sms, cudaStream_t stream) {
  constexpr long long kCycles = 3000;  // ~1.5 us at the H100's 1.98 GHz
  LaunchPdl(TuneNeighborKernel, dim3(static_cast<unsigned int>(num_sms)), dim3(128), 0, stream, 1u,
            kCycles);
  VLART_CUDA_CHECK(cudaGetLastError());
}

}  // namespace vlart::cuda
