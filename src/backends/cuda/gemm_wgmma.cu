// SPDX-License-Identifier: Apache-2.0
//
// gemm_wgmma.cu: vlart's Hopper GEMM for VLA-sized M (tens to a few hundred tokens): wgmma
// tensor cores, swapped operands, split-K across a thread-block cluster.
//
// Math:      D[m, n] = act(Σ_k A[m, k]·B[n, k] + bias[n]) + residual[m, n]   (nn.Linear: B = W)
//            Same contract as gemm_mma.cu (GemmMmaArgs): A [M, K] tokens, B [N, K] weights, both
//            K-contiguous 16-bit; D / residual [M, N] row-major; residual may alias D.
// Mapping:   swapped operands: the tensor cores compute Dᵀ = B·Aᵀ, so the weight rows
//            (features, N = 1024..16384) fill wgmma's fixed 64-row M side and the tokens take
//            the flexible side (wgmma N, any multiple of 8 up to 256): M = 262 is one token
//            tile of 2 x 136 (two wgmma calls per k-step) instead of three 128-row tiles with
//            a 6-row tail. A block owns kFeat (64 or 128: one or two consumer warpgroups)
//            features x kTok = kParts x kTokN tokens and one of S K-ranges; the S blocks of a
//            tile form one cluster (gridDim.x = S x feature tiles, cluster (S, 1, 1)). K
//            advances in 64-wide slices (one 128-byte row per operand row) through a pipeline
//            as deep as 220 KB of shared memory allows (3..8 stages): thread 0 issues the
//            copy engine's bulk tensor copies (TMA, one box per operand, zero-filled past M, N
//            and K) completing on a per-stage mbarrier, in the 128-byte swizzle the wgmma
//            descriptors name (16-byte chunk c of row r lives at chunk c ^ (r % 8)). Sealed
//            weights (GemmMmaArgs::b_sealed): the prologue's weight boxes are requested before
//            griddepcontrol.wait, the token boxes after it (one expect_tx arrival per slot
//            announces both); tiles of <= 64 tokens keep the pipeline under 100 KB so that
//            a block fits an SM beside the previous GEMM's. Each slice's
//            wgmma group stays in flight across the barrier that frees the previous slice's
//            slot for the next copy. Epilogue: every block parks
//            its f32 partial tile [kTok][kFeat] in its own shared memory; after a cluster
//            barrier, cluster rank r sums rows r·kTok/S.. of all S partials through distributed
//            shared memory, in rank order, applies bias / activation / residual in f32 and
//            stores rounded 8-feature vectors along N (coalesced rows of D).
// Numerics:  f32 accumulation in the tensor cores; split partials summed in f32 in a fixed
//            order (deterministic); bias, activation and residual applied to the f32 sum and
//            rounded once to the output dtype, as in gemm_mma.cu and the CPU reference.
// Requires:  sm_90a (wgmma). Compiled for other targets the kernel body is empty and
//            GemmWgmmaAvailable() reports false, so the backend never offers it there.
// Reference: backends/cpu Linear; parity in tests/ops/cuda_linear_parity_test.cc
//            (EveryTensorCoreGemmConfig runs every candidate the tuner may pick).
// Napkin:    X-VLA fc1 (M 262, N 4096, K 1024): 2.2 GFLOP, 8.4 MB of weights: ~3 us at
//            the H100 roofline; cuBLASLt takes 14.4 us inside a graph (docs/PERFORMANCE.md).

#include <cooperative_groups.h>
#include <cuda.h>  // CUtensorMap (types only: the encoder comes through the runtime's entry point)
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled

#include "backends/cuda/cluster_sync.cuh"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mbarrier.cuh"
#include "backends/cuda/pdl.cuh"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define VLART_WGMMA_ENABLED 1
#else
#define VLART_WGMMA_ENABLED 0
#endif

namespace vlart::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kBK = 64;            // K per pipeline slice: one 128-byte swizzle row per operand row
constexpr int kRowBytes = kBK * 2;  // 16-bit operands
constexpr int kMaxSplits = 8;       // portable cluster size
constexpr int kSmemBudget = 220 * 1024;

