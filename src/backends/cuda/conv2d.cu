// SPDX-License-Identifier: Apache-2.0
//
// conv2d.cu: Conv2d on NHWC activations with PyTorch weight layout [Cout, Cin/groups, kh, kw].
//
// Math:      out[b,y,x,co] = bias[co] + Σ_{ci',ky,kx} w[co,ci',ky,kx] · in[b, y*s-p+ky, x*s-p+kx, g*Cg+ci']
//                            (+ residual[b,y,x,co]),  g = co / (Cout/groups), zero padding.
// Mapping:   three kernels, chosen in conv2d_op.cc:
//            - depthwise (groups == Cin == Cout), 3x3 taps unrolled: one thread per output
//              element, channel fastest, so x/out accesses coalesce (the DaViT hot path:
//              conv1/conv2 of every block, 3x3 s1 p1 with bias and residual); for bf16/f16
//              with contiguous, 16-byte aligned channels one thread per 8 channels with
//              16-byte accesses (DepthwiseConv3x3VecKernel, same arithmetic bit for bit);
//            - im2col: one thread per element of a row chunk of the [B*Ho*Wo, Cin*kh*kw] patch
//              matrix, written into backend scratch for a cuBLASLt GEMM (dense convs, groups 1);
//            - direct: one thread per output element, any groups / kernel / stride / padding
//              (fallback and parity oracle for the other two).
// Numerics:  f32 accumulation over (ci, ky, kx) in that order, bias then residual added in f32,
//            one rounding at the store. im2col copies values exactly (the GEMM's A operand has
//            the weight dtype; an f32 image feeding bf16 weights is rounded there, like torch's
//            autocast would).
// Reference: backends/cpu Conv2d.
// Napkin:    depthwise 56x56x256 bf16 (2 views): reads 3.2 MB, writes 1.6 MB -> ~2 us at HBM rate.

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ int64_t Off4(const StridedArg& t, int64_t b, int64_t y, int64_t x,
                                        int64_t c) {
  return b * t.stride[0] + y * t.stride[1] + x * t.stride[2] + c * t.stride[3];
}

__device__ __forceinline__ float Finish(const ConvArgs& p, float acc, int64_t b, int64_t oy,
                                        int64_t ox, int64_t co) {
  if (p.bias != nullptr) acc += LoadAsFloat(p.bias, p.bias_dtype, co * p.bias_stride);
  if (p.residual.data != nullptr) {
    acc += LoadAsFloat(p.residual.data, p.residual.dtype, Off4(p.residual, b, oy, ox, co));
  }
  return acc;
}

__global__ void Conv2dDirectKernel(ConvArgs p, int64_t total) {
  const int64_t ho = p.out.shape[1];
  const int64_t wo = p.out.shape[2];
  const int64_t cout = p.out.shape[3];
  const int64_t h = p.x.shape[1];
  const int64_t w = p.x.shape[2];
  const int64_t cg_in = p.x.shape[3] / p.groups;
  const int64_t cg_out = cout / p.groups;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rest = idx;
    const int64_t co = rest % cout;
    rest /= cout;
    const int64_t ox = rest % wo;
    rest /= wo;
    const int64_t oy = rest % ho;
    const int64_t b = rest / ho;
    const int64_t ci0 = (co / cg_out) * cg_in;
    float acc = 0.0f;
    for (int64_t ci = 0; ci < cg_in; ++ci) {
      for (int ky = 0; ky < p.kh; ++ky) {
        const int64_t iy = oy * p.stride - p.padding + ky;
        if (iy < 0 || iy >= h) continue;
        for (int kx = 0; kx < p.kw; ++kx) {
          const int64_t ix = ox * p.stride - p.padding + kx;
          if (ix < 0 || ix >= w) continue;
          const float wv = LoadAsFloat(p.w, p.w_dtype, ((co * cg_in + ci) * p.kh + ky) * p.kw + kx);
          const float xv = LoadAsFloat(p.x.data, p.x.dtype, Off4(p.x, b, iy, ix, ci0 + ci));
          acc = fmaf(wv, xv, acc);
        }
      }
    }
    StoreFromFloat(p.out.data, p.out.dtype, Off4(p.out, b, oy, ox, co),
                   Finish(p, acc, b, oy, ox, co));
  }
}

