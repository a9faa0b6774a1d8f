// SPDX-License-Identifier: Apache-2.0
//
// gemm_wgmma.cu: vlart's Hopper GEMM for VLA-sized M (tens to a few hundred tokens): wgmma
// tensor cores, swapped operands, split-K across a thread-block cluster.
//
// Math:      D[m, n] = act(Σ_k A[m, k]·B[n, k] + bias[n]) + residual[m, n]   (nn.Linear: B = W)
//            Same contract as gemm_mma.cu (GemmMmaArgs): A [M, K] tokens, B [N, K] weights, both
//            K-contiguous 16-bit; D / residual [M, N] row-major; residual may alias D.
// Mapping:   swapped operands: the tensor cores compute Dᵀ = B·Aᵀ, so the weight rows
//            (features, N = 1024..16384) fill wgmma's fixed 64-row M side and the tokens take
//            the flexible side (wgmma N, any multiple of 8 up to 256): M = 262 is two token
//            tiles of 136 instead of three 128-row tiles with a 6-row tail. A block owns
//            kFeat (64 or 128: one or two consumer warpgroups) features x kTok tokens and one
//            of S K-ranges; the S blocks of a tile form one cluster (gridDim.x = S x feature
//            tiles, cluster (S, 1, 1)). K advances in 64-wide slices (one 128-byte row per
//            operand row) through a kStages-deep cp.async pipeline into shared memory laid out
//            in the 128-byte swizzle the wgmma descriptors name (16-byte chunk c of row r lives
//            at chunk c ^ (r % 8)), zero-filled past M, N and K. Epilogue: every block parks
//            its f32 partial tile [kTok][kFeat] in its own shared memory; after a cluster
//            barrier, cluster rank r sums rows r·kTok/S.. of all S partials through distributed
//            shared memory, in rank order, applies bias / activation / residual in f32 and
//            stores rounded pairs along N (coalesced rows of D).
// Numerics:  f32 accumulation in the tensor cores; split partials summed in f32 in a fixed
//            order (deterministic); bias, activation and residual applied to the f32 sum and
//            rounded once to the output dtype, as in gemm_mma.cu and the CPU reference.
// Requires:  sm_90a (wgmma). Compiled for other targets the kernel body is empty and
//            GemmWgmmaAvailable() reports false, so the backend never offers it there.
// Reference: backends/cpu Linear; parity in tests/ops/cuda_linear_parity_test.cc
//            (EveryTensorCoreGemmConfig runs every candidate the tuner may pick).
// Napkin:    X-VLA fc1 (M 262, N 4096, K 1024): 2.2 GFLOP, 8.4 MB of weights: ~3 us at
//            the H100 roofline; cuBLASLt takes 14.4 us inside a graph (docs/PERFORMANCE.md).

#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/kernels.h"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define VLART_WGMMA_ENABLED 1
#else
#define VLART_WGMMA_ENABLED 0
#endif

namespace vlart::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kBK = 64;            // K per pipeline slice: one 128-byte swizzle row per operand row
constexpr int kRowBytes = kBK * 2;  // 16-bit operands
constexpr int kStages = 4;
constexpr int kMaxSplits = 8;       // portable cluster size

// Token-tile widths instantiated (wgmma N); tools/gen_wgmma_instr.py generates the matching
// instruction wrappers.
constexpr int kTokenTiles[] = {32, 56, 64, 104, 136, 200, 256};
constexpr int kNumTokenTiles = sizeof(kTokenTiles) / sizeof(kTokenTiles[0]);
// Config tile id = kWgmmaTileBase + 2 * token-tile index + (feature tile 128 ? 1 : 0).
constexpr int kNumWgmmaTiles = 2 * kNumTokenTiles;

constexpr int StageBytes(int feat, int tok) { return (feat + tok) * kRowBytes; }
constexpr int PartialStride(int feat) { return feat + 4; }  // f32 words per token row
constexpr size_t SmemBytes(int feat, int tok) {
  const size_t pipeline = static_cast<size_t>(kStages) * StageBytes(feat, tok);
  const size_t partial = static_cast<size_t>(tok) * PartialStride(feat) * sizeof(float);
  return (pipeline > partial ? pipeline : partial) + 1024;  // + alignment slack
}

#if VLART_WGMMA_ENABLED
#include "backends/cuda/wgmma_instr.inc"

__device__ __forceinline__ uint32_t SmemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void CpAsync16(uint32_t smem, const void* gmem, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(bytes));
}

__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Orders this thread's generic-proxy shared-memory writes (cp.async included) before later
// async-proxy reads (wgmma operands).
__device__ __forceinline__ void FenceProxyAsync() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

