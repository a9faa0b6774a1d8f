// SPDX-License-Identifier: Apache-2.0
//
// gemm_mma.cu: vlart's bf16/f16 tensor-core GEMM with split-K and a fused f32 epilogue.
//
// Math:      D[m, n] = act(Σ_k A[m, k]·B[n, k] + bias[n]) + residual[m, n]   (nn.Linear: B = W)
//            A [M, K] rows of stride lda, B [N, K] rows of stride ldb (both K-contiguous),
//            D / residual [M, N] rows of stride ldd / ldr. residual may alias D.
// Mapping:   a block owns a BM x BN tile of D and one of `splits` K ranges (blockIdx.z).
//            K advances in 64-wide slices staged into shared memory by a 4-deep cp.async
//            pipeline (16-byte copies, zero-filled past M, N and K); each warp computes its
//            sub-tile with mma.sync m16n8k16 on fragments fetched by ldmatrix. With splits > 1
//            every block stores its f32 partial tile to a workspace and bumps a per-tile
//            counter; the last block to arrive sums the partials in split order (so the
//            result does not depend on arrival order), resets the counter for the next call
//            (graph replays included) and runs the epilogue. Tile shapes (kGemmConfigs): small
//            M at VLA sizes (50..1000 tokens) streams the weight matrix once per M-tile, so the
//            choice trades L2 re-reads (short BM) against idle SMs (few tiles); the backend
//            times the candidates per shape on first use (CudaBackend::TryGemmMma).
// Numerics:  products accumulate in f32 (split partials too, summed in f32 in a fixed
//            order); bias, activation and residual are applied to the f32 sum and the result
//            is rounded once to the output dtype. Different tile configs or split counts may
//            differ in the last f32 bits, not beyond.
// Reference: backends/cpu Linear; parity in tests/ops/cuda_linear_parity_test.cc.
// Napkin:    X-VLA fc1 at M = 262: 2.2 GFLOP and 8.4 MB of weights: ~3 us at the H100's bf16
//            roofline; mma.sync peaks near half of wgmma's rate.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/gemm_tile_load.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"

namespace vlart::cuda {
namespace {

constexpr int kBK = kGemmBK;
constexpr int kStages = 4;
constexpr int kSmemStride = kGemmSmemStride;

template <typename T, int kBM, int kBN, int kWarpsM, int kWarpsN>
__global__ void __launch_bounds__(kWarpsM* kWarpsN * 32)
    GemmMmaKernel(GemmMmaArgs p, int splits, int k_per_split, float* workspace, int* counters) {
  constexpr int kThreads = kWarpsM * kWarpsN * 32;
  constexpr int kWarpM = kBM / kWarpsM;
  constexpr int kWarpN = kBN / kWarpsN;
  constexpr int kMi = kWarpM / 16;
  constexpr int kNi = kWarpN / 8;
  static_assert(kNi % 2 == 0, "B fragments come in pairs of 8-wide tiles");
  constexpr int kStageElems = (kBM + kBN) * kSmemStride;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  uint16_t* smem = reinterpret_cast<uint16_t*>(smem_raw);

  const int m0 = blockIdx.y * kBM;
  const int n0 = blockIdx.x * kBN;
  const int split = blockIdx.z;
  const int k_begin = split * k_per_split;
  const int k_end = min(p.k, k_begin + k_per_split);
  const int num_k = (k_end - k_begin + kBK - 1) / kBK;
  const uint16_t* a = static_cast<const uint16_t*>(p.a);
  const uint16_t* b = static_cast<const uint16_t*>(p.b);

  auto load_stage = [&](int stage, int kt) {
    uint16_t* as = smem + stage * kStageElems;
    uint16_t* bs = as + kBM * kSmemStride;
    LoadSlice<kBM, kThreads>(as, a, p.lda, m0, p.m, k_begin + kt * kBK, k_end);
    LoadSlice<kBN, kThreads>(bs, b, p.ldb, n0, p.n, k_begin + kt * kBK, k_end);
  };

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < num_k) load_stage(s, s);
    asm volatile("cp.async.commit_group;\n" ::);
  }

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int wm = warp / kWarpsN;
  const int wn = warp % kWarpsN;
  float acc[kMi][kNi][4];
#pragma unroll
  for (int i = 0; i < kMi; ++i)
#pragma unroll
    for (int j = 0; j < kNi; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;

  for (int kt = 0; kt < num_k; ++kt) {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kStages - 2));
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < num_k) load_stage(next % kStages, next);
    asm volatile("cp.async.commit_group;\n" ::);

    const uint16_t* as = smem + (kt % kStages) * kStageElems;
    const uint16_t* bs = as + kBM * kSmemStride;
