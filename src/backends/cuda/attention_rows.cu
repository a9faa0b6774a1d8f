// SPDX-License-Identifier: Apache-2.0
//
// attention_rows.cu: fused attention for key sequences of at most 272 tokens, one warp per
// 16 query rows against every key at once: X-VLA's policy (262 x 64), SigLIP So400m (256 x
// 72), BART (100 x 64), DaViT windows (144 x 32), where the backend picks it (attention_op.cc:
// DaViT, and X-VLA / SigLIP at batch >= 4). Other (head dim, length) pairs go to the
// K/V-resident kernel (AttentionRowsSupported is false for them).
//
// Math:      out[b,i,h,:] = Σ_j softmax_j(scale · q[b,i,h,:]·k[b,j,g,:] + mask[b,i,j]) v[b,j,g,:],
//            g = h / (Hq / Hkv).
// Mapping:   one block of kWarps warps per (16·kWarps queries, head, batch). The block copies
//            the head's whole K and V (Sk rounded up to the compiled key tiles, zero rows past
//            Sk) and its query rows into shared memory (attention_tiles.cuh, 16-byte
//            cp.async), one barrier, then each warp owns 16 query rows and takes all keys in
//            one pass: the whole score row block S [16, Sk] stays in registers (mma.sync
//            m16n8k16, K by ldmatrix: up to 34 independent accumulator tiles), one row max,
//            P = exp(S - max) packed to 16 bits in registers, then O = P·V (V by
//            ldmatrix.trans, 2·D/16 independent accumulator chains). No online rescaling, no
//            split-key merge: the K/V-resident kernel (attention_resident.cu) walks 64-key
//            blocks with a running max and, at batch 1, splits them over 4 warp groups merged
//            in shared memory; at batch >= 4 its 4-warp blocks ran 1.2 waves. The backend
//            takes this kernel only where the resident one's grid alone fills the SMs
//            (attention_op.cc): at batch 1 the split resident kernel was faster inside the
//            model's graphs.
//            The 6-warp 17-tile instances (X-VLA's pick at batch 4) take their keys in two
//            chunks of 9 tiles (144 keys), with one rescale of O and the row sum between them,
//            so a lane holds 72 scores, not 136; they are capped at 168 registers (two blocks
//            per SM, a few values spilled): X-VLA's 192 blocks then run in one wave instead of
//            two. Each chunk's P·V goes tile by tile after that tile's exp (RowsKeyChunks).
//            Every other instance holds all its scores at once and takes every exp before any
//            P·V (RowsAllKeys): in chunks for all instances, DaViT's windows and SigLIP at
//            batch 8 ran 16.1 and 27.9 us a call against 13.4 and 22.4 (docs/PERFORMANCE.md).
//            The masked and unmasked score passes are separate compile-time paths behind one
//            uniform branch, and the mask row pointers are formed inside the masked one: with
//            one path of selects for both, or the pointers formed up front, ptxas took ~50
//            more registers in the unmasked path (the models' case: none of them passes a
//            mask here).
//            The key-tile count is compiled in (9 tiles = 144 keys for head dims 32 / 64, 17 =
//            272 keys for 64 / 72; keys past Sk are zero rows and -inf scores) and the scale /
//            mask pass uses selects: the first version looped over a runtime tile count and
//            branched per score, and ran at ~16 us per X-VLA call, slower than the resident
//            kernel (docs/PERFORMANCE.md).
//            kWarps (2, 3, 4, 6 or 8) is chosen per call by AttentionRowsWarps: fewest waves
//            of resident blocks (cudaOccupancyMaxActiveBlocksPerMultiprocessor), then fewest
//            blocks on the busiest SM, then fewest idle warps, then the smaller block.
// Numerics:  scores, max, sum and O in f32; a score is fl(fl(s · scale) + mask) (never one
//            fma); P is rounded to the input dtype for P·V (FlashAttention-2's choice, as the
//            other tensor-core kernels), the row sum uses the unrounded P; exp through __expf.
//            Keys past Sk get -inf. A row whose every score is -inf has sum 0 and comes out
//            NaN, as the CPU reference's does. With two chunks, the second rescales O and the
//            sum by the same factor (their exp error cancels in O / sum).
// Reference: backends/cpu Attention; parity in tests/ops/cuda_attention_parity_test.cc
//            (RowsKernelEveryWarpCount: every warp count at the model shapes and awkward ones).
// Napkin:    X-VLA layer (B4, 64 heads x batch, 262 x 64): 17 warps of work per head, 1.2
//            GFLOP (with padding), 70 KB of K/V per block from L2; latency-bound: 15.4 us a
//            call against 23.5 for the resident kernel (H100, docs/PERFORMANCE.md), ~190
//            registers per thread for the 136 scores a lane holds.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "backends/cuda/attention_tiles.cuh"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/mma_sync.cuh"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

