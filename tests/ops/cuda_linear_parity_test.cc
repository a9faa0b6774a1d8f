// SPDX-License-Identifier: Apache-2.0
//
// cuda_linear_parity_test.cc: CUDA Linear and DomainLinear against the CPU reference, in every
// ParityMode: awkward sizes with every epilogue (bias, each activation, residual separate or in
// place), strided rows in and out, NaN/Inf rows, f32 activations against low-precision
// weights, and X-VLA's real shapes; plus which implementation ran (cuda_backend_internal.h).
//
// Tolerance (LinearTol): with pre = x·wᵀ + b (the CPU's value) and
// S = ||x_m||·||w_n|| + |b_n| >= Σ_k |x_mk w_nk| + |b_n| (Cauchy-Schwarz),
//   tol = u_out |want| + L (ReductionTol(K, S) + u_w S [x rounded to w's dtype on the device])
//         + [act] (L u_out |pre| + kFunctionUlps u32 (|pre| + |want|)) + AbsFloor(out)
// where L = kActLipschitz when there is an activation (1 otherwise): the GEMM's reduction
// error, the pre-activation rounded to the output dtype before the activation pass (the
// cuBLASLt path writes D, then activates it), the activation's own evaluation, and the final
// rounding. The residual is added in f32 before that rounding on every unfused path.
// The fused cuBLASLt form the tuner may pick in the 16-bit modes (GemmMmaConfig::lt_fused,
// CudaBackendOptions::fused_lt_epilogues) rounds the product x·wᵀ to the output dtype before
// bias and residual are added: Rounding::kProductFirst adds L u_out |x·wᵀ| for that rounding.
// With a kGeluTanh activation the same form may evaluate the GELU in cuBLASLt's epilogue
// (GemmMmaConfig::lt_gelu), whose tanh is not correctly rounded: kProductFirst also adds
// kLtGeluRel |pre| (the bound CublasLtGeluEpilogueIsTheTanhForm measures in f32).
// Cases the tuner decides use TunedRounding(mode); forced unfused configurations keep kOnce.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "backends/cuda/cublaslt_gemm.h"
#include "backends/cuda/cuda_backend_internal.h"
#include "backends/cuda/kernels.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

enum class Residual { kNone, kSeparate, kInPlace };

// How many times a path may round a 16-bit result (see the header).
enum class Rounding { kOnce, kProductFirst };
// cuBLASLt's GELU epilogue against the tanh form in exact arithmetic: |error| <= kLtGeluRel |x|,
// i.e. 0.5 |x| |tanh error| with the tanh error at most 2^-10 (the PTX ISA gives 2^-10.987 as
// tanh.approx.f32's maximum relative error; f32 rounding of the rest is far below).
constexpr double kLtGeluRel = 1.0 / (1 << 11);
Rounding TunedRounding(ParityMode mode) {  // parity backends keep fused_lt_epilogues on
  return mode == ParityMode::kBF16 || mode == ParityMode::kF16 ? Rounding::kProductFirst
                                                               : Rounding::kOnce;
}

struct LinearCase {
  int64_t m, k, n;
  bool bias;
  Activation act;
  Residual residual;
  int64_t x_pad = 0;    // x rows are slices of [M, K + x_pad]
  int64_t out_pad = 0;  // out rows have stride N + out_pad
  bool f32_x = false;   // x stays f32 against weights in the mode's dtype
  bool specials = false;  // NaN in row 0, +inf in row 1
  // w in its own sealed arena (Arena::Seal, as a model's weights): the few-row GEMM then loads
  // it before waiting for the previous kernel, and x is written by a Copy launched right
  // before the GEMM, so those early loads overlap a kernel the GEMM's activations depend on.
  bool sealed_w = false;
};

std::string Describe(const LinearCase& c) {
  return fmt::format("M {} K {} N {} bias {} act {} residual {} x_pad {} out_pad {} f32_x {} sealed_w {}",
                     c.m, c.k, c.n, c.bias, ActivationName(c.act), static_cast<int>(c.residual),
                     c.x_pad, c.out_pad, c.f32_x, c.sealed_w);
}

