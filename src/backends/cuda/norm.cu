// SPDX-License-Identifier: Apache-2.0
//
// norm.cu: LayerNorm, RmsNorm, AdaRmsNorm (also fused after a MulAdd: MulAddAdaRmsNorm),
// Softmax (rows = all dims but the last) and MeanOverTokens.
//
// Math:      LayerNorm  y = (x - mean) * 1/sqrt(var + eps) * gamma + beta  (biased var)
//            RmsNorm    y = x * 1/sqrt(mean(x²) + eps) * (offset + w)
//            AdaRmsNorm y = x * 1/sqrt(mean(x²) + eps) * (1 + scale) + shift, scale and shift
//                       per row (x-shaped views: a broadcast row, or one per sample)
//            Softmax    y = exp(x - max) / Σ exp(x - max)
//            MeanOverTokens  out[b, c] = Σ_n x[b, n, c] / N
// Mapping:   one block per row (threads = the row width rounded up to a warp, at most 256),
//            strided loops over the row, block reductions through warp shuffles. Rows are
//            re-read from global memory for each pass (they stay in L1/L2). When x and out share
//            a dtype, C is a multiple of the 16-byte vector (4 f32 / 8 bf16 or f16) and every row
//            starts 16-byte aligned, each thread moves 16-byte vectors (LayerNorm, RmsNorm,
//            Softmax; a row of at most one vector per thread is loaded once and held in
//            registers, and contiguous aligned gamma / beta of x's dtype load as vectors);
//            otherwise the scalar runtime-dtype kernels run. AdaRmsNorm has its own pair:
//            16-byte vectors of x, scale, shift and out when all four qualify (one dtype,
//            aligned row starts; broadcast row strides of 0 qualify), else scalar loads; at
//            most one vector per thread, x, scale and shift are all read before the reduction
//            and x is held (pi0.5 denoise 8.39 against 8.43 ms, H100 A/B at c4875c7). Loading
//            gamma / beta with a held row's x as well was slower on X-VLA (policy 11.85 /
//            11.88 against 11.75 ms) and is not done (docs/PERFORMANCE.md).
//            MulAddAdaRmsNorm (x += y·gate in place, then AdaRmsNorm of the rounded x) runs as
//            one vector kernel under the same conditions (else the backend issues the two ops).
//            MeanOverTokens: a block owns 32 channels x 8 token stripes of one batch entry.
// Numerics:  statistics in f32: LayerNorm is two-pass (mean, then Σ(x - mean)²) so large
//            means do not cancel (one block reduction of per-thread moments merged pairwise
//            instead, Chan et al., was much slower: X-VLA policy 12.31 against 11.30 ms,
//            docs/PERFORMANCE.md); 1/sqrtf (IEEE) rather than rsqrtf; expf (not __expf).
//            Reduction trees are fixed, so results are deterministic. AdaRmsNorm's last step is
//            one FMA, (x r) * (1 + scale) + shift, rounded once to out's dtype (the unfused
//            RmsNorm + Add rounded the norm to out's dtype before adding shift).
// Reference: backends/cpu (LayerNorm, RmsNorm, AdaRmsNorm, Softmax, MeanOverTokens).
// Napkin:    memory-bound: X-VLA's LN over 262x1024 bf16 reads 0.5 MB + writes 0.5 MB, ~0.3 us
//            of HBM time; this version reads x two or three times (L2-resident).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <initializer_list>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

int64_t NumRows(const StridedArg& t) {
  int64_t rows = 1;
  for (int d = 0; d + 1 < t.ndim; ++d) rows *= t.shape[d];
  return rows;
}

int ThreadsForRow(int64_t width) {
  const int64_t rounded = (width + 31) / 32 * 32;
  return static_cast<int>(rounded < 256 ? (rounded > 32 ? rounded : 32) : 256);
}