// The tile shapes, indexed by GemmMmaConfig::tile - kWgmmaTileBase: kFeat features (64 or 128:
// one or two consumer warpgroups) x kParts wgmma calls of kTokN tokens (wgmma N; the
// instruction wrappers come from tools/gen_wgmma_instr.py). kParts = 2 covers M up to 272
// in one token tile, so the weights stream exactly once.
struct WgmmaTile {
  int feat, tok_n, parts;
};
constexpr WgmmaTile kWgmmaTiles[] = {
    {64, 32, 1},  {128, 32, 1},  {64, 56, 1},  {128, 56, 1},  {64, 64, 1},   {128, 64, 1},
    {64, 104, 1}, {128, 104, 1}, {64, 136, 1}, {128, 136, 1}, {64, 200, 1},  {128, 200, 1},
    {64, 256, 1}, {128, 256, 1}, {64, 136, 2}, {128, 136, 2},
};
constexpr int kNumWgmmaTiles = sizeof(kWgmmaTiles) / sizeof(kWgmmaTiles[0]);

// Few-token tiles (the action experts' 10-51 rows) keep their pipeline under half an SM's
// shared memory, so that a block can be resident next to the previous GEMM's block and
// fetch its first weight slices while that one finishes (early weights, below).
constexpr int kSmallTok = 64;
constexpr int kSmallSmemBudget = 100 * 1024;

constexpr int StageBytes(int feat, int tok) { return (feat + tok) * kRowBytes; }
// As many pipeline stages as the shared-memory budget holds, 3..8.
constexpr int StagesFor(int feat, int tok) {
  const int n = (tok <= kSmallTok ? kSmallSmemBudget : kSmemBudget) / StageBytes(feat, tok);
  return n > 8 ? 8 : (n < 3 ? 3 : n);
}
constexpr int PartialStride(int feat) { return feat + 4; }  // f32 words per token row
constexpr size_t SmemBytes(int feat, int tok) {
  const size_t pipeline = static_cast<size_t>(StagesFor(feat, tok)) * StageBytes(feat, tok);
  const size_t partial = static_cast<size_t>(tok) * PartialStride(feat) * sizeof(float);
  return (pipeline > partial ? pipeline : partial) + 1024;  // + alignment slack
}

#if VLART_WGMMA_ENABLED
#include "backends/cuda/wgmma_instr.inc"

__device__ __forceinline__ uint32_t SmemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- bulk tensor copy (TMA); the mbarrier helpers are mbarrier.cuh's ---------------------
// Copies the box at (inner = k, outer = row) of `map` into shared memory at `dst`, in the
// map's 128-byte swizzle, zero-filling out-of-bounds elements; completes on `bar`.
__device__ __forceinline__ void TmaLoad2d(uint32_t dst, const CUtensorMap* map, int k, int row,
                                          uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
      "[%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(k), "r"(row), "r"(bar)
      : "memory");
}

__device__ __forceinline__ void WgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void WgmmaCommit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int kPending>
__device__ __forceinline__ void WgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

// Shared-memory matrix descriptor for a K-major operand in the 128-byte swizzle: rows of 128
// bytes, 8-row core-matrix groups 1024 bytes apart (stride byte offset), leading byte offset
// unused for this layout (1 by convention), base offset 0 (tiles are 1024-byte aligned).
__device__ __forceinline__ uint64_t SwizzledKMajorDesc(uint32_t smem_addr) {
  uint64_t desc = (smem_addr & 0x3FFFFu) >> 4;
  desc |= static_cast<uint64_t>(1) << 16;
  desc |= static_cast<uint64_t>(1024 >> 4) << 32;
  desc |= static_cast<uint64_t>(1) << 62;
  return desc;
}
#endif  // VLART_WGMMA_ENABLED