void RunLinearCase(ParityMode mode, const LinearCase& c, uint64_t seed, Rounding rounding) {
  SCOPED_TRACE(SeedNote(seed) + " " + Describe(c));
  const DType dt = ModeDType(mode);
  const DType x_dt = c.f32_x ? DType::kF32 : dt;
  Backend& cuda = CudaFor(mode);
  Backend& cpu = CpuRef();
  auto arena = cuda.NewArena();

  HostTensor xv = Uniform(Shape{c.m, c.k + c.x_pad}, seed, -1.0f, 1.0f);
  for (int64_t r = 0; r < c.m; ++r) {
    for (int64_t j = c.k; j < c.k + c.x_pad; ++j) xv.data<float>()[r * (c.k + c.x_pad) + j] = kNaN;
  }
  if (c.specials && c.m >= 2) {
    xv.data<float>()[0] = kNaN;
    xv.data<float>()[c.k + c.x_pad] = kInf;
  }
  Twin xbuf = MakeTwin(cuda, *arena, std::move(xv), x_dt);
  const Tensor xh = xbuf.h().Slice(1, 0, c.k);
  Tensor xd = xbuf.dev.Slice(1, 0, c.k);
  std::unique_ptr<Arena> w_arena = c.sealed_w ? cuda.NewArena() : nullptr;
  Twin w = RandomTwin(cuda, c.sealed_w ? *w_arena : *arena, Shape{c.n, c.k}, dt, seed + 1, -1.0f, 1.0f);
  if (c.sealed_w) w_arena->Seal();
  Twin bias = RandomTwin(cuda, *arena, Shape{c.n}, dt, seed + 2, -1.0f, 1.0f);
  Twin res = RandomTwin(cuda, *arena, Shape{c.m, c.n}, dt, seed + 3, -2.0f, 2.0f);
  const Tensor* bias_h = c.bias ? &bias.host.view() : nullptr;
  const Tensor* bias_d = c.bias ? &bias.dev : nullptr;
  const Tensor* res_h = c.residual != Residual::kNone ? &res.host.view() : nullptr;

  HostTensor want(DType::kF32, Shape{c.m, c.n});
  cpu.Linear(xh, w.h(), bias_h, c.act, res_h, want.view());
  HostTensor pre(DType::kF32, Shape{c.m, c.n});
  cpu.Linear(xh, w.h(), bias_h, Activation::kNone, nullptr, pre.view());

  const std::vector<double> xn = RowNorms(xh);
  const std::vector<double> wn = RowNorms(w.h());
  const double u_out = UnitRoundoff(dt);
  const bool has_act = c.act != Activation::kNone;
  const double lip = has_act ? kActLipschitz : 1.0;
  const double x_round = x_dt != dt ? UnitRoundoff(dt) : 0.0;
  std::vector<double> tol(static_cast<size_t>(c.m * c.n));
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      const size_t e = static_cast<size_t>(i * c.n + j);
      const double s = xn[static_cast<size_t>(i)] * wn[static_cast<size_t>(j)] +
                       (c.bias ? std::fabs(bias.host.data<float>()[j]) : 0.0);
      const double p = std::fabs(pre.data<float>()[e]);
      const double wv = std::fabs(want.data<float>()[e]);
      double t = u_out * wv + lip * (ReductionTol(c.k, s) + x_round * s) + AbsFloor(dt);
      if (has_act) t += lip * u_out * p + kFunctionUlps * kUnitF32 * (p + wv);
      if (rounding == Rounding::kProductFirst && c.act == Activation::kGeluTanh) t += kLtGeluRel * p;
      if (rounding == Rounding::kProductFirst && (c.bias || c.residual != Residual::kNone)) {
        const double product = std::fabs(pre.data<float>()[e] - (c.bias ? bias.host.data<float>()[j] : 0.0f));
        t += lip * u_out * product;
      }
      tol[e] = t;
    }
  }

  GuardedOutput out = MakeGuarded(cuda, *arena, Shape{c.m, c.n}, dt, c.out_pad);
  if (c.sealed_w) {  // x from a kernel launched right before the GEMM (poisoned first)
    const Tensor x2 = arena->Allocate(xd.shape, xd.dtype);
    cuda.Fill(x2, kNaN);
    cuda.Synchronize();
    cuda.Copy(xd, x2);
    xd = x2;
  }
  if (c.residual == Residual::kInPlace) {
    cuda.Copy(res.dev, out.view);
    cuda.Linear(xd, w.dev, bias_d, c.act, &out.view, out.view);
  } else {
    cuda.Linear(xd, w.dev, bias_d, c.act, c.residual == Residual::kSeparate ? &res.dev : nullptr, out.view);
  }
  ExpectClose(ReadGuarded(cuda, out, "Linear"), want, tol, "Linear");
}

VLART_PARITY_SUITE(LinearParity);