__global__ void LayerNormKernel(StridedArg x, StridedArg gamma, StridedArg beta, float eps,
                                StridedArg out) {
  __shared__ float scratch[32];
  const int64_t width = InnerSize(x);
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = InnerStride(x);
  const int64_t os = InnerStride(out);

  float sum = 0.0f;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) sum += LoadAsFloat(x.data, x.dtype, xo + c * xs);
  const float mean = BlockSum(sum, scratch) / static_cast<float>(width);
  float sq = 0.0f;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float d = LoadAsFloat(x.data, x.dtype, xo + c * xs) - mean;
    sq += d * d;
  }
  const float var = BlockSum(sq, scratch) / static_cast<float>(width);
  const float rstd = 1.0f / sqrtf(var + eps);
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, xo + c * xs);
    const float g = LoadAsFloat(gamma.data, gamma.dtype, c * gamma.stride[0]);
    const float b = LoadAsFloat(beta.data, beta.dtype, c * beta.stride[0]);
    StoreFromFloat(out.data, out.dtype, oo + c * os, (v - mean) * rstd * g + b);
  }
}

__global__ void RmsNormKernel(StridedArg x, StridedArg w, float eps, float weight_offset,
                              StridedArg out) {
  __shared__ float scratch[32];
  const int64_t width = InnerSize(x);
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = InnerStride(x);
  const int64_t os = InnerStride(out);

  const float r = BlockInvRms(x.data, x.dtype, xo, xs, width, eps, scratch);
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, xo + c * xs);
    const float g = weight_offset + LoadAsFloat(w.data, w.dtype, c * w.stride[0]);
    StoreFromFloat(out.data, out.dtype, oo + c * os, v * r * g);
  }
}

// Scalar AdaRmsNorm: any float dtype per operand; scale / shift rows found like x's.
__global__ void AdaRmsNormKernel(StridedArg x, StridedArg scale, StridedArg shift, float eps,
                                 StridedArg out) {
  __shared__ float scratch[32];
  const int64_t width = InnerSize(x);
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t so = RowOffsetOf(scale, blockIdx.x);
  const int64_t ho = RowOffsetOf(shift, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = InnerStride(x);
  const int64_t ss = InnerStride(scale);
  const int64_t hs = InnerStride(shift);
  const int64_t os = InnerStride(out);

  const float r = BlockInvRms(x.data, x.dtype, xo, xs, width, eps, scratch);
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, xo + c * xs);
    const float g = 1.0f + LoadAsFloat(scale.data, scale.dtype, so + c * ss);
    const float b = LoadAsFloat(shift.data, shift.dtype, ho + c * hs);
    StoreFromFloat(out.data, out.dtype, oo + c * os, __fmaf_rn(v * r, g, b));
  }
}

__global__ void SoftmaxKernel(StridedArg x, StridedArg out) {
  __shared__ float scratch[32];
  const int64_t width = InnerSize(x);
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = InnerStride(x);
  const int64_t os = InnerStride(out);

  float mx = -INFINITY;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    mx = fmaxf(mx, LoadAsFloat(x.data, x.dtype, xo + c * xs));
  }
  mx = BlockMax(mx, scratch);
  float sum = 0.0f;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    sum += expf(LoadAsFloat(x.data, x.dtype, xo + c * xs) - mx);
  }
  sum = BlockSum(sum, scratch);
  const float inv = 1.0f / sum;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float e = expf(LoadAsFloat(x.data, x.dtype, xo + c * xs) - mx);
    StoreFromFloat(out.data, out.dtype, oo + c * os, e * inv);
  }
}

// ---- 16-byte vector paths --------------------------------------------------------------------
template <typename T>
constexpr int kVecWidth = 16 / static_cast<int>(sizeof(T));

template <typename T>
__device__ __forceinline__ void LoadVec(const T* p, float (&v)[kVecWidth<T>]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < kVecWidth<T>; ++i) v[i] = ToFloat(e[i]);
}

