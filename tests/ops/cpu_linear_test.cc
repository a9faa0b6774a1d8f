// SPDX-License-Identifier: Apache-2.0
//
// cpu_linear_test.cc: Linear and DomainLinear of the CPU reference backend.
//
// Integer-valued GEMMs are compared bitwise (every partial sum is an integer below 2^24,
// so any summation order is exact); random cases against double loops with the
// Wilkinson bound gamma_K Σ|x w| for the f32 dot product plus one rounding per
// epilogue step (cpu_test_util.h).

#include <gtest/gtest.h>
#include <omp.h>

#include <array>
#include <cmath>
#include <vector>

#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

double ActD(Activation act, double x) {
  switch (act) {
    case Activation::kNone: return x;
    case Activation::kGeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::kGeluTanh:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case Activation::kSilu: return x / (1.0 + std::exp(-x));
    case Activation::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
  }
  return x;
}

// act(x · wᵀ + b) + r in double, with a bound for the f32 result: the dot product's
// gamma_K Σ|x w|, the bias add (u |t|), then the activation, whose slope is at most
// 1.13 (GELU's max slope; SiLU 1.1, sigmoid 0.25) and whose own f32 evaluation costs
// at most 8u (|t| + |act(t)|) (libm erf/tanh/exp within 2 ulp, a handful of roundings),
// then the residual add (u |out|).
void LinearReference(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
                     const Tensor* residual, std::vector<double>* want, std::vector<double>* tol) {
  const int64_t m = x.shape[0], k = x.shape[1], n = w.shape[0];
  want->assign(m * n, 0.0);
  tol->assign(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0, abs = 0.0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const double p = At(x, {i, kk}) * At(w, {j, kk});
        acc += p;
        abs += std::fabs(p);
      }
      double err = Gamma(k) * abs;
      double t = acc;
      if (bias != nullptr) {
        t += At(*bias, {j});
        err += kU * std::fabs(t);
      }
      double a = ActD(act, t);
      if (act != Activation::kNone) err = 1.13 * err + 8 * kU * (std::fabs(t) + std::fabs(a));
      if (residual != nullptr) {
        a += At(*residual, {i, j});
        err += kU * std::fabs(a);
      }
      (*want)[i * n + j] = a;
      (*tol)[i * n + j] = err + 1e-30;
    }
  }
}

TEST(CpuLinear, IntegerGemmIsBitExact) {
  // |Σ| <= 8 * 8 * 1024 + 8 + 8 < 2^24: every partial sum is exact in f32.
  for (const auto& [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {37, 300, 45},
                                                                   {7, 1024, 19}}) {
    const HostTensor x = RandomIntegers({m, k}, 1, -8, 8);
    const HostTensor w = RandomIntegers({n, k}, 2, -8, 8);
    const HostTensor b = RandomIntegers({n}, 3, -8, 8);
    const HostTensor r = RandomIntegers({m, n}, 4, -8, 8);
    HostTensor out(DType::kF32, {m, n});
    Cpu().Linear(x.view(), w.view(), &b.view(), Activation::kNone, &r.view(), out.view());
    std::vector<double> want(m * n);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        int64_t acc = 0;
        for (int64_t kk = 0; kk < k; ++kk) {
          acc += static_cast<int64_t>(x.data<float>()[i * k + kk]) *
                 static_cast<int64_t>(w.data<float>()[j * k + kk]);
        }
        want[i * n + j] = static_cast<double>(acc + static_cast<int64_t>(b.data<float>()[j]) +
                                              static_cast<int64_t>(r.data<float>()[i * n + j]));
      }
    }
    ExpectExact(out.view(), want, fmt::format("Linear {}x{}x{}", m, k, n));
  }
}

TEST(CpuLinear, ProductsSplitAcrossThreads) {
  // Large enough for Gemm to split C across OpenMP threads: by rows (M = 70) and, with
  // few rows, by columns (M = 3). Three threads make uneven blocks. Integer inputs give
  // exact results whatever the split; random ones stay within the bound.
  const int saved = omp_get_max_threads();
  omp_set_num_threads(3);
  for (const auto& [m, k, n] : std::vector<std::array<int64_t, 3>>{{70, 300, 130}, {3, 300, 2000}}) {
    const HostTensor xi = RandomIntegers({m, k}, 60, -8, 8);
    const HostTensor wi = RandomIntegers({n, k}, 61, -8, 8);
    HostTensor out(DType::kF32, {m, n});
    Cpu().Linear(xi.view(), wi.view(), nullptr, Activation::kNone, nullptr, out.view());
    std::vector<double> want, tol;
    LinearReference(xi.view(), wi.view(), nullptr, Activation::kNone, nullptr, &want, &tol);
    ExpectExact(out.view(), want, fmt::format("split Linear {}x{}x{} (integers)", m, k, n));
    const HostTensor x = Random({m, k}, 62);
    const HostTensor w = Random({n, k}, 63);
    const HostTensor b = Random({n}, 64);
    Cpu().Linear(x.view(), w.view(), &b.view(), Activation::kGeluErf, nullptr, out.view());
    LinearReference(x.view(), w.view(), &b.view(), Activation::kGeluErf, nullptr, &want, &tol);
    ExpectWithin(out.view(), want, tol, fmt::format("split Linear {}x{}x{}", m, k, n));
  }
  omp_set_num_threads(saved);
}