TEST_P(LinearParity, AwkwardSizesEveryEpilogue) {
  VLART_REQUIRE_CUDA();
  struct Mkn {
    int64_t m, k, n;
  };
  uint64_t salt = 1000;
  for (const Mkn& s : {Mkn{1, 1, 1}, Mkn{1, 7, 19}, Mkn{7, 19, 111}, Mkn{19, 111, 7}, Mkn{111, 7, 1},
                       Mkn{111, 111, 111}, Mkn{7, 64, 33}}) {
    for (Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                           Activation::kSilu, Activation::kSigmoid}) {
      for (Residual r : {Residual::kNone, Residual::kSeparate, Residual::kInPlace}) {
        for (bool bias : {false, true}) {
          LinearCase c{s.m, s.k, s.n, bias, act, r};
          c.x_pad = (salt % 3 == 0) ? 3 : 0;
          c.out_pad = (salt % 2 == 0) ? 2 : 0;
          RunLinearCase(GetParam(), c, TestSeed(++salt), TunedRounding(GetParam()));
        }
      }
    }
  }
}

TEST_P(LinearParity, NanAndInfRowsPropagateLikeTheReference) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 1500;
  for (Activation act : {Activation::kNone, Activation::kGeluTanh, Activation::kSilu}) {
    LinearCase c{7, 19, 111, true, act, Residual::kSeparate};
    c.specials = true;
    RunLinearCase(GetParam(), c, TestSeed(++salt), TunedRounding(GetParam()));
  }
}

TEST_P(LinearParity, F32ActivationsAgainstModeWeights) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 1600;
  for (int64_t m : {1, 19, 262}) {
    LinearCase c{m, 1024, 111, true, Activation::kNone, Residual::kSeparate};
    c.f32_x = true;
    c.x_pad = 5;
    RunLinearCase(GetParam(), c, TestSeed(++salt), TunedRounding(GetParam()));
  }
}

// X-VLA policy layer (262 tokens, width 1024, MLP 4096): qkv, fc1 + GELU-tanh, fc2 + residual
// in place, proj + residual; BART/DaViT-like fc1 + GELU-erf.
TEST_P(LinearParity, ModelRealShapes) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 1700;
  const std::vector<LinearCase> cases = {
      {262, 1024, 3072, true, Activation::kNone, Residual::kNone},
      {262, 1024, 4096, true, Activation::kGeluTanh, Residual::kNone},
      {262, 4096, 1024, true, Activation::kNone, Residual::kInPlace},
      {262, 1024, 1024, true, Activation::kNone, Residual::kSeparate},
      {100, 1024, 4096, true, Activation::kGeluErf, Residual::kNone},
  };
  for (const LinearCase& c : cases) RunLinearCase(GetParam(), c, TestSeed(++salt), TunedRounding(GetParam()));
}

// vlart's tensor-core GEMM in every tile shape and K split the tuner may pick (the tuner
// chooses by speed, so every candidate must compute the op).
TEST_P(LinearParity, EveryTensorCoreGemmConfig) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  if (mode != ParityMode::kBF16 && mode != ParityMode::kF16) GTEST_SKIP() << "16-bit modes only";
  Backend& cuda = CudaFor(mode);
  uint64_t salt = 2100;
  const std::vector<LinearCase> cases = {
      {262, 1024, 1024, true, Activation::kNone, Residual::kInPlace},
      {100, 1024, 3072, true, Activation::kGeluErf, Residual::kNone},
      {50, 2048, 1024, false, Activation::kNone, Residual::kSeparate},
      {7, 64, 33, true, Activation::kSilu, Residual::kNone},
      {130, 520, 200, true, Activation::kGeluTanh, Residual::kSeparate},  // K not a slice multiple
      // Few rows (gemm_skinny.cu's row tiles 16 and 64), with unsealed and sealed weights.
      {10, 1024, 2560, false, Activation::kNone, Residual::kNone},
      {10, 1024, 2560, false, Activation::kNone, Residual::kNone, 0, 0, false, false, true},
      {51, 4096, 1024, false, Activation::kNone, Residual::kInPlace, 0, 0, false, false, true},
      // K, N ragged; x rows of stride 208 (16-byte aligned: the tensor-core GEMMs' requirement).
      {33, 200, 136, true, Activation::kGeluTanh, Residual::kSeparate, 8, 2},
      {33, 200, 136, true, Activation::kGeluTanh, Residual::kSeparate, 8, 2, false, false, true},
      {64, 1024, 192, true, Activation::kSilu, Residual::kNone, 0, 0, false, false, true},
      {16, 72, 8, false, Activation::kNone, Residual::kInPlace},
  };
  for (const LinearCase& c : cases) {
    std::vector<cuda::GemmMmaConfig> configs = cuda::GemmMmaCandidates(c.m, c.n, c.k, 132);
    if (!cuda::GemmWgmmaOffered()) {  // the experimental Hopper kernel must compute the op too
      for (const cuda::GemmMmaConfig& w : cuda::GemmWgmmaCandidates(c.m, c.n, c.k, 132)) configs.push_back(w);
    }
    if (!cuda::GemmSkinnyOffered()) {  // so must the few-row kernel when VLART_SKINNY=0 leaves it out
      for (const cuda::GemmMmaConfig& w : cuda::GemmSkinnyCandidates(c.m, c.n, c.k, 132)) configs.push_back(w);
    }
    for (const cuda::GemmMmaConfig& cfg : configs) {
      SCOPED_TRACE(fmt::format("tile {} splits {}", cfg.tile, cfg.splits));
      cuda::ForceGemmConfig(cuda, cfg.tile, cfg.splits);
      cuda::ResetStats(cuda);
      RunLinearCase(mode, c, TestSeed(++salt), Rounding::kOnce);
      const cuda::Stats s = cuda::StatsOf(cuda);
      EXPECT_EQ(s.gemm_mma, 1);
      const bool skinny = cfg.tile >= cuda::kSkinnyTileBase && cfg.tile < cuda::kWgmmaTileBase;
      const bool early_capable = cfg.tile >= cuda::kSkinnyTileBase;  // skinny and wgmma
      EXPECT_EQ(s.gemm_skinny, skinny ? 1 : 0);
      EXPECT_EQ(s.gemm_b_sealed, early_capable && c.sealed_w ? 1 : 0);
    }
  }
  cuda::ForceGemmConfig(cuda, -1, 1);
}