#if VLART_WGMMA_ENABLED
// Epilogue of one block: token rows [row_begin, row_end) of the tile x all kFeat features,
// summing the cluster's `splits` partial tiles (distributed shared memory, rank order).
template <typename T, int kFeat, int kThreads, ActKind kAct>
__device__ __forceinline__ void StoreRows(const GemmMmaArgs& p, const float* partial, int splits,
                                          int row_begin, int row_end, int t0, int f0) {
  cg::cluster_group cluster = cg::this_cluster();
  const int tid = threadIdx.x;
  // Each thread owns 8 consecutive features (one 16-byte output vector) and walks the rows
  // kRowsPerPass apart. kBatch rows are loaded (partials, residual) before any is stored so
  // their latencies overlap: with an in-place residual the compiler may not hoist a later
  // row's load above an earlier row's store by itself, and a row at a time left this
  // epilogue latency-bound (docs/PERFORMANCE.md, "wgmma GEMM").
  constexpr int kVec = 8;
  constexpr int kThreadsPerRow = kFeat / kVec;
  constexpr int kRowsPerPass = kThreads / kThreadsPerRow;
  constexpr int kBatch = 4;
  T* d = static_cast<T*>(p.d);
  const T* bias = static_cast<const T*>(p.bias);
  const T* res = static_cast<const T*>(p.residual);
  const int fl = (tid % kThreadsPerRow) * kVec;
  const int n = f0 + fl;
  const bool vec = p.vec_io && n + kVec <= p.n;
  float bias_v[kVec];
#pragma unroll
  for (int i = 0; i < kVec; ++i) bias_v[i] = (bias != nullptr && n + i < p.n) ? ToFloat(bias[n + i]) : 0.0f;
  const int first_row = row_begin + tid / kThreadsPerRow;
  for (int r0 = first_row; n < p.n && r0 < row_end; r0 += kRowsPerPass * kBatch) {
    float v[kBatch][kVec];
    T rv[kBatch][kVec];
#pragma unroll
    for (int bi = 0; bi < kBatch; ++bi) {
      const int row = r0 + bi * kRowsPerPass;
      const int m = t0 + row;
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        v[bi][i] = 0.0f;
        rv[bi][i] = FromFloat<T>(0.0f);
      }
      if (row >= row_end || m >= p.m) continue;
      // Every split's 8 values are requested before any is added (a loop of loads alone: as
      // load-then-add the splits were one distributed-shared-memory round trip each); the
      // sum still runs in rank order.
      float4 lo[kMaxSplits], hi[kMaxSplits];
#pragma unroll
      for (int s = 0; s < kMaxSplits; ++s) {
        if (s < splits) {
          const float* src = (splits > 1 ? cluster.map_shared_rank(partial, s) : partial) +
                             row * PartialStride(kFeat) + fl;
          lo[s] = *reinterpret_cast<const float4*>(src);
          hi[s] = *reinterpret_cast<const float4*>(src + 4);
        }
      }
#pragma unroll
      for (int s = 0; s < kMaxSplits; ++s) {
        if (s < splits) {
          v[bi][0] += lo[s].x, v[bi][1] += lo[s].y, v[bi][2] += lo[s].z, v[bi][3] += lo[s].w;
          v[bi][4] += hi[s].x, v[bi][5] += hi[s].y, v[bi][6] += hi[s].z, v[bi][7] += hi[s].w;
        }
      }
      if (res != nullptr) {
        const T* r = res + static_cast<int64_t>(m) * p.ldr + n;
        if (vec) {
          const uint4 raw = *reinterpret_cast<const uint4*>(r);
          memcpy(rv[bi], &raw, sizeof(raw));
        } else {
#pragma unroll
          for (int i = 0; i < kVec; ++i) {
            if (n + i < p.n) rv[bi][i] = r[i];
          }
        }
      }
    }
#pragma unroll
    for (int bi = 0; bi < kBatch; ++bi) {
      const int row = r0 + bi * kRowsPerPass;
      const int m = t0 + row;
      if (row >= row_end || m >= p.m) continue;
      T out[kVec];
#pragma unroll
      for (int i = 0; i < kVec; ++i) {
        float x = Activate<kAct>(v[bi][i] + bias_v[i]);
        if (res != nullptr) x += ToFloat(rv[bi][i]);
        out[i] = FromFloat<T>(x);
      }
      T* dst = d + static_cast<int64_t>(m) * p.ldd + n;
      if (vec) {
        uint4 raw;
        memcpy(&raw, out, sizeof(raw));
        *reinterpret_cast<uint4*>(dst) = raw;
      } else {
#pragma unroll
        for (int i = 0; i < kVec; ++i) {
          if (n + i < p.n) dst[i] = out[i];
        }
      }
    }
  }
}

