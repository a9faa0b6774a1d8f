// SPDX-License-Identifier: Apache-2.0
//
// linear_op.cc: CudaBackend::Linear, DomainLinear and the shared GEMM driver RunGemm (also
// used by Conv2d's im2col path).
//
// Path choice for D = act(A·Bᵀ + bias) + residual:
//  - vlart's tensor-core GEMM (gemm_mma.cu) when A, B, D, bias and residual all share one
//    16-bit dtype, K is a multiple of 8 and rows are 16-byte aligned: the whole epilogue in
//    f32 with one rounding (X-VLA, BART, DaViT and SigLIP shapes in bf16/f16 land here).
//    The per-shape tuner (GemmConfigFor) also times cuBLASLt for these (tile -1): straight to
//    16-bit D for a plain product, else an f32 product plus one epilogue pass; either way one
//    rounding. With CudaBackendOptions::fused_lt_epilogues (the default) it also times the
//    fused form (lt_fused): bias in cuBLASLt's BIAS epilogue and the residual as C, straight
//    to 16-bit D, an activation as one pass over D -- the product is rounded before the bias
//    and residual are added (two roundings, like PyTorch's bf16 Linear + add), and the
//    parity tests bound that rounding explicitly (tests/ops/cuda_linear_parity_test.cc).
//  - cuBLASLt (cublaslt_gemm.h) when B is F32/F16/BF16, D is B's dtype or F32 and D's and the
//    residual's columns are contiguous. A of another dtype (f32 activations against bf16
//    weights) or strided columns is first converted into backend scratch in row chunks.
//    bias goes into cuBLASLt's BIAS epilogue when it has D's dtype, stride 1 and 16-byte
//    alignment; the residual goes in as C with beta = 1 when there is no activation (C == D
//    in place is cuBLASLt's documented in-place mode). Whatever is left (activation, bias or
//    residual of another dtype) is one elementwise pass over D (LaunchEpilogue).
//    GELU in cuBLASLt's epilogue only as a tuner candidate of the fused form for
//    Activation::kGeluTanh (GemmMmaConfig::lt_gelu): its documentation does not say which GELU
//    it computes; the H100 measurement (LinearParity.CublasLtGeluEpilogueIsTheTanhForm) found
//    the tanh form. The erf form is always ours.
//    With a 16-bit D and a bias, activation or residual that the tensor-core GEMM did not take
//    (K not a multiple of 8: the RGB patch convolutions), cuBLASLt writes the f32 product to
//    gemm_f32_ and one epilogue pass rounds once (RunLtF32Epilogue; VLART_LT_F32_EPILOGUE=0
//    leaves those to the SIMT GEMM, as before).
//  - the SIMT GEMM (linear.cu) otherwise, or when act != none and the residual is D itself
//    (cuBLASLt would overwrite the residual before the activation pass could read it), or
//    with CudaBackendOptions::force_fallback_kernels. DomainLinear always takes it (per-sample
//    weights picked on the device by domain id, so graphs replay with new ids).

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/tune_burst.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

constexpr int64_t kSimtMaxRowsPerLaunch = int64_t{65535} * 64;  // gridDim.y limit x tile rows

// The plain product D = A·Bᵀ of a GEMM problem (GemmMmaArgs or GemmOperands: both name their
// sizes, pointers and leading dimensions alike) for cuBLASLt, operands in ab_dtype, D in
// d_dtype (no bias, no C); callers add what their form needs.
template <typename Problem>
LtGemmProblem LtProductOf(const Problem& p, DType ab_dtype, DType d_dtype) {
  LtGemmProblem lt;
  lt.m = p.m;
  lt.n = p.n;
  lt.k = p.k;
  lt.a = p.a;
  lt.lda = p.lda;
  lt.b = p.b;
  lt.ldb = p.ldb;
  lt.ab_dtype = ab_dtype;
  lt.d = p.d;
  lt.ldd = p.ldd;
  lt.d_dtype = d_dtype;
  return lt;
}

