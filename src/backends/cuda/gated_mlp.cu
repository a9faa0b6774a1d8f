// SPDX-License-Identifier: Apache-2.0
//
// gated_mlp.cu: a few-row gated MLP (pi0's action expert at <= 16 token rows: pi0.5's 10) as
// ONE kernel: the gate/up GEMM, the activation and the down GEMM with its residual, instead of
// three launches with the hidden rows written and read between them.
//
// Math:      [g | u] = x[M, K] · gate_up_w[2F, K]ᵀ            (f32 accumulation, rounded to T:
//                                                            the unfused Linear's output)
//            s[r]    = 1 / sqrt(Σ_k x[r, k]² / K + eps)      (only with row_rms; else s = 1)
//            h       = act(s ⊙ g) * (s ⊙ u)                  (f32, rounded once to T: as
//                                                            GatedActivation does)
//            out     = h · down_w[N, F]ᵀ + residual            (f32 accumulation, one rounding)
//            backend.h GatedMlp; h is also left in hidden[:, 0:F].
// Why:       at few rows these GEMMs cost latency, not FLOPs (the expert's gate_up + activation
//            + down took ~20 us per layer-step against ~8 us for their 25 MB of weights). Here
//            every block asks the copy engine for ALL of its weights at once (192 KB: 32 gate
//            rows, 32 up rows, 8 down rows), before waiting for the previous kernel when the
//            weights are sealed, so the whole MLP streams its weights in one pass at the rate
//            HBM allows and the down weights are on chip before h exists.
// Mapping:   M <= 16 (one m16 tile). grid = max(F / 32, N / 8) blocks (128 for the expert),
//            all resident at once (one per SM: ~226 KB of shared memory each), 8 warps.
//            Phase 1 (block b < F / 32): x's rows are staged in shared memory (cp.async, one
//            round trip) and h columns [32 b, 32 b + 32) computed; warp w takes gate/up n-tile
//            pair w % 4 (8 gate + 8 up rows, one mbarrier each so it starts when its 32 KB
//            landed) and K half w / 4; the K halves are summed through shared memory. A grid
//            barrier (two words of device memory, arrival count + generation) makes every h
//            row visible. Phase 2 (block b < N / 8): h's rows are staged (cp.async.cg: L2,
//            where the other blocks' stores are), out columns [8 b, 8 b + 8) computed with
//            K = F split over the 8 warps, partials summed in a fixed order, + residual, one
//            rounding. mma.sync m16n8k16 on ldmatrix fragments from padded rows (16 bytes per
//            row: conflict-free). A first version read x and h fragments straight from global
//            memory with M up to 64: 2x slower than the three ops at pi0's 50 rows and 1.2x at
//            pi0.5's 10 (docs/PERFORMANCE.md): scattered 4-byte loads queued behind the weight
//            stream, and at 50 rows every block read 500 KB of activations.
// Numerics:  as the unfused chain (Linear, GatedActivation, Linear) except the order of the
//            f32 sums (K halves; the 8 K ranges of the down product) and the row statistic's
//            order; deterministic.
// Residency: the grid barrier needs every block resident. One block per SM by shared memory
//            and grid <= SMs (the launcher checks); with PDL the next kernel may launch only
//            after every block passed the barrier (the late signal), and blocks that wait
//            for an SM wait only on kernels that finish on their own. The barrier words are
//            the stream's own (one backend, one stream), reused by every launch in order.
// Status:    opt-in (VLART_FUSED_MLP=1; gated_mlp_op.cc). Correct (tests below), but in pi0.5's
//            denoising graph it cost 12.5 us per layer-step, more than the three ops it
//            replaces, which PDL and the L2 weight hints already overlap (H100 trace,
//            docs/PERFORMANCE.md): denoise 8.55 against 8.21 ms.
// Requires:  sm_90 (bulk copies, mbarrier tx counts, griddepcontrol); elsewhere not launched.
// Reference: backend.h GatedMlp (the CPU chain); tests/ops/cuda_gated_mlp_parity_test.cc.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/gemm_tile_load.cuh"
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
constexpr int kRowPad = 8;          // elements of padding per shared row (16 bytes)
constexpr int kRows = 16;           // one m16 tile: M <= 16

