// SPDX-License-Identifier: Apache-2.0
//
// copy.cu: Copy (strided, dtype-converting), Fill and Embedding kernels.
//
// Math:      dst[i] = convert(src[i]); dst[i] = value; out[n, d] = table[ids[n], d].
// Mapping:   one thread per element, grid-stride loops. Operands arrive collapsed
//            (CollapseDims merges dims that are contiguous in every operand), so a plain
//            contiguous copy is one flat loop (or a cudaMemcpyAsync when dtypes match); a
//            same-dtype strided copy with contiguous, 16-byte multiple rows moves one
//            16-byte vector per thread.
// Numerics:  float conversions go through f32 and round to nearest even, as torch's
//            `.to(dtype)`; equal dtypes copy bits (NaN payloads survive).
// Reference: backends/cpu (Copy, Fill, Embedding); parity in tests/ops/cuda_parity_test.cc.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;

int64_t NumElements(const StridedArg& t) {
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

bool IsFlatContiguous(const StridedArg& t) { return t.ndim == 0 || (t.ndim == 1 && t.stride[0] == 1); }

int ElementBytes(DType dtype) { return DTypeBits(dtype) / 8; }

template <typename TS, typename TD>
__global__ void ConvertContigKernel(const TS* __restrict__ src, TD* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[i] = FromFloat<TD>(ToFloat(src[i]));
  }
}

__global__ void ConvertStridedKernel(StridedArg src, StridedArg dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = LoadAsFloat(src.data, src.dtype, OffsetOf(src, i));
    StoreFromFloat(dst.data, dst.dtype, OffsetOf(dst, i), v);
  }
}

template <typename TE>
__global__ void RawCopyStridedKernel(StridedArg src, StridedArg dst, int64_t n) {
  const TE* s = static_cast<const TE*>(src.data);
  TE* d = static_cast<TE*>(dst.data);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    d[OffsetOf(dst, i)] = s[OffsetOf(src, i)];
  }
}

__global__ void FillKernel(StridedArg dst, float value, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    StoreFromFloat(dst.data, dst.dtype, OffsetOf(dst, i), value);
  }
}

__global__ void EmbeddingKernel(const int32_t* __restrict__ ids, int64_t ids_stride,
                                StridedArg table, StridedArg out, int64_t n) {
  const int64_t width = out.shape[1];
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / width;
    const int64_t col = i - row * width;
    const int64_t id = ids[row * ids_stride];
    const float v =
        LoadAsFloat(table.data, table.dtype, id * table.stride[0] + col * table.stride[1]);
    StoreFromFloat(out.data, out.dtype, row * out.stride[0] + col * out.stride[1], v);
  }
}

// A same-dtype strided copy whose operands pass RowsOf16ByteVectors moves 16-byte vectors:
// one thread per 16 bytes, so the per-element index math (a 64-bit division per dim) runs
// once per vector (DaViT's window partition / reverse: 8x fewer).
StridedArg AsVectors(StridedArg t, int elems_per_vec) {
  t.shape[t.ndim - 1] /= elems_per_vec;
  for (int d = 0; d + 1 < t.ndim; ++d) t.stride[d] /= elems_per_vec;
  return t;
}

template <typename TS>
void LaunchConvertContigFrom(const StridedArg& src, const StridedArg& dst, int64_t n,
                             cudaStream_t stream) {
  const TS* s = static_cast<const TS*>(src.data);
  const unsigned int grid = GridFor(n, kThreads);
  if (dst.dtype == DType::kF32) {
    ConvertContigKernel<TS, float><<<grid, kThreads, 0, stream>>>(s, static_cast<float*>(dst.data), n);
  } else if (dst.dtype == DType::kF16) {
    ConvertContigKernel<TS, __half><<<grid, kThreads, 0, stream>>>(s, static_cast<__half*>(dst.data), n);
  } else {
    ConvertContigKernel<TS, __nv_bfloat16>
        <<<grid, kThreads, 0, stream>>>(s, static_cast<__nv_bfloat16*>(dst.data), n);
  }
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool LaunchCopy(const StridedArg& src, const StridedArg& dst, cudaStream_t stream) {
  const int64_t n = NumElements(dst);
  if (n == 0) return false;
  const bool flat = IsFlatContiguous(src) && IsFlatContiguous(dst);
  if (src.dtype == dst.dtype) {
    const int bytes = ElementBytes(dst.dtype);
    if (flat) {
      VLART_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, static_cast<size_t>(n) * bytes,
                                       cudaMemcpyDeviceToDevice, stream));
      return false;
    }
    const int per_vec = 16 / bytes;
    if (bytes <= 16 && RowsOf16ByteVectors({&src, &dst})) {
      const int64_t vectors = n / per_vec;
      RawCopyStridedKernel<uint4><<<GridFor(vectors, kThreads), kThreads, 0, stream>>>(
          AsVectors(src, per_vec), AsVectors(dst, per_vec), vectors);
      VLART_CUDA_CHECK_LAUNCH();
      return true;
    }
    const unsigned int grid = GridFor(n, kThreads);
    switch (bytes) {
      case 1: RawCopyStridedKernel<uint8_t><<<grid, kThreads, 0, stream>>>(src, dst, n); break;
      case 2: RawCopyStridedKernel<uint16_t><<<grid, kThreads, 0, stream>>>(src, dst, n); break;
      case 4: RawCopyStridedKernel<uint32_t><<<grid, kThreads, 0, stream>>>(src, dst, n); break;
      default: RawCopyStridedKernel<uint64_t><<<grid, kThreads, 0, stream>>>(src, dst, n); break;
    }
    VLART_CUDA_CHECK_LAUNCH();
    return false;
  }
  if (flat) {
    if (src.dtype == DType::kF32) {
      LaunchConvertContigFrom<float>(src, dst, n, stream);
    } else if (src.dtype == DType::kF16) {
      LaunchConvertContigFrom<__half>(src, dst, n, stream);
    } else {
      LaunchConvertContigFrom<__nv_bfloat16>(src, dst, n, stream);
    }
    return false;
  }
  ConvertStridedKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(src, dst, n);
  VLART_CUDA_CHECK_LAUNCH();
  return false;
}

void LaunchFill(const StridedArg& dst, float value, cudaStream_t stream) {
  const int64_t n = NumElements(dst);
  if (n == 0) return;
  FillKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(dst, value, n);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchEmbedding(const int32_t* ids, int64_t ids_stride, const StridedArg& table,
                     const StridedArg& out, cudaStream_t stream) {
  const int64_t n = out.shape[0] * out.shape[1];
  if (n == 0) return;
  EmbeddingKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(ids, ids_stride, table, out, n);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