// The few-row and wgmma GEMMs' early weight loads change when bytes arrive, never what is computed:
// with the same weights in a sealed arena (loads before the wait on the previous kernel)
// and in an ordinary one (loads after it), every configuration gives the same bits, also
// when x and the in-place residual are written by kernels launched right before the GEMM.
TEST_P(LinearParity, TensorCoreGemmSealedWeightsMatchUnsealedBits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  if (mode != ParityMode::kBF16 && mode != ParityMode::kF16) GTEST_SKIP() << "16-bit modes only";
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  uint64_t salt = 2400;
  for (const LinearCase& c : {LinearCase{51, 1024, 2560, false, Activation::kNone, Residual::kNone},
                              LinearCase{10, 4096, 1024, false, Activation::kNone, Residual::kInPlace},
                              LinearCase{33, 200, 136, true, Activation::kGeluTanh, Residual::kSeparate}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + Describe(c));
    auto arena = cuda.NewArena();
    auto sealed_arena = cuda.NewArena();
    const Twin x = RandomTwin(cuda, *arena, Shape{c.m, c.k}, dt, seed);
    const Twin w = RandomTwin(cuda, *arena, Shape{c.n, c.k}, dt, seed + 1);
    const Twin bias = RandomTwin(cuda, *arena, Shape{c.n}, dt, seed + 2);
    const Twin res = RandomTwin(cuda, *arena, Shape{c.m, c.n}, dt, seed + 3);
    const Tensor w_sealed = sealed_arena->Allocate(w.dev.shape, dt);
    cuda.Copy(w.dev, w_sealed);
    sealed_arena->Seal();
    const Tensor x_run = arena->Allocate(x.dev.shape, dt);
    const Tensor out = arena->Allocate(Shape{c.m, c.n}, dt);
    const auto run = [&](const Tensor& weights) {
      cuda.Fill(out, -3.0f);
      cuda.Fill(x_run, kNaN);
      cuda.Synchronize();
      cuda.Copy(x.dev, x_run);  // the kernels right before the GEMM write its inputs
      if (c.residual == Residual::kInPlace) cuda.Copy(res.dev, out);
      const Tensor* r = c.residual == Residual::kInPlace ? &out : (c.residual == Residual::kSeparate ? &res.dev : nullptr);
      cuda.Linear(x_run, weights, c.bias ? &bias.dev : nullptr, c.act, r, out);
      HostTensor h(dt, out.shape);
      cuda.Download(out, h.view());
      const auto* p = static_cast<const unsigned char*>(h.view().data);
      return std::vector<unsigned char>(p, p + h.nbytes());
    };
    std::vector<cuda::GemmMmaConfig> configs = cuda::GemmSkinnyCandidates(c.m, c.n, c.k, 132);
    if (configs.empty()) GTEST_SKIP() << "the few-row GEMM needs sm_90 (clusters)";
    // The wgmma GEMM's early weight boxes (sm_90a builds only: none offered elsewhere).
    for (const cuda::GemmMmaConfig& cfg : cuda::GemmWgmmaCandidates(c.m, c.n, c.k, 132)) configs.push_back(cfg);
    for (const cuda::GemmMmaConfig& cfg : configs) {
      SCOPED_TRACE(fmt::format("tile {} splits {}", cfg.tile, cfg.splits));
      cuda::ForceGemmConfig(cuda, cfg.tile, cfg.splits);
      const auto plain = run(w.dev);
      cuda::ResetStats(cuda);
      const auto early = run(w_sealed);
      EXPECT_EQ(cuda::StatsOf(cuda).gemm_b_sealed, 1);
      EXPECT_TRUE(plain == early) << "sealed weights changed the result";
    }
    cuda::ForceGemmConfig(cuda, -1, 1);
  }
}

