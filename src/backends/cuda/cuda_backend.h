// SPDX-License-Identifier: Apache-2.0
//
// cuda_backend.h: creates the CUDA backend (plain C++: no CUDA types, safe to include
// anywhere; the library exists only when the build has CUDA, see VLART_HAVE_CUDA).
//
// The backend owns one non-blocking stream, a cuBLASLt handle with its workspace and a
// scratch buffer, all made at creation: ops only enqueue work on the stream (no allocation,
// no synchronisation, no host round trip), so a sequence of them can be captured into a
// CUDA graph. Upload/Download/Synchronize do synchronise. The stream and counters for the
// runtime are in cuda_backend_internal.h.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "ops/backend.h"

namespace vlart {

struct CudaBackendOptions {
  int device = 0;
  // kBF16 or kF16 for inference; kF32 for parity work (true FP32 GEMMs: no TF32 anywhere).
  DType compute_dtype = DType::kBF16;
  // Device scratch reserved at creation for ops that need temporary space: GEMM inputs
  // converted to the weight dtype, im2col row chunks of dense convs, channel-attention
  // partial sums. Ops split their work into row chunks that fit, so a smaller value costs
  // speed, not correctness (an op aborts only if a single row does not fit).
  size_t scratch_bytes = size_t{64} << 20;
  // cuBLASLt workspace (NVIDIA recommends 32 MiB on Hopper).
  size_t cublaslt_workspace_bytes = size_t{32} << 20;
  // How many of cuBLASLt's heuristic algorithms the GEMM tuner times per shape (1..64; the
  // environment variable VLART_LT_ALGOS overrides it for A/B runs). More candidates cost
  // tuning time at load (~1 ms each per GEMM shape), never run time.
  int cublaslt_max_algos = 8;
  // Default size of the cudaMalloc'd chunks behind each Arena (larger requests get their own).
  size_t arena_chunk_bytes = size_t{256} << 20;
  // Run every op on its simple SIMT kernel (GEMM, attention, conv): parity debugging of the
  // fast paths. Also switched on by the environment variable VLART_CUDA_FALLBACK=1.
  bool force_fallback_kernels = false;
  // Let the GEMM tuner also time cuBLASLt's own epilogues with a bf16/f16 D: the bias
  // through CUBLASLT_EPILOGUE_BIAS and a residual as C (beta = 1). One kernel instead of an
  // f32 product plus our epilogue pass, but the product is rounded to D's dtype before the
  // bias/residual is added -- two roundings, as in PyTorch's bf16 `x + linear(y)` (cuBLASLt's
  // bias epilogue, then a bf16 add). The parity tests bound that extra rounding explicitly.
  // false (or VLART_GEMM_SINGLE_ROUNDING=1): every 16-bit Linear/Conv2d rounds once.
  bool fused_lt_epilogues = true;
  // Backend::Prefetch issues L2 prefetches (prefetch.cu); false (or VLART_L2_PREFETCH=0): the
  // hint only checks its arguments. Results are the same either way (nothing is written).
  bool l2_prefetch = true;
  // The GEMM tuner's picks across processes (gemm_tuning_file.h): when set, picks stored in
  // this file for this GPU, cuBLASLt and `build_tag` are used instead of tuning, and every
  // Record writes the settled picks back. Environment VLART_GEMM_TUNING_FILE overrides.
  // Without a build_tag the file is not used (tile numbers are only stable within a build).
  std::string gemm_tuning_file;
  std::string build_tag;  // the vlart build (BuildCommit()); set by the runtime
};

// Fails (never aborts) when no device / driver is usable, the device index is out of range,
// compute_dtype is not F32/F16/BF16, or the creation-time allocations fail.
Result<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions& options);

// True when the CUDA runtime finds at least one device.
bool CudaDeviceAvailable();

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.2 GiB), driver 13.0, runtime 13.0" for
// benchmark headers; an error string when the device cannot be queried.
std::string CudaDeviceDescription(int device);

}  // namespace vlart
