// SPDX-License-Identifier: Apache-2.0
//
// attention_flash.cu: streaming tensor-core attention for head dim 256 (and 128 with MQA/GQA),
// the heads of a KV group folded into the rows of one tile: pi0 / pi0.5's Gemma attention
// (8 query heads, 1 KV head, D 256; prefix Sq = Sk ~ 532..816, action expert Sq ~ 51, Sk ~ 581..870).
//
// Math:      out[b,i,h,:] = Σ_j softmax_j(scale · q[b,i,h,:]·k[b,j,g,:] + mask[b,i,j]) v[b,j,g,:],
//            g = h / G, G = Hq / Hkv. Row r of the folded problem of (b, g) is the pair
//            (i = r / G, h = g·G + r % G), r in [0, Sq·G): all rows of (b, g) read one K/V.
// Mapping:   a block of 4 warps owns 64 folded rows (16 per warp) of one (b, g) and one of
//            `splits` ranges of 64-key tiles (blockIdx.y). Q (64 x D) is staged once in shared
//            memory; K and V tiles stream through one buffer each with 16-byte cp.async (rows
//            past Sk zero-filled). cp.async groups: the prologue issues Q + K(t0) (+ mask(t0))
//            and then V(t0) as a second group (the V buffer is free before the first tile), and
//            the first tile waits only for the first group (wait_group 1); every later tile
//            loads V(t) while S = Q·K(t)ᵀ is computed and K(t+1) (+ mask(t+1)) while
//            O += P·V(t) is (two barriers per tile; nothing is in flight when a block exits).
//            Per warp per tile: S 16x64 in f32 by mma.sync m16n8k16 (A = Q by ldmatrix, B = K by
//            ldmatrix), scale + mask, online softmax, then P re-packed from the S accumulators
//            as A fragments, V by ldmatrix.trans, O 16xD in f32 registers (D 256: 128 per
//            thread). Mask: when its keys are contiguous (m_sj == 1) and G >= 4, the block's 64
//            rows span at most (G + 62) / G + 1 queries (9 at G 8), and their mask rows for a
//            tile are staged in shared memory with K(t) by cp.async (16-byte copies when rows
//            are 16-byte aligned, else 4-byte; keys past Sk are never read) and read back with
//            predicated LDS; otherwise each score reads its entry with __ldg (any strides). Smem
//            (D 256): 3 x 64 x (256 + 8) x 2 B = 99 KB (+ 9 x 72 x 4 B = 2.5 KB of mask rows at
//            G 8, 4.8 KB at G 4) -> 2 blocks per SM. splits == 1: the block normalises and
//            stores O. splits > 1 (flash-decoding, when the row tiles alone cannot fill the
//            SMs): the splits of one row tile run as a thread-block cluster (up to 16 blocks,
//            sm_90) and merge through distributed shared memory (ClusterMergeStore): each block
//            parks its unnormalised f32 O and row (max, sum) in its own shared memory, and after
//            a cluster barrier block s merges rows s, s + splits, ... of all partials in split
//            order. Where the cluster does not fit (or under ForceAttentionMerge), each block
//            writes them to a workspace and a second kernel (one warp per row) merges them with
//            the same operations in the same order: the same bits either way, on every run,
//            whatever order blocks run in.
// Numerics:  exactly attention_resident.cu's contract: scores, running max / sum and O in f32;
//            P rounded to the input dtype for P·V (FlashAttention-2), the row sum from the
//            unrounded P; keys past Sk score -inf; a score is fl(fl(s · scale) + mask) (explicit
//            __fmul_rn / __fadd_rn: never one fma), the same on both mask paths, which therefore
//            give the same bits; exp is __expf. The running rescale
//            multiplies O and the sum by the same factor, so its error cancels in O / sum (up to
//            one f32 rounding per tile). Split merge: w_s = exp(m_s - M), out = Σ_s w_s O_s /
//            Σ_s w_s l_s, f32 in split order: again only f32 roundings. A row whose scores are
//            all -inf has sum 0 and yields 0 · (1/0) = NaN on both paths, as the CPU reference
//            (and torch's math softmax) do; openpi's finite -2.38e38 mask makes a fully masked
//            row uniform (all scores equal the mask value), as on the CPU.
// Reference: backends/cpu Attention; parity in tests/ops/cuda_attention_parity_test.cc
//            (AttentionParity.Pi0*).
// Napkin:    per 64-key tile a warp issues 144 ldmatrix.x4 (Q 16, K 64, V 64 = 72 KB) for
//            256 mma (1 MFLOP): 4 warps need ~2300 clk of the SM's 128 B/clk shared-memory port,
//            about what the tensor cores need (~2000 clk), ~1.4 us per 64 x 64 block tile. pi0
//            prefix B1 532 tokens: 67 row tiles x 9 key tiles, no split: ~9 x 1.4 ~ 13 us
//            (2.3 GFLOP); 816 tokens: 102 x 13 -> ~18 us. Expert B1 51 x 581: 7 row tiles x 10
//            key tiles, 10 splits -> 70 blocks of one tile: ~2-3 us + merge ~1 us (the SIMT
//            kernel took 513 us; the byte floor is 0.35 us). Both prefixes leave SMs idle (67 /
//            102 blocks) and are bound by the 4x re-read of K/V fragments per 64 rows that
//            mma.sync implies; a wgmma version (one B read per 64-row warpgroup) is the next step.
// Latency:   measured on the H100 (cuda_ops_bench --graph, forced splits; Nsight Compute on the
//            10-split expert launch) before the mask staging: ~5.5 us per tile per block plus
//            ~12-14 us fixed, issue slots ~5% busy, long-scoreboard stalls first: latency-bound.
//            The SASS of the __ldg mask path (kept for the other masks) puts each of a thread's
//            32 loads per tile under its own branch and consumes it at once, i.e. up to 32
//            dependent global round trips per tile after S. The staged mask turns them into one
//            cp.async round trip hidden behind K(t)'s, and V(t0) in the prologue removes a
//            one-tile block's second exposed round trip; the Q-row (query, head) pairs are
//            stepped incrementally (MUFU.RCP count of the D 256 kernel 44 -> 11) and computed
//            before the PDL wait. Measured after (H100, commit 29d9595, cuda_ops_bench --graph):
//            expert B1 51x581 + mask 20.3 -> 13.8 us (1 split: 67 -> 33 us, ~2 us per tile);
//            the forced __ldg path on the same build 17.4 us; prefix 532 41.9 -> 29.2 us, 816
//            77 -> 45 us, B4 816 267 -> 132 us; pi0.5 expert 10x810 20.2 -> 13.7 us.

#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "backends/cuda/cluster_sync.cuh"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernel_probe.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

namespace cg = cooperative_groups;

