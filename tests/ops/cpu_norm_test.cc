// SPDX-License-Identifier: Apache-2.0
//
// cpu_norm_test.cc: LayerNorm, RmsNorm, AdaRmsNorm, Softmax and MeanOverTokens of the CPU
// reference.
//
// Hand-computed cases pin the formulas (biased variance, eps inside the sqrt, Gemma's
// (offset + w)); random strided cases compare with double loops. Tolerances: the row
// statistics are double in the backend, so the f32 error comes from the handful of
// roundings after them (mean/var/ms to f32, + eps, sqrt, reciprocal, x - mean, two
// products, + beta): each bounded by u times the magnitude it touches, 8u in total with
// margin, as written next to each reference. AdaRmsNorm is also compared bit for bit with its
// spec, RmsNorm (the row's scale, offset 1) followed by Add (the row's shift).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

constexpr float kMasked = -2.3819763e38f;

// ---- LayerNorm ----------------------------------------------------------------------------

void LayerNormReference(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        std::vector<double>* want, std::vector<double>* tol) {
  const std::vector<double> xv = ToDouble(x);
  const int64_t c = x.shape[-1];
  const int64_t rows = x.numel() / c;
  want->assign(xv.size(), 0.0);
  tol->assign(xv.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = xv.data() + r * c;
    double mean = 0.0;
    for (int64_t i = 0; i < c; ++i) mean += row[i];
    mean /= c;
    double var = 0.0;
    for (int64_t i = 0; i < c; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= c;  // biased, as torch's layer_norm
    const double rstd = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < c; ++i) {
      const double g = At(gamma, {i}), b = At(beta, {i});
      const double y = (row[i] - mean) * rstd * g + b;
      (*want)[r * c + i] = y;
      // x - mean_f32: u (|x - mean| + |mean|); rstd: ~4u relative; two products and the
      // add: 3u. Together <= 8u (|x - mean| + |mean|) rstd |g| + u |y|.
      (*tol)[r * c + i] =
          8 * kU * (std::fabs(row[i] - mean) + std::fabs(mean)) * rstd * std::fabs(g) +
          kU * std::fabs(y) + 1e-30;
    }
  }
}

TEST(CpuLayerNorm, HandComputed) {
  // x = [1, 2, 3, 4]: mean 2.5, biased var 1.25, eps 0 -> (x - 2.5) / sqrt(1.25).
  HostTensor x(DType::kF32, {1, 4});
  for (int i = 0; i < 4; ++i) x.data<float>()[i] = static_cast<float>(i + 1);
  const HostTensor g = Full({4}, 1.0f);
  const HostTensor b = Full({4}, 0.0f);
  HostTensor out(DType::kF32, {1, 4});
  Cpu().LayerNorm(x.view(), g.view(), b.view(), 0.0f, out.view());
  const double s = std::sqrt(1.25);
  const std::vector<double> want = {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s};
  ExpectWithin(out.view(), want, std::vector<double>(4, 8 * kU * 1.5), "LayerNorm [1, 2, 3, 4]");
}

TEST(CpuLayerNorm, EpsIsInsideTheSqrtAndConstantRowsGiveBeta) {
  // x = [0, 1], eps 0.25: var 0.25 -> (±0.5) / sqrt(0.5) = ±0.70710678 (eps outside the
  // sqrt would give ±0.5 / (0.5 + 0.25) = ±0.667).
  HostTensor x(DType::kF32, {2, 2});
  x.data<float>()[0] = 0.0f;
  x.data<float>()[1] = 1.0f;
  x.data<float>()[2] = 3.0f;  // constant row: var 0, out = beta exactly
  x.data<float>()[3] = 3.0f;
  HostTensor g = Full({2}, 2.0f);
  HostTensor b(DType::kF32, {2});
  b.data<float>()[0] = 0.5f;
  b.data<float>()[1] = -0.25f;
  HostTensor out(DType::kF32, {2, 2});
  Cpu().LayerNorm(x.view(), g.view(), b.view(), 0.25f, out.view());
  const double r = 1.0 / std::sqrt(0.5);
  ExpectWithin(out.view().Select(0, 0), {-0.5 * r * 2 + 0.5, 0.5 * r * 2 - 0.25},
               {8 * kU * 2, 8 * kU * 2}, "LayerNorm eps placement");
  ExpectExact(out.view().Select(0, 1), {0.5, -0.25}, "LayerNorm of a constant row");
}

