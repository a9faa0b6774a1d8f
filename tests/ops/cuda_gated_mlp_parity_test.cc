// SPDX-License-Identifier: Apache-2.0
//
// cuda_gated_mlp_parity_test.cc: CUDA GatedMlp (gate_up GEMM, activation, down GEMM + residual;
// the opt-in one-kernel form at <= 16 rows, gated_mlp.cu, turned on here with SetGatedMlpFused)
// against the CPU reference chain in every ParityMode, at the expert's shapes (pi0.5: 10 rows,
// adaRMS-normed input, no residual; pi0's folded form: the RMS statistic of x, in place on x)
// and small awkward ones (1, 7, 13, 16 rows); 17 and more rows (pi0's 50) and K not a multiple
// of 64 take the chain. Also: a graph replaying six chained calls repeats the eager bits, and
// the form is off unless turned on.
//
// Tolerance, per element, from the CPU's f32 values (no intermediate roundings) in double:
//   g, u   = x·w (the gate / up rows): f32 reduction ReductionTol(K, ||x|| ||w||) each, then
//            the device rounds them to T (u_T |g|, u_T |u|) as the unfused Linear's output;
//   s      = the row statistic, a K-term f32 sum in another order: relative 2 K u32 (1/sqrt
//            halves it; doubled for the two sides);
//   h      = act(s g)(s u): δh <= L |s u| δ(s g) + |act(s g)| δ(s u) + u_T |h| (its rounding),
//            L = kActLipschitz, plus kFunctionUlps u32 (|act| |s u|) for the activation's f32
//            evaluation;
//   out    = Σ_f h_f d_f + r: Σ_f |d_f| δh_f + ReductionTol(F, Σ|h d|) + u_T |out| + AbsFloor.
// The fused form and the chain both meet it; neither is looser than the chain's own error.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend_internal.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

struct MlpCase {
  const char* name;
  int64_t m, k, f, n;
  bool row_rms;   // the RMS statistic of x (pi0's folded norms)
  bool residual;  // in place: x, residual and out are one view (pi0's stream)
  bool fused;     // the one-kernel form must run (16-bit modes, not the fallback mode)
};

double ActD(Activation act, double v) {
  switch (act) {
    case Activation::kGeluTanh:
      return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    case Activation::kSilu: return v / (1.0 + std::exp(-v));
    default: return v;
  }
}

struct MlpTolerance {
  std::vector<double> out;  // [M, N]
  std::vector<double> h;    // [M, F]
};

// Per-element bounds for out and h (see the header), from the CPU's g | u [M, 2F] in f32.
MlpTolerance Tolerance(const MlpCase& c, DType dt, Activation act, const Tensor& x,
                                 const Tensor& gate_up_w, const Tensor& down_w, const Tensor& gu,
                                 const HostTensor& want, float eps) {
  const double ut = UnitRoundoff(dt);
  const std::vector<double> xn = RowNorms(x), wn = RowNorms(gate_up_w);
  const std::vector<double> xv = Values(x), guv = Values(gu), dv = Values(down_w);
  MlpTolerance tol;
  tol.out.resize(static_cast<size_t>(c.m * c.n));
  tol.h.resize(static_cast<size_t>(c.m * c.f));
  std::vector<double> dh(static_cast<size_t>(c.f)), habs(static_cast<size_t>(c.f));
  for (int64_t i = 0; i < c.m; ++i) {
    double s = 1.0;
    if (c.row_rms) {
      double sq = 0.0;
      for (int64_t k = 0; k < c.k; ++k) sq += xv[i * c.k + k] * xv[i * c.k + k];
      s = 1.0 / std::sqrt(sq / static_cast<double>(c.k) + eps);
    }
    const double ds_rel = c.row_rms ? 2.0 * static_cast<double>(c.k) * kUnitF32 : 0.0;
    for (int64_t j = 0; j < c.f; ++j) {
      const double g = guv[i * 2 * c.f + j], u = guv[i * 2 * c.f + c.f + j];
      const double dg = ReductionTol(c.k, xn[i] * wn[j]) + ut * std::fabs(g);
      const double du = ReductionTol(c.k, xn[i] * wn[c.f + j]) + ut * std::fabs(u);
      const double sg = s * g, su = s * u, a = ActD(act, sg);
      const double dsg = s * dg + ds_rel * std::fabs(sg), dsu = s * du + ds_rel * std::fabs(su);
      const double h = a * su;
      dh[j] = kActLipschitz * std::fabs(su) * dsg + std::fabs(a) * dsu + ut * std::fabs(h) +
              kFunctionUlps * kUnitF32 * (std::fabs(a) * std::fabs(su) + std::fabs(sg));
      habs[j] = std::fabs(h) + dh[j];
      tol.h[static_cast<size_t>(i * c.f + j)] = dh[j] + AbsFloor(dt);
    }
    for (int64_t n = 0; n < c.n; ++n) {
      double prop = 0.0, abs_sum = 0.0;
      for (int64_t j = 0; j < c.f; ++j) {
        const double d = std::fabs(dv[n * c.f + j]);
        prop += d * dh[j];
        abs_sum += d * habs[j];
      }
      const double w = want.data<float>()[i * c.n + n];
      tol.out[static_cast<size_t>(i * c.n + n)] =
          prop + ReductionTol(c.f, abs_sum) + ut * std::fabs(w) + AbsFloor(dt);
    }
  }
  return tol;
}

