// SPDX-License-Identifier: Apache-2.0
//
// attention_resident.cu: fused attention for short key sequences whose K and V fit in
// shared memory: X-VLA's policy (262 tokens, head dim 64), BART (100 x 64), DaViT windows
// (144 x 32), SigLIP So400m (256 x 72: pi0 / pi0.5's vision tower).
//
// Math:      out[b,i,h,:] = Σ_j softmax_j(scale · q[b,i,h,:]·k[b,j,g,:] + mask[b,i,j]) v[b,j,g,:],
//            g = h / (Hq / Hkv).
// Mapping:   one block of 4 warps per (64 queries, head, batch). The block copies the
//            head's whole K and V (Sk rounded up to 64 keys, zero rows past Sk) and its 64
//            query rows into shared memory with 16-byte cp.async loads, one barrier, then
//            each warp owns 16 query rows: Q·Kᵀ per 64-key block with mma.sync m16n8k16
//            (fragments by ldmatrix; V through ldmatrix.trans), online softmax across key
//            blocks, O += P·V. No score matrix leaves registers. A head dim that is not a
//            multiple of 16 (SigLIP's 72) is zero-padded to the next one (80) in shared
//            memory: the padded columns add 0 to Q·Kᵀ and their O columns are never stored.
//            Key splits (1, 2 or 4 groups of 4 warps, AttentionResidentSplits: 2 where the grid
//            leaves SMs idle, X-VLA: 80 blocks, SigLIP: 128, BART: 32; 4 only when forced),
//            group s of a block takes key blocks [s·n/S, (s+1)·n/S) for the same 64 queries,
//            and group 0 merges the others' (max, sum, O), parked in shared memory over K and
//            V, in group order.
// Numerics:  scores, running max/sum and O accumulate in f32; P is rounded to the input
//            dtype for P·V (FlashAttention-2's choice), the row sum uses the unrounded P.
//            Keys past Sk get -inf. Identical to attention.cu's tensor-core path up to the
//            order of the key-block reduction (and, with key splits, the flash-decoding merge,
//            whose factors multiply O and the sum alike).
// Reference: backends/cpu Attention; parity cases in tests/ops/cuda_attention_parity_test.cc.
// Napkin:    X-VLA layer (B1, 16 heads, 262 x 64): 80 blocks, 0.28 GFLOP, 2 x 0.53 MB of K/V
//            read per q-tile from L2; latency-bound at a few microseconds.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cuda/attention_tiles.cuh"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernel_probe.cuh"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

using attention_tiles::LoadHeadRows;
using attention_tiles::Padded;
using attention_tiles::Stride;

constexpr int kThreads = 128;  // 4 warps x 16 query rows
constexpr int kBlockQ = 64;
constexpr int kBlockK = 64;
constexpr int kMaxKeys = 320;  // K + V + Q of a 72-dim head: (2 * 320 + 64) * 88 * 2 B = 124 KB

// kernel_probe.cuh: the buffer the kProbe instances record into (SetAttentionResidentProbe).
__device__ KernelProbeBuffer g_resident_probe;
bool g_resident_probe_on = false;  // host: launch the kProbe instances (bf16)

template <int kD>
size_t SmemBytes(int sk_padded) {
  return static_cast<size_t>(2 * sk_padded + kBlockQ) * Stride<kD>() * sizeof(uint16_t);
}

// Key splits > 1 park (splits - 1) x 4 warps' O [16][D + 4] f32 and (max, sum) over K and V.
template <int kD>
constexpr size_t ParkBytes(int splits) {
  return static_cast<size_t>(splits - 1) * (kThreads / 32) * 16 * ((Padded<kD>() + 4) * sizeof(float) + sizeof(float2));
}

// The dynamic shared memory the kernels may use on this device (InitAttentionResidentKernels:
// the opt-in limit, kernel_image.h). A 99 KB GPU holds 320 keys of a 64-dim head or 256 of a
// 72-dim one (SigLIP's 256 tokens fit exactly); longer ones go to the other attention kernels.
size_t g_resident_smem_limit = 0;

