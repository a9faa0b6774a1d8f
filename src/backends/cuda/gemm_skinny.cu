// SPDX-License-Identifier: Apache-2.0
//
// gemm_skinny.cu: vlart's tensor-core GEMM for few-row problems (M <= 64): the pi0 action
// expert's 51 (pi0) or 10 (pi0.5) token rows against 4-17 MB weight matrices.
//
// Math:      D[m, n] = act(Σ_k A[m, k]·B[n, k] + bias[n]) + residual[m, n]   (nn.Linear: B = W)
//            Same contract as gemm_mma.cu (GemmMmaArgs); residual may alias D.
// Why:       at M <= 64 a GEMM is one pass over B, and what costs is latency, not FLOPs:
//            cuBLASLt takes 6-9 us inside a graph for expert GEMMs whose weights take 1.3-5 us
//            of HBM time (docs/PERFORMANCE.md). Two things hide it here: enough blocks (K split
//            across a cluster) that every SM streams a share of B, and, for sealed weights
//            (Arena::Seal), B's first slices requested before griddepcontrol.wait, so with
//            programmatic dependent launch the weight fetch overlaps the previous kernel.
// Mapping:   a block owns all M rows (kBM = 16 or 64 >= M, zero-filled past M) x 64 columns
//            of D, and one of S K ranges (S in 1, 2, 4, 8); the S blocks of a column tile form
//            one thread-block cluster (grid.x = tiles x S, cluster (S, 1, 1), rank = K range).
//            4 warps; warp w computes rows [0, kBM) x columns [16w, 16w + 16) with mma.sync
//            m16n8k16 on ldmatrix fragments. K advances in 64-wide slices through a kStages-
//            deep cp.async ring (16-byte copies, zero-filled past M, N and K). Sealed B: slices
//            0..kStages-2 of B are issued before PdlWaitPrior (they join the first cp.async
//            group; A's slices follow the wait), so nothing that a previous kernel writes is
//            read early. S > 1: every block parks its f32 partial tile in its own shared
//            memory; after a cluster barrier rank r sums rows [r kBM / S, (r + 1) kBM / S) of
//            all S partials through distributed shared memory in rank order, applies the
//            epilogue and stores; a second barrier keeps the partials alive until then.
// Numerics:  f32 accumulation; split partials summed in f32 in a fixed order (deterministic,
//            and the same with or without the early weight loads); bias, activation and
//            residual on the f32 sum, one rounding to T -- as gemm_mma.cu and the CPU
//            reference. Different split counts may differ in the last f32 bits.
// Status:    offered to the tuner (VLART_SKINNY=0 leaves it out; GemmSkinnyOffered). The
//            next kernel may launch only after the main loop (GemmMmaArgs::late_trigger, see
//            pdl.cuh), and the split reduction requests every split's values before adding
//            any. With both (H100, docs/PERFORMANCE.md, 2026-11-23) the tuner picks it for
//            pi0.5's 10-row qkv, o_proj and down, and pi0.5's denoise went 9.82 -> 9.11 ms
//            (same call); at pi0's 51 rows cuBLASLt still wins the tuner's trials (gate_up
//            11.8 vs 7.9 us alone). Each block moves its slices with ~8 cp.async per thread
//            per slice; bulk (TMA) copies are the next step.
// Requires:  sm_90 (clusters, griddepcontrol); elsewhere the body traps and no config is offered.
// Reference: backends/cpu Linear; tests/ops/cuda_linear_parity_test.cc
//            (EveryTensorCoreGemmConfig; TensorCoreGemmSealedWeightsMatchUnsealedBits).
// Napkin:    pi0 expert gate_up (51 x 1024 -> 8192): 16.8 MB of weights, 5.0 us at 3.35 TB/s;
//            128 column tiles x S = 1..2 blocks. down (51 x 4096 -> 1024): 8.4 MB, 16 tiles x 8.

#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>
#include <type_traits>

#include "backends/cuda/cluster_sync.cuh"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/gemm_tile_load.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kBN = 64;
constexpr int kBK = kGemmBK;
constexpr int kThreads = 128;             // 4 warps, 16 columns each
constexpr int kSmemStride = kGemmSmemStride;
constexpr int kPartialStride = kBN + 4;   // f32 words per row of a parked partial tile
constexpr int kMaxSplits = 8;             // portable cluster size