__device__ __forceinline__ void WgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void WgmmaCommit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void WgmmaWaitAll() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}

// Shared-memory matrix descriptor for a K-major operand in the 128-byte swizzle: rows of 128
// bytes, 8-row core-matrix groups 1024 bytes apart (stride byte offset), leading byte offset
// unused for this layout (1 by convention), base offset 0 (tiles are 1024-byte aligned).
__device__ __forceinline__ uint64_t SwizzledKMajorDesc(uint32_t smem_addr) {
  uint64_t desc = (smem_addr & 0x3FFFFu) >> 4;
  desc |= static_cast<uint64_t>(1) << 16;
  desc |= static_cast<uint64_t>(1024 >> 4) << 32;
  desc |= static_cast<uint64_t>(1) << 62;
  return desc;
}
#endif  // VLART_WGMMA_ENABLED

template <typename T, int kFeat, int kTok>
__global__ void __launch_bounds__(kFeat * 2, 1)
    GemmWgmmaKernel(GemmMmaArgs p, int splits, int k_blocks) {
#if VLART_WGMMA_ENABLED
  constexpr int kThreads = kFeat * 2;  // one 128-thread warpgroup per 64 features
  constexpr int kRows = kFeat + kTok;  // operand rows per stage: weights first, then tokens
  constexpr int kChunks = kRows * (kBK / 8);
  constexpr int kAcc = kTok / 2;
  extern __shared__ unsigned char smem_raw[];
  const uint32_t raw_addr = SmemAddr(smem_raw);
  const uint32_t base_addr = (raw_addr + 1023u) & ~1023u;
  unsigned char* base = smem_raw + (base_addr - raw_addr);

  const int tid = threadIdx.x;
  const int wg = tid / 128;
  const int split = static_cast<int>(blockIdx.x) % splits;
  const int f0 = static_cast<int>(blockIdx.x) / splits * kFeat;
  const int t0 = static_cast<int>(blockIdx.y) * kTok;
  const int kb_begin = static_cast<int>(static_cast<int64_t>(k_blocks) * split / splits);
  const int kb_end = static_cast<int>(static_cast<int64_t>(k_blocks) * (split + 1) / splits);
  const int nkb = kb_end - kb_begin;
  const unsigned char* a = static_cast<const unsigned char*>(p.a);  // tokens [M, K]
  const unsigned char* b = static_cast<const unsigned char*>(p.b);  // weights [N, K]

  auto load_stage = [&](int slot, int kb) {
    const uint32_t stage = base_addr + slot * StageBytes(kFeat, kTok);
    const int k0 = kb * kBK;
    for (int idx = tid; idx < kChunks; idx += kThreads) {
      const int r = idx >> 3;
      const int c = idx & 7;
      const int gk = k0 + c * 8;
      const bool is_weight = r < kFeat;
      const int grow = is_weight ? f0 + r : t0 + (r - kFeat);
      const int rows = is_weight ? p.n : p.m;
      int bytes = 0;
      const unsigned char* src = b;
      if (grow < rows && gk < p.k) {
        bytes = min(8, p.k - gk) * 2;
        src = is_weight ? b + (static_cast<int64_t>(grow) * p.ldb + gk) * 2
                        : a + (static_cast<int64_t>(grow) * p.lda + gk) * 2;
      }
      CpAsync16(stage + r * kRowBytes + ((c ^ (r & 7)) << 4), src, bytes);
    }
  };

  float acc[kAcc];
#pragma unroll
  for (int i = 0; i < kAcc; ++i) acc[i] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < nkb) load_stage(s, kb_begin + s);
    CpAsyncCommit();
  }
  for (int i = 0; i < nkb; ++i) {
    CpAsyncWait<kStages - 2>();
    FenceProxyAsync();
    // Slice i has landed for every thread, and every warpgroup finished slice i - 1's wgmma
    // (waited below), so its slot may be refilled.
    __syncthreads();
    const int next = i + kStages - 1;
    if (next < nkb) load_stage(next % kStages, kb_begin + next);
    CpAsyncCommit();
    const uint32_t stage = base_addr + (i % kStages) * StageBytes(kFeat, kTok);
    const uint32_t wtile = stage + wg * 64 * kRowBytes;
    const uint32_t ttile = stage + kFeat * kRowBytes;
    WgmmaFence();
#pragma unroll
    for (int kk = 0; kk < kBK / 16; ++kk) {
      WgmmaSS<T, kTok>::Run(acc, SwizzledKMajorDesc(wtile + kk * 32), SwizzledKMajorDesc(ttile + kk * 32));
    }
    WgmmaCommit();
    WgmmaWaitAll();
  }
  CpAsyncWait<0>();
  __syncthreads();  // pipeline slots are reused for the partial tile below

  // Accumulator fragment (m64nNk16, f32): register 4j + e of lane l in warp w of the warpgroup
  // holds Dᵀ[feature 16w + l/4 + 8·(e/2)][token 8j + 2·(l%4) + e%2].
  float* partial = reinterpret_cast<float*>(base);
  {
    const int warp = (tid % 128) / 32;
    const int lane = tid % 32;
    const int feat = wg * 64 + warp * 16 + lane / 4;
#pragma unroll
    for (int j = 0; j < kTok / 8; ++j) {
      const int tok = j * 8 + 2 * (lane % 4);
      partial[tok * PartialStride(kFeat) + feat] = acc[4 * j];
      partial[(tok + 1) * PartialStride(kFeat) + feat] = acc[4 * j + 1];
      partial[tok * PartialStride(kFeat) + feat + 8] = acc[4 * j + 2];
      partial[(tok + 1) * PartialStride(kFeat) + feat + 8] = acc[4 * j + 3];
    }
  }
  cg::cluster_group cluster = cg::this_cluster();
  if (splits > 1) {
    cluster.sync();
  } else {
    __syncthreads();
  }

  // This block's share of the tile: token rows [row_begin, row_end), all kFeat features, in
  // feature pairs.
  const int rows_per = (kTok + splits - 1) / splits;
  const int row_begin = split * rows_per;
  const int row_end = min(kTok, row_begin + rows_per);
  T* d = static_cast<T*>(p.d);
  const T* bias = static_cast<const T*>(p.bias);
  const T* res = static_cast<const T*>(p.residual);
  const bool pairs_ok = p.paired_stores;
  for (int idx = tid; idx < (row_end - row_begin) * (kFeat / 2); idx += kThreads) {
    const int row = row_begin + idx / (kFeat / 2);
    const int fl = (idx % (kFeat / 2)) * 2;
    const int m = t0 + row;
    const int n = f0 + fl;
    if (m >= p.m || n >= p.n) continue;
    float v0 = 0.0f, v1 = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float* src = splits > 1 ? cluster.map_shared_rank(partial, s) : partial;
      const float2 pv = *reinterpret_cast<const float2*>(src + row * PartialStride(kFeat) + fl);
      v0 += pv.x;
      v1 += pv.y;
    }
    const bool pair = n + 1 < p.n;
    if (bias != nullptr) {
      v0 += ToFloat(bias[n]);
      if (pair) v1 += ToFloat(bias[n + 1]);
    }
    v0 = ApplyActivation(static_cast<ActKind>(p.act), v0);
    v1 = ApplyActivation(static_cast<ActKind>(p.act), v1);
    if (res != nullptr) {
      const T* r = res + static_cast<int64_t>(m) * p.ldr + n;
      v0 += ToFloat(r[0]);
      if (pair) v1 += ToFloat(r[1]);
    }
    T* dst = d + static_cast<int64_t>(m) * p.ldd + n;
    if (pair && pairs_ok) {
      T out2[2] = {FromFloat<T>(v0), FromFloat<T>(v1)};
      uint32_t packed;
      memcpy(&packed, out2, sizeof(packed));
      *reinterpret_cast<uint32_t*>(dst) = packed;
    } else {
      dst[0] = FromFloat<T>(v0);
      if (pair) dst[1] = FromFloat<T>(v1);
    }
  }
  // No block may leave while a peer still reads its shared memory.
  if (splits > 1) cluster.sync();