using attention_tiles::LoadHeadRows;
using attention_tiles::Padded;
using attention_tiles::Stride;

constexpr int kKeyTile = 16;      // keys per mma k-step of P·V (and two 8-key n-tiles of S)
constexpr int kMaxKeyTiles = 17;  // 272 keys: X-VLA's 262 tokens
constexpr int kWarpCounts[] = {2, 3, 4, 6, 8};
constexpr int kChunkTiles = 9;    // key tiles per softmax chunk of the chunked instances (144 keys)

// Only the 6-warp 17-tile instances take their keys in two chunks (X-VLA at batch 4: two
// blocks per SM need the halved score block); the others hold every score at once.
constexpr bool Chunked(int key_tiles, int warps) { return warps == 6 && key_tiles > kChunkTiles; }

// The key-tile counts compiled (every tile computed, no branch between tiles, so the compiler
// can overlap one tile's ldmatrix with another's mma): 9 (144 keys: DaViT windows, BART's 100)
// for head dims 32 and 64, 17 (272 keys: X-VLA's 262, SigLIP's 256) for 64 and 72. Keys past
// Sk are zero rows in shared memory and -inf scores.
constexpr int KeyTilesFor(int d, int sk) {
  const int tiles = (sk + kKeyTile - 1) / kKeyTile;
  if (tiles <= 9 && (d == 32 || d == 64)) return 9;
  if (tiles <= 17 && (d == 64 || d == 72)) return 17;
  return 0;  // not compiled: the K/V-resident kernel takes it
}

size_t g_rows_smem_limit = 0;  // InitAttentionRowsKernels: the device's opt-in limit

template <int kD>
constexpr size_t SmemBytes(int key_tiles, int warps) {
  return static_cast<size_t>(2 * key_tiles * kKeyTile + 16 * warps) * Stride<kD>() * sizeof(uint16_t);
}

size_t SmemBytesFor(const AttentionArgs& a, int warps) {
  const int tiles = KeyTilesFor(a.d, a.sk);
  if (a.d == 72) return SmemBytes<72>(tiles, warps);
  if (a.d == 64) return SmemBytes<64>(tiles, warps);
  return SmemBytes<32>(tiles, warps);
}

// ---- one warp's tile steps (16 query rows; lane = threadIdx.x % 32, tig = lane % 4) ----------

// S = Q·Kᵀ for key tiles t0 .. t0 + kN - 1 (those below kKeyTiles): tile u holds keys
// 16(t0 + u).. as two 8-key n-tiles; each ldmatrix.x4 gives both n-tiles' B fragments of one
// 16-wide k-step. A tile's k-steps are loaded before its mmas.
template <typename T, int kD, int kKeyTiles, int kN>
__device__ __forceinline__ void ScoreTiles(const uint32_t (&qf)[Padded<kD>() / 16][4], const uint16_t* ks,
                                           int t0, int lane, float (&s)[kN][2][4]) {
  constexpr int kS = Stride<kD>();
  constexpr int kDp = Padded<kD>();
#pragma unroll
  for (int u = 0; u < kN; ++u) {
    if (t0 + u >= kKeyTiles) break;
    const int t = t0 + u;
    uint32_t bf[kDp / 16][4];
#pragma unroll
    for (int kk = 0; kk < kDp / 16; ++kk) {
      Ldmatrix4(bf[kk], ks + (t * kKeyTile + (lane / 16) * 8 + (lane % 8)) * kS + kk * 16 + ((lane / 8) % 2) * 8);
    }
#pragma unroll
    for (int n = 0; n < 2; ++n) s[u][n][0] = s[u][n][1] = s[u][n][2] = s[u][n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kDp / 16; ++kk) {
      Mma<T>(s[u][0], qf[kk], bf[kk][0], bf[kk][1]);
      Mma<T>(s[u][1], qf[kk], bf[kk][2], bf[kk][3]);
    }
  }
}

