// SPDX-License-Identifier: Apache-2.0
//
// linear.cu: the SIMT GEMM fallback (with its fused epilogue) and the epilogue pass that
// follows a cuBLASLt GEMM. The fast Linear path is cuBLASLt (cublaslt_gemm.cc); these kernels
// cover what it cannot: DomainLinear's per-sample weights picked by a device-side id, mixed
// dtypes, odd strides, and the activations cuBLASLt's epilogues do not provide exactly.
//
// Math:      C[z, m, n] = act(Σ_k A[z, m, k] · B[z', n, k] + bias[z', n]) + residual[z, m, n]
//            with z' = index[z] when an index table is given (DomainLinear), else z.
//            Epilogue pass: D[m, n] = act(D[m, n] + bias[n]) + residual[m, n] (D's values or an
//            f32 source: a cuBLASLt product in f32).
//            DomainLinear: per-sample weight tables picked on the device (see kernel comments),
//            8 loads in flight per thread; typed loads when the operands share one dtype.
// Mapping:   GEMM: 64x64 output tile per block of 256 threads, each thread a 4x4 sub-tile
//            strided by 16 so stores coalesce; K in steps of 16 through shared memory (f32).
//            Epilogue: one thread per element; the fast path (f32 source, 16-bit D / bias /
//            residual of one dtype, N % 8 == 0, 16-byte aligned rows) one thread per 8
//            consecutive columns of one row (two float4 loads, one 16-byte store).
// Numerics:  products and sums in f32 (bf16/f16 inputs are exact in f32), k ascending within
//            a thread; bias, activation and residual in f32, one rounding at the store.
//            Residual may alias D: each element is read and written by the same thread.
// Reference: backends/cpu Linear / DomainLinear (GEMM, then bias, act, residual).
// Napkin:    a correctness path (~10-20 TFLOP/s-class SIMT at best), not the model hot path.

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kTileM = 64;
constexpr int kTileN = 64;
constexpr int kTileK = 16;
constexpr int kGemmThreads = 256;
constexpr int kLoadsPerThread = kTileM * kTileK / kGemmThreads;  // 4
static_assert(kTileM == kTileN, "the load mapping assumes square tiles");

__global__ void __launch_bounds__(kGemmThreads) SimtGemmKernel(SimtGemmArgs p) {
  __shared__ float as[kTileK][kTileM + 1];  // as[k][m]
  __shared__ float bs[kTileK][kTileN + 1];  // bs[k][n]

  const int z = blockIdx.z;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTileM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTileN;
  const int64_t zb = p.b_batch_index != nullptr ? p.b_batch_index[z * p.b_index_stride] : z;
  const int64_t a_off = z * p.a_batch_stride;
  const int64_t b_off = zb * p.b_batch_stride;
  const int tx = threadIdx.x % 16;
  const int ty = threadIdx.x / 16;
  // Load mapping: consecutive threads walk the operand's unit-stride axis when it has one.
  const bool a_k_fast = p.a_k_stride == 1;
  const bool b_k_fast = p.b_k_stride == 1;

  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
#pragma unroll
    for (int e = 0; e < kLoadsPerThread; ++e) {
      const int idx = threadIdx.x + e * kGemmThreads;
      {
        const int r = a_k_fast ? idx / kTileK : idx % kTileM;
        const int kk = a_k_fast ? idx % kTileK : idx / kTileM;
        const int64_t gm = m0 + r;
        const int64_t gk = k0 + kk;
        as[kk][r] = (gm < p.m && gk < p.k)
                        ? LoadAsFloat(p.a, p.a_dtype, a_off + gm * p.a_m_stride + gk * p.a_k_stride)
                        : 0.0f;
      }
      {
        const int r = b_k_fast ? idx / kTileK : idx % kTileN;
        const int kk = b_k_fast ? idx % kTileK : idx / kTileN;
        const int64_t gn = n0 + r;
        const int64_t gk = k0 + kk;
        bs[kk][r] = (gn < p.n && gk < p.k)
                        ? LoadAsFloat(p.b, p.b_dtype, b_off + gn * p.b_n_stride + gk * p.b_k_stride)
                        : 0.0f;
      }
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      float a_reg[4];
      float b_reg[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a_reg[i] = as[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b_reg[j] = bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a_reg[i], b_reg[j], acc[i][j]);
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t gm = m0 + ty + 16 * i;
    if (gm >= p.m) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t gn = n0 + tx + 16 * j;
      if (gn >= p.n) continue;
      float v = acc[i][j];
      if (p.bias != nullptr) {
        v += LoadAsFloat(p.bias, p.bias_dtype, zb * p.bias_batch_stride + gn * p.bias_stride);
      }
      v = ApplyActivation(p.act, v);
      if (p.residual != nullptr) {
        v += LoadAsFloat(p.residual, p.residual_dtype,
                         z * p.r_batch_stride + gm * p.r_m_stride + gn * p.r_n_stride);
      }
      StoreFromFloat(p.d, p.d_dtype, z * p.d_batch_stride + gm * p.d_m_stride + gn * p.d_n_stride,
                     v);
    }
  }
}