#else
  __trap();
#endif
}

// Writes 1 when this binary carries the sm_90a wgmma code for the running device.
__global__ void WgmmaProbeKernel(int* out) { *out = VLART_WGMMA_ENABLED; }

struct WgmmaTile {
  int feat, tok;
};

constexpr WgmmaTile TileOf(int index) {
  return WgmmaTile{(index % 2) ? 128 : 64, kTokenTiles[index / 2]};
}

template <typename T, int kIndex>
void SetLimit() {
  constexpr WgmmaTile t = TileOf(kIndex);
  VLART_CUDA_CHECK(cudaFuncSetAttribute(GemmWgmmaKernel<T, t.feat, t.tok>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(SmemBytes(t.feat, t.tok))));
}

template <typename T, int... kIndex>
void SetLimitsAll(std::integer_sequence<int, kIndex...>) {
  (SetLimit<T, kIndex>(), ...);
}

template <typename T, int kIndex>
void LaunchIndex(const GemmMmaArgs& p, int splits, cudaStream_t stream) {
  constexpr WgmmaTile t = TileOf(kIndex);
  const int feat_tiles = (p.n + t.feat - 1) / t.feat;
  const int tok_tiles = (p.m + t.tok - 1) / t.tok;
  const int k_blocks = (p.k + kBK - 1) / kBK;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(static_cast<unsigned int>(feat_tiles * splits), static_cast<unsigned int>(tok_tiles), 1);
  cfg.blockDim = dim3(t.feat * 2, 1, 1);
  cfg.dynamicSmemBytes = SmemBytes(t.feat, t.tok);
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeClusterDimension;
  attr[0].val.clusterDim.x = static_cast<unsigned int>(splits);
  attr[0].val.clusterDim.y = 1;
  attr[0].val.clusterDim.z = 1;
  cfg.attrs = attr;
  cfg.numAttrs = splits > 1 ? 1 : 0;
  VLART_CUDA_CHECK(cudaLaunchKernelEx(&cfg, GemmWgmmaKernel<T, t.feat, t.tok>, p, splits, k_blocks));
}