// kernel_probe.cuh: the buffer the kProbe instances record into (SetAttentionFlashProbe).
__device__ KernelProbeBuffer g_flash_probe;
bool g_flash_probe_on = false;  // host: launch the kProbe instances (bf16, D 256)
// The dynamic shared memory a block may use on this device (InitAttentionFlashKernels; the
// opt-in limit of kernel_image.h). On a 99 KB GPU (RTX 30 / 40 / 50, L40) the D 256 tiles fit
// exactly (101376 bytes) and their staged mask rows do not: the __ldg mask path runs there.
size_t g_flash_smem_optin = 0;

constexpr int kThreads = 128;  // 4 warps x 16 folded rows
constexpr int kBlockM = 64;    // folded (query, head) rows per block
constexpr int kBlockN = 64;    // keys per tile
constexpr int kCombineWarps = kThreads / 32;  // merge kernel: one warp per folded row
// Staged mask rows (f32 per row): 8 banks apart, so the two queries a warp's rows can span at
// group 4 read disjoint banks; 288-byte rows keep 16-byte copies aligned.
constexpr int kMaskStride = kBlockN + 8;
// Blocks resident per SM: 2 at D 256 (~99 KB of shared memory each), 3 at D 128 (registers).
// The kernel's launch bounds and the split heuristic's makespan model both use it.
__host__ __device__ constexpr int ResidentBlocks(int d) { return d == 256 ? 2 : 3; }
constexpr int kMaskSmemMinGroup = 4;  // smaller groups keep the __ldg mask path (see MaskInSmem)

template <int kD>
constexpr int Stride() {
  return kD + 8;  // 16 extra bytes per row: conflict-free ldmatrix rows
}

// Q, K and V tiles.
template <int kD>
constexpr size_t SmemBytes() {
  return static_cast<size_t>(kBlockM + 2 * kBlockN) * Stride<kD>() * sizeof(uint16_t);
}
static_assert(SmemBytes<256>() == 101376, "a 99 KB GPU's opt-in limit holds the D 256 tiles exactly");

// Queries whose mask rows a block stages: its 64 folded rows r0..r0+63 span
// (r0 % G + 63) / G + 1 <= (G + 62) / G + 1 queries (9 at G 8, 17 at G 4).
__host__ __device__ constexpr int MaskRowsCap(int group) { return (kBlockM + group - 2) / group + 1; }
constexpr size_t MaskSmemBytes(int group) {
  return static_cast<size_t>(MaskRowsCap(group)) * kMaskStride * sizeof(float);
}
static_assert(MaskRowsCap(8) == 9 && MaskRowsCap(4) == 17 && MaskRowsCap(5) == 14);
// The cluster merge parks a block's f32 O [64][D + 8] and (max, sum) [64] over its Q/K/V tiles.
template <int kD>
constexpr size_t ClusterMergeSmemBytes() {
  return static_cast<size_t>(kBlockM) * (kD + 8) * sizeof(float) + kBlockM * sizeof(float2);
}
static_assert(ClusterMergeSmemBytes<256>() <= SmemBytes<256>() && ClusterMergeSmemBytes<128>() <= SmemBytes<128>());
// The tiles plus the largest staged mask (G 4): what the masked instances are given.
template <int kD>
constexpr size_t MaskedSmemBytes() {
  return SmemBytes<kD>() + MaskSmemBytes(kMaskSmemMinGroup);
}
// Two blocks per SM at D 256 with the largest staged mask (G 4): 2 x (99 + 4.8) KB plus the
// 1 KB the runtime reserves per block, under the H100's 228 KB.
static_assert(2 * (SmemBytes<256>() + MaskSmemBytes(kMaskSmemMinGroup) + 1024) <= 228 * 1024);

// 16-byte global -> shared copy; `valid` false zero-fills the destination (src not read).
__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem)), "l"(gmem),
               "r"(valid ? 16 : 0));
}

// 16-byte copy reading only the first `bytes` (1..16) of the source, zero-filling the rest.
__device__ __forceinline__ void CpAsync16Partial(void* smem, const void* gmem, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem)), "l"(gmem),
               "r"(bytes));
}

// 4-byte copy (cp.async.ca: the .cg form only moves 16 bytes).
__device__ __forceinline__ void CpAsync4(void* smem, const void* gmem) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(SmemAddr(smem)), "l"(gmem));
}

__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWaitAll() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
// Waits until at most the kPending most recently committed groups of this thread are still in
// flight (all older ones have landed).
template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Stages kBlockN rows [j0, j0 + kBlockN) of a K or V head (row stride ld elements) into a
// shared tile; rows at or past `sk` are zero-filled (V's zeros keep 0-weight keys from adding
// NaN garbage to O).
template <int kD>
__device__ __forceinline__ void LoadKvTile(uint16_t* dst, const uint16_t* src, int64_t ld, int j0,
                                           int sk) {
  constexpr int kChunks = kD / 8;  // 16-byte chunks per row
  constexpr int kRowsPerPass = kThreads / kChunks;
  const int col = (threadIdx.x % kChunks) * 8;
#pragma unroll
  for (int it = 0; it < kBlockN / kRowsPerPass; ++it) {
    const int rr = threadIdx.x / kChunks + it * kRowsPerPass;
    const int j = j0 + rr;
    const bool in = j < sk;
    CpAsync16(dst + rr * Stride<kD>() + col, src + (in ? j * ld : 0) + col, in);
  }
}

// Stages the additive mask of `n` consecutive queries (rows src, src + m_si, ...; keys
// contiguous) for keys [j0, j0 + kBlockN) into dst (row stride kMaskStride). Keys at or past
// `sk` are not read (the softmax never reads their slots). vec16: 16-byte copies (src and
// m_si 16-byte aligned; a chunk straddling sk reads only its keys below sk), else 4-byte ones.
__device__ __forceinline__ void LoadMaskTile(float* dst, const float* src, int64_t m_si, int n,
                                             int j0, int sk, bool vec16) {
  if (vec16) {
    constexpr int kChunks = kBlockN / 4;  // 16-byte chunks per row
    const int c = (threadIdx.x % kChunks) * 4;
    const int bytes = min(max(sk - (j0 + c), 0), 4) * static_cast<int>(sizeof(float));
    if (bytes == 0) return;
    for (int mr = threadIdx.x / kChunks; mr < n; mr += kThreads / kChunks) {
      CpAsync16Partial(dst + mr * kMaskStride + c, src + mr * m_si + j0 + c, bytes);
    }
  } else {
    const int c = threadIdx.x % kBlockN;
    if (j0 + c >= sk) return;
    for (int mr = threadIdx.x / kBlockN; mr < n; mr += kThreads / kBlockN) {
      CpAsync4(dst + mr * kMaskStride + c, src + mr * m_si + j0 + c);
    }
  }
}