#pragma unroll
    for (int kk = 0; kk < kBK / 16; ++kk) {
      uint32_t af[kMi][4];
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        Ldmatrix4(af[i], as + (wm * kWarpM + i * 16 + (lane % 16)) * kSmemStride + kk * 16 +
                             (lane / 16) * 8);
      }
#pragma unroll
      for (int jp = 0; jp < kNi / 2; ++jp) {
        uint32_t bf[4];
        Ldmatrix4(bf, bs + (wn * kWarpN + jp * 16 + (lane / 16) * 8 + (lane % 8)) * kSmemStride +
                          kk * 16 + ((lane / 8) % 2) * 8);
#pragma unroll
        for (int i = 0; i < kMi; ++i) {
          Mma<T>(acc[i][2 * jp], af[i], bf[0], bf[1]);
          Mma<T>(acc[i][2 * jp + 1], af[i], bf[2], bf[3]);
        }
      }
    }
  }
  asm volatile("cp.async.wait_group 0;\n" ::);

  if (splits > 1) {
    // Partial tile -> workspace in this thread's own fragment order (no index math needed to
    // read it back: the same thread of every split holds the same output elements).
    constexpr int kPerThread = kMi * kNi * 4;
    const int tile = blockIdx.y * gridDim.x + blockIdx.x;
    float* ws_tile = workspace + static_cast<int64_t>(tile) * splits * kThreads * kPerThread;
    float* mine = ws_tile + (static_cast<int64_t>(split) * kThreads + threadIdx.x) * kPerThread;
#pragma unroll
    for (int i = 0; i < kMi; ++i)
#pragma unroll
      for (int j = 0; j < kNi; ++j)
        *reinterpret_cast<float4*>(mine + (i * kNi + j) * 4) =
            make_float4(acc[i][j][0], acc[i][j][1], acc[i][j][2], acc[i][j][3]);
    __threadfence();
    __syncthreads();
    __shared__ int arrived;
    if (threadIdx.x == 0) arrived = atomicAdd(&counters[tile], 1);
    __syncthreads();
    if (arrived != splits - 1) return;
    __threadfence();
    // Last block: sum every split's partial in split order.
#pragma unroll
    for (int i = 0; i < kMi; ++i)
#pragma unroll
      for (int j = 0; j < kNi; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float* part = ws_tile + (static_cast<int64_t>(s) * kThreads + threadIdx.x) * kPerThread;
#pragma unroll
      for (int i = 0; i < kMi; ++i)
#pragma unroll
        for (int j = 0; j < kNi; ++j) {
          const float4 v = __ldcg(reinterpret_cast<const float4*>(part + (i * kNi + j) * 4));
          acc[i][j][0] += v.x;
          acc[i][j][1] += v.y;
          acc[i][j][2] += v.z;
          acc[i][j][3] += v.w;
        }
    }
    if (threadIdx.x == 0) counters[tile] = 0;  // ready for the next call
  }

  // Epilogue in f32: + bias, activation, + residual, one rounding to T.
  const int grp = lane / 4;
  const int tig = lane % 4;
  const T* bias = static_cast<const T*>(p.bias);
  const T* res = static_cast<const T*>(p.residual);
  T* d = static_cast<T*>(p.d);
#pragma unroll
  for (int i = 0; i < kMi; ++i) {
#pragma unroll
    for (int j = 0; j < kNi; ++j) {
      const int col = n0 + wn * kWarpN + j * 8 + 2 * tig;
      if (col >= p.n) continue;
      const bool pair = col + 1 < p.n;
      float b0 = 0.0f, b1 = 0.0f;
      if (bias != nullptr) {
        b0 = ToFloat(bias[col]);
        if (pair) b1 = ToFloat(bias[col + 1]);
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + wm * kWarpM + i * 16 + grp + h * 8;
        if (row >= p.m) continue;
        float v0 = ApplyActivation(static_cast<ActKind>(p.act), acc[i][j][2 * h] + b0);
        float v1 = ApplyActivation(static_cast<ActKind>(p.act), acc[i][j][2 * h + 1] + b1);
        T* dst = d + static_cast<int64_t>(row) * p.ldd + col;
        if (res != nullptr) {
          const T* r = res + static_cast<int64_t>(row) * p.ldr + col;
          v0 += ToFloat(r[0]);
          if (pair) v1 += ToFloat(r[1]);
        }
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
    }
  }
}

