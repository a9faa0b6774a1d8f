// SPDX-License-Identifier: Apache-2.0
//
// kernel_args.h: plain structs that carry tensor views and op parameters from the host
// side of the CUDA backend (*_op.cc, which validates with VLART_CHECK) into the kernels
// (*.cu, which see only these PODs).
//
// NOTE: .cu files must not include core/tensor.h or anything that includes fmt: nvcc 13
// rejects fmt 9's consteval format strings. Keep this header free of fmt, Status and Tensor.
#pragma once

#include <cstdint>

#include "core/dtype.h"  // DType (plain enum, safe in device code)

namespace vlart::cuda {

inline constexpr int kKernelMaxDims = 6;  // == kMaxDims (static_assert in cuda_backend_impl.h)

// A strided view as kernels see it: strides in elements, any sign, stride 0 broadcasts.
// Float views are F32, F16 or BF16; index views I32; Copy also moves any other dtype bytewise.
struct StridedArg {
  void* data = nullptr;
  DType dtype = DType::kF32;
  int ndim = 0;
  int64_t shape[kKernelMaxDims] = {};
  int64_t stride[kKernelMaxDims] = {};
};

// ops/backend.h's RowRmsScale as kernels see it: row r of x at x + r * row_stride, `cols`
// contiguous elements. x == nullptr: no row scale.
struct RowRmsArg {
  const void* x = nullptr;
  DType dtype = DType::kF32;
  int64_t row_stride = 0;
  int64_t cols = 0;
  float eps = 0.0f;
};

// Mirrors ops/backend.h's Activation (mapped by a switch in the host code).
enum class ActKind : int { kNone = 0, kGeluErf, kGeluTanh, kSilu, kSigmoid };

enum class BinaryKind : int { kAdd = 0, kMul, kAxpby };

// Byte ranges for an L2 prefetch (prefetch.cu); kMaxPrefetchRanges == Backend's limit
// (static_assert in prefetch_op.cc).
inline constexpr int kMaxPrefetchRanges = 4;
struct PrefetchArgs {
  const void* ptr[kMaxPrefetchRanges] = {};
  int64_t bytes[kMaxPrefetchRanges] = {};
  int count = 0;
};

// C[z, m, n] = act(Σ_k A[z, m, k] · B[z', n, k] + bias[z', n]) + residual[z, m, n], f32 accumulation.
// z' = b_batch_index ? b_batch_index[z] : z (a device-side table: DomainLinear's domain ids).
// Every operand is addressed through explicit strides, so transposed / [in, out] weights work.
struct SimtGemmArgs {
  int64_t m = 0, n = 0, k = 0;
  int batch = 1;
  const void* a = nullptr;  // [batch, M, K]
  DType a_dtype = DType::kF32;
  int64_t a_batch_stride = 0, a_m_stride = 0, a_k_stride = 1;
  const void* b = nullptr;  // [*, N, K] (element (n, k) at n*b_n_stride + k*b_k_stride)
  DType b_dtype = DType::kF32;
  int64_t b_batch_stride = 0, b_n_stride = 0, b_k_stride = 1;
  const int32_t* b_batch_index = nullptr;  // [batch] (stride b_index_stride) or null
  int64_t b_index_stride = 1;
  const void* bias = nullptr;  // [*, N] or null (batch picked like B)
  DType bias_dtype = DType::kF32;
  int64_t bias_batch_stride = 0, bias_stride = 1;
  ActKind act = ActKind::kNone;
  const void* residual = nullptr;  // [batch, M, N] or null; may equal d (same strides)
  DType residual_dtype = DType::kF32;
  int64_t r_batch_stride = 0, r_m_stride = 0, r_n_stride = 1;
  void* d = nullptr;  // [batch, M, N]
  DType d_dtype = DType::kF32;
  int64_t d_batch_stride = 0, d_m_stride = 0, d_n_stride = 1;
};

// out[m, n] = act(out[m, n] + bias[n]) + residual[m, n] over a row-strided matrix, in place.
// The second half of a cuBLASLt Linear whose epilogue cuBLASLt could not do.
struct EpilogueArgs {
  int64_t m = 0, n = 0;
  void* d = nullptr;  // [M, N], row stride ldd
  DType d_dtype = DType::kF32;
  int64_t ldd = 0;
  const void* bias = nullptr;  // [N] (stride bias_stride) or null
  DType bias_dtype = DType::kF32;
  int64_t bias_stride = 1;
  ActKind act = ActKind::kNone;
  const void* residual = nullptr;  // [M, N] (row stride ldr) or null; may equal d
  DType residual_dtype = DType::kF32;
  int64_t ldr = 0;
  // When set, the pre-epilogue values come from this f32 matrix (row stride lds) instead of
  // d: a GEMM that wrote its f32 product there gets exactly one rounding, at the store.
  const float* src = nullptr;
  int64_t lds = 0;
};

// LinearResidualLayerNorm's fused form (linear_norm.cu): S f32 split-K partials summed with
// bias and residual into out (rounded once), then LayerNorm of each out row into normed. Every
// 16-bit operand has dtype T (bf16 / f16, the launch's argument); rows 16-byte aligned.
struct SplitSumNormArgs {
  int64_t m = 0, n = 0;
  int splits = 1;
  const float* partials = nullptr;  // [S, M, N]: partial s at partials + s·split_stride, row stride ldp
  int64_t split_stride = 0, ldp = 0;
  const void* bias = nullptr;      // [N] or null
  const void* residual = nullptr;  // [M, N], row stride ldr; may equal out (then ldr == ldo)
  int64_t ldr = 0;
  void* out = nullptr;  // [M, N], row stride ldo
  int64_t ldo = 0;
  const void* gamma = nullptr;  // [N]
  const void* beta = nullptr;   // [N]
  float eps = 0.0f;
  void* normed = nullptr;  // [M, N], row stride ldn
  int64_t ldn = 0;
};

// Multi-head attention (backend.h). Tensors are [B, S, H, D] with explicit batch/token/head
// strides and a contiguous head dim; mask is an additive f32 [B, Sq, Sk] (any strides) or null.
struct AttentionArgs {
  int batch = 0, sq = 0, sk = 0, hq = 0, hkv = 0, d = 0, dv = 0;
  float scale = 1.0f;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  DType q_dtype = DType::kF32, k_dtype = DType::kF32, v_dtype = DType::kF32, out_dtype = DType::kF32;
  int64_t q_sb = 0, q_ss = 0, q_sh = 0;
  int64_t k_sb = 0, k_ss = 0, k_sh = 0;
  int64_t v_sb = 0, v_ss = 0, v_sh = 0;
  int64_t o_sb = 0, o_ss = 0, o_sh = 0;
  const float* mask = nullptr;
  int64_t m_sb = 0, m_si = 0, m_sj = 0;
};

// DomainLinear (backend.h): out[b, t, n] = Σ_k x[b, t, k] W_d[k, n] + bias[d, n], d = ids[b],
// W_d = table + d * K * N stored [in, out]. Any float dtypes, f32 accumulation.
struct DomainLinearArgs {
  int batch = 0, tokens = 0, k = 0, n = 0;
  const void* x = nullptr;  // [B, T, K] strides below, contiguous K
  DType x_dtype = DType::kF32;
  int64_t x_sb = 0, x_st = 0;
  const void* table = nullptr;  // [D, K * N]
  DType table_dtype = DType::kF32;
  const void* bias = nullptr;  // [D, N]
  DType bias_dtype = DType::kF32;
  const int32_t* ids = nullptr;  // [B], stride ids_stride
  int64_t ids_stride = 1;
  void* out = nullptr;  // [B, T, N] strides below, contiguous N
  DType out_dtype = DType::kF32;
  int64_t o_sb = 0, o_st = 0;
};

// vlart's tensor-core GEMM (gemm_mma.cu): D = act(A·Bᵀ + bias) + residual, every operand of
// one 16-bit dtype, K-contiguous A [M, K] and B [N, K], row-major D/residual [M, N].
struct GemmMmaArgs {
  int m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  const void* bias = nullptr;  // [N] or null
  int act = 0;                 // ActKind
  const void* residual = nullptr;  // [M, N] or null; may be d
  int64_t ldr = 0;
  void* d = nullptr;
  int64_t ldd = 0;
  bool paired_stores = false;  // set by the launcher: D allows 4-byte pair stores
  bool vec_io = false;         // set by the wgmma launcher: D / residual rows allow 16-byte access
  // B lies in a sealed arena (Arena::Seal): no kernel writes it, so gemm_skinny.cu may load
  // it before waiting for the previous kernel. Set by the backend, false when unsure.
  bool b_sealed = false;
  int probe = 0;               // wgmma timing experiments only (VLART_WGMMA_PROBE); 0 in use
  // The skinny / wgmma kernels let the next kernel launch only after their main loop (true),
  // or first thing (false: VLART_GEMM_LATE_TRIGGER=0, for A/B runs). Correct either way; the
  // late signal measured faster in the models (pdl.cuh).
  bool late_trigger = true;
};

// GatedMlp's fused form (gated_mlp.cu): a few-row gated MLP in one kernel, every operand of
// one 16-bit dtype. x [M, K] (row stride ldx), gate_up_w [2F, K] and down_w [N, F] contiguous,
// hidden [M, >= F] (row stride ldh; h lands in its first F columns), residual [M, N] or null
// (may be out), out [M, N] (row stride ldo).
struct GatedMlpArgs {
  int m = 0, k = 0, f = 0, n = 0;
  const void* x = nullptr;
  int64_t ldx = 0;
  const void* gate_up_w = nullptr;
  const void* down_w = nullptr;
  void* hidden = nullptr;
  int64_t ldh = 0;
  const void* residual = nullptr;
  int64_t ldr = 0;
  void* out = nullptr;
  int64_t ldo = 0;
  int act = 0;              // ActKind
  bool row_rms = false;     // scale gate and up by x's own RMS statistic (RowRmsScale of x)
  float eps = 0.0f;
  bool weights_sealed = false;  // both weights in a sealed arena: fetched before the PDL wait
  // Two words of device memory, zero at the start, owned by one stream: the grid barrier's
  // arrival count and generation (the kernel leaves the count at zero).
  unsigned int* barrier = nullptr;
};

// Conv2d on NHWC views (backend.h). x [B, H, W, Cin], w [Cout, Cin/groups, kh, kw] contiguous,
// bias [Cout] or null, residual/out [B, Ho, Wo, Cout].
struct ConvArgs {
  StridedArg x;
  const void* w = nullptr;
  DType w_dtype = DType::kF32;
  const void* bias = nullptr;
  DType bias_dtype = DType::kF32;
  int64_t bias_stride = 1;
  StridedArg residual;  // data == nullptr when absent
  StridedArg out;
  int kh = 1, kw = 1, stride = 1, padding = 0, groups = 1;
};

// Rope (backend.h). inv_freq is computed on the host (f32, see rope_op.cc) and passed by value.
inline constexpr int kRopeMaxHalf = 128;  // head dims up to 256
struct RopeArgs {
  StridedArg x;    // [B, S, H, D]
  StridedArg out;  // [B, S, H, D]
  const int32_t* positions = nullptr;  // [B, S]
  int64_t pos_sb = 0, pos_ss = 0;
  int half = 0;  // D / 2
  float inv_freq[kRopeMaxHalf] = {};
};

// One [B, S, H, *] operand of RopeQkv: element (b, s, h, j) at b*sb + s*ss + h*sh + j (the
// innermost dim is contiguous: op_checks guarantees stride 1 wherever the dim has size > 1).
struct RopeQkvView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  int64_t sb = 0, ss = 0, sh = 0;
};

// RopeQkv (backend.h): q_out = Rope(q), k_out = Rope(k), v_out = v, in one launch.
struct RopeQkvArgs {
  RopeQkvView q, k, v;              // [B, S, Hq, D], [B, S, Hkv, D], [B, S, Hkv, Dv]
  RopeQkvView q_out, k_out, v_out;  // same shapes
  const int32_t* positions = nullptr;  // [B, S]
  int64_t pos_sb = 0, pos_ss = 0;
  int64_t batch = 0, seq = 0;
  int hq = 0, hkv = 0, dv = 0;
  int half = 0;  // D / 2
  RowRmsArg rms;  // x == nullptr: no row scale; else rows = batch * seq (row b * seq + s)
  float inv_freq[kRopeMaxHalf] = {};
};

}  // namespace vlart::cuda