// The unfused cuBLASLt candidate of the tuner in the 16-bit modes: straight to D for a plain
// product (no bias, activation or residual), else the f32 product + one epilogue pass. Both
// round once, so the one-rounding tolerance. (A residual as cuBLASLt's C failed that bound
// on the H100: one-ulp errors in bf16; so did the bias epilogue, in ConvParity's 784x2304 ->
// 512 GEMM. Those are the fused form, tested below against its two-rounding bound.)
TEST_P(LinearParity, CublasLtCandidateBothForms) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  if (mode != ParityMode::kBF16 && mode != ParityMode::kF16) GTEST_SKIP() << "16-bit modes only";
  Backend& cuda = CudaFor(mode);
  uint64_t salt = 2600;
  struct Case {
    LinearCase c;
    bool direct;
  };
  const std::vector<Case> cases = {
      {{526, 2048, 4096, false, Activation::kNone, Residual::kNone}, true},      // Gemma gate/up-like
      {{50, 2048, 1024, false, Activation::kNone, Residual::kInPlace}, false},   // o_proj + residual
      {{130, 520, 200, false, Activation::kNone, Residual::kSeparate}, false},
      {{7, 64, 40, false, Activation::kNone, Residual::kNone, 8, 8}, true},      // padded rows
      {{262, 1024, 3072, true, Activation::kNone, Residual::kNone}, false},      // bias: f32 pass
      {{50, 1024, 2560, false, Activation::kNone, Residual::kNone}, true},
      {{262, 1024, 1024, true, Activation::kNone, Residual::kSeparate}, false},  // bias + residual
      {{100, 1024, 512, false, Activation::kGeluTanh, Residual::kNone}, false},  // activation
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(fmt::format("M {} K {} N {} direct {}", k.c.m, k.c.k, k.c.n, k.direct));
    cuda::ForceGemmConfig(cuda, cuda::kForceCublas, 1);
    cuda::ResetStats(cuda);
    RunLinearCase(mode, k.c, TestSeed(++salt), Rounding::kOnce);
    const cuda::Stats s = cuda::StatsOf(cuda);
    EXPECT_EQ(s.gemm_cublaslt, 1);
    EXPECT_EQ(s.gemm_lt_direct, k.direct ? 1 : 0);
    EXPECT_EQ(s.epilogue_passes, k.direct ? 0 : 1);
  }
  cuda::ForceGemmConfig(cuda, -1, 1);
}

// Every cuBLASLt algorithm the tuner may pick (LtGemm keeps the heuristic's first
// CublasLtMaxAlgosOf) rounds once: the same tolerance as every other path. An algorithm number the
// heuristic did not return falls back to vlart's GEMM (still checked).
TEST_P(LinearParity, EveryCublasLtAlgorithm) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  if (mode != ParityMode::kBF16 && mode != ParityMode::kF16) GTEST_SKIP() << "16-bit modes only";
  Backend& cuda = CudaFor(mode);
  uint64_t salt = 2700;
  const std::vector<LinearCase> cases = {
      {50, 1024, 2560, false, Activation::kNone, Residual::kNone},     // pi0 expert qkv
      {50, 4096, 1024, false, Activation::kNone, Residual::kInPlace},  // expert down + residual
      {262, 1024, 3072, true, Activation::kNone, Residual::kNone},     // X-VLA qkv + bias
      {262, 1024, 4096, true, Activation::kGeluTanh, Residual::kNone}, // fc1: f32 + epilogue
      {10, 2048, 1024, false, Activation::kNone, Residual::kNone},     // pi0.5 expert o
  };
  for (int algo = 0; algo < cuda::CublasLtMaxAlgosOf(cuda); ++algo) {
    for (const LinearCase& c : cases) {
      SCOPED_TRACE(fmt::format("cuBLASLt algorithm {}", algo));
      cuda::ForceGemmConfig(cuda, cuda::kForceCublas, 1, algo);
      RunLinearCase(mode, c, TestSeed(++salt), Rounding::kOnce);
    }
  }
  cuda::ForceGemmConfig(cuda, -1, 1);
}