// Row tiles of the table (GemmMmaConfig::tile - kSkinnyTileBase).
constexpr int kRowTiles[] = {16, 64};
constexpr int kNumRowTiles = 2;

constexpr int StagesFor(int bm) { return bm <= 16 ? 8 : 6; }
constexpr size_t SmemBytes(int bm) {
  const size_t pipeline = static_cast<size_t>(StagesFor(bm)) * (bm + kBN) * kSmemStride * 2;
  const size_t partial = static_cast<size_t>(bm) * kPartialStride * sizeof(float);
  return pipeline > partial ? pipeline : partial;
}

// act(v + bias) + residual for the pair of columns (col, col + 1) of `row`, rounded once and
// stored (as one 4-byte store when allowed).
template <typename T, ActKind kAct>
__device__ __forceinline__ void StorePair(const GemmMmaArgs& p, int row, int col, float v0, float v1) {
  const bool pair = col + 1 < p.n;
  const T* bias = static_cast<const T*>(p.bias);
  const T* res = static_cast<const T*>(p.residual);
  if (bias != nullptr) {
    v0 += ToFloat(bias[col]);
    if (pair) v1 += ToFloat(bias[col + 1]);
  }
  v0 = Activate<kAct>(v0);
  v1 = Activate<kAct>(v1);
  if (res != nullptr) {
    const T* r = res + static_cast<int64_t>(row) * p.ldr + col;
    v0 += ToFloat(r[0]);
    if (pair) v1 += ToFloat(r[1]);
  }
  T* dst = static_cast<T*>(p.d) + static_cast<int64_t>(row) * p.ldd + col;
  if (pair && p.paired_stores) {
    T out2[2] = {FromFloat<T>(v0), FromFloat<T>(v1)};
    uint32_t packed;
    memcpy(&packed, out2, sizeof(packed));
    *reinterpret_cast<uint32_t*>(dst) = packed;
  } else {
    dst[0] = FromFloat<T>(v0);
    if (pair) dst[1] = FromFloat<T>(v1);
  }
}

template <typename T, int kBM, ActKind kAct>
__global__ void __launch_bounds__(kThreads)
    GemmSkinnyKernel(GemmMmaArgs p, int splits, int k_per_split) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // never launched: GemmSkinnyCandidates offers nothing below sm_90
#else
  constexpr int kStages = StagesFor(kBM);
  constexpr int kMi = kBM / 16;
  constexpr int kStageElems = (kBM + kBN) * kSmemStride;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  uint16_t* smem = reinterpret_cast<uint16_t*>(smem_raw);

  const int tile = blockIdx.x / splits;
  const int split = blockIdx.x % splits;  // == the block's rank in its cluster
  const int n0 = tile * kBN;
  const int k_begin = split * k_per_split;
  const int k_end = min(p.k, k_begin + k_per_split);
  const int num_k = k_end > k_begin ? (k_end - k_begin + kBK - 1) / kBK : 0;
  const uint16_t* a = static_cast<const uint16_t*>(p.a);
  const uint16_t* b = static_cast<const uint16_t*>(p.b);
  const auto load_a = [&](int stage, int kt) {
    LoadSlice<kBM, kThreads>(smem + stage * kStageElems, a, p.lda, 0, p.m, k_begin + kt * kBK, k_end);
  };
  const auto load_b = [&](int stage, int kt) {
    LoadSlice<kBN, kThreads>(smem + stage * kStageElems + kBM * kSmemStride, b, p.ldb, n0, p.n,
                   k_begin + kt * kBK, k_end);
  };

  // The next kernel may launch now: everything it reads before its own wait is sealed.
  if (!p.late_trigger) PdlAllowDependents();
  if (p.b_sealed) {
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < num_k) load_b(s, s);
    }
  }
  PdlWaitPrior();
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < num_k) {
      if (!p.b_sealed) load_b(s, s);
      load_a(s, s);
    }
    asm volatile("cp.async.commit_group;\n" ::);
  }

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  float acc[kMi][2][4];
#pragma unroll
  for (int i = 0; i < kMi; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;

  for (int kt = 0; kt < num_k; ++kt) {
    // Group g holds slice g's A (group 0 also every early B slice): groups 0..kt are done.
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2));
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < num_k) {
      load_b(next % kStages, next);
      load_a(next % kStages, next);
    }
    asm volatile("cp.async.commit_group;\n" ::);

    const uint16_t* as = smem + (kt % kStages) * kStageElems;
    const uint16_t* bs = as + kBM * kSmemStride;