// The tile configurations, indexed by GemmMmaConfig::tile.
struct TileShape {
  int bm, bn, warps_m, warps_n;
};
constexpr TileShape kTiles[] = {
    {128, 128, 2, 4},  // 0: 8 warps, warp tile 64x32
    {64, 128, 2, 2},   // 1: 4 warps, warp tile 32x64
    {128, 64, 2, 2},   // 2: 4 warps, warp tile 64x32
    {64, 64, 2, 2},    // 3: 4 warps, warp tile 32x32
    {32, 64, 2, 2},    // 4: 4 warps, warp tile 16x32
};
constexpr int kNumTiles = sizeof(kTiles) / sizeof(kTiles[0]);

constexpr size_t SmemBytes(int bm, int bn) {
  return static_cast<size_t>(kStages) * (bm + bn) * kSmemStride * sizeof(uint16_t);
}

// The dynamic shared memory a block may use here (InitGemmMmaKernels; kernel_image.h). Tiles
// 0-2 (144 and 108 KB) exceed a 99 KB GPU's (RTX 30 / 40 / 50, L40): only 3 and 4 run there.
size_t g_gemm_smem_optin = 0;

bool TileFits(int t) { return SmemBytes(kTiles[t].bm, kTiles[t].bn) <= g_gemm_smem_optin; }

template <typename T, int kTile>
void LaunchTile(const GemmMmaArgs& p, int splits, float* workspace, int* counters,
                cudaStream_t stream) {
  constexpr TileShape s = kTiles[kTile];
  const int k_per_split = KPerSplit(p.k, splits);
  const int used_splits = UsedSplits(p.k, k_per_split);
  const dim3 grid((p.n + s.bn - 1) / s.bn, (p.m + s.bm - 1) / s.bm, used_splits);
  GemmMmaKernel<T, s.bm, s.bn, s.warps_m, s.warps_n>
      <<<grid, s.warps_m * s.warps_n * 32, SmemBytes(s.bm, s.bn), stream>>>(p, used_splits, k_per_split,
                                                                           workspace, counters);
  VLART_CUDA_CHECK(cudaGetLastError());
}

template <typename T, int kTile>
void SetLimit() {
  if (!TileFits(kTile)) return;  // never offered (GemmMmaCandidates, GemmMmaHeuristic)
  constexpr TileShape s = kTiles[kTile];
  VLART_CUDA_CHECK(cudaFuncSetAttribute(GemmMmaKernel<T, s.bm, s.bn, s.warps_m, s.warps_n>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(SmemBytes(s.bm, s.bn))));
}

template <typename T>
void SetLimits() {
  SetLimit<T, 0>();
  SetLimit<T, 1>();
  SetLimit<T, 2>();
  SetLimit<T, 3>();
  SetLimit<T, 4>();
}

template <typename T>
void Dispatch(const GemmMmaArgs& p, const GemmMmaConfig& c, float* ws, int* counters,
              cudaStream_t stream) {
  switch (c.tile) {
    case 0: LaunchTile<T, 0>(p, c.splits, ws, counters, stream); return;
    case 1: LaunchTile<T, 1>(p, c.splits, ws, counters, stream); return;
    case 2: LaunchTile<T, 2>(p, c.splits, ws, counters, stream); return;
    case 3: LaunchTile<T, 3>(p, c.splits, ws, counters, stream); return;
    default: LaunchTile<T, 4>(p, c.splits, ws, counters, stream); return;
  }
}

}  // namespace

void InitGemmMmaKernels() {
  g_gemm_smem_optin = SharedMemoryOptinBytes();
  SetLimits<__nv_bfloat16>();
  SetLimits<__half>();
  InitGemmWgmmaKernels();
  InitGemmSkinnyKernels();
}