#endif  // VLART_WGMMA_ENABLED

template <typename T, int kFeat, int kTokN, int kParts>
__global__ void __launch_bounds__(kFeat * 2, 1)
    GemmWgmmaKernel(GemmMmaArgs p, int splits, int k_blocks, const __grid_constant__ CUtensorMap weights,
                    const __grid_constant__ CUtensorMap tokens) {
#if VLART_WGMMA_ENABLED
  constexpr int kTok = kTokN * kParts;  // tokens per tile
  constexpr int kStages = StagesFor(kFeat, kTok);
  constexpr int kThreads = kFeat * 2;  // one 128-thread warpgroup per 64 features
  // A stage holds kFeat weight rows, then kTok token rows, 128 bytes each.
  constexpr int kAcc = kTokN / 2;      // accumulators per thread per part
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw_addr = SmemAddr(smem_raw);
  const uint32_t base_addr = (raw_addr + 1023u) & ~1023u;
  unsigned char* base = smem_raw + (base_addr - raw_addr);

  const int tid = threadIdx.x;
  const int wg = tid / 128;
  const int split = static_cast<int>(blockIdx.x) % splits;
  const int f0 = static_cast<int>(blockIdx.x) / splits * kFeat;
  const int t0 = static_cast<int>(blockIdx.y) * kTok;
  const int kb_begin = static_cast<int>(static_cast<int64_t>(k_blocks) * split / splits);
  const int kb_end = static_cast<int>(static_cast<int64_t>(k_blocks) * (split + 1) / splits);
  const int nkb = kb_end - kb_begin;
  // full[s] completes when slot s holds its K slice (both operands, by the copy engine).
  __shared__ alignas(8) uint64_t full[kStages];
  // Thread 0 fills a slot: the kFeat x 64 weight box and kParts token boxes of kTokN x 64, in
  // two halves so that the weights may go first (one arrival announcing both halves' bytes:
  // the phase cannot complete before the token boxes land too).
  auto load_weights = [&](int slot, int kb) {
    const uint32_t stage = base_addr + slot * StageBytes(kFeat, kTok);
    const uint32_t bar = SmemAddr(&full[slot]);
    MbarArriveExpectTx(bar, StageBytes(kFeat, kTok));
    TmaLoad2d(stage, &weights, kb * kBK, f0, bar);
  };
  auto load_tokens = [&](int slot, int kb) {
    const uint32_t stage = base_addr + slot * StageBytes(kFeat, kTok);
    const uint32_t bar = SmemAddr(&full[slot]);
#pragma unroll
    for (int part = 0; part < kParts; ++part) {
      TmaLoad2d(stage + (kFeat + part * kTokN) * kRowBytes, &tokens, kb * kBK, t0 + part * kTokN, bar);
    }
  };
  auto load_stage = [&](int slot, int kb) {
    load_weights(slot, kb);
    load_tokens(slot, kb);
  };
  const int prologue = kStages - 1 < nkb ? kStages - 1 : nkb;
  // Early weights: sealed weights (GemmMmaArgs::b_sealed) are written by no kernel, so the
  // prologue's weight boxes are requested before griddepcontrol.wait. With programmatic
  // dependent launch (pdl.cuh) they stream in while the previous kernel (which read or wrote
  // the tokens, never these weights) is still running; the token boxes follow the wait.
  const bool early = p.b_sealed;
  if (!p.late_trigger) PdlAllowDependents();
  if (tid == 0) {
    for (int st = 0; st < kStages; ++st) MbarInit(SmemAddr(&full[st]), 1);
    FenceMbarInit();
    if (early) {
      for (int st = 0; st < prologue; ++st) load_weights(st, kb_begin + st);
    }
  }
  // Launched with PDL (pdl.cuh): the setup above overlaps the previous kernel's tail.
  PdlWaitPrior();
  __syncthreads();

  float acc[kParts][kAcc];
#pragma unroll
  for (int part = 0; part < kParts; ++part) {
#pragma unroll
    for (int i = 0; i < kAcc; ++i) acc[part][i] = 0.0f;
  }

  if (tid == 0) {
    for (int st = 0; st < prologue; ++st) {
      if (early) {
        load_tokens(st, kb_begin + st);
      } else {
        load_stage(st, kb_begin + st);
      }
    }
  }
  for (int i = 0; i < nkb; ++i) {
    const int slot = i % kStages;
    if (!(p.probe & 1) || i < kStages - 1) MbarWait(SmemAddr(&full[slot]), (i / kStages) & 1);
    const uint32_t stage = base_addr + slot * StageBytes(kFeat, kTok);
    const uint32_t wtile = stage + wg * 64 * kRowBytes;
    const uint32_t ttile = stage + kFeat * kRowBytes;
    WgmmaFence();
    if (!(p.probe & 2)) {
#pragma unroll
      for (int kk = 0; kk < kBK / 16; ++kk) {
        const uint64_t wdesc = SwizzledKMajorDesc(wtile + kk * 32);
#pragma unroll
        for (int part = 0; part < kParts; ++part) {
          WgmmaSS<T, kTokN>::Run(acc[part], wdesc,
                                  SwizzledKMajorDesc(ttile + part * kTokN * kRowBytes + kk * 32));
        }
      }
    }
    WgmmaCommit();
    // Slice i's products stay in flight; slice i - 1's are done in this warpgroup, and after
    // the barrier in every warpgroup, so its slot (the one refilled next) is free.
    WgmmaWait<1>();
    __syncthreads();
    const int next = i + kStages - 1;
    if (tid == 0 && next < nkb && !(p.probe & 1)) load_stage(next % kStages, kb_begin + next);
  }
  WgmmaWait<0>();
  if (p.late_trigger) PdlAllowDependents();
  __syncthreads();  // pipeline slots are reused for the partial tile below

  // Accumulator fragment (m64nNk16, f32): register 4j + e of lane l in warp w of the warpgroup
  // holds Dᵀ[feature 16w + l/4 + 8·(e/2)][token 8j + 2·(l%4) + e%2].
  float* partial = reinterpret_cast<float*>(base);
  {
    const int warp = (tid % 128) / 32;
    const int lane = tid % 32;
    const int feat = wg * 64 + warp * 16 + lane / 4;
#pragma unroll
    for (int part = 0; part < kParts; ++part) {
#pragma unroll
      for (int j = 0; j < kTokN / 8; ++j) {
        const int tok = part * kTokN + j * 8 + 2 * (lane % 4);
        partial[tok * PartialStride(kFeat) + feat] = acc[part][4 * j];
        partial[(tok + 1) * PartialStride(kFeat) + feat] = acc[part][4 * j + 1];
        partial[tok * PartialStride(kFeat) + feat + 8] = acc[part][4 * j + 2];
        partial[(tok + 1) * PartialStride(kFeat) + feat + 8] = acc[part][4 * j + 3];
      }
    }
  }
  if (splits > 1) {
    ClusterSync();
  } else {
    __syncthreads();
  }

  // This block's share of the tile: token rows [row_begin, row_end) x all kFeat features.
  const int rows_per = (kTok + splits - 1) / splits;
  const int row_begin = split * rows_per;
  const int row_end = min(kTok, row_begin + rows_per);
  if (!(p.probe & 4)) {
    switch (static_cast<ActKind>(p.act)) {
      case ActKind::kGeluErf:
        StoreRows<T, kFeat, kThreads, ActKind::kGeluErf>(p, partial, splits, row_begin, row_end, t0, f0);
        break;
      case ActKind::kGeluTanh:
        StoreRows<T, kFeat, kThreads, ActKind::kGeluTanh>(p, partial, splits, row_begin, row_end, t0, f0);
        break;
      case ActKind::kSilu:
        StoreRows<T, kFeat, kThreads, ActKind::kSilu>(p, partial, splits, row_begin, row_end, t0, f0);
        break;
      case ActKind::kSigmoid:
        StoreRows<T, kFeat, kThreads, ActKind::kSigmoid>(p, partial, splits, row_begin, row_end, t0, f0);
        break;
      default:
        StoreRows<T, kFeat, kThreads, ActKind::kNone>(p, partial, splits, row_begin, row_end, t0, f0);
        break;
    }
  }
  // No block may leave while a peer still reads its shared memory.
  if (splits > 1) ClusterExitSync();
#else
  __trap();
#endif
}