// D = act(A·Bᵀ + bias) + residual as cuBLASLt's f32 product (algorithm `algo`) into `f32`
// ([chunk rows, N], `f32_floats` long) and one epilogue pass per row chunk that rounds once to
// D's dtype: the op's numerics at cuBLAS's speed. False when cuBLASLt has no algorithm for a
// chunk (the rows before it are written). RunGemmLt's unfused form and RunGemmChunk's 16-bit
// D with an epilogue both run it.
bool RunLtF32Epilogue(const GemmOperands& g, int algo, LtGemm& lt_gemm, float* f32,
                      size_t f32_floats, Stats& stats, cudaStream_t stream) {
  const int64_t chunk_rows = std::max<int64_t>(1, static_cast<int64_t>(f32_floats) / g.n);
  for (int64_t row0 = 0; row0 < g.m; row0 += chunk_rows) {
    const int64_t rows = std::min<int64_t>(chunk_rows, g.m - row0);
    LtGemmProblem lt = LtProductOf(g, g.b_dtype, DType::kF32);
    lt.m = rows;
    lt.a = OffsetPtr(g.a, row0 * g.lda, g.a_dtype);
    lt.d = f32;
    lt.ldd = g.n;
    if (!lt_gemm.Run(lt, stream, algo)) return false;  // nothing of D written yet by this chunk
    EpilogueArgs e;
    e.m = rows;
    e.n = g.n;
    e.d = OffsetPtr(g.d, row0 * g.ldd, g.d_dtype);
    e.d_dtype = g.d_dtype;
    e.ldd = g.ldd;
    e.bias = g.bias;
    e.bias_dtype = g.bias_dtype;
    e.bias_stride = g.bias_stride;
    e.act = g.act;
    if (g.residual != nullptr) e.residual = OffsetPtr(g.residual, row0 * g.ldr, g.residual_dtype);
    e.residual_dtype = g.residual_dtype;
    e.ldr = g.ldr;
    e.src = f32;
    e.lds = g.n;
    LaunchEpilogue(e, stream);
    ++stats.epilogue_passes;
  }
  return true;
}

}  // namespace

void CudaBackend::Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
                         const Tensor* residual, const Tensor& out) {
  BeginOp();
  CheckLinearArgs(Device::kCuda, x, w, bias, residual, out);  // x [M, K], w [N, K], out [M, N]
  GemmOperands g;
  g.m = x.dim(0);
  g.n = w.dim(0);
  g.k = w.dim(1);
  // A size-1 dim's stride is arbitrary; any ld >= the row length is valid for one row.
  const auto row_stride = [](const Tensor& t) {
    return t.dim(0) > 1 ? t.stride[0] : std::max<int64_t>(t.dim(1), 1);
  };
  g.a = x.data;
  g.a_dtype = x.dtype;
  g.lda = row_stride(x);
  g.b = w.data;
  g.b_dtype = w.dtype;
  g.ldb = std::max<int64_t>(g.k, 1);  // w is contiguous (checked)
  if (bias != nullptr) {
    g.bias = bias->data;
    g.bias_dtype = bias->dtype;
  }
  g.act = ToActKind(act);
  if (residual != nullptr) {
    g.residual = residual->data;
    g.residual_dtype = residual->dtype;
    g.ldr = row_stride(*residual);
  }
  g.d = out.data;
  g.d_dtype = out.dtype;
  g.ldd = row_stride(out);
  RunGemm(g, nullptr);
  AfterOp("Linear");
}