TEST(CpuLayerNorm, MatchesDoubleReferenceOnStridedRows) {
  for (int64_t c : {1, 7, 111, 1024}) {
    // Rows of a padded buffer, values offset by 100 so the mean is large next to the
    // spread (a one-pass E[x²] - E[x]² in f32 would fail this).
    Padded x = PaddedF32({3, 19, c}, {0, 2, 3});
    std::vector<double> xv = ToDouble(Random({3, 19, c}, 400 + c, 99.0f, 101.0f).view());
    FromDouble(xv, x.view);
    const HostTensor g = Random({c}, 401, 0.5f, 1.5f);
    const HostTensor b = Random({c}, 402);
    Padded out = PaddedF32({3, 19, c}, {1, 0, 5});
    Cpu().LayerNorm(x.view, g.view(), b.view(), 1e-6f, out.view);
    std::vector<double> want, tol;
    LayerNormReference(x.view, g.view(), b.view(), 1e-6, &want, &tol);
    ExpectWithin(out.view, want, tol, fmt::format("LayerNorm C={}", c));
    ExpectPaddingUntouched(out, "LayerNorm out padding");
  }
}

// ---- RmsNorm ------------------------------------------------------------------------------

TEST(CpuRmsNorm, HandComputedGemmaOffset) {
  // x = [3, 4]: mean(x²) = 12.5; w = [0, 1] with offset 1 scales by [1, 2].
  HostTensor x(DType::kF32, {1, 2});
  x.data<float>()[0] = 3.0f;
  x.data<float>()[1] = 4.0f;
  HostTensor w(DType::kF32, {2});
  w.data<float>()[0] = 0.0f;
  w.data<float>()[1] = 1.0f;
  HostTensor out(DType::kF32, {1, 2});
  Cpu().RmsNorm(x.view(), w.view(), 0.0f, 1.0f, out.view());
  const double r = 1.0 / std::sqrt(12.5);
  ExpectWithin(out.view(), {3 * r, 8 * r}, {6 * kU * 3 * r, 6 * kU * 8 * r},
               "RmsNorm offset 1");
  // offset 0: plain weight, so w[0] = 0 zeroes the first channel exactly.
  Cpu().RmsNorm(x.view(), w.view(), 0.0f, 0.0f, out.view());
  EXPECT_EQ(out.data<float>()[0], 0.0f);
  EXPECT_NEAR(out.data<float>()[1], 4 * r, 6 * kU * 4 * r);
}

TEST(CpuRmsNorm, MatchesDoubleReferenceOnStridedRows) {
  for (int64_t c : {1, 7, 111, 2048}) {
    const HostTensor buf = Random({19, 2, c}, 410 + c, -3.0f, 3.0f);
    const Tensor x = buf.view().Select(1, 1);  // every other row
    const HostTensor w = Random({c}, 411, -0.5f, 0.5f);
    for (float offset : {0.0f, 1.0f}) {
      HostTensor out(DType::kF32, {19, c});
      Cpu().RmsNorm(x, w.view(), 1e-6f, offset, out.view());
      std::vector<double> want(19 * c), tol(19 * c);
      for (int64_t r = 0; r < 19; ++r) {
        double ms = 0.0;
        for (int64_t i = 0; i < c; ++i) ms += At(x, {r, i}) * At(x, {r, i});
        ms /= c;
        const double inv = 1.0 / std::sqrt(ms + 1e-6);
        for (int64_t i = 0; i < c; ++i) {
          const double scale = offset + At(w.view(), {i});
          want[r * c + i] = At(x, {r, i}) * inv * scale;
          // ms to f32, + eps, sqrt, reciprocal: 4u; x * r, offset + w, product: 3u.
          tol[r * c + i] = 8 * kU * std::fabs(At(x, {r, i})) * inv * (std::fabs(offset) +
                                                                    std::fabs(At(w.view(), {i}))) +
                           1e-30;
        }
      }
      ExpectWithin(out.view(), want, tol, fmt::format("RmsNorm C={} offset={}", c, offset));
    }
  }
}