TEST(CpuLinear, HandComputedEpilogueOrderIsBiasActivationResidual) {
  // x · wᵀ = [1*1 + 2*1] = 3; + bias (-4) = -1; silu(-1) = -1/(1+e); + residual 3.
  const HostTensor x = Full({1, 2}, 0.0f);
  x.data<float>()[0] = 1.0f;
  x.data<float>()[1] = 2.0f;
  const HostTensor w = Full({1, 2}, 1.0f);
  const HostTensor b = Full({1}, -4.0f);
  const HostTensor r = Full({1, 1}, 3.0f);
  HostTensor out(DType::kF32, {1, 1});
  Cpu().Linear(x.view(), w.view(), &b.view(), Activation::kSilu, &r.view(), out.view());
  const double want = -1.0 / (1.0 + std::exp(1.0)) + 3.0;  // 2.7310585786300049
  // silu(-1) = -0.2689..: f32 evaluation within a few ulp of 0.27, then the add.
  EXPECT_NEAR(out.data<float>()[0], want, 8 * kU * 3.3);
}

TEST(CpuLinear, MatchesDoubleReferenceForEveryActivation) {
  const HostTensor x = Random({19, 111}, 10, -2.0f, 2.0f);
  const HostTensor w = Random({7, 111}, 11, -0.3f, 0.3f);
  const HostTensor b = Random({7}, 12);
  const HostTensor r = Random({19, 7}, 13);
  for (Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                         Activation::kSilu, Activation::kSigmoid}) {
    for (bool with_bias : {false, true}) {
      for (bool with_residual : {false, true}) {
        const Tensor* bp = with_bias ? &b.view() : nullptr;
        const Tensor* rp = with_residual ? &r.view() : nullptr;
        HostTensor out(DType::kF32, {19, 7});
        Cpu().Linear(x.view(), w.view(), bp, act, rp, out.view());
        std::vector<double> want, tol;
        LinearReference(x.view(), w.view(), bp, act, rp, &want, &tol);
        ExpectWithin(out.view(), want, tol,
                     fmt::format("Linear act={} bias={} residual={}", ActivationName(act),
                                 with_bias, with_residual));
      }
    }
  }
}

TEST(CpuLinear, StridedRowsInAndOut) {
  // x is every other row of a [2M, K] buffer; out and residual are padded views.
  const HostTensor buffer = Random({2 * 19, 33}, 20);
  const Tensor x = buffer.view().Reshape({19, 2, 33}).Select(1, 1);  // [19, 33], row stride 66
  ASSERT_EQ(x.stride[0], 66);
  const HostTensor w = Random({9, 33}, 21);
  const HostTensor b = Random({9}, 22);
  Padded r = PaddedF32({19, 9}, {0, 5});
  FromDouble(ToDouble(Random({19, 9}, 23).view()), r.view);
  Padded out = PaddedF32({19, 9}, {3, 7});
  Cpu().Linear(x, w.view(), &b.view(), Activation::kGeluTanh, &r.view, out.view);
  std::vector<double> want, tol;
  LinearReference(x, w.view(), &b.view(), Activation::kGeluTanh, &r.view, &want, &tol);
  ExpectWithin(out.view, want, tol, "Linear on strided views");
  ExpectPaddingUntouched(out, "Linear out padding");
}

TEST(CpuLinear, BroadcastInputRowsArePacked) {
  // x: one row repeated M times through a stride-0 dim (not a valid BLAS leading dim).
  const HostTensor row = Random({1, 40}, 30);
  const Tensor x = row.view().Broadcast({5, 40});
  ASSERT_EQ(x.stride[0], 0);
  const HostTensor w = Random({6, 40}, 31);
  HostTensor out(DType::kF32, {5, 6});
  Cpu().Linear(x, w.view(), nullptr, Activation::kNone, nullptr, out.view());
  std::vector<double> want, tol;
  LinearReference(x, w.view(), nullptr, Activation::kNone, nullptr, &want, &tol);
  ExpectWithin(out.view(), want, tol, "Linear with broadcast rows");
  // The packed operand must be exactly the materialised matrix: the same call on a
  // contiguous copy gives the same bits. (Not "every row equals row 0": OpenBLAS rounds a
  // row by its place in the kernel's row tiles, which differs between CPUs; a CI machine
  // with other sgemm kernels failed that form.)
  const HostTensor dense = HostTensor::CopyOf(x);
  ASSERT_EQ(dense.view().stride[0], 40);
  HostTensor dense_out(DType::kF32, {5, 6});
  Cpu().Linear(dense.view(), w.view(), nullptr, Activation::kNone, nullptr, dense_out.view());
  ExpectBitEqual(out.view(), dense_out.view(), "Linear on broadcast rows == on a dense copy");
}