__global__ void EpilogueKernel(EpilogueArgs p) {
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh)
  const int64_t total = p.m * p.n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / p.n;
    const int64_t col = i - row * p.n;
    const int64_t d_idx = row * p.ldd + col;
    float v = p.src != nullptr ? p.src[row * p.lds + col] : LoadAsFloat(p.d, p.d_dtype, d_idx);
    if (p.bias != nullptr) v += LoadAsFloat(p.bias, p.bias_dtype, col * p.bias_stride);
    v = ApplyActivation(p.act, v);
    if (p.residual != nullptr) v += LoadAsFloat(p.residual, p.residual_dtype, row * p.ldr + col);
    StoreFromFloat(p.d, p.d_dtype, d_idx, v);
  }
}

// The epilogue's fast path: T = bf16/f16 D, bias and residual; the values from the f32 src
// or, without src, from D itself (in place). Grid (column groups of 8 per block.x, rows per
// block.y): no 64-bit division, 16-byte accesses.
template <typename T, ActKind kAct>
__global__ void EpilogueVecKernel(EpilogueArgs p) {
  PdlAllowDependents();
  PdlWaitPrior();
  const int64_t row = blockIdx.y;
  const int64_t col = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * 8;
  if (col >= p.n) return;
  T* d = static_cast<T*>(p.d) + row * p.ldd + col;
  float v[8];
  if (p.src != nullptr) {
    const float4* s = reinterpret_cast<const float4*>(p.src + row * p.lds + col);
    const float4 s0 = s[0];
    const float4 s1 = s[1];
    v[0] = s0.x, v[1] = s0.y, v[2] = s0.z, v[3] = s0.w;
    v[4] = s1.x, v[5] = s1.y, v[6] = s1.z, v[7] = s1.w;
  } else {
    const uint4 draw = *reinterpret_cast<const uint4*>(d);
    const T* dv = reinterpret_cast<const T*>(&draw);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = ToFloat(dv[i]);
  }
  if (p.bias != nullptr) {
    const uint4 braw = *reinterpret_cast<const uint4*>(static_cast<const T*>(p.bias) + col);
    const T* b = reinterpret_cast<const T*>(&braw);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] += ToFloat(b[i]);
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) v[i] = Activate<kAct>(v[i]);
  if (p.residual != nullptr) {
    const uint4 rraw =
        *reinterpret_cast<const uint4*>(static_cast<const T*>(p.residual) + row * p.ldr + col);
    const T* r = reinterpret_cast<const T*>(&rraw);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] += ToFloat(r[i]);
  }
  uint4 out;
  T* o = reinterpret_cast<T*>(&out);
#pragma unroll
  for (int i = 0; i < 8; ++i) o[i] = FromFloat<T>(v[i]);
  *reinterpret_cast<uint4*>(d) = out;
}

