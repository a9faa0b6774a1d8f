// SPDX-License-Identifier: Apache-2.0
//
// attention_flash.cu: streaming tensor-core attention for head dim 256 (and 128 with MQA/GQA),
// the heads of a KV group folded into the rows of one tile: pi0 / pi0.5's Gemma attention
// (8 query heads, 1 KV head, D 256; prefix Sq = Sk ~ 532..816, action expert Sq ~ 51, Sk ~ 581..870).
//
// Math:      out[b,i,h,:] = Σ_j softmax_j(scale · q[b,i,h,:]·k[b,j,g,:] + mask[b,i,j]) v[b,j,g,:],
//            g = h / G, G = Hq / Hkv. Row r of the folded problem of (b, g) is the pair
//            (i = r / G, h = g·G + r % G), r in [0, Sq·G): all rows of (b, g) read one K/V.
// Mapping:   a block of 4 warps owns 64 folded rows (16 per warp) of one (b, g) and one of
//            `splits` ranges of 64-key tiles (blockIdx.y). Q (64 x D) is staged once in shared
//            memory; K and V tiles stream through one buffer each with 16-byte cp.async (rows
//            past Sk zero-filled): V(t) loads while S = Q·K(t)ᵀ is computed, K(t+1) while
//            O += P·V(t) is (two barriers per tile). Per warp per tile: S 16x64 in f32 by mma.sync
//            m16n8k16 (A = Q by ldmatrix, B = K by ldmatrix), scale + mask, online softmax, then
//            P re-packed from the S accumulators as A fragments, V by ldmatrix.trans, O 16xD in
//            f32 registers (D 256: 128 per thread). Smem (D 256): 3 x 64 x (256 + 8) x 2 B = 99 KB
//            -> 2 blocks per SM. splits == 1: the block normalises and stores O. splits > 1
//            (flash-decoding, when the row tiles alone cannot fill the SMs): each block writes
//            its unnormalised f32 O and its row (max, sum) to a workspace, and a second kernel
//            (one warp per row) merges the splits in split order: the result is the same on
//            every run, whatever order blocks run in.
// Numerics:  exactly attention_resident.cu's contract: scores, running max / sum and O in f32;
//            P rounded to the input dtype for P·V (FlashAttention-2), the row sum from the
//            unrounded P; keys past Sk score -inf; exp is __expf. The running rescale
//            multiplies O and the sum by the same factor, so its error cancels in O / sum (up to
//            one f32 rounding per tile). Split merge: w_s = exp(m_s - M), out = Σ_s w_s O_s /
//            Σ_s w_s l_s, f32 in split order: again only f32 roundings. A row whose scores are
//            all -inf has sum 0 and yields 0 · (1/0) = NaN on both paths, as the CPU reference
//            (and torch's math softmax) do; openpi's finite -2.38e38 mask makes a fully masked
//            row uniform (all scores equal the mask value), as on the CPU.
// Reference: backends/cpu Attention; parity in tests/ops/cuda_attention_parity_test.cc
//            (AttentionParity.Pi0*).
// Napkin:    per 64-key tile a warp issues 144 ldmatrix.x4 (Q 16, K 64, V 64 = 72 KB) for
//            256 mma (1 MFLOP): 4 warps need ~2300 clk of the SM's 128 B/clk shared-memory port,
//            about what the tensor cores need (~2000 clk), ~1.4 us per 64 x 64 block tile. pi0
//            prefix B1 532 tokens: 67 row tiles x 9 key tiles, no split: ~9 x 1.4 ~ 13 us
//            (2.3 GFLOP); 816 tokens: 102 x 13 -> ~18 us. Expert B1 51 x 581: 7 row tiles x 10
//            key tiles, 10 splits -> 70 blocks of one tile: ~2-3 us + merge ~1 us (the SIMT
//            kernel took 513 us; the byte floor is 0.35 us). Both prefixes leave SMs idle (67 /
//            102 blocks) and are bound by the 4x re-read of K/V fragments per 64 rows that
//            mma.sync implies; a wgmma version (one B read per 64-row warpgroup) is the next step.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 128;  // 4 warps x 16 folded rows
constexpr int kBlockM = 64;    // folded (query, head) rows per block
constexpr int kBlockN = 64;    // keys per tile
constexpr int kCombineWarps = kThreads / 32;  // merge kernel: one warp per folded row

