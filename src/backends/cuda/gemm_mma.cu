// SPDX-License-Identifier: Apache-2.0
//
// gemm_mma.cu: vlart's bf16/f16 tensor-core GEMM with a fused f32 epilogue.
//
// Math:      D[m, n] = act(Σ_k A[m, k]·B[n, k] + bias[n]) + residual[m, n]   (nn.Linear: B = W)
//            A [M, K] rows of stride lda, B [N, K] rows of stride ldb (both K-contiguous),
//            D / residual [M, N] rows of stride ldd / ldr. residual may alias D.
// Mapping:   a block of 4 warps owns a BM x BN tile of D; K advances in 32-wide slices that
//            a STAGES-deep cp.async pipeline stages into shared memory (16-byte copies,
//            zero-filled past M, N and K); each warp computes its (BM/2) x (BN/2) sub-tile
//            with mma.sync m16n8k16 on fragments fetched by ldmatrix. Two tile shapes:
//            64x128 for wide problems and 32x64 when the wide shape would leave SMs idle
//            (X-VLA's N = 1024 projections at M = 262: 40 -> 144 blocks).
// Numerics:  products accumulate in f32; bias, activation and residual are applied to the f32
//            accumulator and the result is rounded once to the output dtype (cuBLASLt's bias
//            epilogue rounds the product first, which is why this kernel exists).
// Reference: backends/cpu Linear; parity in tests/ops/cuda_linear_parity_test.cc.
// Napkin:    X-VLA fc1 at M = 262: 2.2 GFLOP and 8.4 MB of weights: ~3 us at the H100's bf16
//            roofline; mma.sync reaches a fraction of wgmma's rate, so expect 5-8 us.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kBK = 32;
constexpr int kThreads = 128;  // 4 warps in a 2 x 2 grid
constexpr int kRowPad = 8;     // 16 extra bytes per smem row: conflict-free ldmatrix
constexpr int kSmemStride = kBK + kRowPad;

__device__ __forceinline__ uint32_t SmemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy; `bytes` < 16 zero-fills the rest (0: all zeros, src not read).
__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem)), "l"(gmem),
               "r"(bytes));
}

__device__ __forceinline__ void Ldmatrix4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SmemAddr(p)));
}

template <typename T>
__device__ __forceinline__ void Mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

__device__ __forceinline__ float Activate(float x, int act) {
  switch (act) {
    case static_cast<int>(ActKind::kGeluErf):
      return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case static_cast<int>(ActKind::kGeluTanh): {
      const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanhf(inner));
    }
    case static_cast<int>(ActKind::kSilu):
      return x / (1.0f + expf(-x));
    case static_cast<int>(ActKind::kSigmoid):
      return 1.0f / (1.0f + expf(-x));
    default:
      return x;
  }
}

// Copies a rows x 32 slice (k0..k0+31) of a K-contiguous matrix into shared memory.
template <int kRows>
__device__ __forceinline__ void LoadSlice(uint16_t* smem, const uint16_t* g, int64_t ld, int row0,
                                          int rows_valid, int k0, int k) {
  constexpr int kChunks = kRows * (kBK / 8);
#pragma unroll
  for (int i = 0; i < (kChunks + kThreads - 1) / kThreads; ++i) {
    const int idx = threadIdx.x + i * kThreads;
    if (kChunks % kThreads != 0 && idx >= kChunks) break;
    const int r = idx / (kBK / 8);
    const int c = (idx % (kBK / 8)) * 8;
    const int gr = row0 + r;
    const int gk = k0 + c;
    int bytes = 0;
    const uint16_t* src = g;
    if (gr < rows_valid && gk < k) {
      bytes = min(8, k - gk) * 2;
      src = g + static_cast<int64_t>(gr) * ld + gk;
    }
    CpAsync16(smem + r * kSmemStride + c, src, bytes);
  }
}

