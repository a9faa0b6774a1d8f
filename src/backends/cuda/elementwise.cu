// SPDX-License-Identifier: Apache-2.0
//
// elementwise.cu: Add, Mul, Axpby, Activate, GatedActivation and MulAdd.
//
// Math:      out = a + b | a * b | alpha * a + beta * b;  out = act(x);  out = act(gate) * up;
//            out = c + a * b (backend.h formulas).
// Mapping:   three paths, picked on the host from the jointly collapsed operands (CollapseDims):
//   rows-vec  every operand one dtype, innermost dim contiguous (stride 1), every row start
//             16-byte aligned and the row length a multiple of the 16-byte vector (8 x bf16/f16,
//             4 x f32): one 16-byte load per operand and one store per thread and vector. A
//             contiguous tensor is one long row; a column slice of a wider buffer (GeGLU's
//             gate / up halves) is rows with a row stride.
//   rows      the same without the alignment: one element per thread, no index math per element.
//   strided   anything else (a broadcast or strided innermost dim, mixed dtypes,
//             force_fallback_kernels): one thread per element, N-d index math per element.
//   The rows kernels use a 2-D grid: x over the vectors of a row, y over rows (blocks of
//   kThreads threads shaped to the row length so short rows do not waste lanes). Row offsets
//   come from the leading dims once per row (RowOffsetOf), never per element.
//   GatedActivation with a row scale (backend.h RowRmsScale; gate, up, out [R, N], never
//   collapsed): grid.y over rows, grid.x blocks over one row's vectors (enough blocks in all
//   for ~2 per SM); each block reduces its row of the scale's x (BlockRowInvRms, C elements
//   from L2; the rows-vec kernel issues its first gate / up vectors before that, so their
//   round trip overlaps the reduction's, unless VLART_ROW_SCALE_EARLY_READS=0; see rope.cu),
//   then computes act(s g) * (s u). Same three paths.
// Numerics:  computed in f32, rounded once to out's dtype; every path evaluates the same
//            expressions (Combine, Activate<kAct>), so the paths agree bit for bit.
//            GatedActivation: act(gate) in f32, times up in f32, one rounding at the store.
//            With a row scale: s g and s u are each rounded to f32 first (as the CPU chain
//            stores its scaled copies), s being the block's f32 statistic (the CPU sums in
//            double: s may differ in its last bits).
//            MulAdd: one f32 FMA (__fmaf_rn: the exact c + a * b rounded to f32, written out
//            so every path fuses alike), then the store's rounding; the CPU reference rounds
//            the product to f32 first (Mul then Add), which differs by <= u32 |a b|.
//            In place (out == a or b) is safe: each thread reads all of its inputs before
//            it writes the same elements.
// Reference: backends/cpu (Add, Mul, Axpby, Activate, GatedActivation, MulAdd).

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kVecBytes = 16;
constexpr unsigned int kMaxGridY = 65535;

int64_t NumElements(const StridedArg& t) {
  int64_t n = 1;
  for (int d = 0; d < t.ndim; ++d) n *= t.shape[d];
  return n;
}

// ---- device helpers ---------------------------------------------------------------------

__device__ __forceinline__ float Combine(BinaryKind kind, float alpha, float beta, float a,
                                         float b) {
  switch (kind) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kAxpby: return alpha * a + beta * b;
  }
  return a;
}

// Offset of row `row` (rows = all dims but the last). Collapsed operands are mostly 1-D or
// 2-D: those skip the general div/mod walk.
__device__ __forceinline__ int64_t RowStart(const StridedArg& t, int64_t row) {
  if (t.ndim <= 1) return 0;
  if (t.ndim == 2) return row * t.stride[0];
  return RowOffsetOf(t, row);
}

// kVec consecutive elements at p as f32. kVec * sizeof(T) == 16 means one 16-byte load (the
// host guarantees the alignment); otherwise element loads.
template <typename T, int kVec>
__device__ __forceinline__ void LoadVec(const T* p, float (&f)[kVec]) {
  if constexpr (kVec * sizeof(T) == kVecBytes) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < kVec; ++i) f[i] = ToFloat(e[i]);
  } else {
#pragma unroll
    for (int i = 0; i < kVec; ++i) f[i] = ToFloat(p[i]);
  }
}