// Merges one folded row's split partials in split order (flash-decoding), all in f32:
//   M = max_s m_s, w_s = exp(m_s - M) (M = -inf: base 0, every w_s = 0), L = Σ_s w_s l_s,
//   out = (Σ_s w_s O_s) · (1 / L),
// the calling warp's lane covering columns lane·4 + 128·j. ml(s) gives split s's (max, sum),
// o(s, c) its O columns c..c+3. The merge kernel and the cluster merge both call it, with the
// same operations in the same order: the same bits.
// Latency is what it costs (each load is a round trip to L2 or to a peer's shared memory), so
// it is written for loads in flight: slots past `splits` hold (max, sum) = (-inf, 0) and O = 0,
// whose weight exp(-inf) is +0 and which add +0 to every sum, so every loop runs branch-free
// over all kAttentionFlashMaxSplits slots with the bits of a loop over `splits` alone, and the
// O loads of a batch of kBatch splits are issued for all of the row's columns before any is
// used. Written with a branch per split instead (`if (s < splits)` around each use), the
// compiler issued one split's loads at a time: the cluster merge phase at pi0's expert took
// 7.2 us against 3.5 us branch-free (H100 probe, docs/PERFORMANCE.md).
template <typename T, int kD, int kBatch, typename Ml, typename O>
__device__ __forceinline__ void MergeSplitRow(int splits, int lane, T* orow, Ml ml, O o) {
  static_assert(kAttentionFlashMaxSplits % kBatch == 0, "whole batches of splits");
  constexpr int kChunks = kD / 128;  // float4 columns per lane
  float w[kAttentionFlashMaxSplits], l[kAttentionFlashMaxSplits];
  float mx = -INFINITY;
#pragma unroll
  for (int s = 0; s < kAttentionFlashMaxSplits; ++s) {
    float2 part = make_float2(-INFINITY, 0.0f);
    if (s < splits) part = ml(s);
    w[s] = part.x;
    l[s] = part.y;
    mx = fmaxf(mx, w[s]);
  }
  const float base = mx == -INFINITY ? 0.0f : mx;
  float sum = 0.0f;
#pragma unroll
  for (int s = 0; s < kAttentionFlashMaxSplits; ++s) {
    w[s] = __expf(w[s] - base);
    sum += w[s] * l[s];
  }
  const float inv = 1.0f / sum;
  float4 acc[kChunks];
#pragma unroll
  for (int j = 0; j < kChunks; ++j) acc[j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
  for (int s0 = 0; s0 < kAttentionFlashMaxSplits; s0 += kBatch) {
    float4 v[kBatch][kChunks];
#pragma unroll
    for (int i = 0; i < kBatch; ++i) {
#pragma unroll
      for (int j = 0; j < kChunks; ++j) {
        v[i][j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (s0 + i < splits) v[i][j] = o(s0 + i, lane * 4 + 128 * j);
      }
    }
#pragma unroll
    for (int i = 0; i < kBatch; ++i) {
      const float ws = w[s0 + i];
#pragma unroll
      for (int j = 0; j < kChunks; ++j) {
        acc[j].x += ws * v[i][j].x;
        acc[j].y += ws * v[i][j].y;
        acc[j].z += ws * v[i][j].z;
        acc[j].w += ws * v[i][j].w;
      }
    }
  }
#pragma unroll
  for (int j = 0; j < kChunks; ++j) {
    const int c = lane * 4 + 128 * j;
    *reinterpret_cast<uint32_t*>(orow + c) = Pack<T>(acc[j].x * inv, acc[j].y * inv);
    *reinterpret_cast<uint32_t*>(orow + c + 2) = Pack<T>(acc[j].z * inv, acc[j].w * inv);
  }
}

// The (query, head) output row of folded row `row` of KV group (b, g).
template <typename T>
__device__ __forceinline__ T* FoldedOutRow(const AttentionArgs& p, int b, int g, int row) {
  const int group = p.hq / p.hkv;
  const int i = row / group;
  const int h = g * group + row % group;
  return static_cast<T*>(p.out) + b * p.o_sb + i * p.o_ss + h * p.o_sh;
}

// The merge of AttentionFlashMergeKernel, without the global round trip: the `splits` blocks
// of one row tile form a cluster; each parks its unnormalised f32 O [64][kD] and its rows'
// (max, sum) in its own shared memory (over the Q/K/V tiles, which nobody reads any more),
// and after a cluster barrier block `split` merges the local rows split, split + splits, ...
// (one warp per row, 4 columns per lane per 128), reading all partials through distributed
// shared memory in split order with exactly the merge kernel's operations: the same bits.
// A second cluster barrier keeps every block's shared memory alive until its peers are done.
template <typename T, int kD, typename Mark>
__device__ __forceinline__ void ClusterMergeStore(const AttentionArgs& p, const float (&o)[kD / 8][4],
                                                  const float (&m)[2], float (&l)[2], bool warp_active,
                                                  int wr, int grp, int tig, int r0, int rows, int g,
                                                  int b, int split, int splits, Mark&& mark) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // never launched: InitAttentionFlashKernels finds no cluster launch before sm_90
#else
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int kPs = kD + 8;  // f32 row stride: a warp's float2 stores hit 2 wavefronts
  float* po = reinterpret_cast<float*>(smem_raw);                  // [kBlockM][kPs]
  float2* pml = reinterpret_cast<float2*>(po + kBlockM * kPs);     // [kBlockM]
  __syncthreads();  // every warp is done reading Q, K and V: their space is reused
  if (warp_active) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
      const int lr = wr + grp + 8 * r;
      float* prow = po + lr * kPs;
#pragma unroll
      for (int dt = 0; dt < kD / 8; ++dt) {
        *reinterpret_cast<float2*>(prow + dt * 8 + 2 * tig) = make_float2(o[dt][2 * r], o[dt][2 * r + 1]);
      }
      if (tig == 0) pml[lr] = make_float2(m[r], l[r]);
    }
  }
  ClusterSync();
  mark(9);
  cg::cluster_group cluster = cg::this_cluster();
  const int valid = min(kBlockM, rows - r0);
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  for (int lr = split + warp * splits; lr < valid; lr += splits * kCombineWarps) {
    // All splits' loads of a row in flight at once (kD / 32 x 16 registers: O is parked by now).
    MergeSplitRow<T, kD, kAttentionFlashMaxSplits>(
        splits, lane, FoldedOutRow<T>(p, b, g, r0 + lr),
        [&](int s) { return cluster.map_shared_rank(pml, s)[lr]; },
        [&](int s, int c) {
          return *reinterpret_cast<const float4*>(cluster.map_shared_rank(po, s) + lr * kPs + c);
        });
  }
  mark(10);
  ClusterExitSync();
  mark(11);