void CudaBackend::DomainLinear(const Tensor& x, const Tensor& weight_table,
                               const Tensor& bias_table, const Tensor& domain_ids,
                               const Tensor& out) {
  BeginOp();
  // x [B, T, K], weight_table [D, K*N], bias_table [D, N], domain_ids [B], out [B, T, N]
  CheckDomainLinearArgs(Device::kCuda, x, weight_table, bias_table, domain_ids, out);
  const int64_t batch = x.dim(0);
  const int64_t tokens = x.dim(1);
  const int64_t k = x.dim(2);
  const int64_t n = out.dim(2);
  VLART_CHECK(batch <= 65535 && tokens <= kSimtMaxRowsPerLaunch,
              "DomainLinear: at most 65535 samples of {} tokens, got x {}", kSimtMaxRowsPerLaunch,
              x.ToString());
  DomainLinearArgs a;
  a.batch = static_cast<int>(batch);
  a.tokens = static_cast<int>(tokens);
  a.k = static_cast<int>(k);
  a.n = static_cast<int>(n);
  a.x = x.data;
  a.x_dtype = x.dtype;
  a.x_sb = x.stride[0];
  a.x_st = x.stride[1];
  a.table = weight_table.data;  // W_d[k, n] = weight_table[d, k * N + n] (contiguous, checked)
  a.table_dtype = weight_table.dtype;
  a.bias = bias_table.data;  // contiguous (checked)
  a.bias_dtype = bias_table.dtype;
  a.ids = domain_ids.data_as<const int32_t>();
  a.ids_stride = domain_ids.stride[0];
  a.out = out.data;
  a.out_dtype = out.dtype;
  a.o_sb = out.stride[0];
  a.o_st = out.stride[1];
  VLART_CHECK(k <= INT32_MAX && n <= INT32_MAX && tokens <= 65535, "DomainLinear: sizes {} -> {}",
              x.ToString(), out.ToString());
  LaunchDomainLinear(a, stream_);
  AfterOp("DomainLinear");
}

bool CudaBackend::TryGemmMma(const GemmOperands& g) {
  if (force_fallback_) return false;
  const DType t = g.b_dtype;
  if ((t != DType::kBF16 && t != DType::kF16) || g.a_dtype != t || g.d_dtype != t) return false;
  if (g.a_col_stride != 1 || g.d_col_stride != 1) return false;
  if (g.bias != nullptr && (g.bias_dtype != t || g.bias_stride != 1)) return false;
  if (g.residual != nullptr && (g.residual_dtype != t || g.r_col_stride != 1)) return false;
  if (g.residual != nullptr && g.residual == g.d && g.ldr != g.ldd) return false;
  if (g.m > INT32_MAX || g.n > INT32_MAX || g.k > INT32_MAX) return false;
  GemmMmaArgs p;
  p.m = static_cast<int>(g.m);
  p.n = static_cast<int>(g.n);
  p.k = static_cast<int>(g.k);
  p.a = g.a;
  p.lda = g.lda;
  p.b = g.b;
  p.ldb = g.ldb;
  p.bias = g.bias;
  p.act = static_cast<int>(g.act);
  p.residual = g.residual;
  p.ldr = g.ldr;
  p.d = g.d;
  p.ldd = g.ldd;
  p.b_sealed = sealed_->Contains(g.b, static_cast<size_t>(g.n) * g.ldb * ElementBytes(t));
  p.late_trigger = gemm_late_trigger_;
  if (!GemmMmaSupported(p, t)) return false;
  const GemmMmaConfig config = GemmConfigFor(p, t);
  if (config.tile == kGemmViaCublas) {
    if (RunGemmLt(p, t, config.lt_algo, config.lt_fused, config.lt_gelu)) {
      ++stats_.gemm_cublaslt;
      return true;
    }
    LaunchGemmMma(p, t, GemmMmaHeuristic(p.m, p.n, p.k, num_sms_), gemm_workspace_, gemm_counters_,
                  stream_);
  } else {
    LaunchGemmMma(p, t, config, gemm_workspace_, gemm_counters_, stream_);
    if (config.tile >= kWgmmaTileBase) {
      ++stats_.gemm_wgmma;
      if (p.b_sealed) ++stats_.gemm_b_sealed;
    } else if (config.tile >= kSkinnyTileBase) {
      ++stats_.gemm_skinny;
      if (p.b_sealed) ++stats_.gemm_b_sealed;
    }
  }
  ++stats_.gemm_mma;
  return true;
}

