// SPDX-License-Identifier: Apache-2.0
//
// channel_attention.cu: DaViT channel ("group") attention.
//
// Math:      for each (b, g):  S[i, j] = Σ_n q[b,n,g,i] k[b,n,g,j]          (S is [d, d])
//                              A = softmax_j(scale · S)
//                              out[b,n,g,i] = Σ_j A[i, j] v[b,n,g,j]
// Mapping:   two kernels. (1) scores: grid (chunks, G, B); a block sums q_chunkᵀ·k_chunk over
//            its token chunk (32 tokens at a time through shared memory, each thread owning
//            d*d/256 entries) and writes an f32 partial [d, d] to backend scratch.
//            (2) apply: grid (token chunks, G, B); every block reduces the partials of its
//            (b, g) in a fixed order, applies scale and a row softmax (one warp per row), then
//            writes out for its tokens (one thread per (token, i)).
//            Chunks are at most 128 tokens, and shorter (down to one 32-token tile) where
//            G x B alone would leave the grid under kTargetBlocks: DaViT's third stage (196
//            tokens, G 32, 2 views) runs 7 x 64 blocks per kernel instead of 2 x 64, whose
//            serial tile loops were the time (VLART_CHANNEL_ATTENTION_SPREAD=0: 128 always).
// Numerics:  f32 throughout; the partial sums are reduced in chunk order, so results are
//            deterministic (no atomics). d <= 64 (DaViT uses 32).
// Reference: backends/cpu ChannelAttention; Florence-2 DaViT ChannelAttention (q scaled by
//            N^-0.5 before qᵀk: same math, different rounding).
// Napkin:    stage 0 (N=3136, G=8, d=32, 2 views): 2·2·3136·8·32·32 = 103 MFLOP per product,
//            4.8 MB of bf16 q/k/v reads: a few microseconds at bandwidth.

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTokTile = 32;
constexpr int kMaxD = 64;
constexpr int kEntriesPerThread = kMaxD * kMaxD / kThreads;  // 16
constexpr int64_t kMaxChunkTokens = 128;  // tokens per block, scores and apply
constexpr int64_t kTargetBlocks = 512;    // ~4 per SM: shorter chunks until a grid has this many

__device__ __forceinline__ int64_t Off4(const StridedArg& t, int64_t b, int64_t n, int64_t g,
                                        int64_t i) {
  return b * t.stride[0] + n * t.stride[1] + g * t.stride[2] + i * t.stride[3];
}

__global__ void __launch_bounds__(kThreads)
    ChannelScoresKernel(StridedArg q, StridedArg k, float* partials, int64_t chunk_len) {
  __shared__ float qs[kTokTile][kMaxD + 1];
  __shared__ float ks[kTokTile][kMaxD + 1];
  const int64_t b = blockIdx.z;
  const int64_t g = blockIdx.y;
  const int64_t c = blockIdx.x;
  const int64_t groups = gridDim.y;
  const int64_t chunks = gridDim.x;
  const int d = static_cast<int>(q.shape[3]);
  const int64_t tokens = q.shape[1];
  const int64_t n_begin = c * chunk_len;
  const int64_t n_end = min(tokens, n_begin + chunk_len);

  float acc[kEntriesPerThread];
#pragma unroll
  for (int e = 0; e < kEntriesPerThread; ++e) acc[e] = 0.0f;

  for (int64_t n0 = n_begin; n0 < n_end; n0 += kTokTile) {
    for (int idx = threadIdx.x; idx < kTokTile * d; idx += kThreads) {
      const int t = idx / d;
      const int i = idx % d;
      const int64_t n = n0 + t;
      const bool in = n < n_end;
      qs[t][i] = in ? LoadAsFloat(q.data, q.dtype, Off4(q, b, n, g, i)) : 0.0f;
      ks[t][i] = in ? LoadAsFloat(k.data, k.dtype, Off4(k, b, n, g, i)) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int e = 0; e < kEntriesPerThread; ++e) {
      const int ent = threadIdx.x + e * kThreads;
      if (ent < d * d) {
        const int i = ent / d;
        const int j = ent % d;
        float s = acc[e];
#pragma unroll 8
        for (int t = 0; t < kTokTile; ++t) s = fmaf(qs[t][i], ks[t][j], s);
        acc[e] = s;
      }
    }
    __syncthreads();
  }
  float* dst = partials + ((b * groups + g) * chunks + c) * d * d;
#pragma unroll
  for (int e = 0; e < kEntriesPerThread; ++e) {
    const int ent = threadIdx.x + e * kThreads;
    if (ent < d * d) dst[ent] = acc[e];
  }
}