// The mask row of query row `row` of batch entry b (rows past Sq read row 0's: in bounds; their
// outputs are never stored). Computed inside the masked path, after S: computed up front, the
// two pointers cost ~50 registers in the 17-tile instances (ptxas -v).
__device__ __forceinline__ const float* MaskRow(const AttentionArgs& p, int b, int row) {
  return p.mask + b * p.m_sb + static_cast<int64_t>(row < p.sq ? row : 0) * p.m_si;
}

// Scores of tiles t0 .. to fl(fl(s · scale) + mask) (never one fma: the CPU reference's two
// roundings), -inf past Sk, with selects rather than a branch per score (a branch per score
// made this phase the kernel's longest); mx takes each row's max (rows grp, grp + 8). kMasked
// is a compile-time choice: one path of selects for both forms cost registers and time where
// there is no mask.
template <bool kMasked, int kKeyTiles, int kN>
__device__ __forceinline__ void ScaleMaskTiles(const AttentionArgs& p, int b, const int (&row)[2], int t0,
                                               int tig, float (&s)[kN][2][4], float (&mx)[2]) {
  const float* mrow[2] = {nullptr, nullptr};
  if constexpr (kMasked) {
    mrow[0] = MaskRow(p, b, row[0]);
    mrow[1] = MaskRow(p, b, row[1]);
  }
#pragma unroll
  for (int u = 0; u < kN; ++u) {
    if (t0 + u >= kKeyTiles) break;
#pragma unroll
    for (int n = 0; n < 2; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = (t0 + u) * kKeyTile + n * 8 + 2 * tig + (e & 1);
        const bool in = j < p.sk;
        float val = __fmul_rn(s[u][n][e], p.scale);
        if constexpr (kMasked) {
          val = __fadd_rn(val, in ? __ldg(mrow[e >> 1] + static_cast<int64_t>(j) * p.m_sj) : 0.0f);
        }
        val = in ? val : -INFINITY;
        s[u][n][e] = val;
        mx[e >> 1] = fmaxf(mx[e >> 1], val);
      }
    }
  }
}

// The two rows' max across the 4 lanes that share them.
__device__ __forceinline__ void RowMaxAcrossLanes(float (&mx)[2]) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
  }
}

// P = exp(S - base) of one tile, summed unrounded into l, packed to T as P·V's A fragments
// (rows grp / grp + 8, keys 2·tig.. of the tile's two 8-key halves).
template <typename T>
__device__ __forceinline__ void ExpPackTile(float (&st)[2][4], const float (&base)[2], float (&l)[2],
                                            uint32_t (&pf)[4]) {
#pragma unroll
  for (int n = 0; n < 2; ++n) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      st[n][e] = __expf(st[n][e] - base[e >> 1]);
      l[e >> 1] += st[n][e];
    }
  }
  pf[0] = Pack<T>(st[0][0], st[0][1]);
  pf[1] = Pack<T>(st[0][2], st[0][3]);
  pf[2] = Pack<T>(st[1][0], st[1][1]);
  pf[3] = Pack<T>(st[1][2], st[1][3]);
}