bool CudaBackend::RunGemmLtFused(const GemmMmaArgs& p, DType t, int algo, bool gelu) {
  const auto act = static_cast<ActKind>(p.act);
  if (p.bias == nullptr && p.residual == nullptr) return false;  // the unfused form is direct
  if (act != ActKind::kNone && p.residual != nullptr) return false;  // act before the residual
  if (p.bias != nullptr && !IsAligned(p.bias, 16)) return false;  // cuBLASLt's bias pointer
  if (gelu && act != ActKind::kGeluTanh) return false;  // only the tanh form is cuBLASLt's
  LtGemmProblem lt = LtProductOf(p, t, t);
  lt.bias = p.bias;
  lt.gelu = gelu;
  lt.c = p.residual;  // may be D itself (then ldr == ldd, checked by TryGemmMma)
  lt.ldc = p.ldr;
  if (!lt_->Run(lt, stream_, algo)) return false;
  ++stats_.gemm_lt_direct;
  ++stats_.gemm_lt_fused;
  if (gelu) ++stats_.gemm_lt_gelu;
  if (act != ActKind::kNone && !gelu) {
    EpilogueArgs e;  // act(D) in place: D already holds product + bias
    e.m = p.m;
    e.n = p.n;
    e.d = p.d;
    e.d_dtype = t;
    e.ldd = p.ldd;
    e.act = act;
    LaunchEpilogue(e, stream_);
    ++stats_.epilogue_passes;
  }
  return true;
}

bool CudaBackend::RunGemmLt(const GemmMmaArgs& p, DType t, int algo, bool fused, bool gelu) {
  if (fused) return RunGemmLtFused(p, t, algo, gelu);
  if (gelu) return false;  // only the fused form has it
  if (p.bias == nullptr && p.act == static_cast<int>(ActKind::kNone) && p.residual == nullptr) {
    // A plain product: cuBLASLt rounds its f32 accumulator once to D's dtype -- the same
    // single rounding as the f32 product plus our epilogue, without the f32 round trip
    // through memory (Gemma's gate/up [526, 32768]: 138 MB of f32 traffic). Neither with a
    // residual as C nor with the bias epilogue: measured on the H100 (cuBLAS 13.0, bf16),
    // both were off by one bf16 ulp where the sum lies near a rounding boundary, i.e. not
    // rounded once (C == D, 50x1024x2048: LinearParity; bias: the 784x2304 -> 512 im2col
    // GEMM of ConvParity.DenseAndGroupedConvs, 4368 of 401408 outputs one ulp off at
    // |value| ~32, commit 3e3161a).
    if (lt_->Run(LtProductOf(p, t, t), stream_, algo)) {
      ++stats_.gemm_lt_direct;
      return true;
    }
    // Algorithm numbers belong to one form: only the heuristic's first falls through.
    if (algo != 0) return false;
  }
  // cuBLASLt writes the f32 product into gemm_f32_ (row chunks), then one epilogue pass adds
  // bias, activation and residual in f32 and rounds once.
  GemmOperands g;  // p with every operand in dtype t (contiguous bias and columns)
  g.m = p.m;
  g.n = p.n;
  g.k = p.k;
  g.a = p.a;
  g.a_dtype = t;
  g.lda = p.lda;
  g.b = p.b;
  g.b_dtype = t;
  g.ldb = p.ldb;
  g.bias = p.bias;
  g.bias_dtype = t;
  g.act = static_cast<ActKind>(p.act);
  g.residual = p.residual;
  g.residual_dtype = t;
  g.ldr = p.ldr;
  g.d = p.d;
  g.d_dtype = t;
  g.ldd = p.ldd;
  return RunLtF32Epilogue(g, algo, *lt_, gemm_f32_, kGemmWorkspaceFloats, stats_, stream_);
}

bool CudaBackend::GemmConfigFits(const GemmMmaArgs& p, const GemmMmaConfig& c) const {
  if (c.tile >= 0 && c.tile < kSkinnyTileBase && !GemmMmaTileFits(c.tile)) return false;  // smem
  if (c.tile >= kSkinnyTileBase && c.tile < kWgmmaTileBase && !GemmSkinnyFits(p.m, c)) return false;
  return GemmMmaWorkspaceFloats(p.m, p.n, c) <= kGemmWorkspaceFloats &&
         GemmMmaTiles(p.m, p.n, c) <= kGemmCounters;
}

