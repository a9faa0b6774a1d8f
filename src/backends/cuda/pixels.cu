// SPDX-License-Identifier: Apache-2.0
//
// pixels.cu: NormalizePixels, camera bytes to a model's normalised planes.
//
// Math:      out[n, c, y, x] = round(table[c, pixels[n, y, x, c]]) to out's dtype;
//            pixels U8 [N, H, W, C] packed ([N, HW, C] in memory: pi0's camera images) or
//            planar ([N, C, HW]: X-VLA's resized planes), table F32 [C, 256], out [N, C, H, W].
// Mapping:   H*W % 8 == 0, pixels 8-byte and out 16-byte aligned (every model input here:
//            arena tensors are 256-byte aligned) and, packed, C == 3: one thread per 8 pixels
//            of one image (packed: 24 bytes, three 8-byte loads; planar: 8 bytes of one
//            plane), the table staged in shared memory, 8 outputs per channel stored as one
//            16-byte (bf16 / f16) or two 16-byte (f32) vectors. Anything else: one thread per
//            output element, table read from global.
//            A plain launch (no PDL): it is the first kernel of a forward, after the upload.
// Numerics:  a table lookup, then f32 -> out dtype rounding to nearest even (torch's
//            `.to(dtype)`), the same as the host path (normalise to F32 on the host, then
//            Upload's conversion): the device planes are bit-identical to it.
// Reference: backends/cpu/pixels.cc; parity in tests/ops/cuda_pixels_parity_test.cc.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPixelsPerThread = 8;
constexpr int kTableSize = 256;

template <typename T>
struct Pack8;  // 8 values of T, stored with 16-byte vector stores
template <>
struct Pack8<float> {
  static __device__ __forceinline__ void Store(float* dst, const float (&v)[8]) {
    reinterpret_cast<float4*>(dst)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(dst)[1] = make_float4(v[4], v[5], v[6], v[7]);
  }
};
template <typename T>
struct Pack8 {  // bf16 / f16: 8 x 2 bytes = one uint4
  static __device__ __forceinline__ void Store(T* dst, const float (&v)[8]) {
    uint4 packed;
    uint32_t* words = reinterpret_cast<uint32_t*>(&packed);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const T lo = FromFloat<T>(v[2 * i]);
      const T hi = FromFloat<T>(v[2 * i + 1]);
      words[i] = static_cast<uint32_t>(*reinterpret_cast<const uint16_t*>(&lo)) |
                 (static_cast<uint32_t>(*reinterpret_cast<const uint16_t*>(&hi)) << 16);
    }
    *reinterpret_cast<uint4*>(dst) = packed;
  }
};

// pixels [N, HW, 3] bytes -> out [N, 3, HW]; HW % 8 == 0; `groups` = N * HW / 8.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    NormalizePixelsRgb8Kernel(const uint8_t* __restrict__ pixels, const float* __restrict__ table,
                              T* __restrict__ out, int64_t hw, int64_t groups) {
  __shared__ float lut[3 * kTableSize];
  for (int i = threadIdx.x; i < 3 * kTableSize; i += kThreads) lut[i] = table[i];
  __syncthreads();
  const int64_t g = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x;
  if (g >= groups) return;
  const int64_t p0 = g * kPixelsPerThread;  // flat pixel index over [N, HW]
  // 24 bytes at offset 24 g: 8-byte aligned (the launcher checked the base).
  const uint2* src = reinterpret_cast<const uint2*>(pixels + 3 * p0);
  uint8_t bytes[3 * kPixelsPerThread];
#pragma unroll
  for (int i = 0; i < 3; ++i) *reinterpret_cast<uint2*>(bytes + 8 * i) = __ldg(src + i);
  const int64_t n = p0 / hw;
  const int64_t pix = p0 - n * hw;
#pragma unroll
  for (int c = 0; c < 3; ++c) {
    float v[kPixelsPerThread];
#pragma unroll
    for (int i = 0; i < kPixelsPerThread; ++i) v[i] = lut[c * kTableSize + bytes[3 * i + c]];
    Pack8<T>::Store(out + (n * 3 + c) * hw + pix, v);
  }
}