// Byte offsets into dynamic shared memory. After phase 1's products the gate/up rows' space
// holds the phase-1 K-half partials, then (phase 2) h's rows; x's space then holds the
// phase-2 partials.
struct Layout {
  size_t gate_up, down, x, rms, bars, total;
};
__host__ __device__ constexpr Layout LayoutFor(int k, int f) {
  Layout l{};
  l.gate_up = 0;
  const size_t gu = static_cast<size_t>(2 * kHCols) * (k + kRowPad) * 2;
  const size_t h = static_cast<size_t>(kRows) * (f + kRowPad) * 2;
  l.down = l.gate_up + (gu > h ? gu : h);
  l.x = l.down + static_cast<size_t>(kOutCols) * (f + kRowPad) * 2;
  const size_t xs = static_cast<size_t>(kRows) * (k + kRowPad) * 2;
  const size_t part2 = static_cast<size_t>(kWarps) * 4 * 32 * sizeof(float);
  l.rms = l.x + (xs > part2 ? xs : part2);
  l.bars = l.rms + kRows * sizeof(float);
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

// Rows [0, kRows) x `cols` of a row-major 16-bit matrix into shared rows of `stride` elements,
// 16 bytes per cp.async (L2 only: other blocks of this kernel may have written them); rows
// >= m are zero-filled. All threads take part; the caller waits and syncs.
__device__ __forceinline__ void StageRows(uint16_t* dst, int stride, const uint16_t* src, int64_t ld,
                                          int m, int cols) {
  const int vecs = cols / 8;
  for (int e = threadIdx.x; e < kRows * vecs; e += kThreads) {
    const int r = e / vecs, c = (e % vecs) * 8;
    const bool in = r < m;
    CpAsync16(dst + r * stride + c, in ? src + r * ld + c : src, in ? 16 : 0);
  }
  asm volatile("cp.async.commit_group;\n" ::);
}

template <typename T>
__device__ __forceinline__ float RoundTo(float v) {
  return ToFloat(FromFloat<T>(v));
}

template <typename T, ActKind kAct>
__global__ void __launch_bounds__(kThreads, 1) GatedMlpKernel(GatedMlpArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // never launched: LaunchGatedMlp requires the Hopper image
#else
  extern __shared__ __align__(128) unsigned char smem[];
  const Layout lay = LayoutFor(p.k, p.f);
  uint16_t* gu_s = reinterpret_cast<uint16_t*>(smem + lay.gate_up);
  uint16_t* h_s = gu_s;  // phase 2
  uint16_t* down_s = reinterpret_cast<uint16_t*>(smem + lay.down);
  uint16_t* x_s = reinterpret_cast<uint16_t*>(smem + lay.x);
  float* rms_s = reinterpret_cast<float*>(smem + lay.rms);  // [kRows]
  uint64_t* bars = reinterpret_cast<uint64_t*>(smem + lay.bars);

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int grp = lane / 4;
  const int tig = lane % 4;
  const int gu_stride = p.k + kRowPad;  // elements per shared gate/up row (and x row)
  const int f_stride = p.f + kRowPad;   // elements per shared down row (and h row)
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
      BulkCopyToShared(SmemAddr(down_s + lane * f_stride),
                       dw + static_cast<int64_t>(n0 + lane) * p.f, down_row_bytes,
                       SmemAddr(&bars[kPairs]));
    }
  };
  if (p.weights_sealed) fetch_weights();
  PdlWaitPrior();
  if (!p.weights_sealed) fetch_weights();

  // ldmatrix.x4 addressing. B (8 weight rows x 32 k): lane l gives row l % 8, k (l / 8) 8.
  // A (16 rows x 16 k): lane l gives row l % 16, k (l / 16) 8.
  const int brow = lane % 8;
  const int bk = (lane / 8) * 8;
  const int arow = lane % 16;
  const int ak = (lane / 16) * 8;

  // ---- phase 1: h = act(s g) * (s u) for this block's 32 columns ----------------------------
  if (phase1) {
    StageRows(x_s, gu_stride, static_cast<const uint16_t*>(p.x), p.ldx, p.m, p.k);
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
    __syncthreads();
    if (p.row_rms) {  // warp w: rows 2w, 2w + 1
      for (int r = 2 * warp; r < 2 * warp + 2; ++r) {
        float sq = 0.0f;
        const T* row = reinterpret_cast<const T*>(x_s + r * gu_stride);
        for (int c = lane; c < p.k; c += 32) {
          const float v = ToFloat(row[c]);
          sq += v * v;
        }
        sq = WarpSum(sq);
        if (lane == 0) rms_s[r] = 1.0f / sqrtf(sq / static_cast<float>(p.k) + p.eps);
      }
    }
    const int pair = warp % kPairs;
    const int khalf = warp / kPairs;
    const int kspan = p.k / 2;
    const int kb = khalf * kspan;
    const uint16_t* g_rows = gu_s + (pair * 8 + brow) * gu_stride + bk;
    const uint16_t* u_rows = gu_s + (kHCols + pair * 8 + brow) * gu_stride + bk;
    const uint16_t* a_rows = x_s + arow * gu_stride + ak;
    float acc[2][4] = {};
    MbarWait(SmemAddr(&bars[pair]), 0);
#pragma unroll 4
    for (int k = kb; k < kb + kspan; k += 32) {
      uint32_t bg[4], bu[4], a0[4], a1[4];
      Ldmatrix4(bg, g_rows + k);
      Ldmatrix4(bu, u_rows + k);
      Ldmatrix4(a0, a_rows + k);
      Ldmatrix4(a1, a_rows + k + 16);
      Mma<T>(acc[0], a0, bg[0], bg[1]);
      Mma<T>(acc[1], a0, bu[0], bu[1]);
      Mma<T>(acc[0], a1, bg[2], bg[3]);
      Mma<T>(acc[1], a1, bu[2], bu[3]);
    }
    __syncthreads();  // every warp is done with the gate/up rows: partials may overwrite them
    float* red = reinterpret_cast<float*>(gu_s) + pair * 8 * 32 + lane;  // [pair][8][32 lanes]
    if (khalf == 1) {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        red[c * 32] = acc[0][c];
        red[(4 + c) * 32] = acc[1][c];
      }
    }
    __syncthreads();
    if (khalf == 0) {
      T* hidden = static_cast<T*>(p.hidden);
#pragma unroll
      for (int h = 0; h < 2; ++h) {  // rows grp and grp + 8
        const int row = grp + 8 * h;
        const float s = p.row_rms ? rms_s[row] : 1.0f;
        float hv[2];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = 2 * h + e;
          float g = RoundTo<T>(acc[0][c] + red[c * 32]);
          float u = RoundTo<T>(acc[1][c] + red[(4 + c) * 32]);
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

  GridBarrier(p.barrier);  // every block's h columns are written and visible
  PdlAllowDependents();    // late: every block of this grid is resident by now (see header)

  // ---- phase 2: out = h · down_wᵀ + residual for this block's 8 columns ----------------------
  if (phase2) {
    StageRows(h_s, f_stride, static_cast<const uint16_t*>(p.hidden), p.ldh, p.m, p.f);
    const int kspan = p.f / kWarps;
    const int kb = warp * kspan;
    const uint16_t* d_rows = down_s + brow * f_stride + bk;
    const uint16_t* a_rows = h_s + arow * f_stride + ak;
    float acc[4] = {};
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
    __syncthreads();
    MbarWait(SmemAddr(&bars[kPairs]), 0);
#pragma unroll 4
    for (int k = kb; k < kb + kspan; k += 32) {
      uint32_t b[4], a0[4], a1[4];
      Ldmatrix4(b, d_rows + k);
      Ldmatrix4(a0, a_rows + k);
      Ldmatrix4(a1, a_rows + k + 16);
      Mma<T>(acc, a0, b[0], b[1]);
      Mma<T>(acc, a1, b[2], b[3]);
    }
    float* part = reinterpret_cast<float*>(x_s);  // [warp][4][32 lanes]; x is no longer read
#pragma unroll
    for (int c = 0; c < 4; ++c) part[(warp * 4 + c) * 32 + lane] = acc[c];
    __syncthreads();
    const T* res = static_cast<const T*>(p.residual);
    T* out = static_cast<T*>(p.out);
    for (int e = threadIdx.x; e < p.m * kOutCols; e += kThreads) {
      const int row = e / kOutCols;
      const int col = e % kOutCols;
      const int src_lane = (row % 8) * 4 + col / 2;
      const int c = (row >= 8 ? 2 : 0) + col % 2;
      float v = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) v += part[(w * 4 + c) * 32 + src_lane];
      if (res != nullptr) v += ToFloat(res[row * p.ldr + n0 + col]);
      out[row * p.ldo + n0 + col] = FromFloat<T>(v);
    }
  }
#endif
}