template <typename T, int kBM, int kBN, int kStages>
__global__ void __launch_bounds__(kThreads) GemmMmaKernel(GemmMmaArgs p) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int kWarpM = kBM / 2;
  constexpr int kWarpN = kBN / 2;
  constexpr int kMi = kWarpM / 16;
  constexpr int kNi = kWarpN / 8;
  static_assert(kNi % 2 == 0, "B fragments come in pairs of 8-wide tiles");
  constexpr int kStageElems = (kBM + kBN) * kSmemStride;
  uint16_t* smem = reinterpret_cast<uint16_t*>(smem_raw);

  const int m0 = blockIdx.y * kBM;
  const int n0 = blockIdx.x * kBN;
  const uint16_t* a = static_cast<const uint16_t*>(p.a);
  const uint16_t* b = static_cast<const uint16_t*>(p.b);
  const int num_k = (p.k + kBK - 1) / kBK;

  auto load_stage = [&](int stage, int kt) {
    uint16_t* as = smem + stage * kStageElems;
    uint16_t* bs = as + kBM * kSmemStride;
    LoadSlice<kBM>(as, a, p.lda, m0, p.m, kt * kBK, p.k);
    LoadSlice<kBN>(bs, b, p.ldb, n0, p.n, kt * kBK, p.k);
  };

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < num_k) load_stage(s, s);
    asm volatile("cp.async.commit_group;\n" ::);
  }

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int wm = warp / 2;
  const int wn = warp % 2;
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
        float v0 = Activate(acc[i][j][2 * h] + b0, p.act);
        float v1 = Activate(acc[i][j][2 * h + 1] + b1, p.act);
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

template <int kBM, int kBN, int kStages>
constexpr size_t SmemBytes() {
  return static_cast<size_t>(kStages) * (kBM + kBN) * kSmemStride * sizeof(uint16_t);
}

constexpr int kStagesWide = 4;
constexpr int kStagesNarrow = 4;

template <typename T, int kBM, int kBN, int kStages>
void LaunchShape(const GemmMmaArgs& p, cudaStream_t stream) {
  const dim3 grid((p.n + kBN - 1) / kBN, (p.m + kBM - 1) / kBM);
  GemmMmaKernel<T, kBM, kBN, kStages><<<grid, kThreads, SmemBytes<kBM, kBN, kStages>(), stream>>>(p);
  VLART_CUDA_CHECK(cudaGetLastError());
}

template <typename T>
void SetSmemLimits() {
  VLART_CUDA_CHECK(cudaFuncSetAttribute(GemmMmaKernel<T, 64, 128, kStagesWide>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(SmemBytes<64, 128, kStagesWide>())));
  VLART_CUDA_CHECK(cudaFuncSetAttribute(GemmMmaKernel<T, 32, 64, kStagesNarrow>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(SmemBytes<32, 64, kStagesNarrow>())));
}

bool Aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0; }

}  // namespace

void InitGemmMmaKernels() {
  SetSmemLimits<__nv_bfloat16>();
  SetSmemLimits<__half>();
}

bool GemmMmaSupported(const GemmMmaArgs& p, DType dtype) {
  if (dtype != DType::kBF16 && dtype != DType::kF16) return false;
  if (p.m < 1 || p.n < 1 || p.k < 8 || p.k % 8 != 0) return false;
  if (p.m > (1 << 30) || p.n > (1 << 30) || p.k > (1 << 30)) return false;
  if (!Aligned16(p.a) || !Aligned16(p.b) || p.lda % 8 != 0 || p.ldb % 8 != 0) return false;
  if (p.lda < p.k || p.ldb < p.k || p.ldd < p.n) return false;
  if (p.residual != nullptr && p.ldr < p.n) return false;
  return true;
}

GemmMmaShape ChooseGemmMmaShape(int64_t m, int64_t n, int num_sms) {
  const int64_t wide_blocks = ((n + 127) / 128) * ((m + 63) / 64);
  // The wide tile does 4x the work per block; take it when it still covers ~3/4 of the SMs.
  return wide_blocks * 4 >= static_cast<int64_t>(num_sms) * 3 ? GemmMmaShape::kWide
                                                               : GemmMmaShape::kNarrow;
}

void LaunchGemmMma(const GemmMmaArgs& p, DType dtype, GemmMmaShape shape, cudaStream_t stream) {
  GemmMmaArgs q = p;
  q.paired_stores = (reinterpret_cast<uintptr_t>(p.d) & 3) == 0 && p.ldd % 2 == 0;
  const bool bf = dtype == DType::kBF16;
  if (shape == GemmMmaShape::kWide) {
    bf ? LaunchShape<__nv_bfloat16, 64, 128, kStagesWide>(q, stream)
       : LaunchShape<__half, 64, 128, kStagesWide>(q, stream);
  } else {
    bf ? LaunchShape<__nv_bfloat16, 32, 64, kStagesNarrow>(q, stream)
       : LaunchShape<__half, 32, 64, kStagesNarrow>(q, stream);
  }
}

}  // namespace vlart::cuda
