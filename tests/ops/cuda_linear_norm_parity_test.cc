// SPDX-License-Identifier: Apache-2.0
//
// cuda_linear_norm_parity_test.cc: CUDA LinearResidualLayerNorm against the CPU reference in
// every ParityMode, each form forced in turn (Linear then LayerNorm; the fused split-K form with
// 1, 2, 4 and 8 K slices) and the tuner's pick, at X-VLA's shapes (proj and fc2, batch 1 and 4)
// and awkward ones (K and N that some or all split counts cannot take).
//
// `out` against the CPU's Linear: the Linear parity bound (cuda_linear_parity_test.cc), for a
// product without activation: u_out |want| + ReductionTol(K, S) + AbsFloor, S = ||x_m|| ||w_n||
// + |b_n|, plus u_out |x·wᵀ| where the form may round the product before adding bias and
// residual (the unfused Linear may be cuBLASLt's fused epilogue: Rounding::kProductFirst). The
// fused form sums f32 partials and rounds once, so forced splits keep the one-rounding bound.
// `normed` must be exactly the bits the device's LayerNorm gives for the device's `out` (that
// LayerNorm is checked against the CPU in NormParity), whichever form ran.

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend_internal.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

struct NormCase {
  const char* name;
  int64_t m, k, n;
  bool bias;
  bool in_place;        // residual is out itself
  int64_t out_pad = 0;  // out rows have stride N + out_pad
};

// Splits a case's fused form can take (K in slices of multiples of 8, N a multiple of 8 up to
// 2048); forcing another count runs Linear then LayerNorm.
// The S partials must also fit the backend's 32 MiB f32 GEMM workspace (8 Mi floats).
bool FusedRuns(const NormCase& c, int splits) {
  return splits > 0 && c.n % 8 == 0 && c.n <= 2048 && c.k % splits == 0 && (c.k / splits) % 8 == 0 &&
         c.m * c.n * splits <= (int64_t{8} << 20);
}

VLART_PARITY_SUITE(LinearNormParity);