VLART_PARITY_SUITE(GatedMlpParity);

TEST_P(GatedMlpParity, FusedAndChainMatchTheCpuChain) {
  VLART_REQUIRE_REAL_CUDA();  // reads which form ran (cuda_backend_internal.h)
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  const bool can_fuse = (dt == DType::kBF16 || dt == DType::kF16) && mode != ParityMode::kBF16Fallback;
  Backend& cuda = CudaFor(mode);
  Backend& cpu = CpuRef();
  auto arena = cuda.NewArena();
  const std::vector<MlpCase> cases = {
      {"pi0.5 expert 10x1024 -> 4096 -> 1024", 10, 1024, 4096, 1024, false, false, true},
      {"pi0.5 at pi0's folded form: 10x1024 -> 4096 -> 1024, in place", 10, 1024, 4096, 1024, true, true, true},
      {"pi0 expert 50 rows take the chain, folded norm, in place", 50, 1024, 4096, 1024, true, true, false},
      {"one row 1x128 -> 512 -> 64, in place", 1, 128, 512, 64, true, true, true},
      {"16x128 -> 512 -> 64", 16, 128, 512, 64, false, false, true},
      {"7x64 -> 256 -> 136, folded norm", 7, 64, 256, 136, true, false, true},
      {"13x192 -> 768 -> 256, in place", 13, 192, 768, 256, false, true, true},
      {"16x128 -> 256 -> 8, folded norm, in place", 16, 128, 256, 8, true, true, true},
      {"17 rows take the chain", 17, 128, 512, 64, true, true, false},
      {"K not a multiple of 64 takes the chain: 5x40 -> 256 -> 64", 5, 40, 256, 64, false, false, false},
  };
  const float eps = 1e-6f;
  uint64_t salt = 1300;
  cuda::SetGatedMlpFused(cuda, true);  // opt-in form (off by default)
  for (const Activation act : {Activation::kGeluTanh, Activation::kSilu}) {
    for (const MlpCase& c : cases) {
      const uint64_t seed = TestSeed(++salt);
      SCOPED_TRACE(SeedNote(seed) + " " + c.name + " " + ActivationName(act));
      // Weights at the 1/sqrt(fan-in) scale of a trained layer keep g, u and h O(1).
      const float wk = 1.0f / std::sqrt(static_cast<float>(c.k));
      const float wf = 1.0f / std::sqrt(static_cast<float>(c.f));
      const Twin x = RandomTwin(cuda, *arena, Shape{c.m, c.k}, dt, seed, -2.0f, 2.0f);
      const Twin gate_up = RandomTwin(cuda, *arena, Shape{2 * c.f, c.k}, dt, seed + 1, -wk, wk);
      const Twin down = RandomTwin(cuda, *arena, Shape{c.n, c.f}, dt, seed + 2, -wf, wf);
      const Twin res = RandomTwin(cuda, *arena, Shape{c.m, c.n}, dt, seed + 3, -1.0f, 1.0f);

      // The CPU chain; in place cases keep x (the reference's x is the host copy, unchanged).
      HostTensor want(DType::kF32, Shape{c.m, c.n}), hid_cpu(DType::kF32, Shape{c.m, 2 * c.f});
      HostTensor gu(DType::kF32, Shape{c.m, 2 * c.f});
      cpu.Linear(x.h(), gate_up.h(), nullptr, Activation::kNone, nullptr, gu.view());
      const RowRmsScale rms_cpu{x.h(), eps};
      if (c.residual) cpu.Copy(res.h(), want.view());
      cpu.GatedMlp(x.h(), gate_up.h(), down.h(), act, c.row_rms ? &rms_cpu : nullptr,
                   c.residual ? &want.view() : nullptr, hid_cpu.view(), want.view());
      const MlpTolerance tol =
          Tolerance(c, dt, act, x.h(), gate_up.h(), down.h(), gu.view(), want, eps);

      // In place: x, residual and out are one device view holding x; its residual role then
      // needs want computed from res = x. Re-run the CPU chain that way.
      Tensor xin = x.dev;
      GuardedOutput out = MakeGuarded(cuda, *arena, Shape{c.m, c.n}, dt);
      GuardedOutput hidden = MakeGuarded(cuda, *arena, Shape{c.m, 2 * c.f}, dt);
      HostTensor want_io(DType::kF32, Shape{c.m, c.n});
      if (c.residual && c.k == c.n) {
        // x is the stream: x == residual == out (pi0).
        cuda.Copy(x.dev, out.view);
        xin = out.view;
        cpu.Copy(x.h(), want_io.view());
        cpu.GatedMlp(x.h(), gate_up.h(), down.h(), act, c.row_rms ? &rms_cpu : nullptr, &want_io.view(),
                     hid_cpu.view(), want_io.view());
      } else if (c.residual) {
        cuda.Copy(res.dev, out.view);
      }
      const bool stream_in_place = c.residual && c.k == c.n;
      const RowRmsScale rms_dev{xin, eps};
      cuda::ResetStats(cuda);
      cuda.GatedMlp(xin, gate_up.dev, down.dev, act, c.row_rms ? &rms_dev : nullptr,
                    c.residual ? &out.view : nullptr, hidden.view, out.view);
      EXPECT_EQ(cuda::StatsOf(cuda).gated_mlp_fused, can_fuse && c.fused ? 1 : 0) << "form that ran";
      const HostTensor got = ReadGuarded(cuda, out, "out");
      if (stream_in_place) {
        // The same bound, with the residual term's magnitude from the in-place reference.
        const MlpTolerance tol_io =
            Tolerance(c, dt, act, x.h(), gate_up.h(), down.h(), gu.view(), want_io, eps);
        ExpectClose(got, want_io, tol_io.out, "out (x, residual and out one view)");
      } else {
        ExpectClose(got, want, tol.out, "out");
      }
      // h, left in hidden's first F columns by either form.
      const HostTensor hid = ReadGuarded(cuda, hidden, "hidden");
      HostTensor got_h(DType::kF32, Shape{c.m, c.f}), want_h(DType::kF32, Shape{c.m, c.f});
      cpu.Copy(hid.view().Slice(1, 0, c.f), got_h.view());
      cpu.Copy(hid_cpu.view().Slice(1, 0, c.f), want_h.view());
      ExpectClose(got_h, want_h, tol.h, "h (hidden[:, :F])");
    }
  }
  cuda::SetGatedMlpFused(cuda, false);
}