int PaddedKeys(int sk) { return (sk + kBlockK - 1) / kBlockK * kBlockK; }

template <int kD>
size_t LaunchSmemBytes(int sk, int splits) {
  return std::max(SmemBytes<kD>(PaddedKeys(sk)), ParkBytes<kD>(splits));
}

size_t LaunchSmemBytesFor(const AttentionArgs& a, int splits) {
  if (a.d == 72) return LaunchSmemBytes<72>(a.sk, splits);
  if (a.d == 64) return LaunchSmemBytes<64>(a.sk, splits);
  return LaunchSmemBytes<32>(a.sk, splits);
}

// kProbe (debug, kernel_probe.cuh) records thread 0's clock at marks 3 (PDL wait over), 4 (K, V
// and Q landed), 5 (thread 0's key blocks done), 6 (split merge done), 7 (output stored).
template <typename T, int kD, int kSplits, bool kProbe = false>
__global__ void __launch_bounds__(kThreads * kSplits) AttentionResidentKernel(AttentionArgs p, int sk_padded) {
  PdlAllowDependents();
  BlockProbe<kProbe> probe(kProbe ? g_resident_probe : KernelProbeBuffer{});
  PdlWaitPrior();  // launched with PDL (pdl.cuh): nothing before this touches global memory
  probe.Mark(3);
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int kBlockThreads = kThreads * kSplits;
  constexpr int kS = Stride<kD>();
  constexpr int kDp = Padded<kD>();  // head dim as computed (zero columns past kD)
  uint16_t* ks = reinterpret_cast<uint16_t*>(smem_raw);
  uint16_t* vs = ks + sk_padded * kS;
  uint16_t* qs = vs + sk_padded * kS;

  const int b = blockIdx.z;
  const int h = blockIdx.y;
  const int q0 = blockIdx.x * kBlockQ;
  LoadHeadRows<kD, kBlockThreads>(p, ks, vs, qs, sk_padded, q0, kBlockQ);
  probe.Mark(4);

  const int warp = threadIdx.x / 32 % (kThreads / 32);  // query group: rows wr..wr+15
  const int split = threadIdx.x / kThreads;             // key range of this warp
  const int lane = threadIdx.x % 32;
  const int grp = lane / 4;
  const int tig = lane % 4;
  const int wr = warp * 16;
  // Key blocks [kb_begin, kb_end) of 64 keys; split 0 may get one fewer than the others.
  const int num_kb = sk_padded / kBlockK;
  const int kb_begin = split * num_kb / kSplits;
  const int kb_end = (split + 1) * num_kb / kSplits;

  // Q A-fragments for this warp's 16 rows: lane l addresses row (l % 16), column half (l / 16).
  uint32_t qf[kDp / 16][4];
#pragma unroll
  for (int kk = 0; kk < kDp / 16; ++kk) {
    Ldmatrix4(qf[kk], qs + (wr + (lane % 16)) * kS + kk * 16 + (lane / 16) * 8);
  }

  float o[kDp / 8][4];
#pragma unroll
  for (int dt = 0; dt < kDp / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};
  float l[2] = {0.0f, 0.0f};
  const int row[2] = {q0 + wr + grp, q0 + wr + grp + 8};

  for (int k0 = kb_begin * kBlockK; k0 < kb_end * kBlockK; k0 += kBlockK) {
    // S = Q·Kᵀ over 64 keys: each ldmatrix.x4 gives B fragments of two 8-key n-tiles.
    float s[kBlockK / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockK / 8; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
    for (int np = 0; np < kBlockK / 16; ++np) {
#pragma unroll
      for (int kk = 0; kk < kDp / 16; ++kk) {
        uint32_t bf[4];
        Ldmatrix4(bf, ks + (k0 + np * 16 + (lane / 16) * 8 + (lane % 8)) * kS + kk * 16 +
                          ((lane / 8) % 2) * 8);
        Mma<T>(s[2 * np], qf[kk], bf[0], bf[1]);
        Mma<T>(s[2 * np + 1], qf[kk], bf[2], bf[3]);
      }
    }
    // Scale, mask, -inf past Sk as selects with the mask test hoisted (a branch per score made
    // this the longest phase of a key block: attention_rows.cu's header).
    float mx[2] = {-INFINITY, -INFINITY};
    if (p.mask == nullptr) {
#pragma unroll
      for (int nt = 0; nt < kBlockK / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = k0 + nt * 8 + 2 * tig + (e & 1);
          const float val = j < p.sk ? s[nt][e] * p.scale : -INFINITY;
          s[nt][e] = val;
          mx[e >> 1] = fmaxf(mx[e >> 1], val);
        }
      }
    } else {
#pragma unroll
      for (int nt = 0; nt < kBlockK / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = k0 + nt * 8 + 2 * tig + (e & 1);
          const int r = row[e >> 1];
          const bool in = j < p.sk;
          // Rows past Sq read row 0's mask (in bounds; their outputs are never stored).
          const float m = in ? __ldg(p.mask + b * p.m_sb + static_cast<int64_t>(r < p.sq ? r : 0) * p.m_si +
                                     static_cast<int64_t>(j) * p.m_sj)
                             : 0.0f;
          const float val = in ? __fadd_rn(__fmul_rn(s[nt][e], p.scale), m) : -INFINITY;
          s[nt][e] = val;
          mx[e >> 1] = fmaxf(mx[e >> 1], val);
        }
      }
    }
    float alpha[2], base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float m_new = fmaxf(m[r], mx[r]);
      base[r] = m_new == -INFINITY ? 0.0f : m_new;
      alpha[r] = __expf(m[r] - base[r]);
      m[r] = m_new;
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < kBlockK / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] = __expf(s[nt][e] - base[e >> 1]);
        l[e >> 1] += s[nt][e];
      }
    }