template <typename T, int kIndex>
void SetLimit() {
  constexpr WgmmaTile t = kWgmmaTiles[kIndex];
  VLART_CUDA_CHECK(cudaFuncSetAttribute(GemmWgmmaKernel<T, t.feat, t.tok_n, t.parts>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(SmemBytes(t.feat, t.tok_n * t.parts))));
}

template <typename T, int... kIndex>
void SetLimitsAll(std::integer_sequence<int, kIndex...>) {
  (SetLimit<T, kIndex>(), ...);
}

PFN_cuTensorMapEncodeTiled_v12000 g_encode_tiled = nullptr;

// A 2-D tensor map over a K-contiguous 16-bit matrix [rows, k] of row stride `ld` elements:
// boxes of 64 x box_rows elements landing in the 128-byte swizzle, out-of-bounds elements
// read as zeros.
CUtensorMap KMajorMap(const void* ptr, DType dtype, int64_t rows, int64_t k, int64_t ld, int box_rows) {
  CUtensorMap map;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(k), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(ld) * 2};
  const cuuint32_t box[2] = {static_cast<cuuint32_t>(kBK), static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t elem_strides[2] = {1, 1};
  const CUresult r = g_encode_tiled(
      &map, dtype == DType::kBF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2,
      const_cast<void*>(ptr), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    // Arguments were validated by GemmMmaSupported (16-byte aligned base and row stride).
    detail::CudaCheckFailed("cuTensorMapEncodeTiled (GEMM operand)", __FILE__, __LINE__,
                            cudaErrorInvalidValue);
  }
  return map;
}