// Off by default (slower in the model's graph): the chain runs unless a caller turns it on.
TEST_P(GatedMlpParity, TheOneKernelFormIsOptIn) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(1450);
  const Twin x = RandomTwin(cuda, *arena, Shape{10, 128}, dt, seed);
  const Twin gate_up = RandomTwin(cuda, *arena, Shape{1024, 128}, dt, seed + 1, -0.1f, 0.1f);
  const Twin down = RandomTwin(cuda, *arena, Shape{64, 512}, dt, seed + 2, -0.05f, 0.05f);
  const Tensor hidden = arena->Allocate(Shape{10, 1024}, dt);
  const Tensor out = arena->Allocate(Shape{10, 64}, dt);
  cuda::ResetStats(cuda);
  cuda.GatedMlp(x.dev, gate_up.dev, down.dev, Activation::kGeluTanh, nullptr, nullptr, hidden, out);
  EXPECT_EQ(cuda::StatsOf(cuda).gated_mlp_fused, 0);
  const bool can_fuse = (dt == DType::kBF16 || dt == DType::kF16) && mode != ParityMode::kBF16Fallback;
  cuda::SetGatedMlpFused(cuda, true);
  cuda.GatedMlp(x.dev, gate_up.dev, down.dev, Activation::kGeluTanh, nullptr, nullptr, hidden, out);
  cuda::SetGatedMlpFused(cuda, false);
  EXPECT_EQ(cuda::StatsOf(cuda).gated_mlp_fused, can_fuse ? 1 : 0);
  cuda.Synchronize();
}