template <typename T>
__device__ __forceinline__ void StoreVec(T* p, const float (&v)[kVecWidth<T>]) {
  uint4 raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < kVecWidth<T>; ++i) e[i] = FromFloat<T>(v[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

// kind 0: LayerNorm, 1: RmsNorm, 2: Softmax (one kernel body keeps the three passes in step).
// kOneVec: the row has at most one 16-byte vector per thread (C <= 8 x 256 in bf16: X-VLA's,
// SigLIP's and Gemma's widths), loaded once and kept in registers for the three passes, and
// kVecParams: gamma / beta (T, contiguous, 16-byte aligned) read as vectors too. Otherwise the
// passes loop over the row, re-reading it (L1 / L2), and gamma / beta are scalar loads.
template <typename T, int kKind, bool kOneVec, bool kVecParams>
__global__ void RowVecKernel(StridedArg x, StridedArg gamma, StridedArg beta, float eps,
                             float weight_offset, StridedArg out) {
  constexpr int kW = kVecWidth<T>;
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh)
  __shared__ float scratch[32];
  const int64_t width = InnerSize(x);
  const T* xr = static_cast<const T*>(x.data) + RowOffsetOf(x, blockIdx.x);
  T* orow = static_cast<T*>(out.data) + RowOffsetOf(out, blockIdx.x);
  const int64_t step = static_cast<int64_t>(blockDim.x) * kW;
  const int64_t c0 = static_cast<int64_t>(threadIdx.x) * kW;
  float held[kW];  // kOneVec: the thread's vector of the row
  if constexpr (kOneVec) {
    if (c0 < width) {
      LoadVec(xr + c0, held);
    } else {
#pragma unroll
      for (int i = 0; i < kW; ++i) held[i] = kKind == 2 ? -INFINITY : 0.0f;
    }
  }
  const auto load = [&](int64_t c, float (&v)[kW]) {
    if constexpr (kOneVec) {
#pragma unroll
      for (int i = 0; i < kW; ++i) v[i] = held[i];
    } else {
      LoadVec(xr + c, v);
    }
  };

  float center = 0.0f;  // LayerNorm: the mean; Softmax: the max
  if constexpr (kKind == 0) {
    float sum = 0.0f;
    for (int64_t c = c0; c < width; c += step) {
      float v[kW];
      load(c, v);
#pragma unroll
      for (int i = 0; i < kW; ++i) sum += v[i];
    }
    center = BlockSum(sum, scratch) / static_cast<float>(width);
  } else if constexpr (kKind == 2) {
    float mx = -INFINITY;
    for (int64_t c = c0; c < width; c += step) {
      float v[kW];
      load(c, v);
#pragma unroll
      for (int i = 0; i < kW; ++i) mx = fmaxf(mx, v[i]);
    }
    center = BlockMax(mx, scratch);
  }
  float acc = 0.0f;  // Σ(x - mean)², Σx² or Σexp(x - max)
  for (int64_t c = c0; c < width; c += step) {
    float v[kW];
    load(c, v);
#pragma unroll
    for (int i = 0; i < kW; ++i) {
      if constexpr (kKind == 2) {
        acc += expf(v[i] - center);
      } else if constexpr (kKind == 0) {
        // Spelled out (no contraction left to the compiler): LinearResidualLayerNorm's fused
        // kernel (linear_norm.cu) writes the same intrinsics and must give these bits.
        const float d = __fsub_rn(v[i], center);
        acc = __fadd_rn(acc, __fmul_rn(d, d));
      } else {
        const float d = v[i] - center;
        acc += d * d;
      }
    }
  }
  acc = BlockSum(acc, scratch);
  const float scale = kKind == 2 ? 1.0f / acc : 1.0f / sqrtf(acc / static_cast<float>(width) + eps);
  for (int64_t c = c0; c < width; c += step) {
    float v[kW];
    load(c, v);
    float g[kW], b[kW];
    if constexpr (kKind != 2 && kVecParams) {
      LoadVec(static_cast<const T*>(gamma.data) + c, g);
      if constexpr (kKind == 0) LoadVec(static_cast<const T*>(beta.data) + c, b);
    } else if constexpr (kKind != 2) {
#pragma unroll
      for (int i = 0; i < kW; ++i) {
        g[i] = LoadAsFloat(gamma.data, gamma.dtype, (c + i) * gamma.stride[0]);
        if constexpr (kKind == 0) b[i] = LoadAsFloat(beta.data, beta.dtype, (c + i) * beta.stride[0]);
      }
    }
#pragma unroll
    for (int i = 0; i < kW; ++i) {
      if constexpr (kKind == 0) {
        v[i] = __fmaf_rn(__fmul_rn(__fsub_rn(v[i], center), scale), g[i], b[i]);  // as linear_norm.cu
      } else if constexpr (kKind == 1) {
        v[i] = v[i] * scale * (weight_offset + g[i]);
      } else {
        v[i] = expf(v[i] - center) * scale;
      }
    }
    StoreVec(orow + c, v);
  }
}

// AdaRmsNorm on 16-byte vectors: the RmsNorm passes of RowVecKernel, then x, scale and shift
// of the row as vectors (scale / shift rows may repeat: broadcast views). kResidual
// (MulAddAdaRmsNorm, pi0.5's gated residual before the norm): pass 1 first makes x + y·gate with
// MulAdd's one f32 FMA, stores it rounded to T back into x and squares the rounded value, so
// the result is bit-identical to MulAddRowsKernel followed by this kernel without kResidual
// (y and gate are not read then).
// kResidual: AdaRmsNormVecKernel's residual at columns c..c+kW of the block's row, on x's
// loaded values v: x + y·gate (MulAdd's one f32 FMA), stored rounded to T back into x, and v
// becomes the stored values, so the norm squares exactly what MulAdd would have left in x.
// Without kResidual it does nothing.
template <typename T, bool kResidual>
__device__ __forceinline__ void AdaResidualInPlace(T* xr, const StridedArg& y, const StridedArg& gate,
                                                   int64_t c, float (&v)[kVecWidth<T>]) {
  if constexpr (kResidual) {
    constexpr int kW = kVecWidth<T>;
    float a[kW], g[kW];
    LoadVec(static_cast<const T*>(y.data) + RowOffsetOf(y, blockIdx.x) + c, a);
    LoadVec(static_cast<const T*>(gate.data) + RowOffsetOf(gate, blockIdx.x) + c, g);
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = __fmaf_rn(a[i], g[i], v[i]);
    StoreVec(xr + c, v);
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = ToFloat(FromFloat<T>(v[i]));  // the stored values
  }
}

template <typename T, bool kResidual, bool kOneVec>
__global__ void AdaRmsNormVecKernel(StridedArg x, StridedArg y, StridedArg gate, StridedArg scale,
                                    StridedArg shift, float eps, StridedArg out) {
  constexpr int kW = kVecWidth<T>;
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh)
  __shared__ float scratch[32];
  const int64_t width = InnerSize(x);
  T* xr = static_cast<T*>(x.data) + RowOffsetOf(x, blockIdx.x);
  const T* sr = static_cast<const T*>(scale.data) + RowOffsetOf(scale, blockIdx.x);
  const T* hr = static_cast<const T*>(shift.data) + RowOffsetOf(shift, blockIdx.x);
  T* orow = static_cast<T*>(out.data) + RowOffsetOf(out, blockIdx.x);
  const int64_t step = static_cast<int64_t>(blockDim.x) * kW;
  if constexpr (kOneVec) {
    // At most one vector per thread (the expert's 1024 wide rows): x (after the residual),
    // scale and shift are read once, all before the reduction (one round trip, not a second
    // one after it), and x is held in registers for the second pass. The same values in the
    // same arithmetic as the loop below: the same bits.
    const int64_t c = static_cast<int64_t>(threadIdx.x) * kW;
    const bool has = c < width;
    float v[kW], g[kW], b[kW];
    float acc = 0.0f;
    if (has) {
      LoadVec(xr + c, v);
      LoadVec(sr + c, g);
      LoadVec(hr + c, b);
      AdaResidualInPlace<T, kResidual>(xr, y, gate, c, v);
#pragma unroll
      for (int i = 0; i < kW; ++i) acc += v[i] * v[i];
    }
    acc = BlockSum(acc, scratch);
    const float r = 1.0f / sqrtf(acc / static_cast<float>(width) + eps);
    if (has) {
#pragma unroll
      for (int i = 0; i < kW; ++i) v[i] = __fmaf_rn(v[i] * r, 1.0f + g[i], b[i]);
      StoreVec(orow + c, v);
    }
    return;
  }

  float acc = 0.0f;
  for (int64_t c = threadIdx.x * kW; c < width; c += step) {
    float v[kW];
    LoadVec(xr + c, v);
    AdaResidualInPlace<T, kResidual>(xr, y, gate, c, v);
#pragma unroll
    for (int i = 0; i < kW; ++i) acc += v[i] * v[i];
  }
  acc = BlockSum(acc, scratch);
  const float r = 1.0f / sqrtf(acc / static_cast<float>(width) + eps);
  for (int64_t c = threadIdx.x * kW; c < width; c += step) {
    float v[kW], g[kW], b[kW];
    LoadVec(xr + c, v);
    LoadVec(sr + c, g);
    LoadVec(hr + c, b);
#pragma unroll
    for (int i = 0; i < kW; ++i) v[i] = __fmaf_rn(v[i] * r, 1.0f + g[i], b[i]);
    StoreVec(orow + c, v);
  }
}