template <int kD>
constexpr int Stride() {
  return kD + 8;  // 16 extra bytes per row: conflict-free ldmatrix rows
}

template <int kD>
constexpr size_t SmemBytes() {
  return static_cast<size_t>(kBlockM + 2 * kBlockN) * Stride<kD>() * sizeof(uint16_t);
}

// 16-byte global -> shared copy; `valid` false zero-fills the destination (src not read).
__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem)), "l"(gmem),
               "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWaitAll() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// Stages kBlockN rows [j0, j0 + kBlockN) of a K or V head (row stride ld elements) into a
// shared tile; rows at or past `sk` are zero-filled (V's zeros keep 0-weight keys from adding
// NaN garbage to O).
template <int kD>
__device__ __forceinline__ void LoadKvTile(uint16_t* dst, const uint16_t* src, int64_t ld, int j0,
                                           int sk) {
  constexpr int kChunks = kD / 8;  // 16-byte chunks per row
  constexpr int kRowsPerPass = kThreads / kChunks;
  const int col = (threadIdx.x % kChunks) * 8;
#pragma unroll
  for (int it = 0; it < kBlockN / kRowsPerPass; ++it) {
    const int rr = threadIdx.x / kChunks + it * kRowsPerPass;
    const int j = j0 + rr;
    const bool in = j < sk;
    CpAsync16(dst + rr * Stride<kD>() + col, src + (in ? j * ld : 0) + col, in);
  }
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads, 2)
    AttentionFlashKernel(AttentionArgs p, float* part_o, float2* part_ml) {
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh): nothing before this touches global memory
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int kS = Stride<kD>();
  uint16_t* qs = reinterpret_cast<uint16_t*>(smem_raw);
  uint16_t* ks = qs + kBlockM * kS;
  uint16_t* vs = ks + kBlockN * kS;

  const int group = p.hq / p.hkv;
  const int rows = p.sq * group;  // folded rows of one (b, g)
  const int bg = blockIdx.z;
  const int b = bg / p.hkv;
  const int g = bg % p.hkv;
  const int r0 = blockIdx.x * kBlockM;
  const int split = blockIdx.y;
  const int splits = gridDim.y;
  const int num_tiles = (p.sk + kBlockN - 1) / kBlockN;
  const int t_begin = split * num_tiles / splits;
  const int t_end = (split + 1) * num_tiles / splits;

  const uint16_t* qg = static_cast<const uint16_t*>(p.q) + b * p.q_sb;
  const uint16_t* kg = static_cast<const uint16_t*>(p.k) + b * p.k_sb + g * p.k_sh;
  const uint16_t* vg = static_cast<const uint16_t*>(p.v) + b * p.v_sb + g * p.v_sh;

  {  // Q rows (i, h) of this tile; rows past Sq·G zero-filled.
    constexpr int kChunks = kD / 8;
    constexpr int kRowsPerPass = kThreads / kChunks;
    const int col = (threadIdx.x % kChunks) * 8;
#pragma unroll
    for (int it = 0; it < kBlockM / kRowsPerPass; ++it) {
      const int rr = threadIdx.x / kChunks + it * kRowsPerPass;
      const int r = r0 + rr;
      const bool in = r < rows;
      const int i = in ? r / group : 0;
      const int h = g * group + (in ? r % group : 0);
      CpAsync16(qs + rr * kS + col, qg + i * p.q_ss + h * p.q_sh + col, in);
    }
  }
  if (t_begin < t_end) LoadKvTile<kD>(ks, kg, p.k_ss, t_begin * kBlockN, p.sk);
  CpAsyncCommit();

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int grp = lane / 4;  // mma "groupID": fragment row (A, C) or column (B)
  const int tig = lane % 4;  // thread in group
  const int wr = warp * 16;
  const bool warp_active = r0 + wr < rows;  // warp-uniform: skip the math of all-padding warps

  // This thread's two fragment rows (grp, grp + 8): folded index, validity, mask row. Padding
  // rows read the mask of query Sq-1 (in bounds; their results are never stored).
  int row[2];
  bool row_ok[2];
  const float* mrow[2] = {nullptr, nullptr};
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row[r] = r0 + wr + grp + 8 * r;
    row_ok[r] = row[r] < rows;
    const int i = row_ok[r] ? row[r] / group : p.sq - 1;
    if (p.mask != nullptr) mrow[r] = p.mask + b * p.m_sb + i * p.m_si;
  }

  float o[kD / 8][4];