TEST_P(LinearNormParity, EveryFormMatchesLinearThenLayerNorm) {
  VLART_REQUIRE_REAL_CUDA();  // forces forms and reads which ran (cuda_backend_internal.h)
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  const bool sixteen = dt == DType::kBF16 || dt == DType::kF16;
  Backend& cuda = CudaFor(mode);
  Backend& cpu = CpuRef();
  auto arena = cuda.NewArena();
  const std::vector<NormCase> cases = {
      {"X-VLA fc2 262x4096->1024 in place", 262, 4096, 1024, true, true},
      {"X-VLA proj 262x1024->1024, padded out", 262, 1024, 1024, true, false, 8},
      {"X-VLA batch 4 fc2 1048x4096->1024 in place", 1048, 4096, 1024, true, true},
      {"awkward 37x200->136 no bias", 37, 200, 136, false, false},
      {"one row 1x64->2048", 1, 64, 2048, true, true},
      {"N not a multiple of 8: 5x64->100", 5, 64, 100, true, false},
  };
  const float eps = 1e-5f;
  uint64_t salt = 900;
  for (const NormCase& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    const Twin x = RandomTwin(cuda, *arena, Shape{c.m, c.k}, dt, seed, -1.0f, 1.0f);
    const Twin w = RandomTwin(cuda, *arena, Shape{c.n, c.k}, dt, seed + 1, -1.0f, 1.0f);
    const Twin bias = RandomTwin(cuda, *arena, Shape{c.n}, dt, seed + 2, -1.0f, 1.0f);
    const Twin res = RandomTwin(cuda, *arena, Shape{c.m, c.n}, dt, seed + 3, -2.0f, 2.0f);
    const Twin gamma = RandomTwin(cuda, *arena, Shape{c.n}, dt, seed + 4, 0.5f, 1.5f);
    const Twin beta = RandomTwin(cuda, *arena, Shape{c.n}, dt, seed + 5, -0.5f, 0.5f);
    const Tensor* bias_h = c.bias ? &bias.host.view() : nullptr;
    const Tensor* bias_d = c.bias ? &bias.dev : nullptr;

    HostTensor want(DType::kF32, Shape{c.m, c.n});
    cpu.Linear(x.h(), w.h(), bias_h, Activation::kNone, &res.host.view(), want.view());
    HostTensor product(DType::kF32, Shape{c.m, c.n});
    cpu.Linear(x.h(), w.h(), nullptr, Activation::kNone, nullptr, product.view());
    const auto tol_for = [&](bool product_first) {
      const std::vector<double> xn = RowNorms(x.h()), wn = RowNorms(w.h());
      const double u = UnitRoundoff(dt);
      std::vector<double> tol(static_cast<size_t>(c.m * c.n));
      for (int64_t i = 0; i < c.m; ++i) {
        for (int64_t j = 0; j < c.n; ++j) {
          const size_t e = static_cast<size_t>(i * c.n + j);
          const double s = xn[static_cast<size_t>(i)] * wn[static_cast<size_t>(j)] +
                           (c.bias ? std::fabs(bias.host.data<float>()[j]) : 0.0);
          double t = u * std::fabs(want.data<float>()[e]) + ReductionTol(c.k, s) + AbsFloor(dt);
          if (product_first) t += u * std::fabs(product.data<float>()[e]);
          tol[e] = t;
        }
      }
      return tol;
    };

    for (const int forced : {-1, 0, 1, 2, 4, 8}) {
      SCOPED_TRACE(SeedNote(seed) + " " + c.name + " forced splits " + std::to_string(forced));
      cuda::ForceLinearNormSplits(cuda, forced);
      GuardedOutput out = MakeGuarded(cuda, *arena, Shape{c.m, c.n}, dt, c.out_pad);
      GuardedOutput normed = MakeGuarded(cuda, *arena, Shape{c.m, c.n}, dt);
      cuda::ResetStats(cuda);
      if (c.in_place) {
        cuda.Copy(res.dev, out.view);
        cuda.LinearResidualLayerNorm(x.dev, w.dev, bias_d, out.view, out.view, gamma.dev, beta.dev, eps,
                                     normed.view);
      } else {
        cuda.LinearResidualLayerNorm(x.dev, w.dev, bias_d, res.dev, out.view, gamma.dev, beta.dev, eps,
                                     normed.view);
      }
      const cuda::Stats stats = cuda::StatsOf(cuda);
      const bool fused_allowed = sixteen && mode != ParityMode::kBF16Fallback;
      if (forced >= 0) {
        EXPECT_EQ(stats.linear_norm_fused, fused_allowed && FusedRuns(c, forced) ? 1 : 0) << "form that ran";
      }
      // Only a form that surely fused keeps the one-rounding bound; the tuner may pick either.
      const bool surely_fused = forced > 0 && fused_allowed && FusedRuns(c, forced);
      ExpectClose(ReadGuarded(cuda, out, "out"), want, tol_for(sixteen && !surely_fused),
                  "out against the CPU's Linear");
      // normed: the device LayerNorm's bits for the device's out.
      const Tensor ln = arena->Allocate(Shape{c.m, c.n}, dt);
      cuda.LayerNorm(out.view, gamma.dev, beta.dev, eps, ln);
      HostTensor ln_bits(DType::kF32, Shape{c.m, c.n});  // bf16 / f16 widen exactly
      cuda.Download(ln, ln_bits.view());
      ExpectClose(ReadGuarded(cuda, normed, "normed"), ln_bits, {0.0}, "normed against LayerNorm(out)");
    }
    cuda::ForceLinearNormSplits(cuda, -1);
  }
}

// The tuner times a shape once per backend and reuses the pick; inside a graph capture it
// times nothing (the next eager call does).
TEST_P(LinearNormParity, TunerTimesAShapeOnceAndNeverWhileCapturing) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  if (dt != DType::kBF16 && dt != DType::kF16) GTEST_SKIP() << "the fused form is 16-bit only";
  if (mode == ParityMode::kBF16Fallback) GTEST_SKIP() << "the fallback mode never fuses";
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(950);
  SCOPED_TRACE(SeedNote(seed));
  // A shape no other test uses in this process: 96 x 512 -> 256.
  const Twin x = RandomTwin(cuda, *arena, Shape{96, 512}, dt, seed, -1.0f, 1.0f);
  const Twin w = RandomTwin(cuda, *arena, Shape{256, 512}, dt, seed + 1, -1.0f, 1.0f);
  const Twin gamma = RandomTwin(cuda, *arena, Shape{256}, dt, seed + 2, 0.5f, 1.5f);
  const Twin beta = RandomTwin(cuda, *arena, Shape{256}, dt, seed + 3, -0.5f, 0.5f);
  const Tensor out = arena->Allocate(Shape{96, 256}, dt);
  const Tensor normed = arena->Allocate(Shape{96, 256}, dt);
  cuda.Fill(out, 0.5f);
  const auto call = [&] { cuda.LinearResidualLayerNorm(x.dev, w.dev, nullptr, out, out, gamma.dev, beta.dev, 1e-5f, normed); };
  cuda::ResetStats(cuda);
  Result<std::unique_ptr<RecordedWork>> recorded = cuda.Record(call);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  EXPECT_EQ(cuda::StatsOf(cuda).linear_norm_tunings, 0) << "timed inside a capture";
  call();
  call();
  cuda.Synchronize();
  EXPECT_EQ(cuda::StatsOf(cuda).linear_norm_tunings, 1);
}

}  // namespace
}  // namespace vlart::testing