// The fast path applies: see EpilogueVecKernel.
bool EpilogueVecOk(const EpilogueArgs& a) {
  const DType t = a.d_dtype;
  if (t != DType::kBF16 && t != DType::kF16) return false;
  if (a.n % 8 != 0 || a.m > 65535) return false;
  if (a.src != nullptr && (!IsAligned(a.src, 16) || a.lds % 4 != 0)) return false;
  if (!IsAligned(a.d, 16) || a.ldd % 8 != 0) return false;
  if (a.bias != nullptr && (a.bias_dtype != t || a.bias_stride != 1 || !IsAligned(a.bias, 16))) return false;
  if (a.residual != nullptr && (a.residual_dtype != t || !IsAligned(a.residual, 16) || a.ldr % 8 != 0)) {
    return false;
  }
  return true;
}

template <typename T>
void LaunchEpilogueVec(const EpilogueArgs& a, cudaStream_t stream) {
  constexpr int kThreads = 128;
  const int64_t groups = a.n / 8;
  const dim3 grid(static_cast<unsigned int>((groups + kThreads - 1) / kThreads),
                  static_cast<unsigned int>(a.m));
  WithAct(a.act, [&](auto act) {
    LaunchPdl(EpilogueVecKernel<T, decltype(act)::value>, grid, dim3(kThreads), 0, stream, 1, a);
  });
}

// DomainLinear's operand access: T = the one dtype of x, the table, the bias and out (the
// models' case: typed loads), T = void their runtime dtypes (LoadAsFloat / StoreFromFloat).
// Indices are element offsets.
template <typename T>
struct DomainIo {
  __device__ static float X(const DomainLinearArgs& p, int64_t i) { return ToFloat(static_cast<const T*>(p.x)[i]); }
  __device__ static float W(const DomainLinearArgs& p, int64_t i) { return ToFloat(static_cast<const T*>(p.table)[i]); }
  __device__ static float Bias(const DomainLinearArgs& p, int64_t i) { return ToFloat(static_cast<const T*>(p.bias)[i]); }
  __device__ static void Store(const DomainLinearArgs& p, int64_t i, float v) { static_cast<T*>(p.out)[i] = FromFloat<T>(v); }
};
template <>
struct DomainIo<void> {
  __device__ static float X(const DomainLinearArgs& p, int64_t i) { return LoadAsFloat(p.x, p.x_dtype, i); }
  __device__ static float W(const DomainLinearArgs& p, int64_t i) { return LoadAsFloat(p.table, p.table_dtype, i); }
  __device__ static float Bias(const DomainLinearArgs& p, int64_t i) { return LoadAsFloat(p.bias, p.bias_dtype, i); }
  __device__ static void Store(const DomainLinearArgs& p, int64_t i, float v) { StoreFromFloat(p.out, p.out_dtype, i, v); }
};

// Both kernels request kAhead values of x and W before accumulating them, so a thread has that
// many loads in flight instead of one (one at a time serialised the K loop: X-VLA's action
// encoder, K = 72, took ~15 us with runtime-dtype loads). The sum is one f32 accumulator in
// ascending k (per lane for the warp form): the order does not depend on kAhead. The thread
// form asks for 24 (X-VLA's K = 72 in three batches: each batch is an L2 round trip), the warp
// form 8 (its lanes already split K 32 ways).
constexpr int kDomainAheadThread = 24;
constexpr int kDomainAheadWarp = 8;

// Σ_k x[x0 + k·step] W[w0 + k·step·n] for k = first, first + step, ... < p.k, in that order.
template <typename T, int kDomainAhead>
__device__ __forceinline__ float DomainDot(const DomainLinearArgs& p, int64_t x0, int64_t w0, int first,
                                           int step) {
  using Io = DomainIo<T>;
  float acc = 0.0f;
  int k = first;
  for (; k + step * (kDomainAhead - 1) < p.k; k += step * kDomainAhead) {
    float xv[kDomainAhead], wv[kDomainAhead];
#pragma unroll
    for (int i = 0; i < kDomainAhead; ++i) {
      xv[i] = Io::X(p, x0 + k + step * i);
      wv[i] = Io::W(p, w0 + static_cast<int64_t>(k + step * i) * p.n);
    }
#pragma unroll
    for (int i = 0; i < kDomainAhead; ++i) acc += xv[i] * wv[i];
  }
  for (; k < p.k; k += step) acc += Io::X(p, x0 + k) * Io::W(p, w0 + static_cast<int64_t>(k) * p.n);
  return acc;
}