template <typename T, int kIndex>
void LaunchIndex(const GemmMmaArgs& p, DType dtype, int splits, cudaStream_t stream) {
  constexpr WgmmaTile t = kWgmmaTiles[kIndex];
  constexpr int tok = t.tok_n * t.parts;
  const int feat_tiles = (p.n + t.feat - 1) / t.feat;
  const int tok_tiles = (p.m + tok - 1) / tok;
  const int k_blocks = (p.k + kBK - 1) / kBK;
  const CUtensorMap weights = KMajorMap(p.b, dtype, p.n, p.k, p.ldb, t.feat);
  const CUtensorMap tokens = KMajorMap(p.a, dtype, p.m, p.k, p.lda, t.tok_n);
  LaunchPdl(GemmWgmmaKernel<T, t.feat, t.tok_n, t.parts>,
            dim3(static_cast<unsigned int>(feat_tiles * splits), static_cast<unsigned int>(tok_tiles), 1),
            dim3(t.feat * 2), SmemBytes(t.feat, tok), stream, static_cast<unsigned int>(splits), p, splits,
            k_blocks, weights, tokens);
}

template <typename T, int... kIndex>
void LaunchByIndex(int index, const GemmMmaArgs& p, DType dtype, int splits, cudaStream_t stream,
                   std::integer_sequence<int, kIndex...>) {
  ((index == kIndex ? LaunchIndex<T, kIndex>(p, dtype, splits, stream) : void()), ...);
}

bool g_wgmma_available = false;