// ---- AdaRmsNorm ---------------------------------------------------------------------------

TEST(CpuAdaRmsNorm, HandComputed) {
  // x = [3, 4]: mean(x²) = 12.5; scale [0, 1] scales by [1, 2]; shift [0.5, -1].
  HostTensor x(DType::kF32, {1, 2}), scale(DType::kF32, {1, 2}), shift(DType::kF32, {1, 2});
  const float xs[] = {3.0f, 4.0f}, ss[] = {0.0f, 1.0f}, hs[] = {0.5f, -1.0f};
  for (int i = 0; i < 2; ++i) {
    x.data<float>()[i] = xs[i];
    scale.data<float>()[i] = ss[i];
    shift.data<float>()[i] = hs[i];
  }
  HostTensor out(DType::kF32, {1, 2});
  Cpu().AdaRmsNorm(x.view(), scale.view(), shift.view(), 0.0f, out.view());
  const double r = 1.0 / std::sqrt(12.5);
  // RmsNorm's 6u on the normed value, then the add's rounding u |y|.
  ExpectWithin(out.view(), {3 * r + 0.5, 8 * r - 1}, {6 * kU * 3 * r + kU * (3 * r + 0.5), 6 * kU * 8 * r + kU * (8 * r - 1)},
               "AdaRmsNorm [3, 4]");
}

// x [B, S, C] (rows of a wider buffer, as the action rows of pi0.5's stream), scale and shift
// one row for the whole batch or one row per sample, broadcast over the tokens. The result must
// equal the unfused spec bit for bit (the same f32 operations in the same order, no FMA), and
// the double formula within the f32 roundings: RmsNorm's 8u |x| r |1 + scale| (CpuRmsNorm) plus
// the add's u |y|.
TEST(CpuAdaRmsNorm, BitEqualToRmsNormThenAddForSharedAndPerSampleRows) {
  for (int64_t c : {1, 7, 64, 1024}) {
    const int64_t b = 3, s = 10;
    const Shape shape{b, s, c};
    const HostTensor buf = Random({b, s + 2, c}, 450 + c, -3.0f, 3.0f);
    const Tensor x = buf.view().Slice(1, 2, s + 2);  // [3, 10, c], batch stride (s + 2) c
    const HostTensor rows = Random({b, 3 * c}, 451 + c, -1.0f, 1.0f);  // [scale | shift | gate]
    for (bool per_sample : {false, true}) {
      SCOPED_TRACE(fmt::format("C={} {}", c, per_sample ? "per sample" : "shared row"));
      const auto per_token = [&](int64_t k) {
        const Tensor m = rows.view().Slice(1, k * c, (k + 1) * c);  // [b, c], row stride 3c
        return per_sample ? m.Unsqueeze(1).Broadcast(shape) : m.Select(0, 0).Broadcast(shape);
      };
      const Tensor scale = per_token(0), shift = per_token(1);

      HostTensor spec(DType::kF32, shape);
      for (int64_t i = 0; i < b; ++i) {
        const HostTensor w = HostTensor::CopyOf(scale.Select(0, i).Select(0, 0));  // [c]
        Cpu().RmsNorm(x.Select(0, i), w.view(), 1e-6f, 1.0f, spec.view().Select(0, i));
      }
      Cpu().Add(spec.view(), shift, spec.view());

      Padded out = PaddedF32(shape, {0, 1, 3});
      Cpu().AdaRmsNorm(x, scale, shift, 1e-6f, out.view);
      ExpectBitEqual(out.view, spec.view(), "AdaRmsNorm vs RmsNorm then Add");
      ExpectPaddingUntouched(out, "AdaRmsNorm padding");

      HostTensor inplace = HostTensor::CopyOf(x);
      Cpu().AdaRmsNorm(inplace.view(), scale, shift, 1e-6f, inplace.view());
      ExpectBitEqual(inplace.view(), spec.view(), "AdaRmsNorm in place");

      std::vector<double> want(static_cast<size_t>(b * s * c)), tol(want.size());
      for (int64_t i = 0; i < b; ++i) {
        for (int64_t t = 0; t < s; ++t) {
          double ms = 0.0;
          for (int64_t j = 0; j < c; ++j) ms += At(x, {i, t, j}) * At(x, {i, t, j});
          const double inv = 1.0 / std::sqrt(ms / c + 1e-6);
          for (int64_t j = 0; j < c; ++j) {
            const double xv = At(x, {i, t, j}), g = 1.0 + At(scale, {i, t, j});
            const double y = xv * inv * g + At(shift, {i, t, j});
            const size_t k = static_cast<size_t>((i * s + t) * c + j);
            want[k] = y;
            tol[k] = 8 * kU * std::fabs(xv) * inv * std::fabs(g) + kU * std::fabs(y) + 1e-30;
          }
        }
      }
      ExpectWithin(out.view, want, tol, "AdaRmsNorm against double");
    }
  }
}