#endif
}

// kSmemMask: the block's mask rows for each key tile are staged in shared memory with K
// (host: MaskInSmem; p.mask is not null, m_sj == 1, G >= kMaskSmemMinGroup); mask_vec16 picks
// 16-byte copies for them. Otherwise each score reads its mask entry with __ldg (any strides).
// kProbe (debug, kernel_probe.cuh) records thread 0's clock at marks 3 (PDL wait over), 4 (Q,
// K(t0) landed), 5 (first S + softmax), 6 (V(t0) landed), 7 (first P·V), 8 (all tiles), 9-11
// (cluster merge: first barrier, merged, second barrier; 11 also after the unsplit store).
template <typename T, int kD, bool kSmemMask, bool kClusterMerge, bool kProbe = false>
__global__ void __launch_bounds__(kThreads, ResidentBlocks(kD))
    AttentionFlashKernel(AttentionArgs p, float* part_o, float2* part_ml, bool mask_vec16,
                         int cluster_splits) {
  PdlAllowDependents();
  BlockProbe<kProbe> probe(kProbe ? g_flash_probe : KernelProbeBuffer{});
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int kS = Stride<kD>();
  uint16_t* qs = reinterpret_cast<uint16_t*>(smem_raw);
  uint16_t* ks = qs + kBlockM * kS;
  uint16_t* vs = ks + kBlockN * kS;
  float* ms = reinterpret_cast<float*>(vs + kBlockN * kS);  // kSmemMask: [MaskRowsCap(G)][kMaskStride]

  // Index math first: it reads only the kernel parameters, so under PDL it overlaps the tail
  // of the previous kernel instead of delaying this block's first loads.
  const int group = p.hq / p.hkv;
  const int rows = p.sq * group;  // folded rows of one (b, g)
  const int bg = blockIdx.z;
  const int b = bg / p.hkv;
  const int g = bg % p.hkv;
  // Grid: (row tiles, splits, B·Hkv), or with kClusterMerge (row tiles · splits, 1, B·Hkv) in
  // clusters of `cluster_splits` consecutive blocks: the splits of one row tile, cluster rank =
  // split.
  const int splits = kClusterMerge ? cluster_splits : static_cast<int>(gridDim.y);
  const int split = kClusterMerge ? static_cast<int>(blockIdx.x) % splits : static_cast<int>(blockIdx.y);
  const int r0 = (kClusterMerge ? static_cast<int>(blockIdx.x) / splits : static_cast<int>(blockIdx.x)) * kBlockM;
  const int num_tiles = (p.sk + kBlockN - 1) / kBlockN;
  const int t_begin = split * num_tiles / splits;
  const int t_end = (split + 1) * num_tiles / splits;

  const uint16_t* qg = static_cast<const uint16_t*>(p.q) + b * p.q_sb;
  const uint16_t* kg = static_cast<const uint16_t*>(p.k) + b * p.k_sb + g * p.k_sh;
  const uint16_t* vg = static_cast<const uint16_t*>(p.v) + b * p.v_sb + g * p.v_sh;

  // Q staging: this thread copies column chunk `q_col` of rows q_rr + it * kQRowsPerPass. The
  // (query, head) of each row advances by a constant step from the first row's: one division
  // per thread instead of one per row (exact integer arithmetic, the same addresses).
  constexpr int kQChunks = kD / 8;
  constexpr int kQRowsPerPass = kThreads / kQChunks;
  const int q_col = (threadIdx.x % kQChunks) * 8;
  const int q_rr = threadIdx.x / kQChunks;
  int q_i = (r0 + q_rr) / group;  // row r0 + rr = q_i * G + q_h, 0 <= q_h < G
  int q_h = (r0 + q_rr) % group;
  const int q_step_i = kQRowsPerPass / group;
  const int q_step_h = kQRowsPerPass % group;

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int grp = lane / 4;  // mma "groupID": fragment row (A, C) or column (B)
  const int tig = lane % 4;  // thread in group
  const int wr = warp * 16;
  const bool warp_active = r0 + wr < rows;  // warp-uniform: skip the math of all-padding warps

  // Staged mask rows (kSmemMask): queries m_lo..m_hi of this block's valid rows.
  const int m_lo = r0 / group;
  const int m_rows = (min(r0 + kBlockM, rows) - 1) / group - m_lo + 1;  // <= MaskRowsCap(G)
  const float* mg = kSmemMask ? p.mask + b * p.m_sb + m_lo * p.m_si : nullptr;

  // This thread's two fragment rows (grp, grp + 8): folded index, validity, mask row (global
  // pointer, or float offset of its staged row plus this thread's key 2·tig). Padding rows
  // read the mask of query Sq-1 (in bounds, and staged: a block with padding rows ends at
  // query Sq-1; their results are never stored).
  int row[2];
  bool row_ok[2];
  const float* mrow[2] = {nullptr, nullptr};
  int moff[2] = {0, 0};
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row[r] = r0 + wr + grp + 8 * r;
    row_ok[r] = row[r] < rows;
    const int i = row_ok[r] ? row[r] / group : p.sq - 1;
    if constexpr (kSmemMask) {
      moff[r] = (i - m_lo) * kMaskStride + 2 * tig;
    } else {
      if (p.mask != nullptr) mrow[r] = p.mask + b * p.m_sb + i * p.m_si;
    }
  }

  PdlWaitPrior();  // launched with PDL (pdl.cuh): nothing before this touches global memory
  probe.Mark(3);

  // Prologue, two cp.async groups: (1) Q, K(t_begin) and its mask rows; (2) V(t_begin) (the
  // V buffer is free before the first tile), so the first P·V does not wait a round trip
  // issued after S.
#pragma unroll
  for (int it = 0; it < kBlockM / kQRowsPerPass; ++it) {
    const int rr = q_rr + it * kQRowsPerPass;
    const bool in = r0 + rr < rows;
    const uint16_t* src = in ? qg + q_i * p.q_ss + (g * group + q_h) * p.q_sh : qg;
    CpAsync16(qs + rr * kS + q_col, src + q_col, in);
    q_i += q_step_i;
    q_h += q_step_h;
    if (q_h >= group) {
      q_h -= group;
      ++q_i;
    }
  }
  if (t_begin < t_end) {
    LoadKvTile<kD>(ks, kg, p.k_ss, t_begin * kBlockN, p.sk);
    if constexpr (kSmemMask) LoadMaskTile(ms, mg, p.m_si, m_rows, t_begin * kBlockN, p.sk, mask_vec16);
  }
  CpAsyncCommit();
  if (t_begin < t_end) LoadKvTile<kD>(vs, vg, p.v_ss, t_begin * kBlockN, p.sk);
  CpAsyncCommit();

  float o[kD / 8][4];
