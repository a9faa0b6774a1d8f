// SPDX-License-Identifier: Apache-2.0
//
// gated_mlp.cu: a few-row gated MLP (pi0's action expert at 10-64 token rows) as ONE kernel:
// the gate/up GEMM, the activation and the down GEMM with its residual, instead of three
// launches with the hidden rows written and read between them.
//
// Math:      [g | u] = x[M, K] · gate_up_w[2F, K]ᵀ            (f32 accumulation, rounded to T:
//                                                            the unfused Linear's output)
//            s[r]    = 1 / sqrt(Σ_k x[r, k]² / K + eps)      (only with row_rms; else s = 1)
//            h       = act(s ⊙ g) * (s ⊙ u)                  (f32, rounded once to T: as
//                                                            GatedActivation does)
//            out     = h · down_w[N, F]ᵀ + residual            (f32 accumulation, one rounding)
//            backend.h GatedMlp; h is also left in hidden[:, 0:F].
// Why:       at M <= 64 these GEMMs cost latency, not FLOPs (the expert's gate_up + activation
//            + down took ~20 us per layer-step against ~8 us for their 25 MB of weights). Here
//            every block asks the copy engine for ALL of its weights at once (192 KB: 32 gate
//            rows, 32 up rows, 8 down rows), before waiting for the previous kernel when the
//            weights are sealed, so the whole MLP streams its weights in one pass at the rate
//            HBM allows and the down weights are on chip before h exists.
// Mapping:   grid = max(F / 32, N / 8) blocks (128 for the expert), all resident at once (one
//            per SM: ~198 KB of shared memory each), 8 warps. Phase 1 (block b < F / 32): h
//            columns [32 b, 32 b + 32); warp w takes gate/up n-tile pair w % 4 (8 gate + 8 up
//            rows, one mbarrier each so it starts when its 32 KB landed) and K half w / 4;
//            the K halves are summed through shared memory. A grid barrier (two words of
//            device memory, arrival count + generation) makes every h row visible. Phase 2
//            (block b < N / 8): out columns [8 b, 8 b + 8), K = F split over the 8 warps,
//            partials summed in a fixed order, + residual, one rounding. mma.sync m16n8k16
//            with ldmatrix B fragments from padded rows (16 bytes per row: conflict-free);
//            A fragments (x, then h) come straight from global memory (L2/L1), rows >= M
//            read as zero.
// Numerics:  as the unfused chain (Linear, GatedActivation, Linear) except the order of the
//            f32 sums (K halves; the 8 K ranges of the down product) and the row statistic's
//            order; deterministic.
// Residency: the grid barrier needs every block resident. One block per SM by shared memory
//            and grid <= SMs (the launcher checks); with PDL the next kernel may launch only
//            after every block passed the barrier (the late signal), and blocks that wait
//            for an SM wait only on kernels that finish on their own. The barrier words are
//            the stream's own (one backend, one stream), reused by every launch in order.
// Requires:  sm_90 (bulk copies, mbarrier tx counts, griddepcontrol); elsewhere not launched.
// Reference: backend.h GatedMlp (the CPU chain); tests/ops/cuda_gated_mlp_parity_test.cc.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mbarrier.cuh"
#include "backends/cuda/mma_sync.cuh"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;       // 8 warps
constexpr int kWarps = kThreads / 32;
constexpr int kHCols = 32;          // h columns per block: 32 gate rows + 32 up rows of weights
constexpr int kOutCols = 8;         // out columns per block: 8 down rows of weights
constexpr int kPairs = kHCols / 8;  // gate/up n-tile pairs per block (one warp pair each)
constexpr int kRowPad = 8;          // elements of padding per shared weight row (16 bytes)
constexpr int kMaxRows = 64;