TEST(CpuAdaRmsNorm, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const HostTensor x = Full({2, 3, 4}, 1.0f), row = Full({4}, 0.5f);
  const Tensor bcast = row.view().Broadcast({2, 3, 4});
  HostTensor out(DType::kF32, {2, 3, 4});
  EXPECT_DEATH(Cpu().AdaRmsNorm(x.view(), row.view(), bcast, 1e-6f, out.view()),
               "AdaRmsNorm: scale \\[4\\] must have the shape of x \\[2, 3, 4\\]; hint: broadcast");
  EXPECT_DEATH(Cpu().AdaRmsNorm(x.view(), bcast, bcast, -1.0f, out.view()),
               "AdaRmsNorm: eps must be finite and >= 0, got -1");
  HostTensor shift = Full({2, 3, 4}, 0.0f);
  EXPECT_DEATH(Cpu().AdaRmsNorm(x.view(), bcast, shift.view(), 1e-6f, shift.view()),
               "AdaRmsNorm: out \\[2, 3, 4\\] aliases shift \\[2, 3, 4\\]");
  const HostTensor t = Full({4, 3, 2}, 1.0f);
  EXPECT_DEATH(Cpu().AdaRmsNorm(x.view(), t.view().Permute({2, 1, 0}), bcast, 1e-6f, out.view()),
               "AdaRmsNorm: scale \\[2, 3, 4\\] must have a contiguous innermost dim");
  HostTensor bf16(DType::kBF16, {2, 3, 4});
  EXPECT_DEATH(Cpu().AdaRmsNorm(x.view(), bcast, bf16.view(), 1e-6f, out.view()),
               "AdaRmsNorm: shift \\[2, 3, 4\\] has dtype BF16, which the CPU reference backend");
}

// MulAddAdaRmsNorm (the default decomposition every backend inherits): x = [1, 2] + [2, 2] *
// [1, 1] = [3, 4] in place; then AdaRmsNorm of [3, 4] as in HandComputed.
TEST(CpuMulAddAdaRmsNorm, HandComputed) {
  HostTensor x = Full({1, 2}, 0.0f), y = Full({1, 2}, 2.0f), gate = Full({1, 2}, 1.0f);
  x.data<float>()[0] = 1.0f;
  x.data<float>()[1] = 2.0f;
  HostTensor scale(DType::kF32, {1, 2}), shift(DType::kF32, {1, 2});
  const float ss[] = {0.0f, 1.0f}, hs[] = {0.5f, -1.0f};
  for (int i = 0; i < 2; ++i) {
    scale.data<float>()[i] = ss[i];
    shift.data<float>()[i] = hs[i];
  }
  HostTensor out(DType::kF32, {1, 2});
  Cpu().MulAddAdaRmsNorm(x.view(), y.view(), gate.view(), scale.view(), shift.view(), 0.0f, out.view());
  ExpectWithin(x.view(), {3.0, 4.0}, {0.0, 0.0}, "x after the residual (exact)");
  const double r = 1.0 / std::sqrt(12.5);
  ExpectWithin(out.view(), {3 * r + 0.5, 8 * r - 1}, {6 * kU * 3 * r + kU * (3 * r + 0.5), 6 * kU * 8 * r + kU * (8 * r - 1)},
               "MulAddAdaRmsNorm [1, 2] + [2, 2]");
}