#pragma unroll
  for (int dt = 0; dt < kD / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of rows grp, grp + 8
  float l[2] = {0.0f, 0.0f};            // this thread's share of the running sums

  // Groups in flight at the top of tile t: first tile {Q + K + mask, V}, later ones {K + mask}
  // (committed after the previous tile's second barrier).
  for (int t = t_begin; t < t_end; ++t) {
    const int k0 = t * kBlockN;
    if (t == t_begin) {
      CpAsyncWait<1>();  // Q, K(t), mask(t) landed; V(t) may still be in flight
    } else {
      CpAsyncWaitAll();  // K(t), mask(t)
    }
    __syncthreads();  // K(t), mask(t) (and Q) visible to all; every warp is done reading V(t-1)
    if (t == t_begin) probe.Mark(4);
    if (t != t_begin) {
      LoadKvTile<kD>(vs, vg, p.v_ss, k0, p.sk);
      CpAsyncCommit();
    }

    float s[kBlockN / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
    if (warp_active) {
      // S = Q·Kᵀ: per 16-dim slice one ldmatrix.x4 of Q (A) and, per 16 keys, one of K (B
      // fragments of two 8-key n-tiles).
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        uint32_t qf[4];
        Ldmatrix4(qf, qs + (wr + (lane % 16)) * kS + kk * 16 + (lane / 16) * 8);
#pragma unroll
        for (int np = 0; np < kBlockN / 16; ++np) {
          uint32_t bf[4];
          Ldmatrix4(bf, ks + (np * 16 + (lane / 16) * 8 + (lane % 8)) * kS + kk * 16 + ((lane / 8) % 2) * 8);
          Mma<T>(s[2 * np], qf, bf[0], bf[1]);
          Mma<T>(s[2 * np + 1], qf, bf[2], bf[3]);
        }
      }
      // Scale, mask, row max. C fragment: e = 0,1 -> row grp, keys nt*8 + 2*tig + e;
      // e = 2,3 -> row grp + 8. Both mask paths compute fl(fl(s · scale) + mask) (an explicit
      // multiply then add: never contracted into one fma).
      float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = k0 + nt * 8 + 2 * tig + (e & 1);
          float val = -INFINITY;
          if constexpr (kSmemMask) {
            // Shared-memory reads: no branch, no global round trip per score.
            const bool in = j < p.sk;
            const float mv = in ? ms[moff[e >> 1] + nt * 8 + (e & 1)] : 0.0f;
            val = in ? __fadd_rn(__fmul_rn(s[nt][e], p.scale), mv) : -INFINITY;
          } else if (j < p.sk) {
            val = __fmul_rn(s[nt][e], p.scale);
            if (p.mask != nullptr) val = __fadd_rn(val, __ldg(mrow[e >> 1] + j * p.m_sj));
          }
          s[nt][e] = val;
          mx[e >> 1] = fmaxf(mx[e >> 1], val);
        }
      }
      float alpha[2], base[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        const float m_new = fmaxf(m[r], mx[r]);
        base[r] = m_new == -INFINITY ? 0.0f : m_new;  // keeps exp() finite for all -inf rows
        alpha[r] = __expf(m[r] - base[r]);
        m[r] = m_new;
        l[r] *= alpha[r];
      }
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[nt][e] = __expf(s[nt][e] - base[e >> 1]);
          l[e >> 1] += s[nt][e];
        }
      }
#pragma unroll
      for (int dt = 0; dt < kD / 8; ++dt) {
        o[dt][0] *= alpha[0];
        o[dt][1] *= alpha[0];
        o[dt][2] *= alpha[1];
        o[dt][3] *= alpha[1];
      }
    }

    if (t == t_begin) probe.Mark(5);
    CpAsyncWaitAll();
    __syncthreads();  // V(t) visible to all; every warp is done reading K(t) and mask(t)
    if (t == t_begin) probe.Mark(6);
    if (t + 1 < t_end) {
      LoadKvTile<kD>(ks, kg, p.k_ss, k0 + kBlockN, p.sk);
      if constexpr (kSmemMask) LoadMaskTile(ms, mg, p.m_si, m_rows, k0 + kBlockN, p.sk, mask_vec16);
    }
    CpAsyncCommit();

    if (warp_active) {
      // O += P·V: A from the S accumulators (keys kk2*16..+15), B by ldmatrix.trans of V rows:
      // lane l addresses key (l % 8) + ((l / 8) % 2) * 8, dim half (l / 16).
#pragma unroll
      for (int kk2 = 0; kk2 < kBlockN / 16; ++kk2) {
        uint32_t a[4];
        a[0] = Pack<T>(s[2 * kk2][0], s[2 * kk2][1]);
        a[1] = Pack<T>(s[2 * kk2][2], s[2 * kk2][3]);
        a[2] = Pack<T>(s[2 * kk2 + 1][0], s[2 * kk2 + 1][1]);
        a[3] = Pack<T>(s[2 * kk2 + 1][2], s[2 * kk2 + 1][3]);
#pragma unroll
        for (int dp = 0; dp < kD / 16; ++dp) {
          uint32_t bf[4];
          Ldmatrix4Trans(bf, vs + (kk2 * 16 + ((lane / 8) % 2) * 8 + (lane % 8)) * kS + dp * 16 + (lane / 16) * 8);
          Mma<T>(o[2 * dp], a, bf[0], bf[1]);
          Mma<T>(o[2 * dp + 1], a, bf[2], bf[3]);
        }
      }
    }
    if (t == t_begin) probe.Mark(7);
  }
  CpAsyncWaitAll();  // nothing may be in flight when the block exits (empty splits included)
  probe.Mark(8);
  if constexpr (kClusterMerge) {
    ClusterMergeStore<T, kD>(p, o, m, l, warp_active, wr, grp, tig, r0, rows, g, b, split, splits,
                             [&probe](int i) { probe.Mark(i); });
    probe.End();
    return;
  }
  if (!warp_active) return;  // warp 0 (thread 0, the probe's writer) is always active

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
  if (splits == 1) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if (!row_ok[r]) continue;
      const float inv = 1.0f / l[r];  // 1/0 = inf for an all -inf row: 0 * inf = NaN, as the CPU
      T* orow = FoldedOutRow<T>(p, b, g, row[r]);