template <typename T, int... kIndex>
void LaunchByIndex(int index, const GemmMmaArgs& p, int splits, cudaStream_t stream,
                   std::integer_sequence<int, kIndex...>) {
  ((index == kIndex ? LaunchIndex<T, kIndex>(p, splits, stream) : void()), ...);
}

bool g_wgmma_available = false;

}  // namespace

void InitGemmWgmmaKernels() {
  int device = 0;
  VLART_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  VLART_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  g_wgmma_available = false;
  if (prop.major != 9 || prop.minor != 0) return;
  int* flag = nullptr;
  VLART_CUDA_CHECK(cudaMalloc(&flag, sizeof(int)));
  WgmmaProbeKernel<<<1, 1>>>(flag);
  VLART_CUDA_CHECK(cudaGetLastError());
  int host = 0;
  VLART_CUDA_CHECK(cudaMemcpy(&host, flag, sizeof(int), cudaMemcpyDeviceToHost));
  VLART_CUDA_CHECK(cudaFree(flag));
  if (host != 1) return;
  SetLimitsAll<__nv_bfloat16>(std::make_integer_sequence<int, kNumWgmmaTiles>{});
  SetLimitsAll<__half>(std::make_integer_sequence<int, kNumWgmmaTiles>{});
  g_wgmma_available = true;
}

bool GemmWgmmaAvailable() { return g_wgmma_available; }

std::vector<GemmMmaConfig> GemmWgmmaCandidates(int64_t m, int64_t n, int64_t k, int num_sms) {
  std::vector<GemmMmaConfig> out;
  if (!g_wgmma_available) return out;
  const int64_t k_blocks = (k + kBK - 1) / kBK;
  for (int index = 0; index < kNumWgmmaTiles; ++index) {
    const WgmmaTile t = TileOf(index);
    const int64_t tok_tiles = (m + t.tok - 1) / t.tok;
    // Skip token tiles that are mostly padding (more than ~1/3 idle) unless it is the only
    // way to cover M with few tiles; 32 always qualifies for tiny M.
    const int64_t padded = tok_tiles * t.tok;
    if (t.tok > 32 && padded * 2 > 3 * m + 48) continue;
    if (tok_tiles > 16) continue;  // large M: weights re-streamed per token tile; cuBLASLt's job
    const int64_t tiles = tok_tiles * ((n + t.feat - 1) / t.feat);
    for (int splits : {1, 2, 4, 8}) {
      if (splits > kMaxSplits || splits > k_blocks) break;
      if (splits > 1 && k_blocks / splits < 2) break;  // at least two slices per block
      if (splits > 1 && tiles * splits > 2 * num_sms) break;
      out.push_back(GemmMmaConfig{kWgmmaTileBase + index, splits});
      if (tiles * splits >= num_sms) break;  // a full wave: more splits only add reduction
    }
  }
  return out;
}

void LaunchGemmWgmma(const GemmMmaArgs& p, DType dtype, const GemmMmaConfig& config,
                     cudaStream_t stream) {
  const int index = config.tile - kWgmmaTileBase;
  const int splits = config.splits < 1 ? 1 : (config.splits > kMaxSplits ? kMaxSplits : config.splits);
  GemmMmaArgs q = p;
  q.paired_stores = (reinterpret_cast<uintptr_t>(p.d) & 3) == 0 && p.ldd % 2 == 0;
  if (dtype == DType::kBF16) {
    LaunchByIndex<__nv_bfloat16>(index, q, splits, stream,
                                 std::make_integer_sequence<int, kNumWgmmaTiles>{});
  } else {
    LaunchByIndex<__half>(index, q, splits, stream, std::make_integer_sequence<int, kNumWgmmaTiles>{});
  }
}

}  // namespace vlart::cuda