TEST(CpuMulAddAdaRmsNorm, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  HostTensor x = Full({2, 3, 4}, 1.0f), y = Full({2, 3, 4}, 1.0f), row = Full({4}, 0.5f);
  const Tensor bcast = row.view().Broadcast({2, 3, 4});
  HostTensor out(DType::kF32, {2, 3, 4});
  EXPECT_DEATH(Cpu().MulAddAdaRmsNorm(x.view(), y.view(), bcast, bcast, bcast, 1e-6f, x.view()),
               "MulAddAdaRmsNorm: out \\[2, 3, 4\\] aliases x \\[2, 3, 4\\]");
  EXPECT_DEATH(Cpu().MulAddAdaRmsNorm(x.view(), y.view(), bcast, bcast, bcast, 1e-6f, y.view()),
               "MulAddAdaRmsNorm: out \\[2, 3, 4\\] aliases y \\[2, 3, 4\\]");
  EXPECT_DEATH(Cpu().MulAddAdaRmsNorm(x.view(), y.view(), row.view(), bcast, bcast, 1e-6f, out.view()),
               "MulAdd: a \\[2, 3, 4\\], b \\[4\\], c \\[2, 3, 4\\] and out \\[2, 3, 4\\] must have the same shape");
  EXPECT_DEATH(Cpu().MulAddAdaRmsNorm(x.view(), y.view(), bcast, bcast, bcast, -1.0f, out.view()),
               "AdaRmsNorm: eps must be finite and >= 0, got -1");
}

// ---- LinearResidualLayerNorm (the default decomposition every backend inherits) ------------

// out = x·wᵀ + bias + residual = [1, 2]·diag(1, 2) + [0.5, -0.5] + [1, 1] = [2.5, 4.5] (exact),
// in place on the residual; normed: mean 3.5, biased var 1, so with eps 0 exactly
// [-1·2 + 0.25, 1·3 - 0.25].
TEST(CpuLinearResidualLayerNorm, HandComputedInPlace) {
  HostTensor x(DType::kF32, {1, 2}), w = Full({2, 2}, 0.0f), bias(DType::kF32, {2});
  HostTensor io = Full({1, 2}, 1.0f), gamma(DType::kF32, {2}), beta(DType::kF32, {2});
  const float xs[] = {1.0f, 2.0f}, bs[] = {0.5f, -0.5f}, gs[] = {2.0f, 3.0f}, hs[] = {0.25f, -0.25f};
  for (int i = 0; i < 2; ++i) {
    x.data<float>()[i] = xs[i];
    bias.data<float>()[i] = bs[i];
    gamma.data<float>()[i] = gs[i];
    beta.data<float>()[i] = hs[i];
  }
  w.data<float>()[0] = 1.0f;
  w.data<float>()[3] = 2.0f;
  HostTensor normed(DType::kF32, {1, 2});
  Cpu().LinearResidualLayerNorm(x.view(), w.view(), &bias.view(), io.view(), io.view(), gamma.view(),
                                beta.view(), 0.0f, normed.view());
  ExpectExact(io.view(), {2.5, 4.5}, "out (the residual, updated in place)");
  ExpectExact(normed.view(), {-1.75, 2.75}, "normed");
}

// Bit for bit Linear (with the residual) then LayerNorm of its result, on random rows.
TEST(CpuLinearResidualLayerNorm, BitEqualToLinearThenLayerNorm) {
  const HostTensor x = Random({7, 24}, 11), w = Random({16, 24}, 12), bias = Random({16}, 13);
  const HostTensor res = Random({7, 16}, 14), gamma = Random({16}, 15), beta = Random({16}, 16);
  HostTensor out(DType::kF32, {7, 16}), normed(DType::kF32, {7, 16});
  HostTensor out2(DType::kF32, {7, 16}), normed2(DType::kF32, {7, 16});
  Cpu().LinearResidualLayerNorm(x.view(), w.view(), &bias.view(), res.view(), out.view(), gamma.view(),
                                beta.view(), 1e-5f, normed.view());
  Cpu().Linear(x.view(), w.view(), &bias.view(), Activation::kNone, &res.view(), out2.view());
  Cpu().LayerNorm(out2.view(), gamma.view(), beta.view(), 1e-5f, normed2.view());
  ExpectExact(out.view(), ToDouble(out2.view()), "out");
  ExpectExact(normed.view(), ToDouble(normed2.view()), "normed");
}