#pragma unroll
  for (int dt = 0; dt < kD / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of rows grp, grp + 8
  float l[2] = {0.0f, 0.0f};            // this thread's share of the running sums

  for (int t = t_begin; t < t_end; ++t) {
    const int k0 = t * kBlockN;
    CpAsyncWaitAll();
    __syncthreads();  // K(t) (and Q) visible to all; every warp is done reading V(t-1)
    LoadKvTile<kD>(vs, vg, p.v_ss, k0, p.sk);
    CpAsyncCommit();

    float s[kBlockN / 8][4];
#pragma unroll
    for (int nt = 0; nt < kBlockN / 8; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
    if (warp_active) {
      // S = Q·Kᵀ: per 16-dim slice one ldmatrix.x4 of Q (A) and, per 16 keys, one of K (B
      // fragments of two 8-key n-tiles).
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        uint32_t qf[4];
        Ldmatrix4(qf, qs + (wr + (lane % 16)) * kS + kk * 16 + (lane / 16) * 8);
#pragma unroll
        for (int np = 0; np < kBlockN / 16; ++np) {
          uint32_t bf[4];
          Ldmatrix4(bf, ks + (np * 16 + (lane / 16) * 8 + (lane % 8)) * kS + kk * 16 + ((lane / 8) % 2) * 8);
          Mma<T>(s[2 * np], qf, bf[0], bf[1]);
          Mma<T>(s[2 * np + 1], qf, bf[2], bf[3]);
        }
      }
      // Scale, mask, row max. C fragment: e = 0,1 -> row grp, keys nt*8 + 2*tig + e;
      // e = 2,3 -> row grp + 8.
      float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = k0 + nt * 8 + 2 * tig + (e & 1);
          float val = -INFINITY;
          if (j < p.sk) {
            val = s[nt][e] * p.scale;
            if (p.mask != nullptr) val += __ldg(mrow[e >> 1] + j * p.m_sj);
          }
          s[nt][e] = val;
          mx[e >> 1] = fmaxf(mx[e >> 1], val);
        }
      }
      float alpha[2], base[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        const float m_new = fmaxf(m[r], mx[r]);
        base[r] = m_new == -INFINITY ? 0.0f : m_new;  // keeps exp() finite for all -inf rows
        alpha[r] = __expf(m[r] - base[r]);
        m[r] = m_new;
        l[r] *= alpha[r];
      }
#pragma unroll
      for (int nt = 0; nt < kBlockN / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[nt][e] = __expf(s[nt][e] - base[e >> 1]);
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
    }

    CpAsyncWaitAll();
    __syncthreads();  // V(t) visible to all; every warp is done reading K(t)
    if (t + 1 < t_end) LoadKvTile<kD>(ks, kg, p.k_ss, k0 + kBlockN, p.sk);
    CpAsyncCommit();

    if (warp_active) {
      // O += P·V: A from the S accumulators (keys kk2*16..+15), B by ldmatrix.trans of V rows:
      // lane l addresses key (l % 8) + ((l / 8) % 2) * 8, dim half (l / 16).
#pragma unroll
      for (int kk2 = 0; kk2 < kBlockN / 16; ++kk2) {
        uint32_t a[4];
        a[0] = Pack<T>(s[2 * kk2][0], s[2 * kk2][1]);
        a[1] = Pack<T>(s[2 * kk2][2], s[2 * kk2][3]);
        a[2] = Pack<T>(s[2 * kk2 + 1][0], s[2 * kk2 + 1][1]);
        a[3] = Pack<T>(s[2 * kk2 + 1][2], s[2 * kk2 + 1][3]);
#pragma unroll
        for (int dp = 0; dp < kD / 16; ++dp) {
          uint32_t bf[4];
          Ldmatrix4Trans(bf, vs + (kk2 * 16 + ((lane / 8) % 2) * 8 + (lane % 8)) * kS + dp * 16 + (lane / 16) * 8);
          Mma<T>(o[2 * dp], a, bf[0], bf[1]);
          Mma<T>(o[2 * dp + 1], a, bf[2], bf[3]);
        }
      }
    }
  }
  CpAsyncWaitAll();  // nothing may be in flight when the block exits (empty splits included)
  if (!warp_active) return;

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
  if (splits == 1) {
    T* out = static_cast<T*>(p.out);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      if (!row_ok[r]) continue;
      const float inv = 1.0f / l[r];  // 1/0 = inf for an all -inf row: 0 * inf = NaN, as the CPU
      const int i = row[r] / group;
      const int h = g * group + row[r] % group;
      T* orow = out + b * p.o_sb + i * p.o_ss + h * p.o_sh;
#pragma unroll
      for (int dt = 0; dt < kD / 8; ++dt) {
        const int col = dt * 8 + 2 * tig;
        *reinterpret_cast<uint32_t*>(orow + col) = Pack<T>(o[dt][2 * r] * inv, o[dt][2 * r + 1] * inv);
      }
    }
    return;
  }
  // Split partial: unnormalised O and (max, sum) of this block's keys, rows indexed
  // R = bg * rows + r in a [splits, N] layout (N = B · Hkv · Sq · G).
  const int64_t n_rows = static_cast<int64_t>(rows) * p.batch * p.hkv;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    if (!row_ok[r]) continue;
    const int64_t R = static_cast<int64_t>(split) * n_rows + static_cast<int64_t>(bg) * rows + row[r];
    float* prow = part_o + R * kD;