#pragma unroll
    for (int dt = 0; dt < kDp / 8; ++dt) {
      o[dt][0] *= alpha[0];
      o[dt][1] *= alpha[0];
      o[dt][2] *= alpha[1];
      o[dt][3] *= alpha[1];
    }
    // O += P·V: A from the S accumulators; B (k = key, n = dim) by ldmatrix.trans of V rows:
    // lane l addresses key (l % 8) + ((l / 8) % 2) * 8, dim half (l / 16).
#pragma unroll
    for (int kk2 = 0; kk2 < kBlockK / 16; ++kk2) {
      uint32_t a[4];
      a[0] = Pack<T>(s[2 * kk2][0], s[2 * kk2][1]);
      a[1] = Pack<T>(s[2 * kk2][2], s[2 * kk2][3]);
      a[2] = Pack<T>(s[2 * kk2 + 1][0], s[2 * kk2 + 1][1]);
      a[3] = Pack<T>(s[2 * kk2 + 1][2], s[2 * kk2 + 1][3]);
#pragma unroll
      for (int dp = 0; dp < kDp / 16; ++dp) {
        uint32_t bf[4];
        Ldmatrix4Trans(bf, vs + (k0 + kk2 * 16 + ((lane / 8) % 2) * 8 + (lane % 8)) * kS +
                               dp * 16 + (lane / 16) * 8);
        Mma<T>(o[2 * dp], a, bf[0], bf[1]);
        Mma<T>(o[2 * dp + 1], a, bf[2], bf[3]);
      }
    }
  }

  probe.Mark(5);
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
  if constexpr (kSplits > 1) {
    // Splits 1.. park (max, sum, O) in shared memory over K and V (after a barrier: every warp
    // is done reading them); split 0 folds them into its own registers in split order:
    // M = max(m, m_s), O = O·e^(m-M) + O_s·e^(m_s-M), l likewise (flash-decoding's merge; the
    // factors multiply O and l alike, so their rounding cancels in O / l).
    constexpr int kPs = kDp + 4;  // f32 row stride of a parked O
    float* park = reinterpret_cast<float*>(smem_raw);  // [(kSplits - 1) * 4 warps][16][kPs]
    float2* park_ml = reinterpret_cast<float2*>(park + (kSplits - 1) * kThreads / 32 * 16 * kPs);
    __syncthreads();
    if (split > 0) {
      const int slot = (split - 1) * (kThreads / 32) + warp;
      float* po = park + slot * 16 * kPs;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
#pragma unroll
        for (int dt = 0; dt < kDp / 8; ++dt) {
          *reinterpret_cast<float2*>(po + (grp + 8 * r) * kPs + dt * 8 + 2 * tig) =
              make_float2(o[dt][2 * r], o[dt][2 * r + 1]);
        }
        if (tig == 0) park_ml[slot * 16 + grp + 8 * r] = make_float2(m[r], l[r]);
      }
    }
    __syncthreads();
    if (split > 0) return;