TEST(CpuLinearResidualLayerNorm, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const HostTensor x = Full({3, 4}, 1.0f), w = Full({5, 4}, 1.0f), g = Full({5}, 1.0f), g4 = Full({4}, 1.0f);
  HostTensor io = Full({3, 5}, 0.0f), normed(DType::kF32, {3, 5});
  EXPECT_DEATH(Cpu().LinearResidualLayerNorm(x.view(), w.view(), nullptr, io.view(), io.view(), g.view(),
                                             g.view(), 1e-5f, io.view()),
               "LinearResidualLayerNorm: normed \\[3, 5\\] aliases out \\[3, 5\\]");
  EXPECT_DEATH(Cpu().LinearResidualLayerNorm(x.view(), w.view(), nullptr, io.view(), io.view(), g4.view(),
                                             g.view(), 1e-5f, normed.view()),
               "LayerNorm: gamma");
  EXPECT_DEATH(Cpu().LinearResidualLayerNorm(x.view(), w.view(), nullptr, io.view(), io.view(), g.view(),
                                             g.view(), -1.0f, normed.view()),
               "LayerNorm: eps must be finite and >= 0, got -1");
  EXPECT_DEATH(Cpu().LinearResidualLayerNorm(x.view(), w.view(), nullptr, io.view(), io.view(), g.view(),
                                             g.view(), 1e-5f, x.view()),
               "LayerNorm: ");
}

// ---- Softmax ------------------------------------------------------------------------------

// softmax in double; tol = p (u |x - max| + Σ_k p_k u |x_k - max| + 6u): the f32
// subtraction in the numerator and (p-weighted) in the denominator, expf (<= 2 ulp),
// the double sum and the final rounding.
void SoftmaxReference(const Tensor& x, std::vector<double>* want, std::vector<double>* tol) {
  const std::vector<double> xv = ToDouble(x);
  const int64_t n = x.shape[-1];
  want->assign(xv.size(), 0.0);
  tol->assign(xv.size(), 0.0);
  for (size_t r = 0; r < xv.size() / n; ++r) {
    const double* row = xv.data() + r * n;
    const double m = *std::max_element(row, row + n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(row[i] - m);
    double avg_sub = 0.0;
    for (int64_t i = 0; i < n; ++i) avg_sub += std::exp(row[i] - m) / sum * kU * std::fabs(row[i] - m);
    for (int64_t i = 0; i < n; ++i) {
      const double p = std::exp(row[i] - m) / sum;
      (*want)[r * n + i] = p;
      (*tol)[r * n + i] = p * (kU * std::fabs(row[i] - m) + avg_sub + 6 * kU) + 1e-45;
    }
  }
}

TEST(CpuSoftmax, HandComputed) {
  // [0, ln 2] -> [1/3, 2/3]; [5] -> [1] exactly.
  HostTensor x(DType::kF32, {1, 2});
  x.data<float>()[0] = 0.0f;
  x.data<float>()[1] = std::log(2.0f);
  HostTensor out(DType::kF32, {1, 2});
  Cpu().Softmax(x.view(), out.view());
  // ln 2 rounds to f32 (u * 0.69 relative shift in the ratio), then 6u as above.
  ExpectWithin(out.view(), {1.0 / 3, 2.0 / 3}, {8 * kU, 8 * kU}, "softmax [0, ln 2]");
  HostTensor one = Full({1, 1}, 5.0f);
  HostTensor one_out(DType::kF32, {1, 1});
  Cpu().Softmax(one.view(), one_out.view());
  EXPECT_EQ(one_out.data<float>()[0], 1.0f);
}

TEST(CpuSoftmax, RowsSumToOneAndMatchDouble) {
  for (int64_t n : {1, 7, 19, 111, 3000}) {
    const HostTensor x = Random({5, n}, 420 + n, -20.0f, 20.0f);
    Padded out = PaddedF32({5, n}, {2, 3});
    Cpu().Softmax(x.view(), out.view);
    std::vector<double> want, tol;
    SoftmaxReference(x.view(), &want, &tol);
    ExpectWithin(out.view, want, tol, fmt::format("softmax n={}", n));
    ExpectPaddingUntouched(out, "softmax out padding");
    for (int64_t r = 0; r < 5; ++r) {
      double sum = 0.0, bound = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        sum += At(out.view, {r, i});
        bound += tol[r * n + i];
      }
      // Σ p̂ - 1 = Σ (p̂ - p): bounded by the sum of the per-element bounds.
      EXPECT_NEAR(sum, 1.0, bound + kU) << "row " << r << " of n=" << n;
    }
  }
}