// Byte offsets into dynamic shared memory. The reduction scratch reuses the gate/up rows
// (read by then); 16 KB at most: phase 1 4 warps x 4 m-tiles x 8 x 32 floats, phase 2 8 x 4 x
// 4 x 32.
struct Layout {
  size_t gate_up, down, rms, bars, total;
};
__host__ __device__ constexpr Layout LayoutFor(int k, int f) {
  Layout l{};
  l.gate_up = 0;
  l.down = l.gate_up + static_cast<size_t>(2 * kHCols) * (k + kRowPad) * 2;
  l.rms = l.down + static_cast<size_t>(kOutCols) * (f + kRowPad) * 2;
  l.bars = l.rms + 2 * kMaxRows * sizeof(float);
  l.total = l.bars + (kPairs + 1) * sizeof(uint64_t);
  return l;
}

__device__ __forceinline__ unsigned int LoadAcquire(const unsigned int* p) {
  unsigned int v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Every block of the grid waits here until all have arrived; their writes before it are
// visible to all after it. bar[0] counts arrivals (back to zero when the last arrives),
// bar[1] is the generation the waiters watch.
__device__ __forceinline__ void GridBarrier(unsigned int* bar) {
  __syncthreads();
  if (threadIdx.x == 0) {
    const unsigned int gen = LoadAcquire(bar + 1);  // cannot move before this block arrives
    __threadfence();
    if (atomicAdd(bar, 1u) == gridDim.x - 1) {
      atomicExch(bar, 0u);
      __threadfence();
      atomicAdd(bar + 1, 1u);
    } else {
      while (LoadAcquire(bar + 1) == gen) {
      }
    }
    __threadfence();
  }
  __syncthreads();
}

// Two 16-bit values of row `row` at column `col` (even) as one fragment register; 0 past M.
template <bool kCacheGlobal>
__device__ __forceinline__ uint32_t LoadPair(const uint16_t* base, int64_t ld, int row, int m, int col) {
  if (row >= m) return 0u;
  const uint32_t* p = reinterpret_cast<const uint32_t*>(base + row * ld + col);
  if constexpr (kCacheGlobal) {
    return __ldcg(p);  // written by other blocks in this kernel: bypass L1
  } else {
    return *p;
  }
}

// The A fragments of m-tile `i` for the two k16 steps at k and k + 16.
template <bool kCacheGlobal>
__device__ __forceinline__ void LoadA(uint32_t (&a)[2][4], const uint16_t* base, int64_t ld, int m,
                                      int i, int k, int grp, int tig) {
  const int r0 = i * 16 + grp;
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int c = k + 16 * s + 2 * tig;
    a[s][0] = LoadPair<kCacheGlobal>(base, ld, r0, m, c);
    a[s][1] = LoadPair<kCacheGlobal>(base, ld, r0 + 8, m, c);
    a[s][2] = LoadPair<kCacheGlobal>(base, ld, r0, m, c + 8);
    a[s][3] = LoadPair<kCacheGlobal>(base, ld, r0 + 8, m, c + 8);
  }
}

template <typename T>
__device__ __forceinline__ float SumSquares(uint32_t pair) {
  T v[2];
  memcpy(v, &pair, sizeof(pair));
  const float a = ToFloat(v[0]), b = ToFloat(v[1]);
  return a * a + b * b;
}

template <typename T>
__device__ __forceinline__ float RoundTo(float v) {
  return ToFloat(FromFloat<T>(v));
}