#pragma unroll
    for (int dt = 0; dt < kD / 8; ++dt) {
      *reinterpret_cast<float2*>(prow + dt * 8 + 2 * tig) = make_float2(o[dt][2 * r], o[dt][2 * r + 1]);
    }
    if (tig == 0) part_ml[R] = make_float2(m[r], l[r]);
  }
}

// Merges the split partials of one folded row per warp, in split order:
//   M = max_s m_s, w_s = exp(m_s - M) (M = -inf: base 0, every w_s = 0), L = Σ_s w_s l_s,
//   out = (Σ_s w_s O_s) · (1 / L).
template <typename T, int kD>
__global__ void __launch_bounds__(kThreads)
    AttentionFlashMergeKernel(AttentionArgs p, const float* part_o, const float2* part_ml, int splits) {
  PdlAllowDependents();
  PdlWaitPrior();
  const int group = p.hq / p.hkv;
  const int64_t rows = static_cast<int64_t>(p.sq) * group;
  const int64_t n_rows = rows * p.batch * p.hkv;
  const int64_t R = static_cast<int64_t>(blockIdx.x) * kCombineWarps + threadIdx.x / 32;
  if (R >= n_rows) return;
  const int lane = threadIdx.x % 32;

  float w[kAttentionFlashMaxSplits];
  float mx = -INFINITY;
#pragma unroll
  for (int s = 0; s < kAttentionFlashMaxSplits; ++s) {
    w[s] = s < splits ? __ldcg(&part_ml[s * n_rows + R].x) : -INFINITY;
    mx = fmaxf(mx, w[s]);
  }
  const float base = mx == -INFINITY ? 0.0f : mx;
  float sum = 0.0f;
#pragma unroll
  for (int s = 0; s < kAttentionFlashMaxSplits; ++s) {
    if (s < splits) {
      w[s] = __expf(w[s] - base);
      sum += w[s] * __ldcg(&part_ml[s * n_rows + R].y);
    }
  }
  const float inv = 1.0f / sum;

  const int64_t bg = R / rows;
  const int r = static_cast<int>(R % rows);
  const int b = static_cast<int>(bg / p.hkv);
  const int g = static_cast<int>(bg % p.hkv);
  const int i = r / group;
  const int h = g * group + r % group;
  T* orow = static_cast<T*>(p.out) + b * p.o_sb + i * p.o_ss + h * p.o_sh;
#pragma unroll
  for (int c = lane * 4; c < kD; c += 128) {
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int s = 0; s < kAttentionFlashMaxSplits; ++s) {
      if (s < splits) {
        const float4 v = __ldcg(reinterpret_cast<const float4*>(part_o + (s * n_rows + R) * kD + c));
        acc.x += w[s] * v.x;
        acc.y += w[s] * v.y;
        acc.z += w[s] * v.z;
        acc.w += w[s] * v.w;
      }
    }
    *reinterpret_cast<uint32_t*>(orow + c) = Pack<T>(acc.x * inv, acc.y * inv);
    *reinterpret_cast<uint32_t*>(orow + c + 2) = Pack<T>(acc.z * inv, acc.w * inv);
  }
}

