// SPDX-License-Identifier: Apache-2.0
//
// elementwise.cu: Add, Mul, Axpby and Activate.
//
// Math:      out = a + b | a * b | alpha * a + beta * b;  out = act(x) (backend.h formulas).
// Mapping:   one thread per element, grid-stride. A contiguous fast path (all operands flat,
//            one dtype) is templated on the element type; everything else (broadcast stride-0
//            views, mixed dtypes, any strides up to 6 dims) takes the generic index-math kernel.
// Numerics:  computed in f32, rounded once to out's dtype. In place (out == a or b) is safe:
//            each thread reads its inputs before writing the same element.
// Reference: backends/cpu (Add, Mul, Axpby, Activate).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;

int64_t NumElements(const StridedArg& t) {
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

bool IsFlat(const StridedArg& t) { return t.ndim == 0 || (t.ndim == 1 && t.stride[0] == 1); }

__device__ __forceinline__ float Combine(BinaryKind kind, float alpha, float beta, float a,
                                         float b) {
  switch (kind) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kAxpby: return alpha * a + beta * b;
  }
  return a;
}

template <typename T>
__global__ void BinaryContigKernel(BinaryKind kind, float alpha, float beta, const T* a,
                                   const T* b, T* out, int64_t n) {
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh)
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = FromFloat<T>(Combine(kind, alpha, beta, ToFloat(a[i]), ToFloat(b[i])));
  }
}

__global__ void BinaryStridedKernel(BinaryKind kind, float alpha, float beta, StridedArg a,
                                    StridedArg b, StridedArg out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float va = LoadAsFloat(a.data, a.dtype, OffsetOf(a, i));
    const float vb = LoadAsFloat(b.data, b.dtype, OffsetOf(b, i));
    StoreFromFloat(out.data, out.dtype, OffsetOf(out, i), Combine(kind, alpha, beta, va, vb));
  }
}

template <typename T>
__global__ void ActivateContigKernel(ActKind act, const T* x, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = FromFloat<T>(ApplyActivation(act, ToFloat(x[i])));
  }
}

__global__ void ActivateStridedKernel(ActKind act, StridedArg x, StridedArg out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, OffsetOf(x, i));
    StoreFromFloat(out.data, out.dtype, OffsetOf(out, i), ApplyActivation(act, v));
  }
}

}  // namespace

void LaunchBinary(BinaryKind kind, float alpha, float beta, const StridedArg& a,
                  const StridedArg& b, const StridedArg& out, cudaStream_t stream) {
  const int64_t n = NumElements(out);
  if (n == 0) return;
  const unsigned int grid = GridFor(n, kThreads);
  const bool same_dtype = a.dtype == out.dtype && b.dtype == out.dtype;
  if (same_dtype && IsFlat(a) && IsFlat(b) && IsFlat(out)) {
    if (out.dtype == DType::kF32) {
      LaunchPdl(BinaryContigKernel<float>, dim3(grid), dim3(kThreads), 0, stream, 1, kind, alpha, beta,
                static_cast<const float*>(a.data), static_cast<const float*>(b.data),
                static_cast<float*>(out.data), n);
    } else if (out.dtype == DType::kF16) {
      LaunchPdl(BinaryContigKernel<__half>, dim3(grid), dim3(kThreads), 0, stream, 1, kind, alpha, beta,
                static_cast<const __half*>(a.data), static_cast<const __half*>(b.data),
                static_cast<__half*>(out.data), n);
    } else {
      LaunchPdl(BinaryContigKernel<__nv_bfloat16>, dim3(grid), dim3(kThreads), 0, stream, 1, kind, alpha,
                beta, static_cast<const __nv_bfloat16*>(a.data),
                static_cast<const __nv_bfloat16*>(b.data), static_cast<__nv_bfloat16*>(out.data), n);
    }
  } else {
    BinaryStridedKernel<<<grid, kThreads, 0, stream>>>(kind, alpha, beta, a, b, out, n);
  }
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchActivate(ActKind act, const StridedArg& x, const StridedArg& out,
                    cudaStream_t stream) {
  const int64_t n = NumElements(out);
  if (n == 0) return;
  const unsigned int grid = GridFor(n, kThreads);
  if (x.dtype == out.dtype && IsFlat(x) && IsFlat(out)) {
    if (out.dtype == DType::kF32) {
      ActivateContigKernel<float><<<grid, kThreads, 0, stream>>>(
          act, static_cast<const float*>(x.data), static_cast<float*>(out.data), n);
    } else if (out.dtype == DType::kF16) {
      ActivateContigKernel<__half><<<grid, kThreads, 0, stream>>>(
          act, static_cast<const __half*>(x.data), static_cast<__half*>(out.data), n);
    } else {
      ActivateContigKernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(
          act, static_cast<const __nv_bfloat16*>(x.data), static_cast<__nv_bfloat16*>(out.data),
          n);
    }
  } else {
    ActivateStridedKernel<<<grid, kThreads, 0, stream>>>(act, x, out, n);
  }
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