#pragma unroll
      for (int dt = 0; dt < kD / 8; ++dt) {
        const int col = dt * 8 + 2 * tig;
        *reinterpret_cast<uint32_t*>(orow + col) = Pack<T>(o[dt][2 * r] * inv, o[dt][2 * r + 1] * inv);
      }
    }
    probe.Mark(11);
    probe.End();
    return;
  }
  // Split partial: unnormalised O and (max, sum) of this block's keys, rows indexed
  // R = bg * rows + r in a [splits, N] layout (N = B · Hkv · Sq · G).
  const int64_t n_rows = static_cast<int64_t>(rows) * p.batch * p.hkv;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (!row_ok[r]) continue;
    const int64_t R = static_cast<int64_t>(split) * n_rows + static_cast<int64_t>(bg) * rows + row[r];
    float* prow = part_o + R * kD;
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt) {
      *reinterpret_cast<float2*>(prow + dt * 8 + 2 * tig) = make_float2(o[dt][2 * r], o[dt][2 * r + 1]);
    }
    if (tig == 0) part_ml[R] = make_float2(m[r], l[r]);
  }
  probe.Mark(11);
  probe.End();
}

// Merges the split partials of one folded row per warp (MergeSplitRow), from the workspace.
template <typename T, int kD>
__global__ void __launch_bounds__(kThreads)
    AttentionFlashMergeKernel(AttentionArgs p, const float* part_o, const float2* part_ml, int splits) {
  PdlAllowDependents();
  PdlWaitPrior();
  const int64_t rows = static_cast<int64_t>(p.sq) * (p.hq / p.hkv);
  const int64_t n_rows = rows * p.batch * p.hkv;
  const int64_t R = static_cast<int64_t>(blockIdx.x) * kCombineWarps + threadIdx.x / 32;
  if (R >= n_rows) return;
  const int64_t bg = R / rows;
  // D 128 instances run 3 blocks per SM (170 registers): 4 quads in flight there.
  MergeSplitRow<T, kD, kD == 256 ? 8 : 4>(
      splits, threadIdx.x % 32,
      FoldedOutRow<T>(p, static_cast<int>(bg / p.hkv), static_cast<int>(bg % p.hkv), static_cast<int>(R % rows)),
      [&](int s) { return __ldcg(&part_ml[s * n_rows + R]); },
      [&](int s, int c) { return __ldcg(reinterpret_cast<const float4*>(part_o + (s * n_rows + R) * kD + c)); });
}

int64_t FoldedRows(const AttentionArgs& a) { return static_cast<int64_t>(a.sq) * (a.hq / a.hkv); }
int64_t RowTiles(const AttentionArgs& a) { return (FoldedRows(a) + kBlockM - 1) / kBlockM; }
int KeyTiles(const AttentionArgs& a) { return (a.sk + kBlockN - 1) / kBlockN; }

// The block's mask rows go through shared memory when the keys are contiguous (cp.async rows)
// and a 64-row tile spans few queries (G >= 4: at most 17 rows, 4.8 KB); otherwise __ldg.
bool MaskInSmem(const AttentionArgs& a) {
  return a.mask != nullptr && a.m_sj == 1 && a.hq / a.hkv >= kMaskSmemMinGroup;
}

// 16-byte mask copies: every staged row start (mask + b·m_sb + i·m_si + 64·t) 16-byte aligned.
bool MaskVec16(const AttentionArgs& a) {
  return IsAligned(a.mask, 16) && a.m_sb % 4 == 0 && a.m_si % 4 == 0;
}

// The masked instances (mask rows staged beside the tiles, sized for the largest staging, G 4)
// fit this device's shared memory: not on a 99 KB GPU at D 256.
template <int kD>
bool MaskedFits() {
  return MaskedSmemBytes<kD>() <= g_flash_smem_optin;
}

// The kernel instance a launch runs: the kProbe one (bf16, D 256 only) under SetAttentionFlashProbe.
template <typename T, int kD, bool kSmemMask, bool kClusterMerge>
auto FlashKernelFor() {
  if constexpr (std::is_same_v<T, __nv_bfloat16> && kD == 256) {
    if (g_flash_probe_on) return AttentionFlashKernel<T, kD, kSmemMask, kClusterMerge, true>;
  }
  return AttentionFlashKernel<T, kD, kSmemMask, kClusterMerge, false>;
}

template <typename T, int kD, bool kSmemMask, bool kClusterMerge>
void LaunchKernel(const AttentionArgs& a, int splits, float* po, float2* pml, bool mask_vec16,
                  const AttentionFlashDevice& dev, cudaStream_t stream) {
  size_t smem = SmemBytes<kD>() + (kSmemMask ? MaskSmemBytes(a.hq / a.hkv) : 0);
  const unsigned int row_tiles = static_cast<unsigned int>(RowTiles(a));
  const unsigned int bgs = static_cast<unsigned int>(a.batch * a.hkv);
  if constexpr (kClusterMerge) {
    // A cluster's blocks are placed within one GPC, two to an SM where shared memory allows,
    // where the plain grid spreads one block per SM first: measured on the H100 (cuda_ops_bench
    // --graph, expert 51x581) 2 clusters of 7 blocks ran 27.2 us against 20.9 us unclustered.
    // When the grid fits one block per SM, each block asks for more than half an SM's shared
    // memory, so the clusters spread too.
    if (static_cast<int64_t>(row_tiles) * splits * bgs <= dev.num_sms && splits <= dev.spread_cluster_splits) {
      smem = std::max(smem, dev.spread_smem_bytes);
    }
    LaunchPdl(FlashKernelFor<T, kD, kSmemMask, true>(), dim3(row_tiles * splits, 1, bgs),
              dim3(kThreads), smem, stream, static_cast<unsigned int>(splits), a, nullptr, nullptr,
              mask_vec16, splits);
  } else {
    LaunchPdl(FlashKernelFor<T, kD, kSmemMask, false>(),
              dim3(row_tiles, static_cast<unsigned int>(splits), bgs), dim3(kThreads), smem, stream,
              1, a, po, pml, mask_vec16, 0);
  }
}

template <typename T, int kD>
AttentionFlashPath Launch(const AttentionArgs& a, int splits, void* workspace, bool allow_smem_mask,
                          bool cluster_merge, const AttentionFlashDevice& dev, cudaStream_t stream) {
  const int64_t n_rows = FoldedRows(a) * a.batch * a.hkv;
  float* part_o = static_cast<float*>(workspace);
  float2* part_ml = reinterpret_cast<float2*>(part_o + splits * n_rows * kD);
  float* const po = splits > 1 ? part_o : nullptr;
  float2* const pml = splits > 1 ? part_ml : nullptr;
  AttentionFlashPath path;
  path.smem_mask = allow_smem_mask && MaskInSmem(a) && MaskedFits<kD>();
  path.cluster_merge = cluster_merge && splits > 1;
  const bool vec16 = path.smem_mask && MaskVec16(a);
  if (path.smem_mask) {
    if (path.cluster_merge) {
      LaunchKernel<T, kD, true, true>(a, splits, po, pml, vec16, dev, stream);
    } else {
      LaunchKernel<T, kD, true, false>(a, splits, po, pml, vec16, dev, stream);
    }
  } else {
    if (path.cluster_merge) {
      LaunchKernel<T, kD, false, true>(a, splits, po, pml, false, dev, stream);
    } else {
      LaunchKernel<T, kD, false, false>(a, splits, po, pml, false, dev, stream);
    }
  }
  if (splits > 1 && !path.cluster_merge) {
    const dim3 merge_grid(static_cast<unsigned int>((n_rows + kCombineWarps - 1) / kCombineWarps));
    LaunchPdl(AttentionFlashMergeKernel<T, kD>, merge_grid, dim3(kThreads), 0, stream, 1, a,
              static_cast<const float*>(part_o), static_cast<const float2*>(part_ml), splits);
  }
  return path;
}

