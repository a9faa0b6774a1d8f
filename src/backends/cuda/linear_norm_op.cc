// SPDX-License-Identifier: Apache-2.0
//
// linear_norm_op.cc: CudaBackend::LinearResidualLayerNorm, a residual Linear and the LayerNorm
// of its result (a pre-LN transformer's output projection, then the next layer's norm).
//
// Two forms, chosen per shape by timing (LinearNormPickFor), like the GEMM tuner (for the
// fused form: the split count, with cuBLASLt's first algorithm for each unless
// VLART_LINEAR_NORM_ALGOS widens it; see linear_norm_algos_):
//  - unfused: Linear (whatever its own tuner picked: cuBLASLt with its split-K reduction, or
//    vlart's GEMMs) then LayerNorm, two or three launches;
//  - fused: the product's K split into S slices, one strided-batched cuBLASLt call writing the
//    S f32 partials [S, M, N] into gemm_f32_ (no reduction kernel of its own), then one kernel
//    (linear_norm.cu) that sums them with bias and residual, rounds once into `out` and
//    writes the row's LayerNorm into `normed`. One launch fewer than cuBLASLt's split-K
//    reduction followed by a LayerNorm (X-VLA's fc2: 3.95 + 3.34 us per layer-step).
// The fused form needs bf16 / f16 operands of one dtype, N a multiple of 8 up to 2048, K a
// multiple of 8, 16-byte aligned rows; otherwise, or with VLART_FUSED_LINEAR_NORM=0, the
// unfused form runs. Its numerics: f32 partials summed in split order, one rounding of out
// (the op contract of Linear); normed has the bits LayerNorm gives for that out.
// Picks are kept in the GEMM tuning file (gemm_tuning_file.h) beside the GEMM picks.

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/tune_burst.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

// A [rows, cols] view whose columns are contiguous and whose rows start 16-byte aligned.
bool VectorRows(const Tensor& t) {
  const int64_t ld = t.dim(0) > 1 ? t.stride[0] : t.dim(1);
  return (t.dim(1) <= 1 || t.stride[1] == 1) && ld % 8 == 0 && IsAligned(t.data, 16);
}

// A [N] parameter vector readable as 16-byte vectors.
bool VectorParam(const Tensor& t) {
  return (t.dim(0) <= 1 || t.stride[0] == 1) && IsAligned(t.data, 16);
}

// Split counts the tuner tries (K must split into multiples of 8).
constexpr int kSplitCandidates[] = {1, 2, 3, 4, 6, 8};

}  // namespace

void CudaBackend::LinearResidualLayerNorm(const Tensor& x, const Tensor& w, const Tensor* bias,
                                          const Tensor& residual, const Tensor& out, const Tensor& gamma,
                                          const Tensor& beta, float eps, const Tensor& normed) {
  BeginOp();
  // x [M, K], w [N, K], bias [N] or null, residual / out / normed [M, N], gamma / beta [N]
  CheckLinearResidualLayerNormArgs(Device::kCuda, x, w, bias, residual, out, gamma, beta, eps, normed);
  const DType t = w.dtype;
  const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(0);
  bool fusable = fuse_linear_norm_ && !force_fallback_ && (t == DType::kBF16 || t == DType::kF16) &&
                 m >= 1 && m <= INT32_MAX && k >= 8 && k % 8 == 0 && n >= 8 && n % 8 == 0 &&
                 n <= 2048 && static_cast<size_t>(m * n) <= kGemmWorkspaceFloats;
  for (const Tensor* v : {&x, &residual, &out, &normed}) fusable = fusable && v->dtype == t && VectorRows(*v);
  for (const Tensor* v : {&gamma, &beta, bias}) {
    fusable = fusable && (v == nullptr || (v->dtype == t && VectorParam(*v)));
  }
  if (fusable) {
    LinearNormOperands op;
    op.a = x.data;
    op.lda = RowStride(x);
    op.b = w.data;
    op.k = k;
    op.dtype = t;
    op.e.m = m;
    op.e.n = n;
    op.e.bias = bias != nullptr ? bias->data : nullptr;
    op.e.residual = residual.data;
    op.e.ldr = RowStride(residual);
    op.e.out = out.data;
    op.e.ldo = RowStride(out);
    op.e.gamma = gamma.data;
    op.e.beta = beta.data;
    op.e.eps = eps;
    op.e.normed = normed.data;
    op.e.ldn = RowStride(normed);
    const LinearNormPick pick = forced_linear_norm_splits_ >= 0
                                    ? LinearNormPick{forced_linear_norm_splits_, 0}
                                    : LinearNormPickFor(op, x, w, bias, residual, gamma, beta, eps);
    if (pick.splits > 0 && k % pick.splits == 0 && (k / pick.splits) % 8 == 0 &&
        static_cast<size_t>(m * n * pick.splits) <= kGemmWorkspaceFloats &&
        RunLinearNormFused(op, pick.splits, pick.algo)) {
      ++stats_.linear_norm_fused;
      AfterOp("LinearResidualLayerNorm");
      return;
    }
  }
  AfterOp("LinearResidualLayerNorm");
  Backend::LinearResidualLayerNorm(x, w, bias, residual, out, gamma, beta, eps, normed);  // the two ops
}