GemmMmaConfig CudaBackend::GemmConfigFor(const GemmMmaArgs& p, DType dtype) {
  // Keyed by everything that changes the kernel's speed; alignment of D decides paired stores.
  const GemmTuneKey key{p.m, p.n, p.k, static_cast<int>(dtype), p.bias != nullptr, p.act,
                        p.residual != nullptr, static_cast<int>(p.ldd % 2), p.b_sealed};
  if (forced_gemm_config_ && forced_gemm_config_->tile == kForceCublas) {
    return GemmMmaConfig{kGemmViaCublas, 1, forced_gemm_config_->lt_algo, forced_gemm_config_->lt_fused,
                         forced_gemm_config_->lt_gelu};
  }
  if (forced_gemm_config_ && GemmConfigFits(p, *forced_gemm_config_)) return *forced_gemm_config_;
  if (counting_gemm_calls_) ++gemm_calls_recorded_[key];
  if (auto it = gemm_configs_.find(key); it != gemm_configs_.end()) return it->second;
  GemmMmaConfig best = GemmMmaHeuristic(p.m, p.n, p.k, num_sms_);
  if (!GemmConfigFits(p, best)) best = GemmMmaConfig{best.tile, 1};
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  VLART_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capture));
  const size_t out_bytes = static_cast<size_t>(p.m) * p.ldd * ElementBytes(dtype);
  if (capture != cudaStreamCaptureStatusNone || !gemm_autotune_) {
    // Capturing (or tuning off): use the heuristic now, but do not remember it, so the next
    // eager call of this shape still gets timed.
    return best;
  }
  // Time every candidate into scratch (never into D: with an in-place residual, running the
  // GEMM twice would add the residual twice), in graph bursts with cold weights
  // (tune_burst.h). Each GEMM launch follows a neighbor kernel (gemm_tune_neighbor.cu: PDL,
  // ~1.5 us, no memory), as in a model, and the neighbors' own burst is subtracted: a PDL GEMM
  // is credited with starting behind a different kernel, not behind a copy of itself, and a
  // cuBLASLt GEMM is charged the launch gaps it has in the model (VLART_GEMM_TUNE_NEIGHBOR=0:
  // bursts of the GEMM alone). (scratch_ may hold this GEMM's materialised A, so trials write
  // to their own buffer, grown here: no graph is being captured.)
  ++stats_.gemm_tunings;
  constexpr int kBurst = 8;
  const size_t b_bytes = static_cast<size_t>(p.n) * p.ldb * ElementBytes(dtype);
  ColdCopies b_copies(p.b, b_bytes, kBurst, stream_);
  if (tune_out_bytes_ < out_bytes) {
    if (tune_out_ != nullptr) VLART_CUDA_CHECK(cudaFree(tune_out_));
    VLART_CUDA_CHECK(cudaMalloc(&tune_out_, out_bytes));
    tune_out_bytes_ = out_bytes;
  }
  GemmMmaArgs trial = p;
  trial.d = tune_out_;
  const auto time_burst = [&](const std::function<bool()>& launch_one) {
    return TimeGraphBurst(stream_, kBurst, launch_one);
  };
  const float neighbor_us = gemm_tune_neighbor_ ? time_burst([&] {
    LaunchTuneNeighbor(num_sms_, stream_);
    return true;
  }) : 0.0f;
  float best_us = 1e30f, best_score = 1e30f;
  std::string log;
  std::vector<GemmMmaConfig> candidates = GemmMmaCandidates(p.m, p.n, p.k, num_sms_);
  for (int algo = 0; algo < lt_->max_algos(); ++algo) {
    candidates.push_back(GemmMmaConfig{kGemmViaCublas, 1, algo});
  }
  const bool fusable = p.bias != nullptr || p.residual != nullptr;
  for (int algo = 0; fused_lt_epilogues_ && fusable && algo < lt_->max_algos(); ++algo) {
    candidates.push_back(GemmMmaConfig{kGemmViaCublas, 1, algo, true});
  }
  // GELU (tanh form) in cuBLASLt's epilogue as well: no pass over D. Like the fused bias, it
  // acts on the f32 sum; what cuBLASLt computes was measured, not documented
  // (LinearParity.CublasLtGeluEpilogueIsTheTanhForm). VLART_GEMM_LT_GELU=0 leaves it out.
  const bool gelu_ok = fused_lt_epilogues_ && lt_gelu_ && p.act == static_cast<int>(ActKind::kGeluTanh) &&
                       p.residual == nullptr;
  for (int algo = 0; gelu_ok && algo < lt_->max_algos(); ++algo) {
    candidates.push_back(GemmMmaConfig{kGemmViaCublas, 1, algo, true, true});
  }
  std::vector<std::pair<float, GemmMmaConfig>> scored;  // every timed candidate (near-ties)
  for (const GemmMmaConfig& c : candidates) {
    if (c.tile != kGemmViaCublas && !GemmConfigFits(trial, c)) continue;
    bool ran = true;
    const auto launch = [&] {
      trial.b = b_copies.Next();
      if (c.tile == kGemmViaCublas) {
        ran = RunGemmLt(trial, dtype, c.lt_algo, c.lt_fused, c.lt_gelu) && ran;
      } else {
        LaunchGemmMma(trial, dtype, c, gemm_workspace_, gemm_counters_, stream_);
      }
    };
    launch();  // eager first: cuBLASLt plans its algorithm and may reject it here
    if (!ran) continue;
    const float burst_us = time_burst([&] {
      if (gemm_tune_neighbor_) LaunchTuneNeighbor(num_sms_, stream_);
      launch();
      return ran;
    });
    if (burst_us < 0.0f) continue;  // a launch inside the capture was refused
    const float med = burst_us - neighbor_us;
    if (gemm_verbose_) {
      const char* lt_form = c.lt_gelu ? "lg" : (c.lt_fused ? "lf" : "lt");
      log += c.tile == kGemmViaCublas ? fmt::format(" {}{}:{:.1f}", lt_form, c.lt_algo, med)
                                      : fmt::format(" t{}s{}:{:.1f}", c.tile, c.splits, med);
    }
    // cuBLASLt keeps the shape unless a vlart kernel wins by kCublasMargin: near-ties went
    // to vlart's kernels on timing noise, and they ran slower inside the whole model than
    // in these bursts (X-VLA policy +1.2 ms when 262x1024x1024 flipped to tile 4 at 13.6 vs
    // 12.6 us; the wgmma kernel lost 2.6 ms the same way), so a tie is cuBLAS's.
    constexpr float kCublasMargin = 0.92f;
    const float score = c.tile == kGemmViaCublas ? med * kCublasMargin : med;
    scored.emplace_back(score, c);
    if (score < best_score) {
      best_score = score;
      best_us = med;
      best = c;
    }
  }
  if (gemm_verbose_) {
    std::fprintf(stderr,
                 "vlart gemm %dx%dx%d act %d%s -> tile %d splits %d algo %d%s (%.1f us; neighbor %.1f us) |%s\n",
                 p.m, p.n, p.k, p.act, p.b_sealed ? " sealed" : "", best.tile, best.splits, best.lt_algo,
                 best.lt_gelu ? " fused+gelu" : (best.lt_fused ? " fused" : ""), best_us, neighbor_us,
                 log.c_str());
  }
  gemm_configs_.emplace(key, best);
  if (gemm_refine_) {
    // The bursts rank these only roughly against the pick: the forward will
    // (RefineGemmPicks, gemm_refine_plan.h).
    std::sort(scored.begin(), scored.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<GemmRefineCandidate> others;
    for (const auto& [score, c] : scored) {
      // (A pick whose neighbour-corrected score is not positive gives no ratio: no re-tries.)
      const float ratio = best_score > 0.0f ? score / best_score : 1e30f;
      if (c != best) others.push_back(GemmRefineCandidate{ratio, c});
    }
    if (!others.empty()) gemm_refine_candidates_[key] = std::move(others);
    gemm_pick_us_[key] = best_us;
  }
  return best;
}