// O += P·V for key tile t: B (k = key, n = dim) by ldmatrix.trans of V rows: lane l addresses
// key (l % 8) + ((l / 8) % 2) * 8, dim half (l / 16); 2·kDp/16 independent accumulators.
template <typename T, int kD>
__device__ __forceinline__ void PvTile(const uint32_t (&pf)[4], const uint16_t* vs, int t, int lane,
                                       float (&o)[Padded<kD>() / 8][4]) {
  constexpr int kS = Stride<kD>();
  constexpr int kDp = Padded<kD>();
  uint32_t bf[kDp / 16][4];
#pragma unroll
  for (int dp = 0; dp < kDp / 16; ++dp) {
    Ldmatrix4Trans(bf[dp], vs + (t * kKeyTile + ((lane / 8) % 2) * 8 + (lane % 8)) * kS + dp * 16 + (lane / 16) * 8);
  }
#pragma unroll
  for (int dp = 0; dp < kDp / 16; ++dp) {
    Mma<T>(o[2 * dp], pf, bf[dp][0], bf[dp][1]);
    Mma<T>(o[2 * dp + 1], pf, bf[dp][2], bf[dp][3]);
  }
}

// Every key at once: the whole score block [16, kKeys] in registers, one max, every exp, then
// every P·V. O and the row sum l (per lane, not yet summed across lanes) come out.
template <typename T, int kD, int kKeyTiles>
__device__ __forceinline__ void RowsAllKeys(const AttentionArgs& p, const uint32_t (&qf)[Padded<kD>() / 16][4],
                                            const uint16_t* ks, const uint16_t* vs, int b, const int (&row)[2],
                                            int lane, float (&o)[Padded<kD>() / 8][4], float (&l)[2]) {
  float s[kKeyTiles][2][4];
  ScoreTiles<T, kD, kKeyTiles>(qf, ks, 0, lane, s);
  float mx[2] = {-INFINITY, -INFINITY};
  if (p.mask != nullptr) {  // uniform
    ScaleMaskTiles<true, kKeyTiles>(p, b, row, 0, lane % 4, s, mx);
  } else {
    ScaleMaskTiles<false, kKeyTiles>(p, b, row, 0, lane % 4, s, mx);
  }
  RowMaxAcrossLanes(mx);
  float base[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) base[r] = mx[r] == -INFINITY ? 0.0f : mx[r];  // all -inf: exp() stays finite
  l[0] = l[1] = 0.0f;
  uint32_t pf[kKeyTiles][4];
#pragma unroll
  for (int t = 0; t < kKeyTiles; ++t) ExpPackTile<T>(s[t], base, l, pf[t]);
#pragma unroll
  for (int dt = 0; dt < Padded<kD>() / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
#pragma unroll
  for (int t = 0; t < kKeyTiles; ++t) PvTile<T, kD>(pf[t], vs, t, lane, o);
}

// Keys in chunks of kChunkTiles tiles: per chunk S, scale / mask, the chunk's max, O and l
// rescaled to the new max (from the second chunk on), then tile by tile exp and P·V, so a
// tile's scores die as soon as they are packed (the register cap of the chunked instances).
template <typename T, int kD, int kKeyTiles>
__device__ __forceinline__ void RowsKeyChunks(const AttentionArgs& p, const uint32_t (&qf)[Padded<kD>() / 16][4],
                                              const uint16_t* ks, const uint16_t* vs, int b, const int (&row)[2],
                                              int lane, float (&o)[Padded<kD>() / 8][4], float (&l)[2]) {
  constexpr int kChunks = (kKeyTiles + kChunkTiles - 1) / kChunkTiles;
#pragma unroll
  for (int dt = 0; dt < Padded<kD>() / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  l[0] = l[1] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY};  // running max of rows grp, grp + 8
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int t0 = c * kChunkTiles;  // a constant once the loop is unrolled
    float s[kChunkTiles][2][4];
    ScoreTiles<T, kD, kKeyTiles>(qf, ks, t0, lane, s);
    float mx[2] = {-INFINITY, -INFINITY};
    if (p.mask != nullptr) {  // uniform
      ScaleMaskTiles<true, kKeyTiles>(p, b, row, t0, lane % 4, s, mx);
    } else {
      ScaleMaskTiles<false, kKeyTiles>(p, b, row, t0, lane % 4, s, mx);
    }
    RowMaxAcrossLanes(mx);
    float base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float m_new = fmaxf(m[r], mx[r]);
      base[r] = m_new == -INFINITY ? 0.0f : m_new;  // keeps exp() finite for all -inf rows
      if (c > 0) {  // a constant: O and l are still zero before the first chunk's P·V
        const float alpha = __expf(m[r] - base[r]);
        l[r] *= alpha;
#pragma unroll
        for (int dt = 0; dt < Padded<kD>() / 8; ++dt) {
          o[dt][2 * r] *= alpha;
          o[dt][2 * r + 1] *= alpha;
        }
      }
      m[r] = m_new;
    }
#pragma unroll
    for (int u = 0; u < kChunkTiles; ++u) {
      if (t0 + u >= kKeyTiles) break;
      uint32_t pf[4];
      ExpPackTile<T>(s[u], base, l, pf);
      PvTile<T, kD>(pf, vs, t0 + u, lane, o);
    }
  }
}