#pragma unroll
    for (int s = 1; s < kSplits; ++s) {
      const int slot = (s - 1) * (kThreads / 32) + warp;
      const float* po = park + slot * 16 * kPs;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const float2 ml = park_ml[slot * 16 + grp + 8 * r];
        const float m_new = fmaxf(m[r], ml.x);
        const float base = m_new == -INFINITY ? 0.0f : m_new;
        const float a = __expf(m[r] - base);
        const float bw = __expf(ml.x - base);
        m[r] = m_new;
        l[r] = l[r] * a + ml.y * bw;
#pragma unroll
        for (int dt = 0; dt < kDp / 8; ++dt) {
          const float2 v = *reinterpret_cast<const float2*>(po + (grp + 8 * r) * kPs + dt * 8 + 2 * tig);
          o[dt][2 * r] = o[dt][2 * r] * a + v.x * bw;
          o[dt][2 * r + 1] = o[dt][2 * r + 1] * a + v.y * bw;
        }
      }
    }
  }
  probe.Mark(6);
  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) inv[r] = 1.0f / l[r];
  T* out = static_cast<T*>(p.out);
#pragma unroll
  for (int dt = 0; dt < kD / 8; ++dt) {
    const int col = dt * 8 + 2 * tig;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if (row[r] >= p.sq) continue;
      const int64_t off = b * p.o_sb + static_cast<int64_t>(row[r]) * p.o_ss + h * p.o_sh + col;
      *reinterpret_cast<uint32_t*>(out + off) = Pack<T>(o[dt][2 * r] * inv[r], o[dt][2 * r + 1] * inv[r]);
    }
  }
  probe.Mark(7);
  probe.End();
}

// The kProbe instance (bf16 only) under SetAttentionResidentProbe, else the production one.
template <typename T, int kD, int kSplits>
auto ResidentKernelFor() {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    if (g_resident_probe_on) return AttentionResidentKernel<T, kD, kSplits, true>;
  }
  return AttentionResidentKernel<T, kD, kSplits, false>;
}

template <typename T, int kD>
void Launch(const AttentionArgs& a, int splits, cudaStream_t stream) {
  const int sk_padded = PaddedKeys(a.sk);
  const size_t smem = LaunchSmemBytes<kD>(a.sk, splits);
  const dim3 grid((a.sq + kBlockQ - 1) / kBlockQ, a.hq, a.batch);
  switch (splits) {
    case 4:
      LaunchPdl(ResidentKernelFor<T, kD, 4>(), grid, dim3(kThreads * 4), smem, stream, 1, a, sk_padded);
      break;
    case 2:
      LaunchPdl(ResidentKernelFor<T, kD, 2>(), grid, dim3(kThreads * 2), smem, stream, 1, a, sk_padded);
      break;
    default:
      LaunchPdl(ResidentKernelFor<T, kD, 1>(), grid, dim3(kThreads), smem, stream, 1, a, sk_padded);
      break;
  }
}