// DomainLinear, one thread per output (wide N: consecutive threads read consecutive W
// columns).
template <typename T>
__global__ void DomainLinearThreadKernel(DomainLinearArgs p) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  const int t = blockIdx.y;
  const int b = blockIdx.z;
  if (n >= p.n) return;
  const int64_t d = p.ids[b * p.ids_stride];
  const int64_t x0 = b * p.x_sb + static_cast<int64_t>(t) * p.x_st;
  const int64_t w0 = d * static_cast<int64_t>(p.k) * p.n + n;
  const float acc = DomainDot<T, kDomainAheadThread>(p, x0, w0, 0, 1) + DomainIo<T>::Bias(p, d * p.n + n);
  DomainIo<T>::Store(p, b * p.o_sb + static_cast<int64_t>(t) * p.o_st + n, acc);
}

// DomainLinear, one warp per output (narrow N, long K): lanes take k = lane, lane + 32, ...,
// then a fixed shuffle tree.
template <typename T>
__global__ void DomainLinearWarpKernel(DomainLinearArgs p) {
  const int64_t warp_id = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  const int64_t total = static_cast<int64_t>(p.batch) * p.tokens * p.n;
  if (warp_id >= total) return;
  const int n = static_cast<int>(warp_id % p.n);
  const int t = static_cast<int>((warp_id / p.n) % p.tokens);
  const int b = static_cast<int>(warp_id / (static_cast<int64_t>(p.n) * p.tokens));
  const int64_t d = p.ids[b * p.ids_stride];
  const int64_t x0 = b * p.x_sb + static_cast<int64_t>(t) * p.x_st;
  const int64_t w0 = d * static_cast<int64_t>(p.k) * p.n + n;
  float acc = DomainDot<T, kDomainAheadWarp>(p, x0, w0, lane, 32);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  if (lane == 0) {
    acc += DomainIo<T>::Bias(p, d * p.n + n);
    DomainIo<T>::Store(p, b * p.o_sb + static_cast<int64_t>(t) * p.o_st + n, acc);
  }
}

// DomainLinear, one block per token row for narrow N (at most kRowMaxN outputs: X-VLA's action
// decoder, 1024 -> 20). Thread i takes k = i, i + 128, ... and keeps all N sums; W is [K, N]
// row-major per domain, so the 32 lanes of a warp read 32 consecutive W rows (one contiguous
// span) where the warp form's lanes read one column, 2·N bytes apart: one 32-byte sector per
// element (20 x 1024 sectors per token at X-VLA's decoder, ~18 us a call on the H100).
// Sums: per thread in ascending k, then a fixed shuffle tree per warp, then the warps in order:
// a fixed order, the same bits on every run.
constexpr int kRowMaxN = 32;
constexpr int kRowThreads = 128;
template <typename T>
__global__ void __launch_bounds__(kRowThreads) DomainLinearRowKernel(DomainLinearArgs p) {
  using Io = DomainIo<T>;
  __shared__ float part[kRowThreads / 32][kRowMaxN];
  const int t = blockIdx.x;
  const int b = blockIdx.y;
  const int64_t d = p.ids[b * p.ids_stride];
  const int64_t x0 = b * p.x_sb + static_cast<int64_t>(t) * p.x_st;
  const int64_t w0 = d * static_cast<int64_t>(p.k) * p.n;
  float acc[kRowMaxN];
#pragma unroll
  for (int n = 0; n < kRowMaxN; ++n) acc[n] = 0.0f;
  // Unrolled so that several k's loads are in flight together (K 1024: 8 per thread).
#pragma unroll 4
  for (int k = threadIdx.x; k < p.k; k += kRowThreads) {
    const float xv = Io::X(p, x0 + k);
    const int64_t wr = w0 + static_cast<int64_t>(k) * p.n;
#pragma unroll
    for (int n = 0; n < kRowMaxN; ++n) {
      if (n < p.n) acc[n] += xv * Io::W(p, wr + n);
    }
  }
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
#pragma unroll
  for (int n = 0; n < kRowMaxN; ++n) {
    if (n >= p.n) break;  // uniform
    float v = acc[n];
#pragma unroll
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    if (lane == 0) part[warp][n] = v;
  }
  __syncthreads();
  const int n = threadIdx.x;
  if (n < p.n) {
    float v = part[0][n];
#pragma unroll
    for (int w = 1; w < kRowThreads / 32; ++w) v += part[w][n];
    v += Io::Bias(p, d * p.n + n);
    Io::Store(p, b * p.o_sb + static_cast<int64_t>(t) * p.o_st + n, v);
  }
}

