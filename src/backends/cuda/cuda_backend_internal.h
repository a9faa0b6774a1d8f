// SPDX-License-Identifier: Apache-2.0
//
// cuda_backend_internal.h: the CUDA-specific accessors of a CUDA backend, for the runtime
// (CUDA-graph capture, stage timing with events) and for tests/benchmarks. Includes CUDA
// runtime headers, so only code that links CUDA may include it.
//
// Every function aborts (VLART_CHECK) when `backend` is not a CUDA backend.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/backend.h"

namespace vlart::cuda {

// How many times each implementation ran since creation (or the last ResetStats); lets
// tests and benchmarks confirm which path a shape took.
struct Stats {
  int64_t gemm_mma = 0;         // Linear/Conv2d GEMMs run by vlart's tensor-core GEMMs
  int64_t gemm_wgmma = 0;       // ... of which the Hopper wgmma kernel (gemm_wgmma.cu)
  int64_t gemm_skinny = 0;      // ... of which the few-row kernel (gemm_skinny.cu)
  int64_t gemm_b_sealed = 0;    // ... of which (skinny or wgmma) read sealed weights (early loads)
  int64_t gemm_cublaslt = 0;    // Linear/Conv2d GEMMs run by cuBLASLt
  int64_t gemm_simt = 0;        // ... by the SIMT fallback GEMM (incl. DomainLinear)
  int64_t epilogue_passes = 0;  // extra elementwise passes after a cuBLASLt GEMM
  int64_t gemm_lt_direct = 0;   // 16-bit cuBLASLt GEMMs written straight to D (no f32 pass)
  int64_t gemm_lt_fused = 0;    // ... of which bias/residual went in cuBLASLt's epilogue
  int64_t gemm_lt_gelu = 0;     // ... of which the GELU (tanh form) too (no pass over D)
  int64_t attention_mma = 0;       // any tensor-core attention kernel
  int64_t attention_resident = 0;  // ... of which the K/V-resident one
  int64_t attention_resident_split = 0;  // ... of those, calls with the keys split over warps
  int64_t attention_rows = 0;      // ... of which the one-pass kernel (Sk <= 272)
  int64_t attention_flash = 0;     // ... of which the head-folded streaming one (D 256 / MQA 128)
  int64_t attention_flash_split = 0;  // ... of those, calls with the keys split (+ merge kernel)
  int64_t attention_flash_smem_mask = 0;  // ... of those, calls that staged the mask in smem
  int64_t attention_flash_cluster_merge = 0;  // ... of the split calls, merged in a cluster
  int64_t attention_simt = 0;
  int64_t conv_depthwise = 0;
  int64_t conv_depthwise_vec = 0;  // ... of which the 8-channel vector kernel (bf16/f16)
  int64_t copy_vec = 0;  // Copy calls on the 16-byte vector path (copy.cu)
  int64_t conv_im2col_gemm = 0;
  int64_t conv_direct = 0;
  // Add, Mul, Axpby, Activate, GatedActivation, MulAdd calls by path (elementwise.cu):
  int64_t elementwise_vec = 0;      // rows of 16-byte vectors (aligned, contiguous inner dim)
  int64_t elementwise_rows = 0;     // rows, one element per thread (contiguous inner dim)
  int64_t elementwise_strided = 0;  // N-d index math per element (the general fallback)
  // AdaRmsNorm calls on the 16-byte vector kernel (norm.cu); the others took the scalar one.
  int64_t ada_rms_norm_vec = 0;
  // MulAddAdaRmsNorm calls run as one fused vector kernel (else MulAdd then AdaRmsNorm).
  int64_t mul_add_ada_rms_norm_fused = 0;
  // GatedMlp calls run as the one-kernel few-row MLP (gated_mlp.cu; else the three-op chain).
  int64_t gated_mlp_fused = 0;
  // LinearResidualLayerNorm calls run as split-K partials + one sum-and-norm kernel (else
  // Linear then LayerNorm), and the shapes its tuner timed.
  int64_t linear_norm_fused = 0;
  int64_t linear_norm_tunings = 0;
  int64_t prefetches = 0;  // Prefetch calls that launched the L2 prefetch kernel
  int64_t gemm_tunings = 0;        // GEMM shapes the tuner timed (GemmConfigFor)
  int64_t gemm_tuning_loaded = 0;  // picks taken from the tuning file at creation
  // Record's re-tries of GEMM candidates inside the forward (RefineGemmPicks), and how many
  // of them it kept.
  int64_t gemm_refine_trials = 0;
  int64_t gemm_refine_kept = 0;
};

// The non-blocking stream every op of `backend` is enqueued on.
cudaStream_t StreamOf(Backend& backend);
// The device ordinal the backend runs on.
int DeviceOf(Backend& backend);
Stats StatsOf(Backend& backend);
void ResetStats(Backend& backend);
// Test hook: every tensor-core GEMM uses this tile/split configuration (when the problem
// fits it) instead of the tuned one; tile < 0 clears it.
// tile -1: back to the tuner; kForceCublas: the tuner's cuBLASLt candidate (RunGemmLt).
inline constexpr int kForceCublas = -2;
// lt_algo: with kForceCublas, LtGemm's algorithm number (0: the heuristic's first choice);
// lt_fused: with kForceCublas, the fused form (GemmMmaConfig::lt_fused); lt_gelu: with it, a
// kGeluTanh activation in cuBLASLt's GELU epilogue (GemmMmaConfig::lt_gelu).
void ForceGemmConfig(Backend& backend, int tile, int splits, int lt_algo = 0, bool lt_fused = false,
                     bool lt_gelu = false);
// Test hook: LinearResidualLayerNorm takes its fused form with `splits` K slices (cuBLASLt's
// first algorithm for that batch) where the operands qualify, or with splits 0 Linear then
// LayerNorm; splits < 0 clears it (back to the tuner).
void ForceLinearNormSplits(Backend& backend, int splits);
// GatedMlp's one-kernel form (gated_mlp.cu) on or off where it applies; off by default (it ran
// slower than the three ops in pi0.5's denoising graph, docs/PERFORMANCE.md), on with
// VLART_FUSED_MLP=1 at creation. Test / bench hook.
void SetGatedMlpFused(Backend& backend, bool on);
// Test hook: the head-folded tensor-core attention (attention_flash.cu) splits its keys into
// this many ranges (clamped to the key tiles, at most 16) instead of its heuristic's choice;
// splits <= 0 clears it.
void ForceAttentionSplits(Backend& backend, int splits);
// Test hook: with `on`, the head-folded attention reads its mask with one __ldg per score even
// where it would stage the mask rows in shared memory (same results, bit for bit); false clears.
void ForceAttentionMaskLdg(Backend& backend, bool on);
// How split head-folded attention merges its partials: kAuto (the backend's choice: today in a
// cluster wherever one fits), kCluster (in a thread-block cluster wherever one fits) or kKernel
// (the merge kernel through the workspace). Test / bench hook; the bits are the same.
enum class AttentionMerge { kAuto, kCluster, kKernel };
void ForceAttentionMerge(Backend& backend, AttentionMerge mode);
// Test hook: the K/V-resident attention (attention_resident.cu) splits its keys over 1, 2 or 4
// groups of warps (rounded down, at most one per 64-key block) instead of its heuristic's
// choice; splits <= 0 clears it.
void ForceAttentionResidentSplits(Backend& backend, int splits);
// Test hook: the one-pass attention (attention_rows.cu) with `warps` warps per block (2, 3, 4,
// 6 or 8) where it applies, kAttentionRowsOff to leave it to the other kernels, 0 for the
// heuristic (the default; VLART_ATTENTION_ROWS=0 / =N set the same at start-up).
inline constexpr int kAttentionRowsOff = -1;
void ForceAttentionRows(Backend& backend, int warps);
// The largest split count whose partials the head-folded attention merges in a thread-block
// cluster on this backend's device (1: none).
int AttentionClusterSplitsOf(Backend& backend);
// Whether the head-folded attention may stage mask rows in shared memory at head dim d (128 or
// 256) on this backend's device: false at D 256 where a block may use only 99 KB.
bool AttentionFlashStagesMaskOf(Backend& backend, int d);
// How many of cuBLASLt's heuristic algorithms the GEMM tuner may pick from on this backend
// (CudaBackendOptions::cublaslt_max_algos, VLART_LT_ALGOS).
int CublasLtMaxAlgosOf(Backend& backend);

}  // namespace vlart::cuda