template <int kK>
__global__ void DepthwiseConvKernel(ConvArgs p, int64_t total) {
  const int64_t ho = p.out.shape[1];
  const int64_t wo = p.out.shape[2];
  const int64_t channels = p.out.shape[3];
  const int64_t h = p.x.shape[1];
  const int64_t w = p.x.shape[2];
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rest = idx;
    const int64_t c = rest % channels;
    rest /= channels;
    const int64_t ox = rest % wo;
    rest /= wo;
    const int64_t oy = rest % ho;
    const int64_t b = rest / ho;
    float acc = 0.0f;
#pragma unroll
    for (int ky = 0; ky < kK; ++ky) {
      const int64_t iy = oy * p.stride - p.padding + ky;
      if (iy < 0 || iy >= h) continue;
#pragma unroll
      for (int kx = 0; kx < kK; ++kx) {
        const int64_t ix = ox * p.stride - p.padding + kx;
        if (ix < 0 || ix >= w) continue;
        const float wv = LoadAsFloat(p.w, p.w_dtype, c * (kK * kK) + ky * kK + kx);
        const float xv = LoadAsFloat(p.x.data, p.x.dtype, Off4(p.x, b, iy, ix, c));
        acc = fmaf(wv, xv, acc);
      }
    }
    StoreFromFloat(p.out.data, p.out.dtype, Off4(p.out, b, oy, ox, c), Finish(p, acc, b, oy, ox, c));
  }
}

__global__ void Im2colKernel(ConvArgs p, int64_t row0, int64_t rows, void* dst, DType dst_dtype,
                             int64_t ld) {
  const int64_t ho = p.out.shape[1];
  const int64_t wo = p.out.shape[2];
  const int64_t h = p.x.shape[1];
  const int64_t w = p.x.shape[2];
  const int64_t cols = p.x.shape[3] * p.kh * p.kw;
  const int64_t total = rows * cols;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t lr = idx / cols;
    const int64_t col = idx - lr * cols;
    int64_t rest = row0 + lr;
    const int64_t ox = rest % wo;
    rest /= wo;
    const int64_t oy = rest % ho;
    const int64_t b = rest / ho;
    const int kx = static_cast<int>(col % p.kw);
    const int ky = static_cast<int>((col / p.kw) % p.kh);
    const int64_t ci = col / (static_cast<int64_t>(p.kw) * p.kh);
    const int64_t iy = oy * p.stride - p.padding + ky;
    const int64_t ix = ox * p.stride - p.padding + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = LoadAsFloat(p.x.data, p.x.dtype, Off4(p.x, b, iy, ix, ci));
    StoreFromFloat(dst, dst_dtype, lr * ld + col, v);
  }
}

// The depthwise 3x3 fast path for 16-bit NHWC tensors with contiguous channels: one thread
// per (pixel, 8 channels), 16-byte loads of x and the residual and a 16-byte store, 32-bit
// index math. Per channel exactly DepthwiseConvKernel's arithmetic (taps in (ky, kx) order,
// out-of-image taps skipped, fmaf into f32, then bias, then residual, one rounding), so the
// two agree bit for bit. Weights and bias (a few KB, L1-resident) are read per channel.
template <typename T>
__global__ void DepthwiseConv3x3VecKernel(ConvArgs p, int total_groups) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= total_groups) return;
  const int groups_per_pixel = static_cast<int>(p.out.shape[3] / 8);
  const int ho = static_cast<int>(p.out.shape[1]);
  const int wo = static_cast<int>(p.out.shape[2]);
  const int h = static_cast<int>(p.x.shape[1]);
  const int w = static_cast<int>(p.x.shape[2]);
  const int c0 = (idx % groups_per_pixel) * 8;
  int rest = idx / groups_per_pixel;
  const int ox = rest % wo;
  rest /= wo;
  const int oy = rest % ho;
  const int b = rest / ho;
  const T* xb = static_cast<const T*>(p.x.data) + b * p.x.stride[0] + c0;
  const T* wt = static_cast<const T*>(p.w);
  float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = oy * p.stride - p.padding + ky;
    if (iy < 0 || iy >= h) continue;