using KernelFn = void (*)(GatedMlpArgs);

template <typename T>
KernelFn PickKernel(int act) {
  switch (static_cast<ActKind>(act)) {
    case ActKind::kGeluTanh: return GatedMlpKernel<T, ActKind::kGeluTanh>;
    case ActKind::kGeluErf: return GatedMlpKernel<T, ActKind::kGeluErf>;
    case ActKind::kSilu: return GatedMlpKernel<T, ActKind::kSilu>;
    default: return nullptr;
  }
}

// The blocks for F and N: max(F / 32, N / 8); they must all be resident at once.
int BlocksFor(int f, int n) {
  const int a = f / kHCols, b = n / kOutCols;
  return a > b ? a : b;
}

bool g_available = false;
size_t g_smem_optin = 0;

template <typename T>
void SetLimits() {
  for (const int act : {static_cast<int>(ActKind::kGeluTanh), static_cast<int>(ActKind::kGeluErf),
                        static_cast<int>(ActKind::kSilu)}) {
    VLART_CUDA_CHECK(cudaFuncSetAttribute(PickKernel<T>(act), cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(g_smem_optin)));
  }
}

bool Aligned16(const void* p, int64_t ld) { return IsAligned(p, 16) && ld % 8 == 0; }

}  // namespace

void InitGatedMlpKernels() {
  g_available = KernelImageHasHopperFeatures();
  if (!g_available) return;
  g_smem_optin = SharedMemoryOptinBytes();
  SetLimits<__nv_bfloat16>();
  SetLimits<__half>();
}

