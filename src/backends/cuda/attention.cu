// SPDX-License-Identifier: Apache-2.0
//
// attention.cu: fused multi-head attention (no score matrix in device memory).
//
// Math:      out[b,i,h,:] = Σ_j softmax_j(scale · q[b,i,h,:]·k[b,j,g,:] + mask[b,i,j]) v[b,j,g,:],
//            g = h / (Hq / Hkv) (MQA / GQA).
// Mapping:   tensor-core kernel (bf16/f16, head dim 32/64/128, Dv == D): a block of 4 warps
//            owns 64 queries of one (b, h); each warp 16 query rows. Q is loaded once into
//            registers as mma.sync m16n8k16 A fragments; K/V stream through shared memory in
//            tiles of 64 keys; S = Q·Kᵀ (16x64 per warp, f32 accumulators), online softmax, then
//            O += P·V with P re-packed from the S accumulators (FlashAttention-2 layout).
//            SIMT kernel (f32 mode, other head dims, mixed dtypes): one block per (b, i, h);
//            the Sk scores live in shared memory, two block reductions, then one thread per
//            output channel.
// Numerics:  scores, max, exp and the running sum in f32; P is rounded to the input dtype for
//            the P·V product (as FlashAttention does); the row sum uses the unrounded f32 P.
//            Keys past Sk score -inf. A row whose scores are all -inf yields 0/0 = NaN, as
//            torch's math softmax does; openpi's finite -2.38e38 mask gives plain weights.
// Reference: backends/cpu Attention (materialised scores, softmax in f32).
// Napkin:    X-VLA layer, 262x16x64: 0.28 GFLOP; with scalar shared-memory fragment loads this
//            first version is latency-bound, far from the ~3 us target (performance.md §4.2).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"

namespace vlart::cuda {
namespace {

constexpr int kMmaThreads = 128;  // 4 warps x 16 query rows
constexpr int kBlockQ = 64;
constexpr int kBlockK = 64;
constexpr int kSimtThreads = 128;

template <int kD>
constexpr size_t MmaSmemBytes() {
  return static_cast<size_t>(3) * kBlockQ * (kD + 8) * sizeof(uint16_t);
}

// Elements [c, c+1] of row r of a shared-memory tile of raw 16-bit values (c even).
__device__ __forceinline__ uint32_t LoadPair(const uint16_t* tile, int stride, int r, int c) {
  return *reinterpret_cast<const uint32_t*>(tile + r * stride + c);
}

template <typename T, int kD>
__global__ void __launch_bounds__(kMmaThreads) AttentionMmaKernel(AttentionArgs p) {
  extern __shared__ __align__(16) unsigned char attention_smem[];
  constexpr int kStride = kD + 8;  // +16 bytes per row against bank conflicts
  uint16_t* qs = reinterpret_cast<uint16_t*>(attention_smem);
  uint16_t* ks = qs + kBlockQ * kStride;
  uint16_t* vs = ks + kBlockK * kStride;

  const int b = blockIdx.z;
  const int h = blockIdx.y;
  const int q0 = blockIdx.x * kBlockQ;
  const int g = h / (p.hq / p.hkv);
  const uint16_t* qg = static_cast<const uint16_t*>(p.q) + b * p.q_sb + h * p.q_sh;
  const uint16_t* kg = static_cast<const uint16_t*>(p.k) + b * p.k_sb + g * p.k_sh;
  const uint16_t* vg = static_cast<const uint16_t*>(p.v) + b * p.v_sb + g * p.v_sh;

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int grp = lane / 4;  // mma "groupID": fragment row (A, C) or column (B)
  const int tig = lane % 4;  // thread in group: fragment column pair

  for (int idx = tid; idx < kBlockQ * kD; idx += kMmaThreads) {
    const int r = idx / kD;
    const int c = idx % kD;
    const int qi = q0 + r;
    qs[r * kStride + c] = qi < p.sq ? qg[static_cast<int64_t>(qi) * p.q_ss + c] : uint16_t{0};
  }
  __syncthreads();

  // A fragments of this warp's 16 query rows: reg0 (row grp, k 2t..2t+1), reg1 (row grp+8),
  // reg2 (row grp, k 2t+8..), reg3 (row grp+8, k 2t+8..).
  const int wr = warp * 16;
  uint32_t qf[kD / 16][4];
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    qf[kk][0] = LoadPair(qs, kStride, wr + grp, kk * 16 + 2 * tig);
    qf[kk][1] = LoadPair(qs, kStride, wr + grp + 8, kk * 16 + 2 * tig);
    qf[kk][2] = LoadPair(qs, kStride, wr + grp, kk * 16 + 8 + 2 * tig);
    qf[kk][3] = LoadPair(qs, kStride, wr + grp + 8, kk * 16 + 8 + 2 * tig);
  }

