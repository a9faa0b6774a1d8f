// SPDX-License-Identifier: Apache-2.0
//
// rope.cu: rotary position embedding, rotate-half convention, in place allowed.
//
// Math:      angle = positions[b, s] * inv_freq[i], i < D/2
//            out[..., i]       = x[..., i] cos(angle) - x[..., i + D/2] sin(angle)
//            out[..., i + D/2] = x[..., i + D/2] cos(angle) + x[..., i] sin(angle)
// Mapping:   one thread per (b, s, h, i < D/2) pair; it reads both halves before writing
//            both, so out == x (in place) is safe.
// Numerics:  inv_freq[i] = 1 / powf(theta, 2i / D) is computed on the host in f32 (rope_op.cc)
//            and passed by value, so device powf's ulp error never enters; the angle is an f32
//            product, cos/sin are the accurate cosf/sinf (full range reduction; positions reach
//            ~1000 rad), the rotation is f32 and rounds once.
// Reference: backends/cpu Rope; HF Gemma rotary embedding (f32 freqs, cat(freqs, freqs)).

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

__global__ void RopeKernel(RopeArgs p, int64_t total) {
  const int64_t heads = p.x.shape[2];
  const int64_t seq = p.x.shape[1];
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rest = idx;
    const int i = static_cast<int>(rest % p.half);
    rest /= p.half;
    const int64_t h = rest % heads;
    rest /= heads;
    const int64_t s = rest % seq;
    const int64_t b = rest / seq;
    const float pos = static_cast<float>(p.positions[b * p.pos_sb + s * p.pos_ss]);
    const float angle = pos * p.inv_freq[i];
    const float c = cosf(angle);
    const float sn = sinf(angle);
    const int64_t xo = b * p.x.stride[0] + s * p.x.stride[1] + h * p.x.stride[2];
    const int64_t oo = b * p.out.stride[0] + s * p.out.stride[1] + h * p.out.stride[2];
    const int64_t xs = p.x.stride[3];
    const int64_t os = p.out.stride[3];
    const float x1 = LoadAsFloat(p.x.data, p.x.dtype, xo + i * xs);
    const float x2 = LoadAsFloat(p.x.data, p.x.dtype, xo + (i + p.half) * xs);
    StoreFromFloat(p.out.data, p.out.dtype, oo + i * os, x1 * c - x2 * sn);
    StoreFromFloat(p.out.data, p.out.dtype, oo + (i + p.half) * os, x2 * c + x1 * sn);
  }
}

}  // namespace

void LaunchRope(const RopeArgs& args, cudaStream_t stream) {
  const int64_t total = args.x.shape[0] * args.x.shape[1] * args.x.shape[2] * args.half;
  if (total == 0) return;
  constexpr int kThreads = 256;
  RopeKernel<<<GridFor(total, kThreads), kThreads, 0, stream>>>(args, total);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