// One block per row of the vector kernel above, in x's dtype.
template <bool kResidual>
void LaunchAdaRmsNormVec(const StridedArg& x, const StridedArg& y, const StridedArg& gate,
                         const StridedArg& scale, const StridedArg& shift, float eps,
                         const StridedArg& out, int64_t rows, cudaStream_t stream) {
  const int64_t width = x.shape[x.ndim - 1];
  const dim3 grid(static_cast<unsigned int>(rows));
  const auto launch = [&](auto t) {
    using T = decltype(t);
    const int64_t vecs = width / kVecWidth<T>;
    const int threads = ThreadsForRow(vecs);
    // VLART_NORM_ONE_VEC=0: the looping form (A/B runs), as for RowVecKernel.
    static const bool one_vec_on = EnvSwitchOn("VLART_NORM_ONE_VEC");
    auto* kernel = one_vec_on && vecs <= threads ? AdaRmsNormVecKernel<T, kResidual, true>
                                                 : AdaRmsNormVecKernel<T, kResidual, false>;
    LaunchPdl(kernel, grid, dim3(threads), 0, stream, 1, x, y, gate, scale, shift, eps, out);
  };
  if (x.dtype == DType::kF32) {
    launch(float{});
  } else if (x.dtype == DType::kF16) {
    launch(__half{});
  } else {
    launch(__nv_bfloat16{});
  }
}