void CudaBackend::RunGemm(const GemmOperands& g, const RowMaterializer* materialize_a) {
  if (g.m == 0 || g.n == 0) return;
  if (materialize_a == nullptr && TryGemmMma(g)) return;
  const bool residual_is_out = g.residual != nullptr && g.residual == g.d;
  const bool lt_ok = !force_fallback_ && g.k > 0 && IsComputeFloat(g.b_dtype) &&
                     (g.d_dtype == g.b_dtype || g.d_dtype == DType::kF32) && g.d_col_stride == 1 &&
                     (g.residual == nullptr || g.r_col_stride == 1) &&
                     !(residual_is_out && g.act != ActKind::kNone);
  if (!lt_ok) {
    VLART_CHECK(materialize_a == nullptr, "RunGemm: a materialised A needs the cuBLASLt path");
    RunSimtGemm(g);
    return;
  }
  if (materialize_a == nullptr && g.a_dtype == g.b_dtype && g.a_col_stride == 1) {
    RunGemmChunk(g);
    return;
  }
  // A goes through scratch in B's dtype, rows padded to 16 bytes, in as many row chunks as needed.
  const int64_t ld = (g.k + 7) / 8 * 8;
  const size_t row_bytes = static_cast<size_t>(ld) * ElementBytes(g.b_dtype);
  const int64_t chunk_rows = static_cast<int64_t>(scratch_bytes_ / row_bytes);
  VLART_CHECK(chunk_rows >= 1,
              "RunGemm: one {}-byte row of A does not fit the {}-byte scratch; raise "
              "CudaBackendOptions::scratch_bytes",
              row_bytes, scratch_bytes_);
  for (int64_t row0 = 0; row0 < g.m; row0 += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, g.m - row0);
    if (materialize_a != nullptr) {
      (*materialize_a)(row0, rows, scratch_, ld);
    } else {
      StridedArg src;
      src.data = const_cast<void*>(OffsetPtr(g.a, row0 * g.lda, g.a_dtype));
      src.dtype = g.a_dtype;
      src.ndim = 2;
      src.shape[0] = rows;
      src.shape[1] = g.k;
      src.stride[0] = g.lda;
      src.stride[1] = g.a_col_stride;
      StridedArg dst;
      dst.data = scratch_;
      dst.dtype = g.b_dtype;
      dst.ndim = 2;
      dst.shape[0] = rows;
      dst.shape[1] = g.k;
      dst.stride[0] = ld;
      dst.stride[1] = 1;
      CollapseDims({&src, &dst});
      LaunchCopy(src, dst, stream_);
    }
    GemmOperands c = g;
    c.m = rows;
    c.a = scratch_;
    c.a_dtype = g.b_dtype;
    c.lda = ld;
    c.a_col_stride = 1;
    if (g.residual != nullptr) c.residual = OffsetPtr(g.residual, row0 * g.ldr, g.residual_dtype);
    c.d = OffsetPtr(g.d, row0 * g.ldd, g.d_dtype);
    RunGemmChunk(c);
  }
}