// Raw bits of one element (16-bit types zero-extended).
__device__ __forceinline__ uint32_t Bits(float v) { return __float_as_uint(v); }
__device__ __forceinline__ uint32_t Bits(__half v) { return __half_as_ushort(v); }
__device__ __forceinline__ uint32_t Bits(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }

// Stores kVec elements rounded from f32. The 16-byte form packs the words and stores them with
// __stwb (the default write-back store): a plain uint4 assignment came out of nvcc 13 as four
// 4-byte stores.
template <typename T, int kVec>
__device__ __forceinline__ void StoreVec(T* p, const float (&f)[kVec]) {
  if constexpr (kVec * sizeof(T) == kVecBytes) {
    uint32_t w[4];
    if constexpr (sizeof(T) == 4) {
#pragma unroll
      for (int j = 0; j < 4; ++j) w[j] = Bits(FromFloat<T>(f[j]));
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        w[j] = Bits(FromFloat<T>(f[2 * j])) | (Bits(FromFloat<T>(f[2 * j + 1])) << 16);
      }
    }
    __stwb(reinterpret_cast<uint4*>(p), make_uint4(w[0], w[1], w[2], w[3]));  // st.global.wb.v4
  } else {
#pragma unroll
    for (int i = 0; i < kVec; ++i) p[i] = FromFloat<T>(f[i]);
  }
}

// The row/vector loops of the rows kernels: body(row, vector index) for every vector of
// every row, 2-D grid, grid-stride in both directions.
template <typename Body>
__device__ __forceinline__ void ForEachRowVector(int64_t rows, int64_t vecs_per_row, Body body) {
  const int64_t row_step = static_cast<int64_t>(gridDim.y) * blockDim.y;
  const int64_t col_step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < rows; r += row_step) {
    for (int64_t v = col0; v < vecs_per_row; v += col_step) body(r, v);
  }
}

// ---- rows kernels (PDL: launched through LaunchPdl) ---------------------------------------

template <typename T, int kVec>
__global__ void BinaryRowsKernel(BinaryKind kind, float alpha, float beta, StridedArg a,
                                 StridedArg b, StridedArg out, int64_t rows, int64_t vecs_per_row) {
  PdlAllowDependents();
  PdlWaitPrior();
  ForEachRowVector(rows, vecs_per_row, [&](int64_t r, int64_t v) {
    const int64_t col = v * kVec;
    float fa[kVec], fb[kVec], fo[kVec];
    LoadVec<T, kVec>(static_cast<const T*>(a.data) + RowStart(a, r) + col, fa);
    LoadVec<T, kVec>(static_cast<const T*>(b.data) + RowStart(b, r) + col, fb);
#pragma unroll
    for (int i = 0; i < kVec; ++i) fo[i] = Combine(kind, alpha, beta, fa[i], fb[i]);
    StoreVec<T, kVec>(static_cast<T*>(out.data) + RowStart(out, r) + col, fo);
  });
}

template <ActKind kAct, typename T, int kVec>
__global__ void ActivateRowsKernel(StridedArg x, StridedArg out, int64_t rows, int64_t vecs_per_row) {
  PdlAllowDependents();
  PdlWaitPrior();
  ForEachRowVector(rows, vecs_per_row, [&](int64_t r, int64_t v) {
    const int64_t col = v * kVec;
    float f[kVec];
    LoadVec<T, kVec>(static_cast<const T*>(x.data) + RowStart(x, r) + col, f);
#pragma unroll
    for (int i = 0; i < kVec; ++i) f[i] = Activate<kAct>(f[i]);
    StoreVec<T, kVec>(static_cast<T*>(out.data) + RowStart(out, r) + col, f);
  });
}