int64_t FoldedRows(const AttentionArgs& a) { return static_cast<int64_t>(a.sq) * (a.hq / a.hkv); }
int64_t RowTiles(const AttentionArgs& a) { return (FoldedRows(a) + kBlockM - 1) / kBlockM; }
int KeyTiles(const AttentionArgs& a) { return (a.sk + kBlockN - 1) / kBlockN; }

template <typename T, int kD>
void Launch(const AttentionArgs& a, int splits, void* workspace, cudaStream_t stream) {
  const int64_t n_rows = FoldedRows(a) * a.batch * a.hkv;
  float* part_o = static_cast<float*>(workspace);
  float2* part_ml = reinterpret_cast<float2*>(part_o + splits * n_rows * kD);
  const dim3 grid(static_cast<unsigned int>(RowTiles(a)), static_cast<unsigned int>(splits),
                  static_cast<unsigned int>(a.batch * a.hkv));
  LaunchPdl(AttentionFlashKernel<T, kD>, grid, dim3(kThreads), SmemBytes<kD>(), stream, 1, a,
            splits > 1 ? part_o : nullptr, splits > 1 ? part_ml : nullptr);
  if (splits > 1) {
    const dim3 merge_grid(static_cast<unsigned int>((n_rows + kCombineWarps - 1) / kCombineWarps));
    LaunchPdl(AttentionFlashMergeKernel<T, kD>, merge_grid, dim3(kThreads), 0, stream, 1, a,
              static_cast<const float*>(part_o), static_cast<const float2*>(part_ml), splits);
  }
}

template <int kD>
void SetSmem() {
  for (auto kernel : {AttentionFlashKernel<__nv_bfloat16, kD>, AttentionFlashKernel<__half, kD>}) {
    VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(SmemBytes<kD>())));
    // Two blocks per SM need ~2 x 99 KB (D 256): ask for the largest shared-memory carveout.
    VLART_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                          cudaSharedmemCarveoutMaxShared));
  }
}

}  // namespace

void InitAttentionFlashKernels() {
  SetSmem<128>();
  SetSmem<256>();
}