void CudaBackend::RunGemmChunk(const GemmOperands& g) {
  if (TryGemmMma(g)) return;
  if (g.d_dtype != DType::kF32 &&
      (g.bias != nullptr || g.act != ActKind::kNone || g.residual != nullptr)) {
    // cuBLASLt would round the product to a 16-bit D before its bias epilogue and before our
    // epilogue pass could add bias/activation/residual: two roundings. So cuBLASLt writes the
    // f32 product into gemm_f32_ (row chunks) and one epilogue pass adds bias, activation and
    // residual in f32 and rounds once, as RunGemmLt does: the op's numerics at cuBLAS's speed.
    // Shapes the tensor-core GEMM does not take land here: K not a multiple of 8, e.g. the
    // RGB patch convolutions (SigLIP's 14x14: K 588, 123 us on the SIMT GEMM at pi0's two
    // views). A residual that is D itself keeps the SIMT GEMM (a chunk that cuBLASLt refused
    // after others had added it could not be redone), as does VLART_LT_F32_EPILOGUE=0 (A/B).
    static const bool lt_f32_epilogue = EnvSwitchOn("VLART_LT_F32_EPILOGUE");
    if (!lt_f32_epilogue || g.residual == g.d ||
        !RunLtF32Epilogue(g, /*algo=*/0, *lt_, gemm_f32_, kGemmWorkspaceFloats, stats_, stream_)) {
      RunSimtGemm(g);
      return;
    }
    ++stats_.gemm_cublaslt;
    return;
  }
  LtGemmProblem p = LtProductOf(g, g.b_dtype, g.d_dtype);
  const bool bias_in_lt = g.bias != nullptr && g.bias_dtype == g.d_dtype && g.bias_stride == 1 &&
                          reinterpret_cast<uintptr_t>(g.bias) % 16 == 0;
  const bool residual_in_lt = g.residual != nullptr && g.act == ActKind::kNone &&
                              g.residual_dtype == g.d_dtype &&
                              (g.residual != g.d || g.ldr == g.ldd);
  p.bias = bias_in_lt ? g.bias : nullptr;
  p.c = residual_in_lt ? g.residual : nullptr;
  p.ldc = g.ldr;
  if (!lt_->Run(p, stream_)) {
    RunSimtGemm(g);
    return;
  }
  ++stats_.gemm_cublaslt;
  const bool bias_left = g.bias != nullptr && !bias_in_lt;
  const bool residual_left = g.residual != nullptr && !residual_in_lt;
  if (g.act == ActKind::kNone && !bias_left && !residual_left) return;
  EpilogueArgs e;
  e.m = g.m;
  e.n = g.n;
  e.d = g.d;
  e.d_dtype = g.d_dtype;
  e.ldd = g.ldd;
  e.bias = bias_left ? g.bias : nullptr;
  e.bias_dtype = g.bias_dtype;
  e.bias_stride = g.bias_stride;
  e.act = g.act;
  e.residual = residual_left ? g.residual : nullptr;
  e.residual_dtype = g.residual_dtype;
  e.ldr = g.ldr;
  LaunchEpilogue(e, stream_);
  ++stats_.epilogue_passes;
}