template <ActKind kAct, typename T, int kVec>
__global__ void GatedRowsKernel(StridedArg gate, StridedArg up, StridedArg out, int64_t rows,
                                int64_t vecs_per_row) {
  PdlAllowDependents();
  PdlWaitPrior();
  ForEachRowVector(rows, vecs_per_row, [&](int64_t r, int64_t v) {
    const int64_t col = v * kVec;
    float g[kVec], u[kVec];
    LoadVec<T, kVec>(static_cast<const T*>(gate.data) + RowStart(gate, r) + col, g);
    LoadVec<T, kVec>(static_cast<const T*>(up.data) + RowStart(up, r) + col, u);
#pragma unroll
    for (int i = 0; i < kVec; ++i) g[i] = Activate<kAct>(g[i]) * u[i];
    StoreVec<T, kVec>(static_cast<T*>(out.data) + RowStart(out, r) + col, g);
  });
}

template <typename T, int kVec>
__global__ void MulAddRowsKernel(StridedArg a, StridedArg b, StridedArg c, StridedArg out,
                                 int64_t rows, int64_t vecs_per_row) {
  PdlAllowDependents();
  PdlWaitPrior();
  ForEachRowVector(rows, vecs_per_row, [&](int64_t r, int64_t v) {
    const int64_t col = v * kVec;
    float fa[kVec], fb[kVec], fc[kVec];
    LoadVec<T, kVec>(static_cast<const T*>(a.data) + RowStart(a, r) + col, fa);
    LoadVec<T, kVec>(static_cast<const T*>(b.data) + RowStart(b, r) + col, fb);
    LoadVec<T, kVec>(static_cast<const T*>(c.data) + RowStart(c, r) + col, fc);
#pragma unroll
    for (int i = 0; i < kVec; ++i) fc[i] = __fmaf_rn(fa[i], fb[i], fc[i]);
    StoreVec<T, kVec>(static_cast<T*>(out.data) + RowStart(out, r) + col, fc);
  });
}

// GatedActivation with a row scale on 2-D operands (rows-vec / rows paths): see the header.
// kEarlyReads: a template argument, not a runtime flag (see rope.cu's RopeQkvKernel).
template <ActKind kAct, typename T, int kVec, bool kEarlyReads>
__global__ void GatedRmsRowsKernel(StridedArg gate, StridedArg up, StridedArg out, RowRmsArg rms,
                                   int64_t rows, int64_t vecs_per_row) {
  __shared__ float scratch[32];
  PdlAllowDependents();
  PdlWaitPrior();
  const int64_t col_step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t v0 = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {  // uniform over the block
    // The thread's first vectors are read before the row statistic's elements (they do not
    // depend on it), so both are in flight together: one round trip instead of two.
    float g[kVec], u[kVec];
    if (kEarlyReads && v0 < vecs_per_row) {
      LoadVec<T, kVec>(static_cast<const T*>(gate.data) + r * gate.stride[0] + v0 * kVec, g);
      LoadVec<T, kVec>(static_cast<const T*>(up.data) + r * up.stride[0] + v0 * kVec, u);
    }
    const float s = BlockRowInvRms(rms, r, scratch);
    for (int64_t v = v0; v < vecs_per_row; v += col_step) {
      const int64_t col = v * kVec;
      if (!kEarlyReads || v != v0) {  // VLART_ROW_SCALE_EARLY_READS=0: all reads after
        LoadVec<T, kVec>(static_cast<const T*>(gate.data) + r * gate.stride[0] + col, g);
        LoadVec<T, kVec>(static_cast<const T*>(up.data) + r * up.stride[0] + col, u);
      }
#pragma unroll
      for (int i = 0; i < kVec; ++i) g[i] = Activate<kAct>(__fmul_rn(g[i], s)) * __fmul_rn(u[i], s);
      StoreVec<T, kVec>(static_cast<T*>(out.data) + r * out.stride[0] + col, g);
    }
  }
}