// A parameter vector [C] that RowVecKernel may read as 16-byte vectors of T.
bool VectorParams(const StridedArg& p, DType t) {
  return p.dtype == t && (p.shape[0] <= 1 || p.stride[0] == 1) &&
         reinterpret_cast<uintptr_t>(p.data) % 16 == 0;
}

template <typename T, int kKind>
void LaunchRowVecT(const StridedArg& x, const StridedArg& gamma, const StridedArg& beta, float eps,
                   float weight_offset, const StridedArg& out, int64_t rows, cudaStream_t stream) {
  const int64_t vecs = x.shape[x.ndim - 1] / kVecWidth<T>;
  const int threads = ThreadsForRow(vecs);
  // VLART_NORM_ONE_VEC=0: the looping form with scalar gamma / beta everywhere (A/B runs).
  static const bool one_vec_on = EnvSwitchOn("VLART_NORM_ONE_VEC");
  const bool one = one_vec_on && vecs <= threads;
  const bool vp = one_vec_on && kKind != 2 && VectorParams(gamma, x.dtype) &&
                  (kKind != 0 || VectorParams(beta, x.dtype));
  const dim3 grid(static_cast<unsigned int>(rows));
  const auto launch = [&](auto kernel) {
    LaunchPdl(kernel, grid, dim3(threads), 0, stream, 1, x, gamma, beta, eps, weight_offset, out);
  };
  if (one && vp) {
    launch(RowVecKernel<T, kKind, true, true>);
  } else if (one) {
    launch(RowVecKernel<T, kKind, true, false>);
  } else if (vp) {
    launch(RowVecKernel<T, kKind, false, true>);
  } else {
    launch(RowVecKernel<T, kKind, false, false>);
  }
}

template <int kKind>
void LaunchRowVec(const StridedArg& x, const StridedArg& gamma, const StridedArg& beta, float eps,
                  float weight_offset, const StridedArg& out, int64_t rows, cudaStream_t stream) {
  if (x.dtype == DType::kF32) {
    LaunchRowVecT<float, kKind>(x, gamma, beta, eps, weight_offset, out, rows, stream);
  } else if (x.dtype == DType::kF16) {
    LaunchRowVecT<__half, kKind>(x, gamma, beta, eps, weight_offset, out, rows, stream);
  } else {
    LaunchRowVecT<__nv_bfloat16, kKind>(x, gamma, beta, eps, weight_offset, out, rows, stream);
  }
}

constexpr int kMeanChannels = 32;
constexpr int kMeanStripes = 8;