template <typename T, ActKind kAct, int kMi>
__global__ void __launch_bounds__(kThreads, 1) GatedMlpKernel(GatedMlpArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // never launched: LaunchGatedMlp requires the Hopper image
#else
  extern __shared__ __align__(128) unsigned char smem[];
  const Layout lay = LayoutFor(p.k, p.f);
  uint16_t* gu_s = reinterpret_cast<uint16_t*>(smem + lay.gate_up);
  uint16_t* down_s = reinterpret_cast<uint16_t*>(smem + lay.down);
  float* red = reinterpret_cast<float*>(smem + lay.gate_up);  // after the gate/up rows are read
  float* rms_half = reinterpret_cast<float*>(smem + lay.rms);  // [2][kMaxRows]
  uint64_t* bars = reinterpret_cast<uint64_t*>(smem + lay.bars);

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int grp = lane / 4;
  const int tig = lane % 4;
  const int gu_stride = p.k + kRowPad;  // elements per shared gate/up row
  const int down_stride = p.f + kRowPad;
  const bool phase1 = blockIdx.x < static_cast<unsigned>(p.f / kHCols);
  const bool phase2 = blockIdx.x < static_cast<unsigned>(p.n / kOutCols);
  const int c0 = blockIdx.x * kHCols;    // first h column of phase 1
  const int n0 = blockIdx.x * kOutCols;  // first out column of phase 2

  if (threadIdx.x == 0) {
    for (int i = 0; i <= kPairs; ++i) MbarInit(SmemAddr(&bars[i]), 1);
    FenceMbarInit();
  }
  __syncthreads();
  // Warp 0 asks for every weight row this block reads: gate/up pair j (8 gate + 8 up rows)
  // completes on bars[j], the 8 down rows on bars[kPairs].
  const auto fetch_weights = [&]() {
    if (warp != 0) return;
    const uint32_t gu_row_bytes = static_cast<uint32_t>(p.k) * 2;
    const uint32_t down_row_bytes = static_cast<uint32_t>(p.f) * 2;
    if (lane == 0) {
      if (phase1) {
        for (int j = 0; j < kPairs; ++j) MbarArriveExpectTx(SmemAddr(&bars[j]), 16 * gu_row_bytes);
      }
      if (phase2) MbarArriveExpectTx(SmemAddr(&bars[kPairs]), kOutCols * down_row_bytes);
    }
    __syncwarp();
    if (phase1) {
      const uint16_t* gu = static_cast<const uint16_t*>(p.gate_up_w);
      for (int r = lane; r < 2 * kHCols; r += 32) {  // local rows: 32 gate, then 32 up
        const int src = r < kHCols ? c0 + r : p.f + c0 + (r - kHCols);
        BulkCopyToShared(SmemAddr(gu_s + r * gu_stride), gu + static_cast<int64_t>(src) * p.k,
                         gu_row_bytes, SmemAddr(&bars[(r % kHCols) / 8]));
      }
    }
    if (phase2 && lane < kOutCols) {
      const uint16_t* dw = static_cast<const uint16_t*>(p.down_w);
      BulkCopyToShared(SmemAddr(down_s + lane * down_stride),
                       dw + static_cast<int64_t>(n0 + lane) * p.f, down_row_bytes,
                       SmemAddr(&bars[kPairs]));
    }
  };
  if (p.weights_sealed) fetch_weights();
  PdlWaitPrior();
  if (!p.weights_sealed) fetch_weights();

  // ldmatrix.x4 addressing of 8 weight rows x 32 k: lane l gives row l % 8, k offset (l / 8) 8.
  const int lrow = lane % 8;
  const int lk = (lane / 8) * 8;

  // ---- phase 1: h = act(s g) * (s u) for this block's 32 columns ----------------------------
  if (phase1) {
    const int pair = warp % kPairs;
    const int khalf = warp / kPairs;
    const int kspan = p.k / 2;
    const int kb = khalf * kspan;
    const uint16_t* x = static_cast<const uint16_t*>(p.x);
    const uint16_t* g_rows = gu_s + (pair * 8 + lrow) * gu_stride + lk;
    const uint16_t* u_rows = gu_s + (kHCols + pair * 8 + lrow) * gu_stride + lk;
    float acc[kMi][2][4];
    float sq[kMi][2];
#pragma unroll
    for (int i = 0; i < kMi; ++i) {
      sq[i][0] = sq[i][1] = 0.0f;
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[i][0][c] = acc[i][1][c] = 0.0f;
    }
    const bool stats = p.row_rms && pair == 0;
    MbarWait(SmemAddr(&bars[pair]), 0);
#pragma unroll 2
    for (int k = kb; k < kb + kspan; k += 32) {
      uint32_t bg[4], bu[4];
      Ldmatrix4(bg, g_rows + k);
      Ldmatrix4(bu, u_rows + k);
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        uint32_t a[2][4];
        LoadA<false>(a, x, p.ldx, p.m, i, k, grp, tig);
        Mma<T>(acc[i][0], a[0], bg[0], bg[1]);
        Mma<T>(acc[i][1], a[0], bu[0], bu[1]);
        Mma<T>(acc[i][0], a[1], bg[2], bg[3]);
        Mma<T>(acc[i][1], a[1], bu[2], bu[3]);
        if (stats) {
#pragma unroll
          for (int s = 0; s < 2; ++s) {
            sq[i][0] += SumSquares<T>(a[s][0]) + SumSquares<T>(a[s][2]);
            sq[i][1] += SumSquares<T>(a[s][1]) + SumSquares<T>(a[s][3]);
          }
        }
      }
    }
    if (stats) {  // row sums over this K half: reduce the 4 lanes of a row
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float v = sq[i][h];
          v += __shfl_xor_sync(0xffffffffu, v, 1);
          v += __shfl_xor_sync(0xffffffffu, v, 2);
          if (tig == 0) rms_half[khalf * kMaxRows + i * 16 + grp + 8 * h] = v;
        }
      }
    }
    __syncthreads();  // every warp is done with the gate/up rows: `red` may overwrite them
    float* mine = red + (pair * kMi) * 8 * 32 + lane;  // [pair][i][8 values][32 lanes]
    if (khalf == 1) {
#pragma unroll
      for (int i = 0; i < kMi; ++i)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          mine[(i * 8 + c) * 32] = acc[i][0][c];
          mine[(i * 8 + 4 + c) * 32] = acc[i][1][c];
        }
    }
    __syncthreads();
    if (khalf == 0) {
      T* hidden = static_cast<T*>(p.hidden);
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {  // rows grp and grp + 8 of m-tile i
          const int row = i * 16 + grp + 8 * h;
          float s = 1.0f;
          if (p.row_rms) {
            const float sum = rms_half[row] + rms_half[kMaxRows + row];
            s = 1.0f / sqrtf(sum / static_cast<float>(p.k) + p.eps);
          }
          float hv[2];
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int c = 2 * h + e;
            float g = RoundTo<T>(acc[i][0][c] + mine[(i * 8 + c) * 32]);
            float u = RoundTo<T>(acc[i][1][c] + mine[(i * 8 + 4 + c) * 32]);
            if (p.row_rms) {
              g = __fmul_rn(g, s);
              u = __fmul_rn(u, s);
            }
            hv[e] = Activate<kAct>(g) * u;
          }
          if (row < p.m) {
            *reinterpret_cast<uint32_t*>(hidden + row * p.ldh + c0 + pair * 8 + 2 * tig) =
                Pack<T>(hv[0], hv[1]);
          }
        }
      }
    }
  }

  GridBarrier(p.barrier);  // every block's h columns are written and visible
  PdlAllowDependents();    // late: every block of this grid is resident by now (see header)

  // ---- phase 2: out = h · down_wᵀ + residual for this block's 8 columns ----------------------
  if (phase2) {
    const int kspan = p.f / kWarps;
    const int kb = warp * kspan;
    const uint16_t* hid = static_cast<const uint16_t*>(p.hidden);
    const uint16_t* d_rows = down_s + lrow * down_stride + lk;
    float acc[kMi][4];
#pragma unroll
    for (int i = 0; i < kMi; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
    MbarWait(SmemAddr(&bars[kPairs]), 0);
#pragma unroll 2
    for (int k = kb; k < kb + kspan; k += 32) {
      uint32_t b[4];
      Ldmatrix4(b, d_rows + k);
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        uint32_t a[2][4];
        LoadA<true>(a, hid, p.ldh, p.m, i, k, grp, tig);
        Mma<T>(acc[i], a[0], b[0], b[1]);
        Mma<T>(acc[i], a[1], b[2], b[3]);
      }
    }
    // Phase 1's reads of `red` ended before the grid barrier's __syncthreads.
    float* part = red + (warp * kMi) * 4 * 32 + lane;  // [warp][i][4 values][32 lanes]
#pragma unroll
    for (int i = 0; i < kMi; ++i)
#pragma unroll
      for (int c = 0; c < 4; ++c) part[(i * 4 + c) * 32] = acc[i][c];
    __syncthreads();
    const T* res = static_cast<const T*>(p.residual);
    T* out = static_cast<T*>(p.out);
    for (int e = threadIdx.x; e < p.m * kOutCols; e += kThreads) {
      const int row = e / kOutCols;
      const int col = e % kOutCols;
      const int i = row / 16;
      const int r = row % 16;
      const int src_lane = (r % 8) * 4 + col / 2;
      const int c = (r >= 8 ? 2 : 0) + col % 2;
      float v = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) v += red[((w * kMi + i) * 4 + c) * 32 + src_lane];
      if (res != nullptr) v += ToFloat(res[row * p.ldr + n0 + col]);
      out[row * p.ldo + n0 + col] = FromFloat<T>(v);
    }
  }
