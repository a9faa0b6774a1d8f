// SPDX-License-Identifier: Apache-2.0
//
// norm.cu: LayerNorm, RmsNorm, Softmax (rows = all dims but the last) and MeanOverTokens.
//
// Math:      LayerNorm  y = (x - mean) * 1/sqrt(var + eps) * gamma + beta  (biased var)
//            RmsNorm    y = x * 1/sqrt(mean(x²) + eps) * (offset + w)
//            Softmax    y = exp(x - max) / Σ exp(x - max)
//            MeanOverTokens  out[b, c] = Σ_n x[b, n, c] / N
// Mapping:   one block per row (threads = the row width rounded up to a warp, at most 256),
//            strided loops over the row, block reductions through warp shuffles. Rows are
//            re-read from global memory for each pass (they stay in L1/L2).
//            MeanOverTokens: a block owns 32 channels x 8 token stripes of one batch entry.
// Numerics:  statistics in f32: LayerNorm is two-pass (mean, then Σ(x - mean)²) so large
//            means do not cancel; 1/sqrtf (IEEE) rather than rsqrtf; expf (not __expf).
//            Reduction trees are fixed, so results are deterministic.
// Reference: backends/cpu (LayerNorm, RmsNorm, Softmax, MeanOverTokens).
// Napkin:    memory-bound: X-VLA's LN over 262x1024 bf16 reads 0.5 MB + writes 0.5 MB, ~0.3 us
//            of HBM time; this version reads x two or three times (L2-resident).

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

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
  const int64_t width = x.shape[x.ndim - 1];
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = x.stride[x.ndim - 1];
  const int64_t os = out.stride[out.ndim - 1];

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
  const int64_t width = x.shape[x.ndim - 1];
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = x.stride[x.ndim - 1];
  const int64_t os = out.stride[out.ndim - 1];

  float sq = 0.0f;
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, xo + c * xs);
    sq += v * v;
  }
  const float mean_sq = BlockSum(sq, scratch) / static_cast<float>(width);
  const float r = 1.0f / sqrtf(mean_sq + eps);
  for (int64_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, xo + c * xs);
    const float g = weight_offset + LoadAsFloat(w.data, w.dtype, c * w.stride[0]);
    StoreFromFloat(out.data, out.dtype, oo + c * os, v * r * g);
  }
}

__global__ void SoftmaxKernel(StridedArg x, StridedArg out) {
  __shared__ float scratch[32];
  const int64_t width = x.shape[x.ndim - 1];
  const int64_t xo = RowOffsetOf(x, blockIdx.x);
  const int64_t oo = RowOffsetOf(out, blockIdx.x);
  const int64_t xs = x.stride[x.ndim - 1];
  const int64_t os = out.stride[out.ndim - 1];

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
  LayerNormKernel<<<static_cast<unsigned int>(rows), ThreadsForRow(x.shape[x.ndim - 1]), 0,
                    stream>>>(x, gamma, beta, eps, out);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchRmsNorm(const StridedArg& x, const StridedArg& w, float eps, float weight_offset,
                   const StridedArg& out, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return;
  RmsNormKernel<<<static_cast<unsigned int>(rows), ThreadsForRow(x.shape[x.ndim - 1]), 0,
                  stream>>>(x, w, eps, weight_offset, out);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchSoftmax(const StridedArg& x, const StridedArg& out, cudaStream_t stream) {
  const int64_t rows = NumRows(x);
  if (rows == 0 || x.shape[x.ndim - 1] == 0) return;
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