#pragma unroll
    for (int kk = 0; kk < kBK / 16; ++kk) {
      uint32_t bf[4];
      Ldmatrix4(bf, bs + (warp * 16 + (lane / 16) * 8 + (lane % 8)) * kSmemStride + kk * 16 +
                        ((lane / 8) % 2) * 8);
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        uint32_t af[4];
        Ldmatrix4(af, as + (i * 16 + (lane % 16)) * kSmemStride + kk * 16 + (lane / 16) * 8);
        Mma<T>(acc[i][0], af, bf[0], bf[1]);
        Mma<T>(acc[i][1], af, bf[2], bf[3]);
      }
    }
  }
  asm volatile("cp.async.wait_group 0;\n" ::);
  if (p.late_trigger) PdlAllowDependents();

  const int grp = lane / 4;
  const int tig = lane % 4;
  if (splits == 1) {
#pragma unroll
    for (int i = 0; i < kMi; ++i) {
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        const int col = n0 + warp * 16 + j * 8 + 2 * tig;
        if (col >= p.n) continue;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int row = i * 16 + grp + h * 8;
          if (row < p.m) StorePair<T, kAct>(p, row, col, acc[i][j][2 * h], acc[i][j][2 * h + 1]);
        }
      }
    }
    return;
  }

  // Park the partial tile [kBM][kBN] (f32) over the pipeline's shared memory.
  __syncthreads();  // every warp is done reading the last slice
  float* partial = reinterpret_cast<float*>(smem_raw);
#pragma unroll
  for (int i = 0; i < kMi; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = i * 16 + grp + h * 8;
        const int col = warp * 16 + j * 8 + 2 * tig;
        *reinterpret_cast<float2*>(partial + row * kPartialStride + col) =
            make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
      }
  cg::cluster_group cluster = cg::this_cluster();
  ClusterSync();
  // Rank `split` reduces rows [row0, row0 + rows) of the tile, two columns per step.
  const int rows = (kBM + splits - 1) / splits;
  const int row0 = split * rows;
  for (int e = threadIdx.x; e < rows * (kBN / 2); e += kThreads) {
    const int row = row0 + e / (kBN / 2);
    const int c = (e % (kBN / 2)) * 2;
    const int col = n0 + c;
    if (row >= kBM || row >= p.m || col >= p.n) continue;
    // Every split's pair is requested before any is added (one distributed-shared-memory
    // round trip per element, not one per split); the sum still runs in rank order.
    float2 part[kMaxSplits];
#pragma unroll
    for (int s = 0; s < kMaxSplits; ++s) {
      if (s < splits) {
        part[s] = *reinterpret_cast<const float2*>(cluster.map_shared_rank(partial, s) +
                                                   row * kPartialStride + c);
      }
    }
    float v0 = 0.0f, v1 = 0.0f;
#pragma unroll
    for (int s = 0; s < kMaxSplits; ++s) {
      if (s < splits) {
        v0 += part[s].x;
        v1 += part[s].y;
      }
    }
    StorePair<T, kAct>(p, row, col, v0, v1);
  }
  ClusterExitSync();  // the peers' partials stay readable until every rank is done
#endif
}

bool g_skinny_available = false;  // the device and this build's code for it have clusters and PDL (sm_90+)
// The dynamic shared memory a block may use (kernel_image.h). The 64-row tile's pipeline
// (108 KB) exceeds a 99 KB GPU's (RTX 50 has clusters and PDL, so this kernel is offered
// there): its M 17..64 GEMMs keep the other candidates.
size_t g_skinny_smem_optin = 0;

bool RowsFit(int bm) { return SmemBytes(bm) <= g_skinny_smem_optin; }
bool RowTileFits(int t) { return RowsFit(kRowTiles[t]); }