// The same for any strides and a float dtype per operand (2-D operands).
__global__ void GatedRmsStridedKernel(ActKind act, StridedArg gate, StridedArg up, StridedArg out,
                                      RowRmsArg rms, int64_t rows, int64_t cols) {
  __shared__ float scratch[32];
  const int64_t col_step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float s = BlockRowInvRms(rms, r, scratch);
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
         c += col_step) {
      const float g = LoadAsFloat(gate.data, gate.dtype, r * gate.stride[0] + c * gate.stride[1]);
      const float u = LoadAsFloat(up.data, up.dtype, r * up.stride[0] + c * up.stride[1]);
      StoreFromFloat(out.data, out.dtype, r * out.stride[0] + c * out.stride[1],
                     ApplyActivation(act, __fmul_rn(g, s)) * __fmul_rn(u, s));
    }
  }
}

// ---- strided fallback kernels (any strides, any float dtype per operand) -----------------------

__global__ void BinaryStridedKernel(BinaryKind kind, float alpha, float beta, StridedArg a,
                                    StridedArg b, StridedArg out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float va = LoadAsFloat(a.data, a.dtype, OffsetOf(a, i));
    const float vb = LoadAsFloat(b.data, b.dtype, OffsetOf(b, i));
    StoreFromFloat(out.data, out.dtype, OffsetOf(out, i), Combine(kind, alpha, beta, va, vb));
  }
}

__global__ void ActivateStridedKernel(ActKind act, StridedArg x, StridedArg out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = LoadAsFloat(x.data, x.dtype, OffsetOf(x, i));
    StoreFromFloat(out.data, out.dtype, OffsetOf(out, i), ApplyActivation(act, v));
  }
}

__global__ void GatedStridedKernel(ActKind act, StridedArg gate, StridedArg up, StridedArg out,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = LoadAsFloat(gate.data, gate.dtype, OffsetOf(gate, i));
    const float u = LoadAsFloat(up.data, up.dtype, OffsetOf(up, i));
    StoreFromFloat(out.data, out.dtype, OffsetOf(out, i), ApplyActivation(act, g) * u);
  }
}

__global__ void MulAddStridedKernel(StridedArg a, StridedArg b, StridedArg c, StridedArg out,
                                    int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float va = LoadAsFloat(a.data, a.dtype, OffsetOf(a, i));
    const float vb = LoadAsFloat(b.data, b.dtype, OffsetOf(b, i));
    const float vc = LoadAsFloat(c.data, c.dtype, OffsetOf(c, i));
    StoreFromFloat(out.data, out.dtype, OffsetOf(out, i), __fmaf_rn(va, vb, vc));
  }
}

// ---- host-side path choice -------------------------------------------------------------------

// The rows geometry of collapsed operands, or ElementwisePath::kStrided when they do not fit.
struct RowsPlan {
  ElementwisePath path = ElementwisePath::kStrided;
  int64_t rows = 0, cols = 0;
  int vec = 1;  // elements per thread and step (1 on the unaligned rows path)
  dim3 grid, block;
};

RowsPlan PlanRows(std::initializer_list<const StridedArg*> args, bool force_strided) {
  RowsPlan p;
  const StridedArg& out = **(args.end() - 1);
  if (force_strided) return p;
  for (const StridedArg* a : args) {
    if (a->dtype != out.dtype || a->ndim < 1 || a->ndim != out.ndim) return p;
    if (a->stride[a->ndim - 1] != 1) return p;  // innermost not contiguous
  }
  p.cols = out.shape[out.ndim - 1];
  p.rows = NumElements(out) / p.cols;
  const int elem = out.dtype == DType::kF32 ? 4 : 2;
  const int vec = kVecBytes / elem;
  bool aligned = p.cols % vec == 0;
  for (const StridedArg* a : args) {
    aligned = aligned && reinterpret_cast<uintptr_t>(a->data) % kVecBytes == 0;
    for (int d = 0; d + 1 < a->ndim; ++d) aligned = aligned && a->stride[d] % vec == 0;
  }
  p.path = aligned ? ElementwisePath::kRowsVec : ElementwisePath::kRows;
  p.vec = aligned ? vec : 1;
  // Block: tx threads along a row (a power of two covering its vectors, at most kThreads),
  // the rest of kThreads over rows.
  const int64_t vecs = p.cols / p.vec;
  int tx = 1;
  while (tx < kThreads && tx < vecs) tx *= 2;
  const int ty = kThreads / tx;
  p.block = dim3(static_cast<unsigned int>(tx), static_cast<unsigned int>(ty));
  p.grid = dim3(GridFor(vecs, tx), static_cast<unsigned int>(
                                        std::min<int64_t>((p.rows + ty - 1) / ty, kMaxGridY)));
  return p;
}