// VLART_WGMMA_PROBE (timing experiments only, results are wrong): bit 0 skips the copies after
// the prologue, bit 1 the wgmma, bit 2 the epilogue's loads and stores. Read once.
int WgmmaProbeMode() {
  static const int mode = [] {
    const char* v = std::getenv("VLART_WGMMA_PROBE");
    return v == nullptr ? 0 : std::atoi(v);
  }();
  return mode;
}

}  // namespace

void InitGemmWgmmaKernels() {
  int device = 0;
  VLART_CUDA_CHECK(cudaGetDevice(&device));
  g_wgmma_available = false;
  // The device runs this build's sm_90a code (kernel_image.h), which exists only for compute
  // capability 9.0: not code JIT-compiled from older PTX, not another GPU.
  KernelImage image;
  if (QueryKernelImage(device, &image) != cudaSuccess || !image.sm90a_features) return;
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found) !=
          cudaSuccess ||
      found != cudaDriverEntryPointSuccess || fn == nullptr) {
    cudaGetLastError();  // clear: the backend simply runs without this kernel
    return;
  }
  g_encode_tiled = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  SetLimitsAll<__nv_bfloat16>(std::make_integer_sequence<int, kNumWgmmaTiles>{});
  SetLimitsAll<__half>(std::make_integer_sequence<int, kNumWgmmaTiles>{});
  g_wgmma_available = true;
}

bool GemmWgmmaAvailable() { return g_wgmma_available; }

bool GemmWgmmaOffered() {
  static const bool on = EnvSwitchSet("VLART_WGMMA");
  return g_wgmma_available && on;
}

std::vector<GemmMmaConfig> GemmWgmmaCandidates(int64_t m, int64_t n, int64_t k, int num_sms) {
  std::vector<GemmMmaConfig> out;
  if (!g_wgmma_available) return out;
  const int64_t k_blocks = (k + kBK - 1) / kBK;
  for (int index = 0; index < kNumWgmmaTiles; ++index) {
    const WgmmaTile t = kWgmmaTiles[index];
    const int64_t tok = t.tok_n * t.parts;
    const int64_t tok_tiles = (m + tok - 1) / tok;
    // Skip token tiles that are mostly padding (more than ~1/3 idle) unless it is the only
    // way to cover M with few tiles; 32 always qualifies for tiny M.
    const int64_t padded = tok_tiles * tok;
    if (tok > 32 && padded * 2 > 3 * m + 48) continue;
    if (tok_tiles > 16) continue;  // large M: weights re-streamed per token tile; cuBLASLt's job
    const int64_t tiles = tok_tiles * ((n + t.feat - 1) / t.feat);
    for (int splits : {1, 2, 4, 8}) {
      if (splits > kMaxSplits || splits > k_blocks) break;
      if (splits > 1 && k_blocks / splits < 2) break;  // at least two slices per block
      if (splits > 1 && tiles * splits > 2 * num_sms) break;
      out.push_back(GemmMmaConfig{kWgmmaTileBase + index, splits});
      if (tiles * splits >= num_sms) break;  // a full wave: more splits only add reduction
    }
  }
  return out;
}

void LaunchGemmWgmma(const GemmMmaArgs& p, DType dtype, const GemmMmaConfig& config,
                     cudaStream_t stream) {
  const int index = config.tile - kWgmmaTileBase;
  const int splits = config.splits < 1 ? 1 : (config.splits > kMaxSplits ? kMaxSplits : config.splits);
  GemmMmaArgs q = p;
  q.probe = WgmmaProbeMode();
  q.vec_io = IsAligned(p.d, 16) && p.ldd % 8 == 0 &&
             (p.residual == nullptr || (IsAligned(p.residual, 16) && p.ldr % 8 == 0));
  if (dtype == DType::kBF16) {
    LaunchByIndex<__nv_bfloat16>(index, q, dtype, splits, stream,
                                 std::make_integer_sequence<int, kNumWgmmaTiles>{});
  } else {
    LaunchByIndex<__half>(index, q, dtype, splits, stream,
                          std::make_integer_sequence<int, kNumWgmmaTiles>{});
  }
}

}  // namespace vlart::cuda