template <typename T, int kBM>
void SetLimit() {
  if (!RowsFit(kBM)) return;  // never offered (RowTileFits)
  const auto set = [](auto kernel) {
    VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(SmemBytes(kBM))));
  };
  set(GemmSkinnyKernel<T, kBM, ActKind::kNone>);
  set(GemmSkinnyKernel<T, kBM, ActKind::kGeluErf>);
  set(GemmSkinnyKernel<T, kBM, ActKind::kGeluTanh>);
  set(GemmSkinnyKernel<T, kBM, ActKind::kSilu>);
  set(GemmSkinnyKernel<T, kBM, ActKind::kSigmoid>);
}

template <typename T, int kBM>
void Launch(const GemmMmaArgs& p, int splits, cudaStream_t stream) {
  const int k_per_split = KPerSplit(p.k, splits);
  const int used = UsedSplits(p.k, k_per_split);
  const int tiles = (p.n + kBN - 1) / kBN;
  WithAct(static_cast<ActKind>(p.act), [&](auto act) {
    LaunchPdl(GemmSkinnyKernel<T, kBM, decltype(act)::value>, dim3(tiles * used), dim3(kThreads),
              SmemBytes(kBM), stream, static_cast<unsigned int>(used), p, used, k_per_split);
  });
}

template <typename T>
void Dispatch(const GemmMmaArgs& p, int row_tile, int splits, cudaStream_t stream) {
  if (kRowTiles[row_tile] == 16) {
    Launch<T, 16>(p, splits, stream);
  } else {
    Launch<T, 64>(p, splits, stream);
  }
}

}  // namespace

void InitGemmSkinnyKernels() {
  g_skinny_available = KernelImageHasHopperFeatures();  // kernel_image.h: the code, not just the device
  if (!g_skinny_available) return;
  g_skinny_smem_optin = SharedMemoryOptinBytes();
  SetLimit<__nv_bfloat16, 16>();
  SetLimit<__nv_bfloat16, 64>();
  SetLimit<__half, 16>();
  SetLimit<__half, 64>();
}

bool GemmSkinnyOffered() {
  static const bool on = EnvSwitchOn("VLART_SKINNY");
  return g_skinny_available && on;
}

std::vector<GemmMmaConfig> GemmSkinnyCandidates(int64_t m, int64_t n, int64_t k, int num_sms) {
  std::vector<GemmMmaConfig> out;
  if (!g_skinny_available) return out;
  const int64_t tiles = (n + kBN - 1) / kBN;
  for (int t = 0; t < kNumRowTiles; ++t) {
    if (m > kRowTiles[t]) continue;
    if (t > 0 && m <= kRowTiles[t - 1]) continue;  // the smaller row tile covers M
    if (!RowTileFits(t)) continue;
    for (int splits = 1; splits <= kMaxSplits; splits *= 2) {
      const int64_t per = KPerSplit<int64_t>(k, splits);
      if (splits > 1 && UsedSplits(k, per) != splits) break;  // fewer ranges than asked
      if (splits > 1 && tiles * (splits / 2) >= 2 * num_sms) break;  // already two waves
      out.push_back(GemmMmaConfig{kSkinnyTileBase + t, splits});
    }
  }
  return out;
}

bool GemmSkinnyFits(int64_t m, const GemmMmaConfig& config) {
  const int t = config.tile - kSkinnyTileBase;
  return t >= 0 && t < kNumRowTiles && m <= kRowTiles[t] && RowTileFits(t) && config.splits >= 1 &&
         config.splits <= kMaxSplits;
}

void LaunchGemmSkinny(const GemmMmaArgs& args, DType dtype, const GemmMmaConfig& config,
                      cudaStream_t stream) {
  GemmMmaArgs q = args;
  q.paired_stores = (reinterpret_cast<uintptr_t>(args.d) & 3) == 0 && args.ldd % 2 == 0;
  const int row_tile = config.tile - kSkinnyTileBase;
  if (dtype == DType::kBF16) {
    Dispatch<__nv_bfloat16>(q, row_tile, config.splits, stream);
  } else {
    Dispatch<__half>(q, row_tile, config.splits, stream);
  }
  VLART_CUDA_CHECK(cudaGetLastError());
}

}  // namespace vlart::cuda