bool CudaBackend::RunLinearNormFused(const LinearNormOperands& op, int splits, int algo) {
  const int64_t m = op.e.m, n = op.e.n, ks = op.k / splits;
  LtGemmProblem lt;  // partial s = A[:, s·ks ..] · B[:, s·ks ..]ᵀ into gemm_f32_ + s·M·N
  lt.m = m;
  lt.n = n;
  lt.k = ks;
  lt.a = op.a;
  lt.lda = op.lda;
  lt.b = op.b;
  lt.ldb = op.k;
  lt.ab_dtype = op.dtype;
  lt.d = gemm_f32_;
  lt.ldd = n;
  lt.d_dtype = DType::kF32;
  lt.batch = splits;
  lt.stride_a = ks;
  lt.stride_b = ks;
  lt.stride_d = m * n;
  if (!lt_->Run(lt, stream_, algo)) return false;  // nothing enqueued
  SplitSumNormArgs e = op.e;
  e.splits = splits;
  e.partials = gemm_f32_;
  e.split_stride = m * n;
  e.ldp = n;
  LaunchSplitSumLayerNorm(e, op.dtype, stream_);
  return true;
}

LinearNormPick CudaBackend::LinearNormPickFor(const LinearNormOperands& op, const Tensor& x,
                                                           const Tensor& w, const Tensor* bias,
                                                           const Tensor& residual, const Tensor& gamma,
                                                           const Tensor& beta, float eps) {
  const int64_t m = op.e.m, n = op.e.n, k = op.k;
  const LinearNormKey key{m, n, k, static_cast<int>(op.dtype), op.e.bias != nullptr};
  if (auto it = linear_norm_picks_.find(key); it != linear_norm_picks_.end()) return it->second;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  VLART_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capture));
  // Capturing (or tuning off): the unfused form now, not remembered, so that the next eager
  // call of this shape gets timed.
  if (capture != cudaStreamCaptureStatusNone || !gemm_autotune_) return LinearNormPick{};
  ++stats_.linear_norm_tunings;

  // Candidates write into their own buffers (out and normed of [M, N]; the real out may be the
  // residual), reading weight copies (tune_burst.h), each launch behind the neighbor kernel
  // whose own burst is subtracted, as in GemmConfigFor.
  constexpr int kBurst = 8;
  const size_t elem = static_cast<size_t>(ElementBytes(op.dtype));
  const size_t mat_bytes = static_cast<size_t>(m * n) * elem;
  void* buffers = nullptr;
  VLART_CUDA_CHECK(cudaMalloc(&buffers, 2 * mat_bytes));
  const Tensor trial_out = Tensor::Contiguous(buffers, op.dtype, Shape{m, n}, Device::kCuda);
  const Tensor trial_normed =
      Tensor::Contiguous(static_cast<char*>(buffers) + mat_bytes, op.dtype, Shape{m, n}, Device::kCuda);
  ColdCopies w_copies(w.data, static_cast<size_t>(n * k) * elem, kBurst, stream_);
  Tensor w_copy = w;

  const float neighbor_us = gemm_tune_neighbor_ ? TimeGraphBurst(stream_, kBurst, [&] {
    LaunchTuneNeighbor(num_sms_, stream_);
    return true;
  }) : 0.0f;
  const auto timed = [&](const std::function<bool()>& launch) {
    const float us = TimeGraphBurst(stream_, kBurst, [&] {
      if (gemm_tune_neighbor_) LaunchTuneNeighbor(num_sms_, stream_);
      return launch();
    });
    return us < 0.0f ? us : us - neighbor_us;
  };

  // Unfused: Linear then LayerNorm. The eager call first settles the Linear's own pick for
  // the copies' key (GemmConfigFor; the copies are not sealed weights, the real ones may be:
  // that only changes the few-row kernels' early weight loads, not cuBLASLt's).
  const auto unfused = [&] {
    w_copy.data = const_cast<void*>(w_copies.Next());
    Linear(x, w_copy, bias, Activation::kNone, &residual, trial_out);
    LayerNorm(trial_out, gamma, beta, eps, trial_normed);
    return true;
  };
  unfused();
  // The fused form must beat the unfused one by kFusedMargin (the GEMM tuner's margin for
  // vlart's kernels against cuBLASLt): at X-VLA's batch-4 proj (1048x1024x1024) it won the
  // bursts by 5-8% (S 1: 9.6 against 10.1-10.4 us) and lost 0.1 ms of policy in the model
  // (H100, 2026-11-24); batch 1's shapes win by 13-27%.
  constexpr float kFusedMargin = 0.92f;
  const float unfused_us = timed(unfused);
  LinearNormPick best{};
  float best_score = unfused_us;
  std::string log = fmt::format(" unfused:{:.1f}", unfused_us);
  LinearNormOperands trial = op;
  trial.e.out = trial_out.data;
  trial.e.ldo = n;
  trial.e.normed = trial_normed.data;
  trial.e.ldn = n;
  for (const int s : kSplitCandidates) {
    if (k % s != 0 || (k / s) % 8 != 0 || static_cast<size_t>(m * n * s) > kGemmWorkspaceFloats) continue;
    const int algos = linear_norm_algos_ > 0 ? std::min(linear_norm_algos_, lt_->max_algos()) : lt_->max_algos();
    for (int algo = 0; algo < algos; ++algo) {
      const auto fused = [&] {
        trial.b = w_copies.Next();
        return RunLinearNormFused(trial, s, algo);
      };
      if (!fused()) continue;  // eager first: cuBLASLt plans the batch and may reject it here
      const float us = timed(fused);
      if (us < 0.0f) continue;
      if (gemm_verbose_) log += fmt::format(" s{}a{}:{:.1f}", s, algo, us);
      if (us < best_score * (best.splits == 0 ? kFusedMargin : 1.0f)) {
        best_score = us;
        best = LinearNormPick{s, algo};
      }
    }
  }
  VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
  VLART_CUDA_CHECK(cudaFree(buffers));
  if (gemm_verbose_) {
    std::fprintf(stderr, "vlart linear+layernorm %lldx%lldx%lld%s -> %s (%.1f us; neighbor %.1f us) |%s\n",
                 static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k),
                 op.e.bias != nullptr ? " bias" : "",
                 best.splits == 0 ? "unfused" : fmt::format("splits {} algo {}", best.splits, best.algo).c_str(),
                 best_score, neighbor_us, log.c_str());
  }
  linear_norm_picks_.emplace(key, best);
  return best;
}

}  // namespace vlart::cuda