template <typename T, int kD>
void SetSmem(size_t bytes) {
  for (auto kernel : {AttentionResidentKernel<T, kD, 1>, AttentionResidentKernel<T, kD, 2>,
                      AttentionResidentKernel<T, kD, 4>}) {
    VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(bytes)));
  }
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {  // the probe instances: same limit
    for (auto kernel : {AttentionResidentKernel<T, kD, 1, true>, AttentionResidentKernel<T, kD, 2, true>,
                        AttentionResidentKernel<T, kD, 4, true>}) {
      VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(bytes)));
    }
  }
}

}  // namespace

void SetAttentionResidentProbe(const KernelProbeBuffer& buffer) {
  VLART_CUDA_CHECK(cudaMemcpyToSymbol(g_resident_probe, &buffer, sizeof(buffer)));
  g_resident_probe_on = buffer.slots != nullptr;
}

size_t InitAttentionResidentKernels() {
  g_resident_smem_limit = SharedMemoryOptinBytes();
  const size_t max72 = std::min(LaunchSmemBytes<72>(kMaxKeys, 4), g_resident_smem_limit);
  const size_t max64 = std::min(LaunchSmemBytes<64>(kMaxKeys, 4), g_resident_smem_limit);
  const size_t max32 = std::min(LaunchSmemBytes<32>(kMaxKeys, 4), g_resident_smem_limit);
  SetSmem<__nv_bfloat16, 72>(max72);
  SetSmem<__half, 72>(max72);
  SetSmem<__nv_bfloat16, 64>(max64);
  SetSmem<__half, 64>(max64);
  SetSmem<__nv_bfloat16, 32>(max32);
  SetSmem<__half, 32>(max32);
  return max72;
}

int64_t AttentionResidentBlocks(const AttentionArgs& a) {
  return static_cast<int64_t>((a.sq + kBlockQ - 1) / kBlockQ) * a.hq * a.batch;
}

int AttentionResidentSplits(const AttentionArgs& a, int num_sms, int forced) {
  const int key_blocks = (a.sk + kBlockK - 1) / kBlockK;
  int splits = 1;
  if (forced > 0) {
    splits = forced >= 4 ? 4 : forced >= 2 ? 2 : 1;
  } else if (key_blocks >= 2 && AttentionResidentBlocks(a) <= 2 * static_cast<int64_t>(num_sms)) {
    // One 4-warp block per SM is bound by its warps' serial instruction stream (Nsight Compute,
    // X-VLA 262 x 16 x 64: 80 blocks, ~3.3 cycles per issued instruction, issue slots 13% busy):
    // where the grid leaves SMs to spare, more warps per block share the key blocks. Two groups,
    // not four, even where four fit: X-VLA batch 1 policy 11.12 against 11.28 ms with four (H100,
    // same call); op bench 7.61 against 8.02 us a call (SigLIP, 2 views: 8.56 against 9.37).
    splits = 2;
  }
  while (splits > 1 && (splits > key_blocks || LaunchSmemBytesFor(a, splits) > g_resident_smem_limit)) {
    splits /= 2;
  }
  return splits;
}

bool AttentionResidentSupported(const AttentionArgs& a) {
  if (!attention_tiles::SmemRowOperands(a) || a.sk > kMaxKeys) return false;
  // K, V and Q must fit this GPU's shared memory (99 KB GPUs: see g_resident_smem_limit).
  return LaunchSmemBytesFor(a, 1) <= g_resident_smem_limit;
}

void LaunchAttentionResident(const AttentionArgs& a, int splits, cudaStream_t stream) {
  const bool bf = a.q_dtype == DType::kBF16;
  if (a.d == 72) {
    bf ? Launch<__nv_bfloat16, 72>(a, splits, stream) : Launch<__half, 72>(a, splits, stream);
  } else if (a.d == 64) {
    bf ? Launch<__nv_bfloat16, 64>(a, splits, stream) : Launch<__half, 64>(a, splits, stream);
  } else {
    bf ? Launch<__nv_bfloat16, 32>(a, splits, stream) : Launch<__half, 32>(a, splits, stream);
  }
}

}  // namespace vlart::cuda