bool LaunchGatedMlp(const GatedMlpArgs& p, DType dtype, int num_sms, cudaStream_t stream) {
  if (!g_available || p.barrier == nullptr) return false;
  if (dtype != DType::kBF16 && dtype != DType::kF16) return false;
  if (p.m < 1 || p.m > kRows || p.k % 64 != 0 || p.f % (kWarps * 32) != 0 || p.n % kOutCols != 0 ||
      p.k <= 0 || p.n <= 0) {
    return false;
  }
  const size_t smem = LayoutFor(p.k, p.f).total;
  if (smem > g_smem_optin) return false;  // the device's (or VLART_CUDA_SMEM_OPTIN's) limit
  const int blocks = BlocksFor(p.f, p.n);
  if (blocks > num_sms) return false;
  // x and hidden rows are staged with 16-byte copies; h is stored as 4-byte pairs.
  if (!Aligned16(p.x, p.ldx) || !Aligned16(p.hidden, p.ldh)) return false;
  if (p.residual != nullptr && !IsAligned(p.residual, 2)) return false;
  if (!IsAligned(p.gate_up_w, 16) || !IsAligned(p.down_w, 16)) return false;
  const KernelFn kernel = dtype == DType::kBF16 ? PickKernel<__nv_bfloat16>(p.act)
                                                : PickKernel<__half>(p.act);
  if (kernel == nullptr) return false;
  LaunchPdl(kernel, dim3(blocks), dim3(kThreads), smem, stream, 1, p);
  return true;
}

}  // namespace vlart::cuda