TEST(CpuSoftmax, ShiftInvariantBitwise) {
  // Values on a 1/8 grid in [-16, 16]: adding 1000 is exact in f32 and x - max is
  // unchanged, so the outputs must be identical bit for bit.
  HostTensor x = RandomIntegers({7, 19}, 430, -128, 128);
  HostTensor shifted(DType::kF32, {7, 19});
  for (int64_t i = 0; i < x.numel(); ++i) {
    x.data<float>()[i] /= 8.0f;
    shifted.data<float>()[i] = x.data<float>()[i] + 1000.0f;
  }
  HostTensor a(DType::kF32, {7, 19}), b(DType::kF32, {7, 19});
  Cpu().Softmax(x.view(), a.view());
  Cpu().Softmax(shifted.view(), b.view());
  ExpectBitEqual(b.view(), a.view(), "softmax(x + 1000) vs softmax(x)");
}

TEST(CpuSoftmax, MaskedRowIsUniformAndNanPropagates) {
  // A row of equal finite values (every entry the mask value) is exactly f32(1/n).
  HostTensor x = Full({2, 7}, kMasked);
  x.data<float>()[7] = std::numeric_limits<float>::quiet_NaN();  // row 1 has a NaN first
  HostTensor out(DType::kF32, {2, 7});
  Cpu().Softmax(x.view(), out.view());
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(out.data<float>()[i], static_cast<float>(1.0 / 7)) << i;
    EXPECT_TRUE(std::isnan(out.data<float>()[7 + i])) << "NaN row, element " << i;
  }
}

// ---- MeanOverTokens --------------------------------------------------------------------

TEST(CpuMeanOverTokens, HandComputedAndStrided) {
  // x [1, 3, 2] = [[1, 10], [2, 20], [4, 40]] -> [7/3, 70/3].
  HostTensor x(DType::kF32, {1, 3, 2});
  const float vals[] = {1, 10, 2, 20, 4, 40};
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = vals[i];
  HostTensor out(DType::kF32, {1, 2});
  Cpu().MeanOverTokens(x.view(), out.view());
  ExpectExact(out.view(), {static_cast<float>(7.0 / 3), static_cast<float>(70.0 / 3)},
              "mean over tokens (sum exact, one rounding)");

  // Strided: x is a token slice of a wider buffer; out a padded view.
  const HostTensor buf = Random({3, 111 + 4, 19 + 3}, 440, -5.0f, 5.0f);
  const Tensor xs = buf.view().Slice(1, 2, 2 + 111).Slice(2, 1, 1 + 19);
  Padded o = PaddedF32({3, 19}, {1, 2});
  Cpu().MeanOverTokens(xs, o.view);
  std::vector<double> want(3 * 19), tol(3 * 19);
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t c = 0; c < 19; ++c) {
      double s = 0.0;
      for (int64_t n = 0; n < 111; ++n) s += At(xs, {b, n, c});
      want[b * 19 + c] = s / 111;
      tol[b * 19 + c] = kU * std::fabs(s / 111) + 1e-30;  // one rounding of the double mean
    }
  }
  ExpectWithin(o.view, want, tol, "MeanOverTokens strided");
  ExpectPaddingUntouched(o, "MeanOverTokens padding");
}

}  // namespace
}  // namespace vlart::testing