// The fused cuBLASLt form (bias epilogue, residual as C, straight to 16-bit D; activation as
// a pass over D) in every algorithm the tuner may pick, against the two-rounding bound. A
// plain product and activation + residual have no fused form: RunGemmLt refuses them and
// TryGemmMma falls back to vlart's GEMM (still checked, one rounding).
TEST_P(LinearParity, EveryFusedCublasLtAlgorithm) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  if (mode != ParityMode::kBF16 && mode != ParityMode::kF16) GTEST_SKIP() << "16-bit modes only";
  Backend& cuda = CudaFor(mode);
  uint64_t salt = 2900;
  struct Case {
    LinearCase c;
    bool fusable;
  };
  const std::vector<Case> cases = {
      {{262, 1024, 3072, true, Activation::kNone, Residual::kNone}, true},        // X-VLA qkv
      {{262, 1024, 1024, true, Activation::kNone, Residual::kInPlace}, true},     // proj + residual
      {{262, 4096, 1024, true, Activation::kNone, Residual::kSeparate}, true},    // fc2 + residual
      {{262, 1024, 4096, true, Activation::kGeluTanh, Residual::kNone}, true},    // fc1 + GELU pass
      {{50, 2048, 1024, false, Activation::kNone, Residual::kInPlace}, true},     // expert o + residual
      {{7, 64, 40, true, Activation::kSilu, Residual::kNone, 8, 8}, true},        // padded rows
      {{130, 520, 200, true, Activation::kGeluTanh, Residual::kSeparate}, false}, // act + residual
      {{50, 1024, 2560, false, Activation::kNone, Residual::kNone}, false},       // plain product
  };
  for (int algo = 0; algo < cuda::CublasLtMaxAlgosOf(cuda); ++algo) {
    for (const Case& k : cases) {
      SCOPED_TRACE(fmt::format("fused cuBLASLt algorithm {}, fusable {}", algo, k.fusable));
      cuda::ForceGemmConfig(cuda, cuda::kForceCublas, 1, algo, /*lt_fused=*/true);
      cuda::ResetStats(cuda);
      RunLinearCase(mode, k.c, TestSeed(++salt), k.fusable ? Rounding::kProductFirst : Rounding::kOnce);
      const cuda::Stats s = cuda::StatsOf(cuda);
      if (!k.fusable) {
        EXPECT_EQ(s.gemm_lt_fused, 0);
      }
      if (k.fusable && algo == 0) {  // the heuristic's first algorithm always exists
        EXPECT_EQ(s.gemm_lt_fused, 1);
        EXPECT_EQ(s.epilogue_passes, k.c.act != Activation::kNone ? 1 : 0);
      }
    }
  }
  cuda::ForceGemmConfig(cuda, -1, 1);
}