TEST(CpuLinear, ResidualMayAliasOut) {
  const HostTensor x = Random({7, 19}, 40);
  const HostTensor w = Random({111, 19}, 41);
  const HostTensor b = Random({111}, 42);
  const HostTensor r = Random({7, 111}, 43);
  HostTensor separate(DType::kF32, {7, 111});
  Cpu().Linear(x.view(), w.view(), &b.view(), Activation::kGeluErf, &r.view(), separate.view());
  HostTensor inplace = HostTensor::CopyOf(r.view());
  Cpu().Linear(x.view(), w.view(), &b.view(), Activation::kGeluErf, &inplace.view(),
               inplace.view());
  ExpectBitEqual(inplace.view(), separate.view(), "Linear with residual == out");
}

// ---- DomainLinear ---------------------------------------------------------------------

TEST(CpuDomainLinear, HandComputedWeightTableIsInOutOrder) {
  // One domain, K = 2, N = 3: W_0 = [[1, 2, 3], [4, 5, 6]] stored row-major [in, out].
  HostTensor wt(DType::kF32, {1, 6});
  for (int i = 0; i < 6; ++i) wt.data<float>()[i] = static_cast<float>(i + 1);
  HostTensor bt(DType::kF32, {1, 3});
  bt.data<float>()[0] = 0.5f;
  bt.data<float>()[1] = 0.25f;
  bt.data<float>()[2] = -1.0f;
  HostTensor x(DType::kF32, {1, 1, 2});
  x.data<float>()[0] = 1.0f;
  x.data<float>()[1] = 10.0f;
  HostTensor ids(DType::kI32, {1});
  ids.data<int32_t>()[0] = 0;
  HostTensor out(DType::kF32, {1, 1, 3});
  Cpu().DomainLinear(x.view(), wt.view(), bt.view(), ids.view(), out.view());
  // [1, 10] · [[1, 2, 3], [4, 5, 6]] = [41, 52, 63], plus bias.
  ExpectExact(out.view(), {41.5, 52.25, 62.0}, "DomainLinear hand case");
}

TEST(CpuDomainLinear, MatchesPerSampleMatmul) {
  const int64_t batch = 3, t = 7, k = 19, n = 11, domains = 4;
  const HostTensor xbuf = Random({batch, t, k + 5}, 50);
  const Tensor x = xbuf.view().Slice(2, 2, 2 + k);  // strided rows
  const HostTensor wt = Random({domains, k * n}, 51);
  const HostTensor bt = Random({domains, n}, 52);
  HostTensor ids(DType::kI32, {batch});
  const int32_t picks[] = {2, 0, 2};
  for (int i = 0; i < batch; ++i) ids.data<int32_t>()[i] = picks[i];
  Padded out = PaddedF32({batch, t, n}, {0, 1, 2});
  Cpu().DomainLinear(x, wt.view(), bt.view(), ids.view(), out.view);
  std::vector<double> want(batch * t * n), tol(batch * t * n);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t d = picks[b];
    for (int64_t i = 0; i < t; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0.0, abs = 0.0;
        for (int64_t kk = 0; kk < k; ++kk) {
          const double p = At(x, {b, i, kk}) * wt.data<float>()[d * k * n + kk * n + j];
          acc += p;
          abs += std::fabs(p);
        }
        acc += bt.data<float>()[d * n + j];
        want[(b * t + i) * n + j] = acc;
        tol[(b * t + i) * n + j] = Gamma(k) * abs + kU * std::fabs(acc) + 1e-30;
      }
    }
  }
  ExpectWithin(out.view, want, tol, "DomainLinear");
  ExpectPaddingUntouched(out, "DomainLinear out padding");
}

// ---- GatedMlp (the default chain every backend inherits) ------------------------------------