using FlashKernel = void (*)(AttentionArgs, float*, float2*, bool, int);

// Raises the shared-memory limit of every instance of the kernel; returns the cluster-merge
// instances (with their shared memory) for the cluster-size probe.
// Instances needing more than g_flash_smem_optin are left alone: never launched (Launch checks
// MaskedFits, AttentionFlashSupported the tiles) and kept out of the cluster probe.
template <int kD>
void SetSmem(std::vector<std::pair<FlashKernel, size_t>>& cluster_kernels, size_t spread_bytes) {
  const size_t masked = MaskedSmemBytes<kD>();
  const std::pair<FlashKernel, size_t> kernels[] = {
      {AttentionFlashKernel<__nv_bfloat16, kD, false, false>, SmemBytes<kD>()},
      {AttentionFlashKernel<__half, kD, false, false>, SmemBytes<kD>()},
      {AttentionFlashKernel<__nv_bfloat16, kD, true, false>, masked},
      {AttentionFlashKernel<__half, kD, true, false>, masked},
      {AttentionFlashKernel<__nv_bfloat16, kD, false, true>, SmemBytes<kD>()},
      {AttentionFlashKernel<__half, kD, false, true>, SmemBytes<kD>()},
      {AttentionFlashKernel<__nv_bfloat16, kD, true, true>, masked},
      {AttentionFlashKernel<__half, kD, true, true>, masked},
  };
  // The cluster-merge instances may be launched with spread_bytes (LaunchKernel). Two blocks
  // per SM need ~2 x 99 KB (D 256): ask for the largest shared-memory carveout.
  const auto set_limits = [spread_bytes](FlashKernel kernel, size_t bytes, bool cluster) {
    if (bytes > g_flash_smem_optin) return false;
    VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(cluster ? std::max(bytes, spread_bytes) : bytes)));
    VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                          cudaSharedmemCarveoutMaxShared));
    return true;
  };
  for (int i = 0; i < 8; ++i) {
    if (set_limits(kernels[i].first, kernels[i].second, i >= 4) && i >= 4) cluster_kernels.push_back(kernels[i]);
  }
  if constexpr (kD == 256) {  // the probe instances (SetAttentionFlashProbe): the same limits
    const std::pair<FlashKernel, size_t> probes[] = {
        {AttentionFlashKernel<__nv_bfloat16, kD, false, false, true>, SmemBytes<kD>()},
        {AttentionFlashKernel<__nv_bfloat16, kD, true, false, true>, masked},
        {AttentionFlashKernel<__nv_bfloat16, kD, false, true, true>, SmemBytes<kD>()},
        {AttentionFlashKernel<__nv_bfloat16, kD, true, true, true>, masked},
    };
    for (int i = 0; i < 4; ++i) {
      // ProbeClusterSplits opts the production instances in; the probes follow them.
      if (set_limits(probes[i].first, probes[i].second, i >= 2) && i >= 2) {
        (void)cudaFuncSetAttribute(probes[i].first, cudaFuncAttributeNonPortableClusterSizeAllowed, 1);
      }
    }
    (void)cudaGetLastError();  // a refused opt-in only limits the probe's cluster size
  }
}

// The largest cluster (2..kAttentionFlashMaxSplits blocks) that every cluster-merge instance
// can launch on the current device, 1 if none (no cluster launch: before sm_90). Sizes above 8
// are non-portable: the kernels opt in, and the occupancy query says whether the GPCs hold them.
// spread_bytes > 0: probe with that much shared memory per block instead.
int ProbeClusterSplits(const std::vector<std::pair<FlashKernel, size_t>>& kernels, size_t spread_bytes) {
  int device = 0;
  int cluster_launch = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&cluster_launch, cudaDevAttrClusterLaunch, device) != cudaSuccess ||
      cluster_launch == 0) {
    (void)cudaGetLastError();
    return 1;
  }
  int best = 1;
  for (int size = 2; size <= kAttentionFlashMaxSplits; ++size) {
    bool fits = true;
    for (const auto& [kernel, bytes] : kernels) {
      if (size > 8 && cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1) !=
                          cudaSuccess) {
        fits = false;
        break;
      }
      cudaLaunchConfig_t cfg = {};
      cfg.gridDim = dim3(static_cast<unsigned int>(size), 1, 1);
      cfg.blockDim = dim3(kThreads);
      cfg.dynamicSmemBytes = spread_bytes > 0 ? std::max(bytes, spread_bytes) : bytes;
      cudaLaunchAttribute attr;
      attr.id = cudaLaunchAttributeClusterDimension;
      attr.val.clusterDim.x = static_cast<unsigned int>(size);
      attr.val.clusterDim.y = 1;
      attr.val.clusterDim.z = 1;
      cfg.attrs = &attr;
      cfg.numAttrs = 1;
      int clusters = 0;
      if (cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg) != cudaSuccess || clusters < 1) {
        fits = false;
        break;
      }
    }
    (void)cudaGetLastError();  // a refused size is an answer, not an error
    if (!fits) break;
    best = size;
  }
  return best;
}

}  // namespace

void SetAttentionFlashProbe(const KernelProbeBuffer& buffer) {
  VLART_CUDA_CHECK(cudaMemcpyToSymbol(g_flash_probe, &buffer, sizeof(buffer)));
  g_flash_probe_on = buffer.slots != nullptr;
}