#endif
}

using KernelFn = void (*)(GatedMlpArgs);

template <typename T, ActKind kAct>
KernelFn PickRows(int m) {
  if (m <= 16) return GatedMlpKernel<T, kAct, 1>;
  if (m <= 32) return GatedMlpKernel<T, kAct, 2>;
  return GatedMlpKernel<T, kAct, 4>;
}

template <typename T>
KernelFn PickKernel(int act, int m) {
  switch (static_cast<ActKind>(act)) {
    case ActKind::kGeluTanh: return PickRows<T, ActKind::kGeluTanh>(m);
    case ActKind::kGeluErf: return PickRows<T, ActKind::kGeluErf>(m);
    case ActKind::kSilu: return PickRows<T, ActKind::kSilu>(m);
    default: return nullptr;
  }
}

bool g_available = false;
size_t g_smem_optin = 0;

template <typename T>
void SetLimits() {
  for (const int act : {static_cast<int>(ActKind::kGeluTanh), static_cast<int>(ActKind::kGeluErf),
                        static_cast<int>(ActKind::kSilu)}) {
    for (const int m : {16, 32, 64}) {
      VLART_CUDA_CHECK(cudaFuncSetAttribute(PickKernel<T>(act, m),
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(g_smem_optin)));
    }
  }
}