// x = [2, 2]; gate rows [1, 0], [0, 1]; up rows [1, 1], [2, 0]; so g = [2, 2], u = [4, 4]. With
// the row's RMS statistic (eps 0: s = 1/2) g = [1, 1], u = [2, 2]; act none: h = [2, 2]; down
// row [1, 1] plus the residual 0.5 (in place, the residual is out): out = 4.5. Exact in f32.
TEST(CpuGatedMlp, HandComputedWithRowScaleInPlace) {
  HostTensor x = Full({1, 2}, 2.0f), gate_up = Full({4, 2}, 0.0f), down = Full({1, 2}, 1.0f);
  const float gu[] = {1, 0, 0, 1, 1, 1, 2, 0};
  for (int i = 0; i < 8; ++i) gate_up.data<float>()[i] = gu[i];
  HostTensor io = Full({1, 1}, 0.5f), hidden(DType::kF32, {1, 4});
  const RowRmsScale rms{x.view(), 0.0f};
  Cpu().GatedMlp(x.view(), gate_up.view(), down.view(), Activation::kNone, &rms, &io.view(),
                 hidden.view(), io.view());
  ExpectExact(io.view(), {4.5}, "out (the residual, updated in place)");
  ExpectExact(hidden.view().Slice(1, 0, 2), {2.0, 2.0}, "hidden's first F columns (h)");
}

// x may be out itself (pi0's folded layers: the stream is the input, the residual and the
// output): x is read before out is written, as the chain does.
TEST(CpuGatedMlp, BitEqualToTheChainAlsoWhenXIsOut) {
  const HostTensor x = Random({5, 16}, 21), gate_up = Random({24, 16}, 22), down = Random({16, 12}, 23);
  for (const Activation act : {Activation::kGeluTanh, Activation::kSilu}) {
    SCOPED_TRACE(ActivationName(act));
    HostTensor io = Random({5, 16}, 21), hidden(DType::kF32, {5, 24});
    const RowRmsScale rms{io.view(), 1e-6f};
    Cpu().GatedMlp(io.view(), gate_up.view(), down.view(), act, &rms, &io.view(), hidden.view(),
                   io.view());
    HostTensor want = Random({5, 16}, 21), hid(DType::kF32, {5, 24});
    const RowRmsScale rms2{x.view(), 1e-6f};
    Cpu().Linear(x.view(), gate_up.view(), nullptr, Activation::kNone, nullptr, hid.view());
    const Tensor g = hid.view().Slice(1, 0, 12);
    Cpu().GatedActivation(act, g, hid.view().Slice(1, 12, 24), g, &rms2);
    Cpu().Linear(g, down.view(), nullptr, Activation::kNone, &want.view(), want.view());
    ExpectExact(io.view(), ToDouble(want.view()), "out");
    ExpectExact(hidden.view().Slice(1, 0, 12), ToDouble(g), "h");
  }
}

TEST(CpuGatedMlp, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const HostTensor x = Full({3, 4}, 1.0f), gate_up = Full({10, 4}, 1.0f), down = Full({6, 5}, 1.0f);
  HostTensor out(DType::kF32, {3, 6}), hidden(DType::kF32, {3, 10}), narrow(DType::kF32, {3, 8});
  const HostTensor odd = Full({9, 4}, 1.0f), bad_down = Full({6, 4}, 1.0f);
  EXPECT_DEATH(Cpu().GatedMlp(x.view(), gate_up.view(), down.view(), Activation::kGeluTanh, nullptr,
                              nullptr, narrow.view(), out.view()),
               "GatedMlp: gate_up_w \\[10, 4\\] and hidden \\[3, 8\\] disagree on 2F \\(10 vs 8\\)");
  EXPECT_DEATH(Cpu().GatedMlp(x.view(), odd.view(), down.view(), Activation::kGeluTanh, nullptr,
                              nullptr, hidden.view(), out.view()),
               "GatedMlp: gate_up_w \\[9, 4\\] must have an even number of rows");
  EXPECT_DEATH(Cpu().GatedMlp(x.view(), gate_up.view(), bad_down.view(), Activation::kGeluTanh, nullptr,
                              nullptr, hidden.view(), out.view()),
               "GatedMlp: .* disagree on F \\(5 vs 4\\)");
  EXPECT_DEATH(Cpu().GatedMlp(x.view(), gate_up.view(), down.view(), Activation::kGeluTanh, nullptr,
                              nullptr, hidden.view(), hidden.view().Slice(1, 0, 6)),
               "GatedMlp: hidden \\[3, 10\\] aliases out");
  const HostTensor short_rows = Full({2, 4}, 1.0f);
  const RowRmsScale rms{short_rows.view(), 1e-6f};
  EXPECT_DEATH(Cpu().GatedMlp(x.view(), gate_up.view(), down.view(), Activation::kGeluTanh, &rms,
                              nullptr, hidden.view(), out.view()),
               "GatedMlp: row_scale.x \\[2, 4\\] must have one row per token row");
}

}  // namespace
}  // namespace vlart::testing