// Calls f(T{}) with T the C++ type of `dtype` (F32 / F16 / BF16).
template <typename F>
void WithType(DType dtype, F&& f) {
  if (dtype == DType::kF32) {
    f(float{});
  } else if (dtype == DType::kF16) {
    f(__half{});
  } else {
    f(__nv_bfloat16{});
  }
}

}  // namespace

ElementwisePath LaunchBinary(BinaryKind kind, float alpha, float beta, const StridedArg& a,
                             const StridedArg& b, const StridedArg& out, bool force_strided,
                             cudaStream_t stream) {
  const int64_t n = NumElements(out);
  if (n == 0) return ElementwisePath::kNone;
  const RowsPlan p = PlanRows({&a, &b, &out}, force_strided);
  if (p.path == ElementwisePath::kStrided) {
    BinaryStridedKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(kind, alpha, beta, a, b, out, n);
  } else {
    WithType(out.dtype, [&](auto t) {
      using T = decltype(t);
      constexpr int kVec = kVecBytes / sizeof(T);
      auto* kernel = p.vec == 1 ? BinaryRowsKernel<T, 1> : BinaryRowsKernel<T, kVec>;
      LaunchPdl(kernel, p.grid, p.block, 0, stream, 1, kind, alpha, beta, a, b, out, p.rows,
                p.cols / p.vec);
    });
  }
  VLART_CUDA_CHECK_LAUNCH();
  return p.path;
}

ElementwisePath LaunchActivate(ActKind act, const StridedArg& x, const StridedArg& out,
                               bool force_strided, cudaStream_t stream) {
  const int64_t n = NumElements(out);
  if (n == 0) return ElementwisePath::kNone;
  const RowsPlan p = PlanRows({&x, &out}, force_strided);
  if (p.path == ElementwisePath::kStrided) {
    ActivateStridedKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(act, x, out, n);
  } else {
    WithType(out.dtype, [&](auto t) {
      using T = decltype(t);
      constexpr int kVec = kVecBytes / sizeof(T);
      WithAct(act, [&](auto k) {
        constexpr ActKind kAct = decltype(k)::value;
        auto* kernel = p.vec == 1 ? ActivateRowsKernel<kAct, T, 1> : ActivateRowsKernel<kAct, T, kVec>;
        LaunchPdl(kernel, p.grid, p.block, 0, stream, 1, x, out, p.rows, p.cols / p.vec);
      });
    });
  }
  VLART_CUDA_CHECK_LAUNCH();
  return p.path;
}

ElementwisePath LaunchGatedActivation(ActKind act, const StridedArg& gate, const StridedArg& up,
                                      const StridedArg& out, bool force_strided,
                                      cudaStream_t stream) {
  const int64_t n = NumElements(out);
  if (n == 0) return ElementwisePath::kNone;
  const RowsPlan p = PlanRows({&gate, &up, &out}, force_strided);
  if (p.path == ElementwisePath::kStrided) {
    GatedStridedKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(act, gate, up, out, n);
  } else {
    WithType(out.dtype, [&](auto t) {
      using T = decltype(t);
      constexpr int kVec = kVecBytes / sizeof(T);
      WithAct(act, [&](auto k) {
        constexpr ActKind kAct = decltype(k)::value;
        auto* kernel = p.vec == 1 ? GatedRowsKernel<kAct, T, 1> : GatedRowsKernel<kAct, T, kVec>;
        LaunchPdl(kernel, p.grid, p.block, 0, stream, 1, gate, up, out, p.rows, p.cols / p.vec);
      });
    });
  }
  VLART_CUDA_CHECK_LAUNCH();
  return p.path;
}