// The chunked instances are capped at 168 registers (two 6-warp blocks per SM): see the header.
// The others get no minimum (0 = unspecified): an explicit 1 let ptxas take 244 registers for
// the 17-tile instances where it otherwise takes ~190.
template <typename T, int kD, int kKeyTiles, int kWarps>
__global__ void __launch_bounds__(kWarps * 32, Chunked(kKeyTiles, kWarps) ? 2 : 0)
    AttentionRowsKernel(AttentionArgs p) {
  PdlAllowDependents();
  PdlWaitPrior();  // launched with PDL (pdl.cuh): nothing before this touches global memory
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int kBlockThreads = kWarps * 32;
  constexpr int kBlockRows = 16 * kWarps;
  constexpr int kS = Stride<kD>();
  constexpr int kDp = Padded<kD>();  // head dim as computed (zero columns past kD)
  constexpr int kKeys = kKeyTiles * kKeyTile;  // >= Sk (KeyTilesFor)
  uint16_t* ks = reinterpret_cast<uint16_t*>(smem_raw);
  uint16_t* vs = ks + kKeys * kS;
  uint16_t* qs = vs + kKeys * kS;
  const int b = blockIdx.z;
  const int h = blockIdx.y;
  const int q0 = blockIdx.x * kBlockRows;
  LoadHeadRows<kD, kBlockThreads>(p, ks, vs, qs, kKeys, q0, kBlockRows);

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int grp = lane / 4;
  const int tig = lane % 4;
  const int wr = warp * 16;
  if (q0 + wr >= p.sq) return;  // no rows for this warp (no barrier follows)
  const int row[2] = {q0 + wr + grp, q0 + wr + grp + 8};

  // Q A-fragments for this warp's 16 rows: lane l addresses row (l % 16), column half (l / 16).
  uint32_t qf[kDp / 16][4];
#pragma unroll
  for (int kk = 0; kk < kDp / 16; ++kk) {
    Ldmatrix4(qf[kk], qs + (wr + (lane % 16)) * kS + kk * 16 + (lane / 16) * 8);
  }

  float o[kDp / 8][4];
  float l[2];
  if constexpr (Chunked(kKeyTiles, kWarps)) {
    RowsKeyChunks<T, kD, kKeyTiles>(p, qf, ks, vs, b, row, lane, o, l);
  } else {
    RowsAllKeys<T, kD, kKeyTiles>(p, qf, ks, vs, b, row, lane, o, l);
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
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
}

using RowsKernelFn = void (*)(AttentionArgs);

template <typename T, int kD, int kKeyTiles>
RowsKernelFn KernelForWarps(int warps) {
  switch (warps) {
    case 2: return AttentionRowsKernel<T, kD, kKeyTiles, 2>;
    case 3: return AttentionRowsKernel<T, kD, kKeyTiles, 3>;
    case 4: return AttentionRowsKernel<T, kD, kKeyTiles, 4>;
    case 6: return AttentionRowsKernel<T, kD, kKeyTiles, 6>;
    default: return AttentionRowsKernel<T, kD, kKeyTiles, 8>;
  }
}

// The compiled (head dim, key tiles) pairs (KeyTilesFor); null for any other.
template <typename T>
RowsKernelFn KernelForShape(int d, int key_tiles, int warps) {
  if (d == 32 && key_tiles == 9) return KernelForWarps<T, 32, 9>(warps);
  if (d == 64 && key_tiles == 9) return KernelForWarps<T, 64, 9>(warps);
  if (d == 64 && key_tiles == 17) return KernelForWarps<T, 64, 17>(warps);
  if (d == 72 && key_tiles == 17) return KernelForWarps<T, 72, 17>(warps);
  return nullptr;
}

RowsKernelFn KernelFor(const AttentionArgs& a, int warps) {
  const int tiles = KeyTilesFor(a.d, a.sk);
  return a.q_dtype == DType::kBF16 ? KernelForShape<__nv_bfloat16>(a.d, tiles, warps)
                                   : KernelForShape<__half>(a.d, tiles, warps);
}

// Resident blocks per SM of one instance at `smem` bytes, cached (the occupancy query costs
// microseconds and eager forwards call Attention hundreds of times).
int BlocksPerSm(RowsKernelFn kernel, int warps, size_t smem) {
  static std::mutex mu;
  static std::map<std::tuple<const void*, size_t>, int> cache;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(reinterpret_cast<const void*>(kernel), smem);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  int blocks = 0;
  VLART_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, warps * 32, smem));
  cache.emplace(key, blocks);
  return blocks;
}