  float o[kD / 8][4];
#pragma unroll
  for (int dt = 0; dt < kD / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of rows grp, grp+8
  float l[2] = {0.0f, 0.0f};            // this thread's share of the running sums
  const int row[2] = {q0 + wr + grp, q0 + wr + grp + 8};

  for (int k0 = 0; k0 < p.sk; k0 += kBlockK) {
    __syncthreads();  // the previous tile is no longer read
    for (int idx = tid; idx < kBlockK * kD; idx += kMmaThreads) {
      const int r = idx / kD;
      const int c = idx % kD;
      const int j = k0 + r;
      const bool in = j < p.sk;
      ks[r * kStride + c] = in ? kg[static_cast<int64_t>(j) * p.k_ss + c] : uint16_t{0};
      vs[r * kStride + c] = in ? vg[static_cast<int64_t>(j) * p.v_ss + c] : uint16_t{0};
    }
    __syncthreads();

    // S = Q·Kᵀ: n-tile nt covers keys nt*8..nt*8+7; B fragment (k = head dim, n = key):
    // b0 = K[key grp][dims 2t, 2t+1], b1 = K[key grp][dims 2t+8, 2t+9] (contiguous in a K row).
    float s[kBlockK / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockK / 8; ++nt) {
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        const uint32_t b0 = LoadPair(ks, kStride, nt * 8 + grp, kk * 16 + 2 * tig);
        const uint32_t b1 = LoadPair(ks, kStride, nt * 8 + grp, kk * 16 + 8 + 2 * tig);
        Mma<T>(s[nt], qf[kk], b0, b1);
      }
    }

    // Scale, mask, row max. C fragment: e = 0,1 -> row grp, keys nt*8 + 2t + e; e = 2,3 ->
    // row grp+8, keys nt*8 + 2t + e - 2.
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kBlockK / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = k0 + nt * 8 + 2 * tig + (e & 1);
        const int r = row[e >> 1];
        float val = -INFINITY;
        if (j < p.sk) {
          val = s[nt][e] * p.scale;
          if (p.mask != nullptr && r < p.sq) {
            val += p.mask[b * p.m_sb + static_cast<int64_t>(r) * p.m_si +
                          static_cast<int64_t>(j) * p.m_sj];
          }
        }
        s[nt][e] = val;
        mx[e >> 1] = fmaxf(mx[e >> 1], val);
      }
    }
    float alpha[2];
    float base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float m_new = fmaxf(m[r], mx[r]);
      base[r] = m_new == -INFINITY ? 0.0f : m_new;  // keeps exp() finite for all -inf rows
      alpha[r] = expf(m[r] - base[r]);
      m[r] = m_new;
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < kBlockK / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] = expf(s[nt][e] - base[e >> 1]);
        l[e >> 1] += s[nt][e];
      }
    }
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt) {
      o[dt][0] *= alpha[0];
      o[dt][1] *= alpha[0];
      o[dt][2] *= alpha[1];
      o[dt][3] *= alpha[1];
    }

    // O += P·V. A fragment of keys kk2*16..+15 from the S tiles 2kk2 (keys +0..7) and 2kk2+1
    // (keys +8..15). B fragment (k = key, n = dim): b0 = V[keys 2t, 2t+1][dim grp],
    // b1 = V[keys 2t+8, 2t+9][dim grp]: two scalar shared-memory reads each.
#pragma unroll
    for (int kk2 = 0; kk2 < kBlockK / 16; ++kk2) {
      uint32_t a[4];
      a[0] = Pack<T>(s[2 * kk2][0], s[2 * kk2][1]);
      a[1] = Pack<T>(s[2 * kk2][2], s[2 * kk2][3]);
      a[2] = Pack<T>(s[2 * kk2 + 1][0], s[2 * kk2 + 1][1]);
      a[3] = Pack<T>(s[2 * kk2 + 1][2], s[2 * kk2 + 1][3]);
      const int kb = kk2 * 16 + 2 * tig;
#pragma unroll
      for (int dt = 0; dt < kD / 8; ++dt) {
        const int n = dt * 8 + grp;
        const uint32_t b0 = static_cast<uint32_t>(vs[kb * kStride + n]) |
                            (static_cast<uint32_t>(vs[(kb + 1) * kStride + n]) << 16);
        const uint32_t b1 = static_cast<uint32_t>(vs[(kb + 8) * kStride + n]) |
                            (static_cast<uint32_t>(vs[(kb + 9) * kStride + n]) << 16);
        Mma<T>(o[dt], a, b0, b1);
      }
    }
  }

  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    inv[r] = 1.0f / l[r];
  }
#pragma unroll
  for (int dt = 0; dt < kD / 8; ++dt) {
    const int col = dt * 8 + 2 * tig;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if (row[r] >= p.sq) continue;
      const int64_t base_off = b * p.o_sb + static_cast<int64_t>(row[r]) * p.o_ss + h * p.o_sh + col;
      StoreFromFloat(p.out, p.out_dtype, base_off, o[dt][2 * r] * inv[r]);
      StoreFromFloat(p.out, p.out_dtype, base_off + 1, o[dt][2 * r + 1] * inv[r]);
    }
  }
}