void CudaBackend::RunSimtGemm(const GemmOperands& g) {
  for (int64_t row0 = 0; row0 < g.m; row0 += kSimtMaxRowsPerLaunch) {
    SimtGemmArgs a;
    a.m = std::min(kSimtMaxRowsPerLaunch, g.m - row0);
    a.n = g.n;
    a.k = g.k;
    a.a = OffsetPtr(g.a, row0 * g.lda, g.a_dtype);
    a.a_dtype = g.a_dtype;
    a.a_m_stride = g.lda;
    a.a_k_stride = g.a_col_stride;
    a.b = g.b;
    a.b_dtype = g.b_dtype;
    a.b_n_stride = g.ldb;
    a.b_k_stride = 1;
    a.bias = g.bias;
    a.bias_dtype = g.bias_dtype;
    a.bias_stride = g.bias_stride;
    a.act = g.act;
    if (g.residual != nullptr) a.residual = OffsetPtr(g.residual, row0 * g.ldr, g.residual_dtype);
    a.residual_dtype = g.residual_dtype;
    a.r_m_stride = g.ldr;
    a.r_n_stride = g.r_col_stride;
    a.d = OffsetPtr(g.d, row0 * g.ldd, g.d_dtype);
    a.d_dtype = g.d_dtype;
    a.d_m_stride = g.ldd;
    a.d_n_stride = g.d_col_stride;
    LaunchSimtGemm(a, stream_);
    ++stats_.gemm_simt;
  }
}

}  // namespace vlart::cuda