// cuBLASLt's GELU epilogue (GemmMmaConfig::lt_gelu) is offered only for Activation::kGeluTanh,
// because cuBLASLt's documentation does not say which GELU it computes. Measured here, in f32
// output on exact pre-activations (x = j/32 in [-6, 6], one nonzero product term, no rounding
// before the GELU): regressing D - gelu_tanh(x) on gelu_erf(x) - gelu_tanh(x) gives a
// coefficient near 0 for the tanh form and near 1 for the erf form; the tanh form must also stay
// within kLtGeluRel |x|. Then the bf16 / f16 Linear with the GELU epilogue, every algorithm, at
// X-VLA's fc1 and SigLIP's fc1 shapes, against the CPU reference with that bound.
TEST_P(LinearParity, CublasLtGeluEpilogueIsTheTanhForm) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  if (mode != ParityMode::kBF16 && mode != ParityMode::kF16) GTEST_SKIP() << "16-bit modes only";
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  {
    constexpr int64_t kRows = 385, kK = 16, kN = 8;  // x = (r - 192) / 32
    HostTensor a(DType::kF32, Shape{kRows, kK});
    HostTensor w(DType::kF32, Shape{kN, kK});
    for (int64_t r = 0; r < kRows; ++r) a.data<float>()[r * kK] = static_cast<float>(r - 192) / 32.0f;
    for (int64_t n = 0; n < kN; ++n) w.data<float>()[n * kK] = 1.0f;
    Twin ad = MakeTwin(cuda, *arena, std::move(a), dt);
    Twin wd = MakeTwin(cuda, *arena, std::move(w), dt);
    const Tensor d = arena->Allocate(Shape{kRows, kN}, DType::kF32);
    auto lt = cuda::LtGemm::Create(size_t{4} << 20);
    ASSERT_TRUE(lt.ok()) << lt.status().ToString();
    cuda::LtGemmProblem p;
    p.m = kRows;
    p.n = kN;
    p.k = kK;
    p.a = ad.dev.data;
    p.lda = kK;
    p.b = wd.dev.data;
    p.ldb = kK;
    p.ab_dtype = dt;
    p.d = d.data;
    p.ldd = kN;
    p.d_dtype = DType::kF32;
    p.gelu = true;
    ASSERT_TRUE((*lt)->Run(p, cuda::StreamOf(cuda)));
    HostTensor got(DType::kF32, d.shape);
    cuda.Download(d, got.view());
    cuda.Synchronize();
    double num = 0, den = 0, worst = 0;
    for (int64_t r = 0; r < kRows; ++r) {
      const double x = static_cast<double>(r - 192) / 32.0;
      const double tanh_form = 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
      const double erf_form = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
      for (int64_t n = 0; n < kN; ++n) {
        const double e = got.data<float>()[r * kN + n] - tanh_form;
        num += e * (erf_form - tanh_form);
        den += (erf_form - tanh_form) * (erf_form - tanh_form);
        worst = std::max(worst, std::fabs(e) / std::max(std::fabs(x), 1.0 / 32));
        EXPECT_LE(std::fabs(e), kLtGeluRel * std::fabs(x) + 1e-6) << "x " << x;
      }
    }
    const double beta = num / den;
    std::printf("cuBLASLt GELU epilogue: regression on (erf - tanh) %.4f (tanh form 0, erf form 1); "
                "max |D - gelu_tanh| / |x| %.3g\n", beta, worst);
    EXPECT_LT(std::fabs(beta), 0.25) << "cuBLASLt's GELU epilogue is not the tanh form";
  }
  uint64_t salt = 3300;
  for (int algo = 0; algo < cuda::CublasLtMaxAlgosOf(cuda); ++algo) {
    for (const LinearCase& c : {LinearCase{262, 1024, 4096, true, Activation::kGeluTanh, Residual::kNone},
                                LinearCase{512, 1152, 4304, true, Activation::kGeluTanh, Residual::kNone},
                                LinearCase{7, 64, 40, true, Activation::kGeluTanh, Residual::kNone, 8, 8}}) {
      SCOPED_TRACE(fmt::format("GELU epilogue, cuBLASLt algorithm {}", algo));
      cuda::ForceGemmConfig(cuda, cuda::kForceCublas, 1, algo, /*lt_fused=*/true, /*lt_gelu=*/true);
      cuda::ResetStats(cuda);
      RunLinearCase(mode, c, TestSeed(++salt), Rounding::kProductFirst);
      const cuda::Stats s = cuda::StatsOf(cuda);
      if (algo == 0) {  // the heuristic's first algorithm always exists
        EXPECT_EQ(s.gemm_lt_gelu, 1);
        EXPECT_EQ(s.epilogue_passes, 0);
      }
    }
  }
  cuda::ForceGemmConfig(cuda, -1, 1);
}

// The fast paths really run: cuBLASLt for the model shapes (no SIMT fallback, no extra pass
// when the epilogue fits cuBLASLt's), the SIMT kernel in fallback mode.
TEST_P(LinearParity, ModelShapesTakeTheExpectedPath) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  Backend& cuda = CudaFor(mode);
  const DType dt = ModeDType(mode);
  auto arena = cuda.NewArena();
  const Tensor x = arena->Allocate(Shape{262, 4096}, dt);
  const Tensor w = arena->Allocate(Shape{1024, 4096}, dt);
  const Tensor b = arena->Allocate(Shape{1024}, dt);
  const Tensor out = arena->Allocate(Shape{262, 1024}, dt);
  for (const Tensor* t : {&x, &w, &b, &out}) cuda.Fill(*t, 0.5f);
  cuda::ResetStats(cuda);
  cuda.Linear(x, w, &b, Activation::kNone, &out, out);
  cuda.Synchronize();
  const cuda::Stats s = cuda::StatsOf(cuda);
  if (mode == ParityMode::kBF16Fallback) {
    EXPECT_EQ(s.gemm_cublaslt, 0);
    EXPECT_EQ(s.gemm_simt, 1);
  } else if (dt == DType::kF32) {
    EXPECT_EQ(s.gemm_cublaslt, 1);
    EXPECT_EQ(s.gemm_simt, 0);
    EXPECT_EQ(s.epilogue_passes, 0);  // bias and in-place residual both inside cuBLASLt
  } else {
    // The tuned choice: vlart's GEMM, cuBLASLt's f32 product + one epilogue pass, or the
    // fused cuBLASLt form (bias and in-place residual inside cuBLASLt).
    EXPECT_EQ(s.gemm_mma + s.gemm_cublaslt, 1);
    EXPECT_EQ(s.gemm_simt, 0);
  }
}