__global__ void __launch_bounds__(kSimtThreads) AttentionSimtKernel(AttentionArgs p) {
  extern __shared__ __align__(16) unsigned char attention_smem[];
  __shared__ float scratch[32];
  float* qv = reinterpret_cast<float*>(attention_smem);  // [D]
  float* sc = qv + p.d;                                   // [Sk]

  const int64_t i = blockIdx.x;
  const int h = blockIdx.y;
  const int64_t b = blockIdx.z;
  const int g = h / (p.hq / p.hkv);
  const int64_t q_off = b * p.q_sb + i * p.q_ss + h * p.q_sh;
  const int64_t k_off = b * p.k_sb + g * p.k_sh;
  const int64_t v_off = b * p.v_sb + g * p.v_sh;

  for (int d = threadIdx.x; d < p.d; d += blockDim.x) qv[d] = LoadAsFloat(p.q, p.q_dtype, q_off + d);
  __syncthreads();

  float local_max = -INFINITY;
  for (int j = threadIdx.x; j < p.sk; j += blockDim.x) {
    const int64_t kr = k_off + static_cast<int64_t>(j) * p.k_ss;
    float dot = 0.0f;
    for (int d = 0; d < p.d; ++d) dot = fmaf(qv[d], LoadAsFloat(p.k, p.k_dtype, kr + d), dot);
    float val = dot * p.scale;
    if (p.mask != nullptr) val += p.mask[b * p.m_sb + i * p.m_si + static_cast<int64_t>(j) * p.m_sj];
    sc[j] = val;
    local_max = fmaxf(local_max, val);
  }
  const float mx = BlockMax(local_max, scratch);
  const float base = mx == -INFINITY ? 0.0f : mx;
  float local_sum = 0.0f;
  for (int j = threadIdx.x; j < p.sk; j += blockDim.x) {
    const float e = expf(sc[j] - base);
    sc[j] = e;
    local_sum += e;
  }
  const float sum = BlockSum(local_sum, scratch);  // its barriers publish sc[]

  const int64_t o_off = b * p.o_sb + i * p.o_ss + h * p.o_sh;
  for (int d = threadIdx.x; d < p.dv; d += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < p.sk; ++j) {
      acc = fmaf(sc[j], LoadAsFloat(p.v, p.v_dtype, v_off + static_cast<int64_t>(j) * p.v_ss + d), acc);
    }
    StoreFromFloat(p.out, p.out_dtype, o_off + d, acc / sum);
  }
}

template <typename T>
void LaunchMma(const AttentionArgs& args, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned int>((args.sq + kBlockQ - 1) / kBlockQ),
                  static_cast<unsigned int>(args.hq), static_cast<unsigned int>(args.batch));
  switch (args.d) {
    case 32:
      AttentionMmaKernel<T, 32><<<grid, kMmaThreads, MmaSmemBytes<32>(), stream>>>(args);
      break;
    case 64:
      AttentionMmaKernel<T, 64><<<grid, kMmaThreads, MmaSmemBytes<64>(), stream>>>(args);
      break;
    default:
      AttentionMmaKernel<T, 128><<<grid, kMmaThreads, MmaSmemBytes<128>(), stream>>>(args);
      break;
  }
  VLART_CUDA_CHECK_LAUNCH();
}

bool IsHalfType(DType t) { return t == DType::kBF16 || t == DType::kF16; }

}  // namespace

bool AttentionMmaSupported(const AttentionArgs& args) {
  return IsHalfType(args.q_dtype) && args.k_dtype == args.q_dtype &&
         args.v_dtype == args.q_dtype && args.d == args.dv &&
         (args.d == 32 || args.d == 64 || args.d == 128);
}

size_t AttentionSimtSmemBytes(const AttentionArgs& args) {
  return (static_cast<size_t>(args.d) + static_cast<size_t>(args.sk)) * sizeof(float);
}

size_t InitAttentionKernels() {  // for the current device (CudaBackend::Create set it)
  const int optin = static_cast<int>(SharedMemoryOptinBytes());  // kernel_image.h
  const size_t mma128 = MmaSmemBytes<128>();
  VLART_CUDA_CHECK(cudaFuncSetAttribute(AttentionMmaKernel<__nv_bfloat16, 128>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(mma128)));
  VLART_CUDA_CHECK(cudaFuncSetAttribute(AttentionMmaKernel<__half, 128>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(mma128)));
  const int simt_limit = optin - static_cast<int>(32 * sizeof(float));  // minus static scratch
  VLART_CUDA_CHECK(cudaFuncSetAttribute(AttentionSimtKernel,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, simt_limit));
  return static_cast<size_t>(simt_limit);
}

void LaunchAttention(const AttentionArgs& args, AttentionPath path, cudaStream_t stream) {
  if (args.batch == 0 || args.sq == 0 || args.hq == 0 || args.dv == 0) return;
  if (path == AttentionPath::kMma) {
    if (args.q_dtype == DType::kBF16) {
      LaunchMma<__nv_bfloat16>(args, stream);
    } else {
      LaunchMma<__half>(args, stream);
    }
    return;
  }
  const dim3 grid(static_cast<unsigned int>(args.sq), static_cast<unsigned int>(args.hq),
                  static_cast<unsigned int>(args.batch));
  AttentionSimtKernel<<<grid, kSimtThreads, AttentionSimtSmemBytes(args), stream>>>(args);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