template <typename T, int kD, int kKeyTiles>
void SetSmem() {
  const size_t bytes = std::min(SmemBytes<kD>(kKeyTiles, 8), g_rows_smem_limit);
  for (int warps : kWarpCounts) {
    VLART_CUDA_CHECK(cudaFuncSetAttribute(KernelForWarps<T, kD, kKeyTiles>(warps),
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(bytes)));
  }
}

template <typename T>
void SetSmemAll() {
  SetSmem<T, 32, 9>();
  SetSmem<T, 64, 9>();
  SetSmem<T, 64, 17>();
  SetSmem<T, 72, 17>();
}

}  // namespace

void InitAttentionRowsKernels() {
  g_rows_smem_limit = SharedMemoryOptinBytes();
  SetSmemAll<__nv_bfloat16>();
  SetSmemAll<__half>();
}

bool AttentionRowsSupported(const AttentionArgs& a) {
  if (!attention_tiles::SmemRowOperands(a)) return false;
  if (a.sk > kMaxKeyTiles * kKeyTile || KeyTilesFor(a.d, a.sk) == 0) return false;
  return SmemBytesFor(a, 2) <= g_rows_smem_limit;
}

int AttentionRowsWarps(const AttentionArgs& a, int num_sms, int forced) {
  const int tasks = (a.sq + 15) / 16;  // warps of work per (head, batch)
  int best = 0;
  int64_t best_key[4] = {};
  for (int warps : kWarpCounts) {
    if (forced > 0 && warps != forced) continue;
    const size_t smem = SmemBytesFor(a, warps);
    if (smem > g_rows_smem_limit) continue;
    const int per_sm = BlocksPerSm(KernelFor(a, warps), warps, smem);
    if (per_sm < 1) continue;
    const int64_t per_head = (tasks + warps - 1) / warps;
    const int64_t blocks = per_head * a.hq * a.batch;
    const int64_t slots = static_cast<int64_t>(per_sm) * num_sms;
    const int64_t key[4] = {(blocks + slots - 1) / slots, (blocks + num_sms - 1) / num_sms,
                            per_head * warps - tasks, warps};
    if (best == 0 || std::lexicographical_compare(key, key + 4, best_key, best_key + 4)) {
      best = warps;
      std::copy(key, key + 4, best_key);
    }
  }
  return best;  // 0: no instance fits (or `forced` is not a warp count)
}

void LaunchAttentionRows(const AttentionArgs& a, int warps, cudaStream_t stream) {
  const dim3 grid((a.sq + 16 * warps - 1) / (16 * warps), a.hq, a.batch);
  LaunchPdl(KernelFor(a, warps), grid, dim3(32 * warps), SmemBytesFor(a, warps), stream, 1, a);
}

}  // namespace vlart::cuda