template <typename T>
void LaunchDomainLinearT(const DomainLinearArgs& a, cudaStream_t stream) {
  // VLART_DOMAIN_LINEAR_ROWS=0: narrow N keeps the warp-per-output form (A/B runs)
  static const bool rows_on = EnvSwitchOn("VLART_DOMAIN_LINEAR_ROWS");
  if (a.n >= 128 && a.k <= 512) {
    const dim3 grid((a.n + 127) / 128, a.tokens, a.batch);
    DomainLinearThreadKernel<T><<<grid, 128, 0, stream>>>(a);
  } else if (rows_on && a.n <= kRowMaxN && a.k >= kRowThreads && a.tokens <= 65535 && a.batch <= 65535) {
    DomainLinearRowKernel<T><<<dim3(a.tokens, a.batch), kRowThreads, 0, stream>>>(a);
  } else {
    const int64_t warps = static_cast<int64_t>(a.batch) * a.tokens * a.n;
    DomainLinearWarpKernel<T><<<static_cast<unsigned int>((warps * 32 + 255) / 256), 256, 0, stream>>>(a);
  }
}

}  // namespace

void LaunchDomainLinear(const DomainLinearArgs& a, cudaStream_t stream) {
  if (a.batch == 0 || a.tokens == 0 || a.n == 0) return;
  const DType t = a.x_dtype;
  // VLART_DOMAIN_LINEAR_TYPED=0: runtime-dtype loads (A/B runs)
  static const bool typed_on = EnvSwitchOn("VLART_DOMAIN_LINEAR_TYPED");
  const bool typed = typed_on && a.table_dtype == t && a.bias_dtype == t && a.out_dtype == t &&
                     (t == DType::kF32 || t == DType::kBF16 || t == DType::kF16);
  if (!typed) {
    LaunchDomainLinearT<void>(a, stream);
  } else if (t == DType::kBF16) {
    LaunchDomainLinearT<__nv_bfloat16>(a, stream);
  } else if (t == DType::kF16) {
    LaunchDomainLinearT<__half>(a, stream);
  } else {
    LaunchDomainLinearT<float>(a, stream);
  }
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchSimtGemm(const SimtGemmArgs& args, cudaStream_t stream) {
  if (args.m == 0 || args.n == 0 || args.batch == 0) return;
  const dim3 grid(static_cast<unsigned int>((args.n + kTileN - 1) / kTileN),
                  static_cast<unsigned int>((args.m + kTileM - 1) / kTileM),
                  static_cast<unsigned int>(args.batch));
  SimtGemmKernel<<<grid, kGemmThreads, 0, stream>>>(args);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchEpilogue(const EpilogueArgs& args, cudaStream_t stream) {
  const int64_t total = args.m * args.n;
  if (total == 0) return;
  if (EpilogueVecOk(args)) {
    if (args.d_dtype == DType::kBF16) {
      LaunchEpilogueVec<__nv_bfloat16>(args, stream);
    } else {
      LaunchEpilogueVec<__half>(args, stream);
    }
    return;
  }
  constexpr int kThreads = 256;
  LaunchPdl(EpilogueKernel, dim3(GridFor(total, kThreads)), dim3(kThreads), 0, stream, 1, args);
}

}  // namespace vlart::cuda