bool GemmMmaSupported(const GemmMmaArgs& p, DType dtype) {
  if (dtype != DType::kBF16 && dtype != DType::kF16) return false;
  if (p.m < 1 || p.n < 1 || p.k < 8) return false;
  if (p.m > (1 << 30) || p.n > (1 << 30) || p.k > (1 << 30)) return false;
  if (!IsAligned(p.a, 16) || !IsAligned(p.b, 16) || p.lda % 8 != 0 || p.ldb % 8 != 0) return false;
  if (p.lda < p.k || p.ldb < p.k || p.ldd < p.n) return false;
  if (p.residual != nullptr && p.ldr < p.n) return false;
  return true;
}

std::vector<GemmMmaConfig> GemmMmaCandidates(int64_t m, int64_t n, int64_t k, int num_sms) {
  std::vector<GemmMmaConfig> out;
  for (int t = 0; t < kNumTiles; ++t) {
    if (!TileFits(t)) continue;
    const TileShape& s = kTiles[t];
    const int64_t tiles = ((m + s.bm - 1) / s.bm) * ((n + s.bn - 1) / s.bn);
    if (s.bm > 32 && (m + s.bm - 1) / s.bm * s.bm > 2 * m + 64) continue;  // mostly padding
    for (int splits : {1, 2, 3, 4, 6, 8}) {
      if (splits > 1 && k / splits < 256) break;
      const int64_t blocks = tiles * splits;
      if (splits > 1 && blocks > 8 * num_sms) break;
      if (splits > 1 && tiles * (splits - 1) >= 2 * num_sms) break;  // already enough blocks
      out.push_back(GemmMmaConfig{t, splits});
    }
  }
  if (GemmSkinnyOffered()) {
    for (const GemmMmaConfig& c : GemmSkinnyCandidates(m, n, k, num_sms)) out.push_back(c);
  }
  if (GemmWgmmaOffered()) {
    for (const GemmMmaConfig& c : GemmWgmmaCandidates(m, n, k, num_sms)) out.push_back(c);
  }
  return out;
}

GemmMmaConfig GemmMmaHeuristic(int64_t m, int64_t n, int64_t k, int num_sms) {
  // Without timing: the widest tile that gives at least ~3/4 of a wave, splitting K if needed.
  for (int t : {0, 1, 2, 3, 4}) {
    if (!TileFits(t)) continue;
    const TileShape& s = kTiles[t];
    const int64_t tiles = ((m + s.bm - 1) / s.bm) * ((n + s.bn - 1) / s.bn);
    for (int splits : {1, 2, 4}) {
      if (splits > 1 && k / splits < 256) break;
      if (tiles * splits * 4 >= static_cast<int64_t>(num_sms) * 3) return GemmMmaConfig{t, splits};
    }
  }
  return GemmMmaConfig{4, 1};
}

bool GemmMmaTileFits(int tile) { return tile >= 0 && tile < kNumTiles && TileFits(tile); }

size_t GemmMmaWorkspaceFloats(int64_t m, int64_t n, const GemmMmaConfig& c) {
  if (c.splits <= 1 || c.tile >= kSkinnyTileBase) return 0;  // cluster reductions
  const TileShape& s = kTiles[c.tile];
  const int64_t tiles = ((m + s.bm - 1) / s.bm) * ((n + s.bn - 1) / s.bn);
  return static_cast<size_t>(tiles) * c.splits * s.bm * s.bn;
}

int64_t GemmMmaTiles(int64_t m, int64_t n, const GemmMmaConfig& c) {
  if (c.tile >= kSkinnyTileBase) return 0;  // cluster reductions: no counters
  const TileShape& s = kTiles[c.tile];
  return ((m + s.bm - 1) / s.bm) * ((n + s.bn - 1) / s.bn);
}

void LaunchGemmMma(const GemmMmaArgs& p, DType dtype, const GemmMmaConfig& config, float* workspace,
                   int* counters, cudaStream_t stream) {
  if (config.tile >= kWgmmaTileBase) {
    LaunchGemmWgmma(p, dtype, config, stream);
    return;
  }
  if (config.tile >= kSkinnyTileBase) {
    LaunchGemmSkinny(p, dtype, config, stream);
    return;
  }
  GemmMmaArgs q = p;
  q.paired_stores = (reinterpret_cast<uintptr_t>(p.d) & 3) == 0 && p.ldd % 2 == 0;
  if (dtype == DType::kBF16) {
    Dispatch<__nv_bfloat16>(q, config, workspace, counters, stream);
  } else {
    Dispatch<__half>(q, config, workspace, counters, stream);
  }
}

}  // namespace vlart::cuda