// Inside a recorded graph (PDL chains, the grid barrier reused by every replay and by several
// launches in one graph) the fused form gives the eager call's bits, replay after replay.
TEST_P(GatedMlpParity, GraphReplaysRepeatTheEagerBits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  if (dt != DType::kBF16 && dt != DType::kF16) GTEST_SKIP() << "the fused form is 16-bit only";
  if (mode == ParityMode::kBF16Fallback) GTEST_SKIP() << "the fallback mode never fuses";
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(1400);
  const int64_t m = 10, k = 1024, f = 4096, n = 1024;
  const float wk = 1.0f / 32.0f, wf = 1.0f / 64.0f;
  const Twin x0 = RandomTwin(cuda, *arena, Shape{m, k}, dt, seed, -2.0f, 2.0f);
  const Twin gate_up = RandomTwin(cuda, *arena, Shape{2 * f, k}, dt, seed + 1, -wk, wk);
  const Twin down = RandomTwin(cuda, *arena, Shape{n, f}, dt, seed + 2, -wf, wf);
  arena->Seal();  // the weights are fetched before the PDL wait, as in the models
  auto work = cuda.NewArena();
  const Tensor stream = work->Allocate(Shape{m, k}, dt);
  const Tensor hidden = work->Allocate(Shape{m, 2 * f}, dt);
  const RowRmsScale rms{stream, 1e-6f};
  constexpr int kLayers = 6;  // six dependent MLPs in a row: each reads the previous one's out
  const auto enqueue = [&]() {
    for (int l = 0; l < kLayers; ++l) {
      cuda.GatedMlp(stream, gate_up.dev, down.dev, Activation::kGeluTanh, &rms, &stream, hidden, stream);
    }
  };
  cuda::SetGatedMlpFused(cuda, true);  // opt-in form (off by default)
  cuda.Copy(x0.dev, stream);
  cuda::ResetStats(cuda);
  enqueue();
  EXPECT_EQ(cuda::StatsOf(cuda).gated_mlp_fused, kLayers);
  HostTensor eager(DType::kF32, Shape{m, k});
  cuda.Download(stream, eager.view());
  auto rec = cuda.Record(enqueue);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  for (int r = 0; r < 5; ++r) {
    SCOPED_TRACE(SeedNote(seed) + " replay " + std::to_string(r));
    cuda.Copy(x0.dev, stream);
    (*rec)->Replay();
    HostTensor got(DType::kF32, Shape{m, k});
    cuda.Download(stream, got.view());
    ExpectClose(got, eager, {0.0}, "six chained MLPs, replayed");
  }
  cuda::SetGatedMlpFused(cuda, false);
}

}  // namespace
}  // namespace vlart::testing