// planes [N * C, HW] bytes -> out [N * C, HW]; HW % 8 == 0; `groups` = N * C * HW / 8.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    NormalizePlanes8Kernel(const uint8_t* __restrict__ planes, const float* __restrict__ table,
                           T* __restrict__ out, int64_t channels, int64_t hw, int64_t groups) {
  extern __shared__ float lut[];  // [channels * 256]
  for (int i = threadIdx.x; i < channels * kTableSize; i += kThreads) lut[i] = table[i];
  __syncthreads();
  const int64_t g = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x;
  if (g >= groups) return;
  const int64_t e0 = g * kPixelsPerThread;  // flat index over [N * C, HW]
  const int64_t c = (e0 / hw) % channels;
  uint8_t bytes[kPixelsPerThread];
  *reinterpret_cast<uint2*>(bytes) = __ldg(reinterpret_cast<const uint2*>(planes + e0));
  float v[kPixelsPerThread];
#pragma unroll
  for (int i = 0; i < kPixelsPerThread; ++i) v[i] = lut[c * kTableSize + bytes[i]];
  Pack8<T>::Store(out + e0, v);
}

// Any C, any HW, either layout: one thread per output element [N, C, HW].
template <typename T>
__global__ void NormalizePixelsKernel(const uint8_t* __restrict__ pixels, bool planar,
                                      const float* __restrict__ table, T* __restrict__ out,
                                      int64_t channels, int64_t hw, int64_t total) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t pix = i % hw;
    const int64_t c = (i / hw) % channels;
    const int64_t n = i / (hw * channels);
    const uint8_t byte = planar ? pixels[i] : pixels[(n * hw + pix) * channels + c];
    out[i] = FromFloat<T>(table[c * kTableSize + byte]);
  }
}

template <typename T>
void Launch(const uint8_t* pixels, bool planar, const float* table, void* out, int64_t n,
            int64_t channels, int64_t hw, cudaStream_t stream) {
  T* o = static_cast<T*>(out);
  const bool vectors = hw % kPixelsPerThread == 0 &&
                       reinterpret_cast<uintptr_t>(pixels) % 8 == 0 &&
                       reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const int64_t total = n * channels * hw;
  // One thread per group of 8: 8 pixels (all channels) packed, 8 bytes of one plane planar.
  const auto blocks_for = [](int64_t groups) {
    return static_cast<unsigned int>((groups + kThreads - 1) / kThreads);
  };
  // Planar tables of up to 12 KB channels in shared memory (the default limit is 48 KB).
  const size_t planar_lut = static_cast<size_t>(channels) * kTableSize * sizeof(float);
  if (vectors && !planar && channels == 3) {
    const int64_t groups = n * hw / kPixelsPerThread;
    NormalizePixelsRgb8Kernel<T>
        <<<blocks_for(groups), kThreads, 0, stream>>>(pixels, table, o, hw, groups);
  } else if (vectors && planar && planar_lut <= 12 * 1024) {
    const int64_t groups = total / kPixelsPerThread;
    NormalizePlanes8Kernel<T><<<blocks_for(groups), kThreads, planar_lut, stream>>>(
        pixels, table, o, channels, hw, groups);
  } else {
    NormalizePixelsKernel<T><<<GridFor(total, kThreads), kThreads, 0, stream>>>(
        pixels, planar, table, o, channels, hw, total);
  }
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace

void LaunchNormalizePixels(const uint8_t* pixels, bool planar, const float* table, void* out,
                           DType out_dtype, int64_t n, int64_t channels, int64_t hw,
                           cudaStream_t stream) {
  if (n * channels * hw == 0) return;
  if (out_dtype == DType::kF32) {
    Launch<float>(pixels, planar, table, out, n, channels, hw, stream);
  } else if (out_dtype == DType::kF16) {
    Launch<__half>(pixels, planar, table, out, n, channels, hw, stream);
  } else {  // BF16 (the op's checks allow F32 / F16 / BF16 only)
    Launch<__nv_bfloat16>(pixels, planar, table, out, n, channels, hw, stream);
  }
}

}  // namespace vlart::cuda