AttentionFlashDevice InitAttentionFlashKernels() {
  AttentionFlashDevice dev;
  int device = 0, per_sm = 0, sms = 0;
  VLART_CUDA_CHECK(cudaGetDevice(&device));
  VLART_CUDA_CHECK(cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
  VLART_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  g_flash_smem_optin = SharedMemoryOptinBytes();  // VLART_CUDA_SMEM_OPTIN may lower it (tests)
  dev.num_sms = sms;
  // More than half an SM's shared memory (plus the 1 KB the runtime reserves per block): one
  // block per SM. Where the opt-in limit is too small for that, no spreading (0).
  const size_t spread = static_cast<size_t>(per_sm) / 2 + 1024;
  dev.spread_smem_bytes = spread <= g_flash_smem_optin ? spread : 0;
  std::vector<std::pair<FlashKernel, size_t>> cluster_kernels;
  SetSmem<128>(cluster_kernels, dev.spread_smem_bytes);
  SetSmem<256>(cluster_kernels, dev.spread_smem_bytes);
  // Cluster merges need clusters in the code the device runs, not only in the device: a build
  // without sm_90+ code (JIT-compiled from older PTX on an H100) merges through the kernel.
  if (!KernelImageHasHopperFeatures()) return dev;  // cluster_splits 1: no cluster launch
  dev.cluster_splits = ProbeClusterSplits(cluster_kernels, 0);
  if (dev.spread_smem_bytes > 0) dev.spread_cluster_splits = ProbeClusterSplits(cluster_kernels, dev.spread_smem_bytes);
  return dev;
}

bool AttentionFlashMaskStagingFits(int d) { return d == 256 ? MaskedFits<256>() : MaskedFits<128>(); }

bool AttentionFlashSupported(const AttentionArgs& a) {
  const DType t = a.q_dtype;
  if (t != DType::kBF16 && t != DType::kF16) return false;
  if (a.k_dtype != t || a.v_dtype != t || a.out_dtype != t) return false;
  if (a.dv != a.d || a.hkv < 1 || a.hq % a.hkv != 0) return false;
  // D 256; D 128 only with MQA/GQA (plain multi-head D 128 keeps attention.cu's kernel).
  if (!(a.d == 256 || (a.d == 128 && a.hq > a.hkv))) return false;
  // The Q, K and V tiles within the device's shared memory (g_flash_smem_optin).
  if ((a.d == 256 ? SmemBytes<256>() : SmemBytes<128>()) > g_flash_smem_optin) return false;
  if (a.sq < 1 || a.sk < 1 || a.batch < 1) return false;
  if (FoldedRows(a) > INT32_MAX / 2 || a.batch * int64_t{a.hkv} > 65535) return false;
  // 16-byte cp.async rows: base pointers aligned and every stride a multiple of 8 elements.
  for (const void* ptr : {a.q, a.k, a.v}) {
    if (!IsAligned(ptr, 16)) return false;
  }
  for (int64_t s : {a.q_sb, a.q_ss, a.q_sh, a.k_sb, a.k_ss, a.k_sh, a.v_sb, a.v_ss, a.v_sh}) {
    if (s % 8 != 0) return false;
  }
  // Output stores are 4-byte pairs.
  if (!IsAligned(a.out, 4)) return false;
  for (int64_t s : {a.o_sb, a.o_ss, a.o_sh}) {
    if (s % 2 != 0) return false;
  }
  return true;
}

size_t AttentionFlashWorkspaceBytes(const AttentionArgs& a, int splits) {
  if (splits <= 1) return 0;
  const int64_t n_rows = FoldedRows(a) * a.batch * a.hkv;
  return static_cast<size_t>(splits) * static_cast<size_t>(n_rows) *
         (static_cast<size_t>(a.d) + 2) * sizeof(float);
}

int AttentionFlashSplits(const AttentionArgs& a, int num_sms, size_t workspace_bytes, int forced) {
  const int max_splits = std::min(KeyTiles(a), kAttentionFlashMaxSplits);
  int splits = 1;
  if (forced > 0) {
    splits = std::min(forced, max_splits);
  } else {
    // Makespan model in units of one 64 x 64 block tile, calibrated on the H100 (cuda_ops_bench
    // --graph, pi0 expert B1 51x581 forced to 1..10 splits: ~5.5 us per tile per block, the
    // split form ~0.45 tile more: partial writes + merge kernel). Calibrated before the mask
    // staging halved the per-tile time (~2 us now, fixed costs ~12 us); its picks are still
    // the measured best at 29d9595 (expert: 10 splits 13.5 us vs 7 14.7; prefix 532: 3 splits
    // 29.1 us vs 2 34.2). The kernel is latency-bound
    // (4 warps a block), so the blocks resident on one SM (2 at D 256: 99 KB smem each; 3 at
    // D 128: registers) run side by side at nearly full speed: the makespan is waves x tiles
    // per block, a wave being resident x SMs blocks. The partials' round trip costs bytes /
    // 16 MB per tile (~3 TB/s for 5.5 us). Smallest cost wins, ties to fewer splits. The old
    // model counted co-resident blocks as serial and never split the prefixes; measured at
    // pi0's 532-token prefix: 72 us unsplit against 42 us with 3 splits. pi0 at 132 SMs:
    // expert B1 51x581 -> 10 splits, B4 -> 5, pi0.5 B1 10x810 -> 13, prefix 532 -> 3, 816 -> 2.
    const int64_t blocks = RowTiles(a) * a.batch * a.hkv;
    const int tiles = KeyTiles(a);
    const int64_t slots = static_cast<int64_t>(std::max(num_sms, 1)) * ResidentBlocks(a.d);
    double best = 0.0;
    for (int s = 1; s <= max_splits; ++s) {
      const int64_t waves = (blocks * s + slots - 1) / slots;
      const int per_block = (tiles + s - 1) / s;
      const double traffic = static_cast<double>(AttentionFlashWorkspaceBytes(a, s)) / 16e6;
      const double cost = static_cast<double>(waves * per_block) + (s == 1 ? 0.0 : 0.45 + traffic);
      if (s == 1 || cost < best) {
        best = cost;
        splits = s;
      }
    }
  }
  while (splits > 1 && AttentionFlashWorkspaceBytes(a, splits) > workspace_bytes) --splits;
  return std::max(splits, 1);
}

AttentionFlashPath LaunchAttentionFlash(const AttentionArgs& a, int splits, void* workspace,
                                        cudaStream_t stream, const AttentionFlashDevice& dev,
                                        bool allow_smem_mask, bool cluster_merge) {
  const bool bf = a.q_dtype == DType::kBF16;
  if (a.d == 256) {
    return bf ? Launch<__nv_bfloat16, 256>(a, splits, workspace, allow_smem_mask, cluster_merge, dev, stream)
              : Launch<__half, 256>(a, splits, workspace, allow_smem_mask, cluster_merge, dev, stream);
  }
  return bf ? Launch<__nv_bfloat16, 128>(a, splits, workspace, allow_smem_mask, cluster_merge, dev, stream)
            : Launch<__half, 128>(a, splits, workspace, allow_smem_mask, cluster_merge, dev, stream);
}

}  // namespace vlart::cuda