bool Aligned4(const void* p, int64_t ld) { return IsAligned(p, 4) && ld % 2 == 0; }

}  // namespace

void InitGatedMlpKernels() {
  g_available = KernelImageHasHopperFeatures();
  if (!g_available) return;
  g_smem_optin = SharedMemoryOptinBytes();
  SetLimits<__nv_bfloat16>();
  SetLimits<__half>();
}

size_t GatedMlpSmemBytes(int k, int f) { return LayoutFor(k, f).total; }

int GatedMlpBlocks(int f, int n) {
  const int a = f / kHCols, b = n / kOutCols;
  return a > b ? a : b;
}

bool LaunchGatedMlp(const GatedMlpArgs& p, DType dtype, int num_sms, size_t smem_limit,
                    cudaStream_t stream) {
  if (!g_available || p.barrier == nullptr) return false;
  if (dtype != DType::kBF16 && dtype != DType::kF16) return false;
  if (p.m < 1 || p.m > kMaxRows || p.k % 64 != 0 || p.f % (kWarps * 32) != 0 || p.n % kOutCols != 0 ||
      p.k <= 0 || p.n <= 0) {
    return false;
  }
  const size_t smem = GatedMlpSmemBytes(p.k, p.f);
  if (smem > smem_limit || smem > g_smem_optin) return false;
  const int blocks = GatedMlpBlocks(p.f, p.n);
  if (blocks > num_sms) return false;
  if (!Aligned4(p.x, p.ldx) || !Aligned4(p.hidden, p.ldh) || !Aligned4(p.out, p.ldo)) return false;
  if (p.residual != nullptr && !IsAligned(p.residual, 2)) return false;
  if (!IsAligned(p.gate_up_w, 16) || !IsAligned(p.down_w, 16)) return false;
  const KernelFn kernel = dtype == DType::kBF16 ? PickKernel<__nv_bfloat16>(p.act, p.m)
                                                : PickKernel<__half>(p.act, p.m);
  if (kernel == nullptr) return false;
  LaunchPdl(kernel, dim3(blocks), dim3(kThreads), smem, stream, 1, p);
  return true;
}

}  // namespace vlart::cuda