#pragma unroll
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = ox * p.stride - p.padding + kx;
      if (ix < 0 || ix >= w) continue;
      const uint4 raw = *reinterpret_cast<const uint4*>(xb + iy * p.x.stride[1] + ix * p.x.stride[2]);
      const T* xv = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        acc[i] = fmaf(ToFloat(__ldg(wt + (c0 + i) * 9 + ky * 3 + kx)), ToFloat(xv[i]), acc[i]);
      }
    }
  }
  if (p.bias != nullptr) {
    const T* bias = static_cast<const T*>(p.bias);
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] += ToFloat(__ldg(bias + (c0 + i) * p.bias_stride));
  }
  if (p.residual.data != nullptr) {
    const T* rb = static_cast<const T*>(p.residual.data);
    const uint4 raw = *reinterpret_cast<const uint4*>(
        rb + b * p.residual.stride[0] + oy * p.residual.stride[1] + ox * p.residual.stride[2] + c0);
    const T* rv = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] += ToFloat(rv[i]);
  }
  uint4 packed;
  T* o = reinterpret_cast<T*>(&packed);
#pragma unroll
  for (int i = 0; i < 8; ++i) o[i] = FromFloat<T>(acc[i]);
  T* ob = static_cast<T*>(p.out.data);
  *reinterpret_cast<uint4*>(ob + b * p.out.stride[0] + oy * p.out.stride[1] + ox * p.out.stride[2] + c0) = packed;
}

// A 4-d NHWC operand the vector kernel can read or write: dtype t, rows of 16-byte vectors
// (RowsOf16ByteVectors), non-negative strides, element offsets within int32.
bool VecPixelsOk(const StridedArg& a, DType t) {
  if (a.dtype != t || a.ndim != 4 || !RowsOf16ByteVectors({&a})) return false;
  int64_t max_offset = 0;
  for (int d = 0; d < 3; ++d) {
    if (a.stride[d] < 0) return false;
    max_offset += (a.shape[d] - 1) * a.stride[d];
  }
  return max_offset + a.shape[3] < INT32_MAX;
}

bool DepthwiseVecOk(const ConvArgs& p) {
  const DType t = p.out.dtype;
  if (t != DType::kBF16 && t != DType::kF16) return false;
  if (p.kh != 3 || p.kw != 3 || p.out.shape[3] % 8 != 0 || p.w_dtype != t) return false;
  if (p.bias != nullptr && p.bias_dtype != t) return false;
  if (!VecPixelsOk(p.x, t) || !VecPixelsOk(p.out, t)) return false;
  if (p.residual.data != nullptr && !VecPixelsOk(p.residual, t)) return false;
  return p.out.shape[0] * p.out.shape[1] * p.out.shape[2] * (p.out.shape[3] / 8) < INT32_MAX;
}

int64_t OutputElements(const ConvArgs& p) {
  return p.out.shape[0] * p.out.shape[1] * p.out.shape[2] * p.out.shape[3];
}

}  // namespace

void LaunchConv2dDirect(const ConvArgs& args, cudaStream_t stream) {
  const int64_t total = OutputElements(args);
  if (total == 0) return;
  Conv2dDirectKernel<<<GridFor(total, kThreads), kThreads, 0, stream>>>(args, total);
  VLART_CUDA_CHECK_LAUNCH();
}

bool LaunchDepthwiseConv2d(const ConvArgs& args, cudaStream_t stream) {
  const int64_t total = OutputElements(args);
  if (total == 0) return false;
  if (DepthwiseVecOk(args)) {
    const int groups = static_cast<int>(total / 8);
    const int blocks = (groups + kThreads - 1) / kThreads;
    if (args.out.dtype == DType::kBF16) {
      DepthwiseConv3x3VecKernel<__nv_bfloat16><<<blocks, kThreads, 0, stream>>>(args, groups);
    } else {
      DepthwiseConv3x3VecKernel<__half><<<blocks, kThreads, 0, stream>>>(args, groups);
    }
    VLART_CUDA_CHECK_LAUNCH();
    return true;
  }
  if (args.kh == 3 && args.kw == 3) {
    DepthwiseConvKernel<3><<<GridFor(total, kThreads), kThreads, 0, stream>>>(args, total);
  } else {
    Conv2dDirectKernel<<<GridFor(total, kThreads), kThreads, 0, stream>>>(args, total);
  }
  VLART_CUDA_CHECK_LAUNCH();
  return false;
}

void LaunchIm2col(const ConvArgs& args, int64_t row0, int64_t rows, void* dst, DType dst_dtype,
                  int64_t ld, cudaStream_t stream) {
  const int64_t total = rows * args.x.shape[3] * args.kh * args.kw;
  if (total == 0) return;
  Im2colKernel<<<GridFor(total, kThreads), kThreads, 0, stream>>>(args, row0, rows, dst,
                                                                   dst_dtype, ld);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