// ---- DomainLinear ----------------------------------------------------------------------------

VLART_PARITY_SUITE(DomainLinearParity);

TEST_P(DomainLinearParity, PerSampleWeightsPickedOnTheDevice) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    int64_t batch, tokens, k, n, domains, x_pad;
  };
  uint64_t salt = 1800;
  // X-VLA: action encoder 72 -> 1024, decoder 1024 -> 20, 30 domains, 30 action tokens. Narrow N
  // (<= 32) with K >= 128 takes the block-per-row kernel: N 32 and 1, K not a multiple of 128.
  for (const Case& c : {Case{1, 1, 1, 1, 1, 0}, Case{3, 7, 19, 111, 5, 3}, Case{2, 30, 72, 1024, 30, 0},
                        Case{2, 30, 1024, 20, 30, 4}, Case{2, 5, 300, 32, 4, 0}, Case{1, 3, 129, 1, 2, 2},
                        Case{3, 2, 127, 33, 3, 1}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + fmt::format(" B {} T {} K {} N {} D {}", c.batch, c.tokens, c.k, c.n, c.domains));
    HostTensor xv = Uniform(Shape{c.batch, c.tokens, c.k + c.x_pad}, seed);
    Twin xbuf = MakeTwin(cuda, *arena, std::move(xv), dt);
    const Tensor xh = xbuf.h().Slice(2, 0, c.k);
    const Tensor xd = xbuf.dev.Slice(2, 0, c.k);
    Twin table = RandomTwin(cuda, *arena, Shape{c.domains, c.k * c.n}, dt, seed + 1);
    Twin bias = RandomTwin(cuda, *arena, Shape{c.domains, c.n}, dt, seed + 2);
    std::vector<int32_t> ids(static_cast<size_t>(c.batch));
    for (int64_t b = 0; b < c.batch; ++b) ids[static_cast<size_t>(b)] = static_cast<int32_t>((3 + 7 * b) % c.domains);
    Twin id = IntTwin(cuda, *arena, ids, Shape{c.batch});
    const Shape out_shape{c.batch, c.tokens, c.n};
    HostTensor want(DType::kF32, out_shape);
    CpuRef().DomainLinear(xh, table.h(), bias.h(), id.h(), want.view());
    // Bound: a length-K reduction with S = Σ_k |x_tk W_d[k, n]| + |b_d[n]| (exact here), then
    // the output rounding.
    const std::vector<double> xs = Values(xh);
    std::vector<double> tol(static_cast<size_t>(want.numel()));
    for (int64_t b = 0; b < c.batch; ++b) {
      const int64_t d = ids[static_cast<size_t>(b)];
      const float* wd = table.host.data<float>() + d * c.k * c.n;
      for (int64_t t = 0; t < c.tokens; ++t) {
        for (int64_t n = 0; n < c.n; ++n) {
          double s = std::fabs(bias.host.data<float>()[d * c.n + n]);
          for (int64_t k = 0; k < c.k; ++k) s += std::fabs(xs[static_cast<size_t>((b * c.tokens + t) * c.k + k)] * wd[k * c.n + n]);
          const size_t e = static_cast<size_t>((b * c.tokens + t) * c.n + n);
          tol[e] = UnitRoundoff(dt) * std::fabs(want.data<float>()[e]) + ReductionTol(c.k, s) + AbsFloor(dt);
        }
      }
    }
    GuardedOutput out = MakeGuarded(cuda, *arena, out_shape, dt, 1);
    cuda.DomainLinear(xd, table.dev, bias.dev, id.dev, out.view);
    ExpectClose(ReadGuarded(cuda, out, "DomainLinear"), want, tol, "DomainLinear");
  }
}

}  // namespace
}  // namespace vlart::testing