bool AttentionFlashSupported(const AttentionArgs& a) {
  const DType t = a.q_dtype;
  if (t != DType::kBF16 && t != DType::kF16) return false;
  if (a.k_dtype != t || a.v_dtype != t || a.out_dtype != t) return false;
  if (a.dv != a.d || a.hkv < 1 || a.hq % a.hkv != 0) return false;
  // D 256; D 128 only with MQA/GQA (plain multi-head D 128 keeps attention.cu's kernel).
  if (!(a.d == 256 || (a.d == 128 && a.hq > a.hkv))) return false;
  if (a.sq < 1 || a.sk < 1 || a.batch < 1) return false;
  if (FoldedRows(a) > INT32_MAX / 2 || a.batch * int64_t{a.hkv} > 65535) return false;
  // 16-byte cp.async rows: base pointers aligned and every stride a multiple of 8 elements.
  for (const void* ptr : {a.q, a.k, a.v}) {
    if (!IsAligned(ptr, 16)) return false;
  }
  for (int64_t s : {a.q_sb, a.q_ss, a.q_sh, a.k_sb, a.k_ss, a.k_sh, a.v_sb, a.v_ss, a.v_sh}) {
    if (s % 8 != 0) return false;
  }
  // Output stores are 4-byte pairs.
  if (!IsAligned(a.out, 4)) return false;
  for (int64_t s : {a.o_sb, a.o_ss, a.o_sh}) {
    if (s % 2 != 0) return false;
  }
  return true;
}

size_t AttentionFlashWorkspaceBytes(const AttentionArgs& a, int splits) {
  if (splits <= 1) return 0;
  const int64_t n_rows = FoldedRows(a) * a.batch * a.hkv;
  return static_cast<size_t>(splits) * static_cast<size_t>(n_rows) *
         (static_cast<size_t>(a.d) + 2) * sizeof(float);
}

int AttentionFlashSplits(const AttentionArgs& a, int num_sms, size_t workspace_bytes, int forced) {
  const int max_splits = std::min(KeyTiles(a), kAttentionFlashMaxSplits);
  int splits = 1;
  if (forced > 0) {
    splits = std::min(forced, max_splits);
  } else {
    // Makespan model in units of one 64 x 64 block tile, calibrated on the H100 (cuda_ops_bench
    // --graph, pi0 expert B1 51x581 forced to 1..10 splits: ~5.5 us per tile per block, the
    // split form ~0.45 tile more: partial writes + merge kernel). The kernel is latency-bound
    // (4 warps a block), so the blocks resident on one SM (2 at D 256: 99 KB smem each; 3 at
    // D 128: registers) run side by side at nearly full speed: the makespan is waves x tiles
    // per block, a wave being resident x SMs blocks. The partials' round trip costs bytes /
    // 16 MB per tile (~3 TB/s for 5.5 us). Smallest cost wins, ties to fewer splits. The old
    // model counted co-resident blocks as serial and never split the prefixes; measured at
    // pi0's 532-token prefix: 72 us unsplit against 42 us with 3 splits. pi0 at 132 SMs:
    // expert B1 51x581 -> 10 splits, B4 -> 5, pi0.5 B1 10x810 -> 13, prefix 532 -> 3, 816 -> 2.
    const int64_t blocks = RowTiles(a) * a.batch * a.hkv;
    const int tiles = KeyTiles(a);
    const int64_t slots = static_cast<int64_t>(std::max(num_sms, 1)) * (a.d == 256 ? 2 : 3);
    double best = 0.0;
    for (int s = 1; s <= max_splits; ++s) {
      const int64_t waves = (blocks * s + slots - 1) / slots;
      const int per_block = (tiles + s - 1) / s;
      const double traffic = static_cast<double>(AttentionFlashWorkspaceBytes(a, s)) / 16e6;
      const double cost = static_cast<double>(waves * per_block) + (s == 1 ? 0.0 : 0.45 + traffic);
      if (s == 1 || cost < best) {
        best = cost;
        splits = s;
      }
    }
  }
  while (splits > 1 && AttentionFlashWorkspaceBytes(a, splits) > workspace_bytes) --splits;
  return std::max(splits, 1);
}

void LaunchAttentionFlash(const AttentionArgs& a, int splits, void* workspace, cudaStream_t stream) {
  const bool bf = a.q_dtype == DType::kBF16;
  if (a.d == 256) {
    bf ? Launch<__nv_bfloat16, 256>(a, splits, workspace, stream)
       : Launch<__half, 256>(a, splits, workspace, stream);
  } else {
    bf ? Launch<__nv_bfloat16, 128>(a, splits, workspace, stream)
       : Launch<__half, 128>(a, splits, workspace, stream);
  }
}

}  // namespace vlart::cuda
