// SPDX-License-Identifier: Apache-2.0
//
// kernels.h: the kernel launchers of the CUDA backend, one group per .cu file.
//
// Launchers take already-validated PODs (kernel_args.h) and a stream, enqueue work and
// check the launch; they never allocate or synchronise. Validation (shapes, dtypes,
// aliasing) lives in the matching *_op.cc. Launchers return early on empty work.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "backends/cuda/kernel_args.h"

namespace vlart::cuda {

// Host-side launch checks: `ptr` is a multiple of `bytes` (a power of two).
inline bool IsAligned(const void* ptr, uintptr_t bytes) {
  return (reinterpret_cast<uintptr_t>(ptr) & (bytes - 1)) == 0;
}

// Host-side launch check of the row-vector kernels (norm.cu, copy.cu): every operand has the
// first one's dtype, a contiguous innermost dim whose rows start 16-byte aligned, and the
// row width (the first operand's innermost extent) is a whole number of 16-byte vectors.
// Strides of size-1 dims are never used, so they may be anything.
inline bool RowsOf16ByteVectors(std::initializer_list<const StridedArg*> operands) {
  const StridedArg& x = **operands.begin();
  const int elem = DTypeBits(x.dtype) / 8;
  const int64_t width = x.ndim > 0 ? x.shape[x.ndim - 1] : 0;
  if (width == 0 || (width * elem) % 16 != 0) return false;
  for (const StridedArg* t : operands) {
    if (t->dtype != x.dtype || t->ndim < 1) return false;
    if (t->stride[t->ndim - 1] != 1 || !IsAligned(t->data, 16)) return false;
    for (int d = 0; d + 1 < t->ndim; ++d) {
      if (t->shape[d] > 1 && (t->stride[d] * elem) % 16 != 0) return false;
    }
  }
  return true;
}

// ---- copy.cu ------------------------------------------------------------------------------
// dst = src elementwise over dst's shape; float dtypes convert (round to nearest even),
// equal dtypes copy bits. Operands should already be collapsed (CollapseDims).
// true when the 16-byte vector path ran (same dtype, strided, contiguous aligned rows).
bool LaunchCopy(const StridedArg& src, const StridedArg& dst, cudaStream_t stream);
// Every element of dst (F32/F16/BF16) = value rounded to dst's dtype.
void LaunchFill(const StridedArg& dst, float value, cudaStream_t stream);
// out[n, :] = table[ids[n], :]; ids I32 [N] (stride ids_stride), table [V, D], out [N, D].
void LaunchEmbedding(const int32_t* ids, int64_t ids_stride, const StridedArg& table,
                     const StridedArg& out, cudaStream_t stream);

// ---- pixels.cu ----------------------------------------------------------------------------
// out[n, c, p] = table[c, byte(n, c, p)] rounded to out_dtype (F32 / F16 / BF16); pixels U8
// packed [N, HW, C] or (`planar`) [N, C, HW], table F32 [C, 256], out [N, C, HW], contiguous.
void LaunchNormalizePixels(const uint8_t* pixels, bool planar, const float* table, void* out,
                           DType out_dtype, int64_t n, int64_t channels, int64_t hw,
                           cudaStream_t stream);
// resize_pixels.cu: pixels [n, h, w, channels], taps_x [wo, row_x], taps_y [ho, row_y],
// out [n, channels, ho, wo]; all contiguous.
void LaunchResizePixels(const uint8_t* pixels, const int32_t* taps_x, int64_t row_x,
                        const int32_t* taps_y, int64_t row_y, uint8_t* out, int64_t n, int64_t h,
                        int64_t w, int64_t channels, int64_t ho, int64_t wo, cudaStream_t stream);
// ---- prefetch.cu ---------------------------------------------------------------------------
// Issues L2 prefetches for every byte of args' ranges; writes nothing. While `stream` is being
// captured the kernel becomes a leaf branch of the graph (nothing waits for it), else it runs
// in stream order.
void LaunchPrefetchL2(const PrefetchArgs& args, cudaStream_t stream);

// ---- elementwise.cu -----------------------------------------------------------------------
// Operands should already be collapsed jointly (CollapseDims). The launchers return the path
// they took (Stats): kRowsVec when every operand has one dtype, a contiguous innermost dim,
// 16-byte aligned row starts and a row length that is a multiple of 16 bytes; kRows for the
// same unaligned; kStrided otherwise or when `force_strided` (force_fallback_kernels).
enum class ElementwisePath : int { kNone = 0, kRowsVec, kRows, kStrided };
// out = a + b | a * b | alpha * a + beta * b, computed in f32; same shapes (broadcast views).
ElementwisePath LaunchBinary(BinaryKind kind, float alpha, float beta, const StridedArg& a,
                             const StridedArg& b, const StridedArg& out, bool force_strided,
                             cudaStream_t stream);
ElementwisePath LaunchActivate(ActKind act, const StridedArg& x, const StridedArg& out,
                               bool force_strided, cudaStream_t stream);
// out = act(gate) * up, in f32, one rounding at the store.
ElementwisePath LaunchGatedActivation(ActKind act, const StridedArg& gate, const StridedArg& up,
                                      const StridedArg& out, bool force_strided,
                                      cudaStream_t stream);
// The same with a row scale (backend.h RowRmsScale): out = act(s gate) * (s up); gate, up, out
// [R, N] 2-D as given (not collapsed), rms over R rows.
ElementwisePath LaunchGatedActivationRms(ActKind act, const StridedArg& gate, const StridedArg& up,
                                         const StridedArg& out, const RowRmsArg& rms,
                                         bool force_strided, cudaStream_t stream);
// out = c + a * b as one f32 FMA, one rounding at the store.
ElementwisePath LaunchMulAdd(const StridedArg& a, const StridedArg& b, const StridedArg& c,
                             const StridedArg& out, bool force_strided, cudaStream_t stream);

// ---- linear.cu ----------------------------------------------------------------------------
// Tiled SIMT GEMM with the whole epilogue fused; every dtype combination, any strides.
void LaunchSimtGemm(const SimtGemmArgs& args, cudaStream_t stream);
// In-place epilogue pass after a cuBLASLt GEMM.
void LaunchEpilogue(const EpilogueArgs& args, cudaStream_t stream);
void LaunchDomainLinear(const DomainLinearArgs& args, cudaStream_t stream);

// ---- norm.cu ------------------------------------------------------------------------------
// Rows are all dims but the last; gamma/beta/w are 1-D [C] views (any float dtype).
// linear_norm.cu: SplitSumNormArgs's sum and LayerNorm, one block per row (PDL launch);
// dtype bf16 or f16, N a multiple of 8 and at most 2048. SplitSumLayerNormThreads: its block
// size (norm.cu's LayerNorm's for that width).
void LaunchSplitSumLayerNorm(const SplitSumNormArgs& args, DType dtype, cudaStream_t stream);
int SplitSumLayerNormThreads(int64_t n);
void LaunchLayerNorm(const StridedArg& x, const StridedArg& gamma, const StridedArg& beta,
                     float eps, const StridedArg& out, cudaStream_t stream);
void LaunchRmsNorm(const StridedArg& x, const StridedArg& w, float eps, float weight_offset,
                   const StridedArg& out, cudaStream_t stream);
// scale / shift are x-shaped views (innermost contiguous; broadcast rows have stride 0).
// Returns true when the 16-byte vector kernel ran (never with `force_scalar`).
// x = round(fma(y, gate, x)) in place, then out = AdaRmsNorm(x): one block per row, 16-byte
// vectors; false (nothing launched) unless every operand's rows are 16-byte vectors of one
// 16-bit or f32 dtype. Bit-identical to LaunchMulAdd then LaunchAdaRmsNorm's vector kernel.
bool LaunchMulAddAdaRmsNorm(const StridedArg& x, const StridedArg& y, const StridedArg& gate,
                            const StridedArg& scale, const StridedArg& shift, float eps,
                            const StridedArg& out, cudaStream_t stream);
bool LaunchAdaRmsNorm(const StridedArg& x, const StridedArg& scale, const StridedArg& shift,
                      float eps, const StridedArg& out, bool force_scalar, cudaStream_t stream);
void LaunchSoftmax(const StridedArg& x, const StridedArg& out, cudaStream_t stream);
// x [B, N, C] -> out [B, C].
void LaunchMeanOverTokens(const StridedArg& x, const StridedArg& out, cudaStream_t stream);

// ---- attention.cu -------------------------------------------------------------------------
enum class AttentionPath : int { kMma = 0, kSimt };
// True when the tensor-core kernel handles these dtypes / head dims.
bool AttentionMmaSupported(const AttentionArgs& args);
// Shared memory the SIMT kernel needs for these sizes (bytes).
size_t AttentionSimtSmemBytes(const AttentionArgs& args);
void LaunchAttention(const AttentionArgs& args, AttentionPath path, cudaStream_t stream);
// The K/V-resident tensor-core kernel (attention_resident.cu): bf16/f16, head dim 32 or 64,
// Sk <= 320, 16-byte aligned rows. Init raises the kernels' shared-memory limit (once per
// device) and returns it.
bool AttentionResidentSupported(const AttentionArgs& args);
// vlart's tensor-core GEMM (gemm_mma.cu): a tile shape and a K split count per problem.
struct GemmMmaConfig {
  int tile = 0;     // index into the kernel's tile table (CudaBackend::kGemmViaCublas: cuBLASLt)
  int splits = 1;   // K ranges reduced through the workspace (1: none)
  int lt_algo = 0;  // with tile == kGemmViaCublas: LtGemm's algorithm number (0: heuristic's)
  // With tile == kGemmViaCublas: bias and residual inside cuBLASLt with a 16-bit D (two
  // roundings; CudaBackendOptions::fused_lt_epilogues), an activation as a pass over D.
  bool lt_fused = false;
  // With lt_fused and Activation::kGeluTanh: the GELU in cuBLASLt's epilogue too (no pass over
  // D; LtGemmProblem::gelu).
  bool lt_gelu = false;
  bool operator==(const GemmMmaConfig&) const = default;
};
void InitGemmMmaKernels();
bool GemmMmaSupported(const GemmMmaArgs& args, DType dtype);
// Configurations worth timing for an M x N x K problem on `num_sms` SMs (wgmma ones only
// when GemmWgmmaOffered()).
std::vector<GemmMmaConfig> GemmMmaCandidates(int64_t m, int64_t n, int64_t k, int num_sms);
// A configuration chosen without timing (used while a graph is being captured).
GemmMmaConfig GemmMmaHeuristic(int64_t m, int64_t n, int64_t k, int num_sms);
// f32 workspace and counters a configuration needs (0 without a K split).
size_t GemmMmaWorkspaceFloats(int64_t m, int64_t n, const GemmMmaConfig& config);
int64_t GemmMmaTiles(int64_t m, int64_t n, const GemmMmaConfig& config);
// workspace / counters: see GemmMmaWorkspaceFloats / GemmMmaTiles; counters start at 0 and
// are left at 0.
void LaunchGemmMma(const GemmMmaArgs& args, DType dtype, const GemmMmaConfig& config,
                   float* workspace, int* counters, cudaStream_t stream);
// vlart's Hopper GEMM (gemm_wgmma.cu, sm_90a): same contract as LaunchGemmMma, configs with
// tile >= kWgmmaTileBase; splits = cluster size (K ranges reduced through distributed shared
// memory: no workspace, no counters). Init probes the device once (backend creation).
// Not offered to the tuner unless VLART_WGMMA=1: timed behind a neighbor kernel it loses to
// cuBLASLt by 0.5-1.3 us at the expert shapes and 2-4 us at X-VLA's, early weight boxes
// included (docs/PERFORMANCE.md, "What did not help").
inline constexpr int kWgmmaTileBase = 16;
// vlart's few-row GEMM (gemm_skinny.cu): same contract, configs with kSkinnyTileBase <= tile <
// kWgmmaTileBase (row tile 16 or 64 >= M); splits = cluster size (distributed shared memory
// reduction: no workspace, no counters). With GemmMmaArgs::b_sealed its first weight slices
// load before the wait on the previous kernel (programmatic dependent launch).
// Offered to the tuner unless VLART_SKINNY=0.
inline constexpr int kSkinnyTileBase = 8;
void InitGemmSkinnyKernels();
// Offered to the tuner unless VLART_SKINNY=0 (gemm_skinny.cu: it wins pi0.5's expert GEMMs).
bool GemmSkinnyOffered();
// Every skinny config worth timing (whether or not offered; the parity test runs them all).
std::vector<GemmMmaConfig> GemmSkinnyCandidates(int64_t m, int64_t n, int64_t k, int num_sms);
bool GemmSkinnyFits(int64_t m, const GemmMmaConfig& config);
// gemm_mma.cu's tile `tile` (0..4) fits the device's shared memory (kernel_image.h: tiles
// 0-2 do not on 99 KB GPUs); GemmMmaCandidates and GemmMmaHeuristic offer only those.
bool GemmMmaTileFits(int tile);
void LaunchGemmSkinny(const GemmMmaArgs& args, DType dtype, const GemmMmaConfig& config,
                      cudaStream_t stream);
void InitGemmWgmmaKernels();
bool GemmWgmmaAvailable();
bool GemmWgmmaOffered();
// Every wgmma config worth timing (whether or not offered; the parity test runs them all).
std::vector<GemmMmaConfig> GemmWgmmaCandidates(int64_t m, int64_t n, int64_t k, int num_sms);
void LaunchGemmWgmma(const GemmMmaArgs& args, DType dtype, const GemmMmaConfig& config,
                     cudaStream_t stream);
// The GEMM tuner's stand-in for the kernel before a GEMM (gemm_tune_neighbor.cu): one block per
// SM spinning ~1.5 us after waiting on the previous kernel, launched with PDL, touching no
// memory.
void LaunchTuneNeighbor(int num_sms, cudaStream_t stream);
// splits (1, 2 or 4): warps per block = 4 x splits, each group of 4 taking one range of the
// 64-key blocks, merged in shared memory. AttentionResidentSplits picks it for `num_sms` SMs
// (`forced` > 0: rounded down to 1, 2 or 4), never more than the key blocks.
int AttentionResidentSplits(const AttentionArgs& args, int num_sms, int forced);
// The resident kernel's blocks (64-query tiles x heads x batch): where they alone fill the SMs
// the backend takes the one-pass kernel instead (attention_op.cc).
int64_t AttentionResidentBlocks(const AttentionArgs& args);
// The one-pass kernel (attention_rows.cu): bf16/f16, head dim 32, 64 or 72, Sk <= 272,
// 16-byte aligned rows, one warp per 16 query rows against every key. AttentionRowsWarps picks
// the warps per block (2, 3, 4, 6 or 8; `forced` > 0: exactly that count) for `num_sms` SMs,
// 0 when no instance fits. Init raises the kernels' shared-memory limit (once per device).
bool AttentionRowsSupported(const AttentionArgs& args);
int AttentionRowsWarps(const AttentionArgs& args, int num_sms, int forced);
void LaunchAttentionRows(const AttentionArgs& args, int warps, cudaStream_t stream);
void InitAttentionRowsKernels();
void LaunchAttentionResident(const AttentionArgs& args, int splits, cudaStream_t stream);
size_t InitAttentionResidentKernels();
// Debug timing probes (kernel_probe.cuh): while `buffer.slots` is not null, bf16 launches of
// the resident (any D) and head-folded flash (D 256) attention kernels run their kProbe
// instances, which write kProbeSlots values per block into buffer.slots (device memory) for
// blocks below buffer.blocks (larger grids leave their other blocks unrecorded). cuda_ops_bench
// --probe reads them; a null buffer restores the production kernels.
inline constexpr int kProbeSlots = 16;     // per block: see kernel_probe.cuh for the layout
inline constexpr int kProbeFirstMark = 3;  // slots 3..14 hold marks 3..14
inline constexpr int kProbeEndSlot = 15;
struct KernelProbeBuffer {  // plain aggregate: it also lives in __device__ variables
  unsigned long long* slots;  // [blocks][kProbeSlots]
  unsigned int blocks;
};
void SetAttentionResidentProbe(const KernelProbeBuffer& buffer);
void SetAttentionFlashProbe(const KernelProbeBuffer& buffer);
// The streaming tensor-core kernel with the heads of a KV group folded into its rows
// (attention_flash.cu): bf16/f16, D 256 (any Hq/Hkv) or D 128 with Hq > Hkv, 16-byte rows.
// With splits > 1 the keys are split flash-decoding style and the partials merged in split
// order (deterministic), either by the cluster merge (`cluster_merge`: the splits of a row tile
// run as one thread-block cluster and merge through distributed shared memory, no workspace, no
// second kernel) or through `workspace` (AttentionFlashWorkspaceBytes(args, splits) bytes of
// f32 partials) and a merge kernel; both give the same bits. AttentionFlashSplits picks the
// split count for `num_sms` SMs (`forced` > 0: that many, clamped), reduced until the
// partials fit `workspace_bytes`. Init raises the kernels' shared-memory limits on the current
// device and describes it (AttentionFlashDevice: the largest split count the cluster merge can
// launch there, 1: none, e.g. before sm_90; the shared memory that keeps a block alone on its
// SM, which clustered grids of at most one block per SM ask for so that they spread). LaunchAttentionFlash stages the block's mask rows in shared memory (with K, by
// cp.async) when the mask's keys are contiguous and Hq / Hkv >= 4, unless `allow_smem_mask` is
// false (test hook: every score then reads the mask with __ldg, same results).
inline constexpr int kAttentionFlashMaxSplits = 16;
struct AttentionFlashPath {
  bool smem_mask = false;      // the mask rows were staged in shared memory
  bool cluster_merge = false;  // split partials merged in a cluster (no merge kernel)
};
struct AttentionFlashDevice {
  int cluster_splits = 1;        // largest cluster the merge may use
  size_t spread_smem_bytes = 0;  // dynamic smem that leaves room for one block per SM (0: none)
  int spread_cluster_splits = 1;  // largest cluster that launches with spread_smem_bytes
  int num_sms = 0;
};
AttentionFlashDevice InitAttentionFlashKernels();
// Whether LaunchAttentionFlash may stage mask rows in shared memory at head dim d (128 or 256)
// on this device: the instances that do fit its opt-in limit (not at D 256 on a 99 KB GPU,
// where every score reads the mask with __ldg). Valid after InitAttentionFlashKernels.
bool AttentionFlashMaskStagingFits(int d);
bool AttentionFlashSupported(const AttentionArgs& args);
size_t AttentionFlashWorkspaceBytes(const AttentionArgs& args, int splits);
int AttentionFlashSplits(const AttentionArgs& args, int num_sms, size_t workspace_bytes, int forced);
AttentionFlashPath LaunchAttentionFlash(const AttentionArgs& args, int splits, void* workspace,
                                        cudaStream_t stream, const AttentionFlashDevice& device,
                                        bool allow_smem_mask = true, bool cluster_merge = false);
// Raises the dynamic shared-memory limits of the attention kernels; called once at backend
// creation so that nothing host-side happens during graph capture. Returns the SIMT limit.
size_t InitAttentionKernels();

// ---- channel_attention.cu -------------------------------------------------------------------
// q, k, v, out [B, N, G, d]; `partials` is backend scratch of at least
// ChannelAttentionScratchBytes(B, G, d, 1) bytes. Chooses the chunk count to fit.
size_t ChannelAttentionScratchBytes(int64_t batch, int64_t groups, int64_t d, int64_t chunks);
void LaunchChannelAttention(const StridedArg& q, const StridedArg& k, const StridedArg& v,
                            float scale, const StridedArg& out, void* partials,
                            size_t partials_bytes, cudaStream_t stream);

// ---- rope.cu ------------------------------------------------------------------------------
void LaunchRope(const RopeArgs& args, cudaStream_t stream);
// Rope(q), Rope(k) and Copy(v) in one launch (PDL), bit-identical to LaunchRope twice and
// LaunchCopy.
void LaunchRopeQkv(const RopeQkvArgs& args, cudaStream_t stream);

// ---- conv2d.cu ----------------------------------------------------------------------------
// Direct convolution, one thread per output element (any groups / kernel / stride / padding).
void LaunchConv2dDirect(const ConvArgs& args, cudaStream_t stream);
// Depthwise (groups == Cin == Cout) direct convolution with the 3x3 taps unrolled.
// true when the 8-channel vector kernel ran (bf16/f16, contiguous aligned channels).
bool LaunchDepthwiseConv2d(const ConvArgs& args, cudaStream_t stream);
// Writes rows [row0, row0 + rows) of the im2col matrix of x (groups == 1) into dst
// (dtype dst_dtype, row stride ld): dst[r, (ci*kh + ky)*kw + kx] = x[b, y*s-p+ky, x*s-p+kx, ci]
// (0 outside the image), r = (b*Ho + y)*Wo + x; column order matches w [Cout, Cin, kh, kw].
void LaunchIm2col(const ConvArgs& args, int64_t row0, int64_t rows, void* dst, DType dst_dtype,
                  int64_t ld, cudaStream_t stream);

// ---- gated_mlp.cu -------------------------------------------------------------------------
// Sets the kernels' shared-memory limits (once per process; call with the device current).
void InitGatedMlpKernels();
// Launches the fused gated MLP when the problem qualifies on this device (bf16 / f16, 1 <= M
// <= 16, K % 64 == 0, F % 256 == 0, N % 8 == 0, max(F / 32, N / 8) blocks no more than
// `num_sms`, shared memory within the limit InitGatedMlpKernels read, 16-byte aligned x and
// hidden rows and weights, an activation it instantiates); false (nothing launched) otherwise.
bool LaunchGatedMlp(const GatedMlpArgs& args, DType dtype, int num_sms, cudaStream_t stream);

}  // namespace vlart::cuda