ElementwisePath LaunchGatedActivationRms(ActKind act, const StridedArg& gate,
                                         const StridedArg& up, const StridedArg& out,
                                         const RowRmsArg& rms, bool force_strided,
                                         cudaStream_t stream) {
  const int64_t rows = out.shape[0];  // [R, N], 2-D (checked by the op)
  const int64_t cols = out.shape[1];
  if (rows == 0 || cols == 0) return ElementwisePath::kNone;
  // The path and vector width as for the other ops (2-D rows stay rows: not collapsed); the
  // grid is this kernel's own.
  const RowsPlan plan = PlanRows({&gate, &up, &out}, force_strided);
  const ElementwisePath path = plan.path;
  const int vec = plan.vec;  // 1 on the strided and rows paths
  // Blocks: up to kThreads threads over a row's vectors; enough blocks per row that the grid
  // has ~2 per SM (132 on an H100) when rows are few, each reducing its row once.
  constexpr int64_t kTargetBlocks = 264;
  const int64_t vecs = cols / vec;
  const int threads = static_cast<int>(std::min<int64_t>(kThreads, (vecs + 31) / 32 * 32));
  const int64_t per_row = std::max<int64_t>(1, std::min<int64_t>((vecs + threads - 1) / threads,
                                                                 (kTargetBlocks + rows - 1) / rows));
  const dim3 grid(static_cast<unsigned int>(per_row),
                  static_cast<unsigned int>(std::min<int64_t>(rows, kMaxGridY)));
  static const bool early = EnvSwitchOn("VLART_ROW_SCALE_EARLY_READS");  // A/B runs (see rope.cu)
  if (path == ElementwisePath::kStrided) {
    GatedRmsStridedKernel<<<grid, threads, 0, stream>>>(act, gate, up, out, rms, rows, cols);
  } else {
    WithType(out.dtype, [&](auto t) {
      using T = decltype(t);
      constexpr int kVec = kVecBytes / sizeof(T);
      WithAct(act, [&](auto k) {
        constexpr ActKind kAct = decltype(k)::value;
        auto* kernel = vec == 1 ? (early ? GatedRmsRowsKernel<kAct, T, 1, true>
                                         : GatedRmsRowsKernel<kAct, T, 1, false>)
                                : (early ? GatedRmsRowsKernel<kAct, T, kVec, true>
                                         : GatedRmsRowsKernel<kAct, T, kVec, false>);
        LaunchPdl(kernel, grid, dim3(threads), 0, stream, 1, gate, up, out, rms, rows, vecs);
      });
    });
  }
  VLART_CUDA_CHECK_LAUNCH();
  return path;
}

ElementwisePath LaunchMulAdd(const StridedArg& a, const StridedArg& b, const StridedArg& c,
                             const StridedArg& out, bool force_strided, cudaStream_t stream) {
  const int64_t n = NumElements(out);
  if (n == 0) return ElementwisePath::kNone;
  const RowsPlan p = PlanRows({&a, &b, &c, &out}, force_strided);
  if (p.path == ElementwisePath::kStrided) {
    MulAddStridedKernel<<<GridFor(n, kThreads), kThreads, 0, stream>>>(a, b, c, out, n);
  } else {
    WithType(out.dtype, [&](auto t) {
      using T = decltype(t);
      constexpr int kVec = kVecBytes / sizeof(T);
      auto* kernel = p.vec == 1 ? MulAddRowsKernel<T, 1> : MulAddRowsKernel<T, kVec>;
      LaunchPdl(kernel, p.grid, p.block, 0, stream, 1, a, b, c, out, p.rows, p.cols / p.vec);
    });
  }
  VLART_CUDA_CHECK_LAUNCH();
  return p.path;
}

}  // namespace vlart::cuda