__global__ void MeanOverTokensKernel(StridedArg x, StridedArg out) {
  __shared__ float partial[kMeanStripes][kMeanChannels];
  const int64_t b = blockIdx.y;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kMeanChannels + threadIdx.x;
  const int64_t tokens = x.shape[1];
  const int64_t channels = x.shape[2];
  float sum = 0.0f;
  if (c < channels) {
    const int64_t base = b * x.stride[0] + c * x.stride[2];
    for (int64_t n = threadIdx.y; n < tokens; n += kMeanStripes) {
      sum += LoadAsFloat(x.data, x.dtype, base + n * x.stride[1]);
    }
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    float total = 0.0f;
#pragma unroll
    for (int s = 0; s < kMeanStripes; ++s) total += partial[s][threadIdx.x];
    StoreFromFloat(out.data, out.dtype, b * out.stride[0] + c * out.stride[1],
                   total / static_cast<float>(tokens));
  }
}

}  // namespace

void LaunchLayerNorm(const StridedArg& x, const StridedArg& gamma, const StridedArg& beta,
                     float eps, const StridedArg& out, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return;
  if (RowsOf16ByteVectors({&x, &out})) {
    LaunchRowVec<0>(x, gamma, beta, eps, 0.0f, out, rows, stream);
    return;
  }
  LayerNormKernel<<<static_cast<unsigned int>(rows), ThreadsForRow(x.shape[x.ndim - 1]), 0,
                    stream>>>(x, gamma, beta, eps, out);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchRmsNorm(const StridedArg& x, const StridedArg& w, float eps, float weight_offset,
                   const StridedArg& out, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return;
  if (RowsOf16ByteVectors({&x, &out})) {
    LaunchRowVec<1>(x, w, w, eps, weight_offset, out, rows, stream);
    return;
  }
  RmsNormKernel<<<static_cast<unsigned int>(rows), ThreadsForRow(x.shape[x.ndim - 1]), 0,
                  stream>>>(x, w, eps, weight_offset, out);
  VLART_CUDA_CHECK_LAUNCH();
}

bool LaunchMulAddAdaRmsNorm(const StridedArg& x, const StridedArg& y, const StridedArg& gate,
                            const StridedArg& scale, const StridedArg& shift, float eps,
                            const StridedArg& out, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return false;
  if (!RowsOf16ByteVectors({&x, &y, &gate, &scale, &shift, &out})) return false;
  LaunchAdaRmsNormVec<true>(x, y, gate, scale, shift, eps, out, rows, stream);
  return true;
}

bool LaunchAdaRmsNorm(const StridedArg& x, const StridedArg& scale, const StridedArg& shift,
                      float eps, const StridedArg& out, bool force_scalar, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return false;
  if (!force_scalar && RowsOf16ByteVectors({&x, &scale, &shift, &out})) {
    LaunchAdaRmsNormVec<false>(x, x, x, scale, shift, eps, out, rows, stream);  // y, gate unused
    return true;
  }
  const int64_t width = x.shape[x.ndim - 1];
  const unsigned int grid = static_cast<unsigned int>(rows);
  AdaRmsNormKernel<<<grid, ThreadsForRow(width), 0, stream>>>(x, scale, shift, eps, out);
  VLART_CUDA_CHECK_LAUNCH();
  return false;
}

void LaunchSoftmax(const StridedArg& x, const StridedArg& out, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return;
  if (RowsOf16ByteVectors({&x, &out})) {
    LaunchRowVec<2>(x, x, x, 0.0f, 0.0f, out, rows, stream);
    return;
  }
  SoftmaxKernel<<<static_cast<unsigned int>(rows), ThreadsForRow(x.shape[x.ndim - 1]), 0,
                  stream>>>(x, out);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchMeanOverTokens(const StridedArg& x, const StridedArg& out, cudaStream_t stream) {
  const int64_t batch = x.shape[0];
  const int64_t channels = x.shape[2];
  if (batch == 0 || channels == 0) return;
  const dim3 grid(static_cast<unsigned int>((channels + kMeanChannels - 1) / kMeanChannels),
                  static_cast<unsigned int>(batch));
  const dim3 block(kMeanChannels, kMeanStripes);
  MeanOverTokensKernel<<<grid, block, 0, stream>>>(x, out);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