__global__ void __launch_bounds__(kThreads)
    ChannelApplyKernel(StridedArg v, StridedArg out, const float* partials, int score_chunks,
                       float scale, int64_t apply_len) {
  __shared__ float attn[kMaxD][kMaxD + 1];
  __shared__ float vs[kTokTile][kMaxD + 1];
  const int64_t b = blockIdx.z;
  const int64_t g = blockIdx.y;
  const int64_t groups = gridDim.y;
  const int d = static_cast<int>(v.shape[3]);
  const int64_t tokens = v.shape[1];
  const int64_t n_begin = static_cast<int64_t>(blockIdx.x) * apply_len;
  const int64_t n_end = min(tokens, n_begin + apply_len);

  const float* src = partials + (b * groups + g) * score_chunks * d * d;
  for (int ent = threadIdx.x; ent < d * d; ent += kThreads) {
    float s = 0.0f;
    for (int c = 0; c < score_chunks; ++c) s += src[static_cast<int64_t>(c) * d * d + ent];
    attn[ent / d][ent % d] = s * scale;
  }
  __syncthreads();

  // Row softmax: warp w owns rows w, w + 8, ...; lanes own columns lane, lane + 32.
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  for (int i = warp; i < d; i += kThreads / 32) {
    const float x0 = lane < d ? attn[i][lane] : -INFINITY;
    const float x1 = lane + 32 < d ? attn[i][lane + 32] : -INFINITY;
    const float mx = WarpMax(fmaxf(x0, x1));
    const float e0 = lane < d ? expf(x0 - mx) : 0.0f;
    const float e1 = lane + 32 < d ? expf(x1 - mx) : 0.0f;
    const float sum = WarpSum(e0 + e1);
    if (lane < d) attn[i][lane] = e0 / sum;
    if (lane + 32 < d) attn[i][lane + 32] = e1 / sum;
  }
  __syncthreads();

  for (int64_t n0 = n_begin; n0 < n_end; n0 += kTokTile) {
    for (int idx = threadIdx.x; idx < kTokTile * d; idx += kThreads) {
      const int t = idx / d;
      const int j = idx % d;
      const int64_t n = n0 + t;
      vs[t][j] = n < n_end ? LoadAsFloat(v.data, v.dtype, Off4(v, b, n, g, j)) : 0.0f;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < kTokTile * d; idx += kThreads) {
      const int t = idx / d;
      const int i = idx % d;
      const int64_t n = n0 + t;
      if (n < n_end) {
        float acc = 0.0f;
        for (int j = 0; j < d; ++j) acc = fmaf(attn[i][j], vs[t][j], acc);
        StoreFromFloat(out.data, out.dtype, Off4(out, b, n, g, i), acc);
      }
    }
    __syncthreads();
  }
}

}  // namespace

size_t ChannelAttentionScratchBytes(int64_t batch, int64_t groups, int64_t d, int64_t chunks) {
  return static_cast<size_t>(batch * groups * chunks * d * d) * sizeof(float);
}

void LaunchChannelAttention(const StridedArg& q, const StridedArg& k, const StridedArg& v,
                            float scale, const StridedArg& out, void* partials,
                            size_t partials_bytes, cudaStream_t stream) {
  const int64_t batch = q.shape[0];
  const int64_t tokens = q.shape[1];
  const int64_t groups = q.shape[2];
  const int64_t d = q.shape[3];
  if (batch == 0 || groups == 0 || d == 0 || tokens == 0) return;
  const int64_t fit = static_cast<int64_t>(partials_bytes / ChannelAttentionScratchBytes(batch, groups, d, 1));
  // Token chunks per (b, g): enough for kTargetBlocks blocks, each of 32..128 tokens.
  static const bool spread = EnvSwitchOn("VLART_CHANNEL_ATTENTION_SPREAD");
  const int64_t fewest = (tokens + kMaxChunkTokens - 1) / kMaxChunkTokens;
  const int64_t most = (tokens + kTokTile - 1) / kTokTile;
  const int64_t wanted = spread ? (kTargetBlocks + batch * groups - 1) / (batch * groups) : fewest;
  const int64_t per_bg = wanted < fewest ? fewest : (wanted > most ? most : wanted);
  int64_t chunks = per_bg;
  if (chunks > fit) chunks = fit;  // host checked fit >= 1
  const int64_t chunk_len = (tokens + chunks - 1) / chunks;
  chunks = (tokens + chunk_len - 1) / chunk_len;  // no empty chunks
  float* part = static_cast<float*>(partials);
  ChannelScoresKernel<<<dim3(static_cast<unsigned int>(chunks), static_cast<unsigned int>(groups),
                             static_cast<unsigned int>(batch)),
                        kThreads, 0, stream>>>(q, k, part, chunk_len);
  VLART_CUDA_CHECK_LAUNCH();
  const int64_t apply_len = (tokens + per_bg - 1) / per_bg;
  const int64_t apply_chunks = (tokens + apply_len - 1) / apply_len;
  ChannelApplyKernel<<<dim3(static_cast<unsigned int>(apply_chunks),
                            static_cast<unsigned int>(groups), static_cast<unsigned int>(batch)),
                       kThreads, 0, stream>>>(v, out, part, static_cast<int>(chunks), scale, apply_len);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
