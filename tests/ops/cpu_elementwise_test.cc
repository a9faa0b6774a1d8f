// SPDX-License-Identifier: Apache-2.0
//
// cpu_elementwise_test.cc: Add, Mul, Axpby, Activate, GatedActivation and MulAdd of the CPU
// reference backend.
//
// Dyadic inputs make Add/Mul/Axpby exact (compared bitwise); activations are compared
// with the double formula under a bound of 8u (|x| + |act(x)|): a handful of f32
// roundings plus libm's erf/tanh/exp within 2 ulp, scaled by at most |x|. GatedActivation is
// compared with the double formula act(g) * u under that bound times |u| plus the product's
// rounding, and bit for bit with its spec (Activate, then Mul). MulAdd is exact on dyadic
// inputs, bit for bit Mul then Add elsewhere, and a hand case pins the product's rounding
// before the add (an FMA would give a different bit pattern there).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

// Values k/8 for integers k in [-64, 64]: sums, products by such values and by 0.5/-2
// stay exact in f32.
HostTensor Dyadic(const Shape& shape, uint64_t seed) {
  HostTensor t = RandomIntegers(shape, seed, -64, 64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] /= 8.0f;
  return t;
}

template <typename F>
std::vector<double> Apply(const Tensor& a, const Tensor& b, F f) {
  const std::vector<double> av = ToDouble(a), bv = ToDouble(b);
  std::vector<double> out(av.size());
  for (size_t i = 0; i < av.size(); ++i) out[i] = f(av[i], bv[i]);
  return out;
}

TEST(CpuAdd, ExactWithBroadcastAndInPlace) {
  const HostTensor a = Dyadic({3, 19}, 1000);
  const HostTensor bias = Dyadic({19}, 1001);
  const Tensor b = bias.view().Broadcast({3, 19});  // stride-0 rows
  HostTensor out(DType::kF32, {3, 19});
  Cpu().Add(a.view(), b, out.view());
  const std::vector<double> want = Apply(a.view(), b, [](double x, double y) { return x + y; });
  ExpectExact(out.view(), want, "Add broadcast row");
  HostTensor inplace = HostTensor::CopyOf(a.view());
  Cpu().Add(inplace.view(), b, inplace.view());
  ExpectExact(inplace.view(), want, "Add in place");
  // Innermost broadcast: a per-row scalar [3, 1] expanded over 19 columns.
  const HostTensor per_row = Dyadic({3, 1}, 1002);
  Cpu().Add(a.view(), per_row.view().Broadcast({3, 19}), out.view());
  ExpectExact(out.view(),
              Apply(a.view(), per_row.view().Broadcast({3, 19}), [](double x, double y) { return x + y; }),
              "Add innermost broadcast");
}

TEST(CpuMul, ExactOnStridedViews) {
  const HostTensor buf = Dyadic({4, 2, 7}, 1010);
  const Tensor a = buf.view().Select(1, 0);  // [4, 7], row stride 14
  const Tensor b = buf.view().Select(1, 1);
  Padded out = PaddedF32({4, 7}, {1, 1});
  Cpu().Mul(a, b, out.view);
  ExpectExact(out.view, Apply(a, b, [](double x, double y) { return x * y; }), "Mul");
  ExpectPaddingUntouched(out, "Mul padding");
}

TEST(CpuAxpby, ExactAndInPlaceOnY) {
  const HostTensor x = Dyadic({5, 3}, 1020);
  HostTensor y = Dyadic({5, 3}, 1021);
  const std::vector<double> want =
      Apply(x.view(), y.view(), [](double a, double b) { return 0.5 * a - 2.0 * b; });
  Cpu().Axpby(0.5f, x.view(), -2.0f, y.view(), y.view());  // in place on y
  ExpectExact(y.view(), want, "Axpby 0.5 x - 2 y");
  // General coefficients: three roundings (two products, the sum).
  const HostTensor r1 = Random({2, 111}, 1022), r2 = Random({2, 111}, 1023);
  HostTensor out(DType::kF32, {2, 111});
  Cpu().Axpby(0.3f, r1.view(), 1.7f, r2.view(), out.view());
  const double alpha = 0.3f, beta = 1.7f;
  std::vector<double> tol(222);
  const std::vector<double> w = Apply(r1.view(), r2.view(), [&](double a, double b) { return alpha * a + beta * b; });
  for (int i = 0; i < 222; ++i) {
    tol[i] = 2 * kU * (std::fabs(alpha * r1.data<float>()[i]) + std::fabs(beta * r2.data<float>()[i]));
  }
  ExpectWithin(out.view(), w, tol, "Axpby 0.3 x + 1.7 y");
}

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

TEST(CpuActivate, HandValues) {
  HostTensor x(DType::kF32, {4});
  const float xs[] = {0.0f, 1.0f, -1.0f, 3.0f};
  std::memcpy(x.data<float>(), xs, sizeof(xs));
  HostTensor out(DType::kF32, {4});
  struct Want {
    Activation act;
    double v[4];
  };
  // Values from the closed forms (e.g. gelu(1) = Φ(1) = 0.841344746..., the tanh form
  // 0.841191990..., silu(1) = 1/(1 + e^-1), sigmoid(3) = 0.952574127).
  const Want wants[] = {
      {Activation::kNone, {0, 1, -1, 3}},
      {Activation::kGeluErf, {0, 0.8413447460685429, -0.15865525393145707, 2.9959502751652730}},
      {Activation::kGeluTanh, {0, 0.8411919906082768, -0.15880800939172324, 2.9963625447942055}},
      {Activation::kSilu, {0, 0.7310585786300049, -0.2689414213699951, 2.8577223804673}},
      {Activation::kSigmoid, {0.5, 0.7310585786300049, 0.2689414213699951, 0.9525741268224334}},
  };
  for (const Want& w : wants) {
    Cpu().Activate(w.act, x.view(), out.view());
    std::vector<double> tol(4);
    for (int i = 0; i < 4; ++i) tol[i] = 8 * kU * (std::fabs(xs[i]) + std::fabs(w.v[i])) + 1e-30;
    ExpectWithin(out.view(), std::vector<double>(w.v, w.v + 4), tol, ActivationName(w.act));
  }
}

TEST(CpuActivate, ExtremeFiniteValuesAndNanLikeTorch) {
  // torch 2.11 CPU: gelu (both forms), silu and sigmoid of
  // [nan, -1e30, 1e-30, -200, 200] are [nan, -0, 5e-31, -0, 200] and
  // sigmoid [nan, 0, 0.5, 0, 1]; -1e30 cubed overflows to -inf inside the tanh form,
  // which must still give -0, not NaN.
  HostTensor x(DType::kF32, {5});
  const float xs[] = {std::numeric_limits<float>::quiet_NaN(), -1e30f, 1e-30f, -200.0f, 200.0f};
  std::memcpy(x.data<float>(), xs, sizeof(xs));
  HostTensor out(DType::kF32, {5});
  for (Activation act : {Activation::kGeluErf, Activation::kGeluTanh, Activation::kSilu}) {
    Cpu().Activate(act, x.view(), out.view());
    const float* o = out.data<float>();
    EXPECT_TRUE(std::isnan(o[0])) << ActivationName(act);
    EXPECT_TRUE(o[1] == 0.0f && std::signbit(o[1])) << ActivationName(act) << " " << o[1];
    EXPECT_EQ(o[2], 5e-31f) << ActivationName(act);
    EXPECT_TRUE(o[3] == 0.0f && std::signbit(o[3])) << ActivationName(act) << " " << o[3];
    EXPECT_EQ(o[4], 200.0f) << ActivationName(act);
  }
  Cpu().Activate(Activation::kSigmoid, x.view(), out.view());
  EXPECT_TRUE(std::isnan(out.data<float>()[0]));
  EXPECT_EQ(out.data<float>()[1], 0.0f);
  EXPECT_EQ(out.data<float>()[2], 0.5f);
  EXPECT_EQ(out.data<float>()[3], 0.0f);
  EXPECT_EQ(out.data<float>()[4], 1.0f);
}

TEST(CpuActivate, MatchesDoubleOnAGridStridedAndInPlace) {
  // x from -12 to 12 plus saturating values; out must never be NaN.
  HostTensor buf(DType::kF32, {2, 1201});
  for (int i = 0; i < 1201; ++i) {
    buf.data<float>()[i] = -12.0f + 0.02f * i;
    buf.data<float>()[1201 + i] = (i % 2 ? 1.0f : -1.0f) * (20.0f + 0.5f * i);  // up to ±620
  }
  for (Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                         Activation::kSilu, Activation::kSigmoid}) {
    const Tensor x = buf.view().Transpose(0, 1);  // [1201, 2], innermost stride 1201
    Padded out = PaddedF32({1201, 2}, {0, 1});
    Cpu().Activate(act, x, out.view);
    const std::vector<double> xv = ToDouble(x);
    std::vector<double> want(xv.size()), tol(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) {
      want[i] = ActD(act, xv[i]);
      tol[i] = 8 * kU * (std::fabs(xv[i]) + std::fabs(want[i])) + 1e-30;
    }
    ExpectWithin(out.view, want, tol, fmt::format("Activate {}", ActivationName(act)));
    HostTensor inplace = HostTensor::CopyOf(x);
    Cpu().Activate(act, inplace.view(), inplace.view());
    ExpectBitEqual(inplace.view(), out.view, fmt::format("Activate {} in place", ActivationName(act)));
  }
}

// ---- GatedActivation ------------------------------------------------------------------------

// act(g) * u in double against the f32 result: the activation's bound 8u(|g| + |act(g)|)
// (as in CpuActivate) carried through the product (times |u|), plus one rounding u |want|.
std::vector<double> GatedTol(Activation act, const std::vector<double>& g,
                             const std::vector<double>& u, std::vector<double>* want) {
  std::vector<double> tol(g.size());
  want->resize(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    const double a = ActD(act, g[i]);
    (*want)[i] = a * u[i];
    tol[i] = 8 * kU * (std::fabs(g[i]) + std::fabs(a)) * std::fabs(u[i]) + kU * std::fabs((*want)[i]) + 1e-30;
  }
  return tol;
}

TEST(CpuGatedActivation, HandValues) {
  HostTensor g(DType::kF32, {4}), u(DType::kF32, {4}), out(DType::kF32, {4});
  const float gs[] = {0.0f, 1.0f, -1.0f, 3.0f};
  const float us[] = {2.0f, -0.5f, 4.0f, 1.0f};
  std::memcpy(g.data<float>(), gs, sizeof(gs));
  std::memcpy(u.data<float>(), us, sizeof(us));
  struct Want {
    Activation act;
    double v[4];
  };
  // The CpuActivate.HandValues closed forms times u, e.g. gelu_tanh(1) * -0.5 =
  // -0.4205959953041384, gelu_tanh(-1) * 4 = -0.6352320375668930.
  const Want wants[] = {
      {Activation::kNone, {0, -0.5, -4, 3}},
      {Activation::kGeluErf, {0, -0.42067237303427146, -0.6346210157258283, 2.99595030590511}},
      {Activation::kGeluTanh, {0, -0.4205959953041384, -0.635232037566893, 2.996362607918227}},
      {Activation::kSilu, {0, -0.36552928931500245, -1.0757656854799804, 2.8577223804672998}},
      {Activation::kSigmoid, {1.0, -0.36552928931500245, 1.0757656854799804, 0.9525741268224334}},
  };
  for (const Want& w : wants) {
    Cpu().GatedActivation(w.act, g.view(), u.view(), out.view(), nullptr);
    std::vector<double> want, tol = GatedTol(w.act, ToDouble(g.view()), ToDouble(u.view()), &want);
    for (int i = 0; i < 4; ++i) tol[i] += 8 * kU * std::fabs(w.v[i]);  // the hand value's own digits
    ExpectWithin(out.view(), std::vector<double>(w.v, w.v + 4), tol, ActivationName(w.act));
  }
}

// The pi0 GeGLU layout: gate and up are the two column halves of one [rows, 2m] buffer (row
// stride 2m), the result written over the gate half. Must equal Activate then Mul bit for bit,
// into a separate padded output, in place over gate and in place over up, and with a
// transposed (innermost-strided) gate and a broadcast up.
TEST(CpuGatedActivation, BitEqualToActivateThenMulOnSlicesAndInPlace) {
  const int64_t rows = 7, m = 19;
  HostTensor hid = Random({rows, 2 * m}, 1030, -6.0f, 6.0f);
  const Tensor gate = hid.view().Slice(1, 0, m);   // [7, 19], row stride 38
  const Tensor up = hid.view().Slice(1, m, 2 * m);
  for (Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                         Activation::kSilu, Activation::kSigmoid}) {
    SCOPED_TRACE(ActivationName(act));
    HostTensor spec(DType::kF32, {rows, m});
    Cpu().Activate(act, gate, spec.view());
    Cpu().Mul(spec.view(), up, spec.view());

    Padded out = PaddedF32({rows, m}, {1, 3});
    Cpu().GatedActivation(act, gate, up, out.view, nullptr);
    ExpectBitEqual(out.view, spec.view(), "into a padded output");
    ExpectPaddingUntouched(out, "padding");
    std::vector<double> want;
    const std::vector<double> tol = GatedTol(act, ToDouble(gate), ToDouble(up), &want);
    ExpectWithin(out.view, want, tol, "against double");

    HostTensor on_gate = HostTensor::CopyOf(hid.view());
    const Tensor g2 = on_gate.view().Slice(1, 0, m), u2 = on_gate.view().Slice(1, m, 2 * m);
    Cpu().GatedActivation(act, g2, u2, g2, nullptr);
    ExpectBitEqual(g2, spec.view(), "in place over gate");
    ExpectBitEqual(u2, up, "up untouched");

    HostTensor on_up = HostTensor::CopyOf(hid.view());
    const Tensor g3 = on_up.view().Slice(1, 0, m), u3 = on_up.view().Slice(1, m, 2 * m);
    Cpu().GatedActivation(act, g3, u3, u3, nullptr);
    ExpectBitEqual(u3, spec.view(), "in place over up");
    ExpectBitEqual(g3, gate, "gate untouched");
  }
  // Innermost-strided gate (a transpose) and a stride-0 broadcast up row.
  const HostTensor gt = Random({m, rows}, 1031, -6.0f, 6.0f);
  const HostTensor row = Random({m}, 1032, -2.0f, 2.0f);
  const Tensor g = gt.view().Transpose(0, 1);  // [7, 19], strides [1, 7]
  const Tensor u = row.view().Broadcast({rows, m});
  HostTensor spec(DType::kF32, {rows, m}), out(DType::kF32, {rows, m});
  Cpu().Activate(Activation::kGeluTanh, g, spec.view());
  Cpu().Mul(spec.view(), u, spec.view());
  Cpu().GatedActivation(Activation::kGeluTanh, g, u, out.view(), nullptr);
  ExpectBitEqual(out.view(), spec.view(), "transposed gate, broadcast up");
}

// A row scale (RowRmsScale): act(s g) * (s u) with s[r] = 1 / sqrt(mean(x[r]²) + eps), checked
// against values worked out by hand: x rows [3, 4] and [1, 1, 1, 1]-like rows give s exactly
// representable up to the square root's rounding.
TEST(CpuGatedActivation, RowScaleByHand) {
  // x [2, 2]: row 0 = [3, 4] (mean square 12.5), row 1 = [0.5, -0.5] (0.25).
  HostTensor x(DType::kF32, {2, 2});
  const float xv[] = {3.0f, 4.0f, 0.5f, -0.5f};
  std::copy(std::begin(xv), std::end(xv), x.data<float>());
  HostTensor g(DType::kF32, {2, 3}), u(DType::kF32, {2, 3}), out(DType::kF32, {2, 3});
  const float gv[] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -1.0f};
  const float uv[] = {2.0f, 1.0f, -4.0f, 0.25f, 7.0f, 1.0f};
  std::copy(std::begin(gv), std::end(gv), g.data<float>());
  std::copy(std::begin(uv), std::end(uv), u.data<float>());
  const float eps = 0.25f;  // row 1: 1 / sqrt(0.25 + 0.25) = sqrt(2)
  const RowRmsScale rs{x.view(), eps};
  Cpu().GatedActivation(Activation::kSilu, g.view(), u.view(), out.view(), &rs);
  const double s[] = {1.0 / std::sqrt(12.5 + 0.25), 1.0 / std::sqrt(0.5)};
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) {
      const double gs = gv[r * 3 + j] * s[r], us = uv[r * 3 + j] * s[r];
      const double want = gs / (1.0 + std::exp(-gs)) * us;
      EXPECT_NEAR(out.data<float>()[r * 3 + j], want, 4e-7 * (std::fabs(want) + 1e-30))
          << "row " << r << " col " << j;
    }
  }
  // In place over gate, and gate / up as column halves of one buffer (the model's layout).
  HostTensor hid(DType::kF32, {2, 6});
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) {
      hid.data<float>()[r * 6 + j] = gv[r * 3 + j];
      hid.data<float>()[r * 6 + 3 + j] = uv[r * 3 + j];
    }
  }
  const Tensor gate = hid.view().Slice(1, 0, 3);
  Cpu().GatedActivation(Activation::kSilu, gate, hid.view().Slice(1, 3, 6), gate, &rs);
  ExpectBitEqual(gate, out.view(), "in place over the gate half");
}

TEST(CpuGatedActivation, RowScaleBadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  HostTensor buf = Full({3, 8}, 1.0f);
  const Tensor g = buf.view().Slice(1, 0, 4), u = buf.view().Slice(1, 4, 8);
  HostTensor out(DType::kF32, {3, 4});
  const HostTensor x4 = Full({4, 16}, 1.0f);
  const RowRmsScale wrong_rows{x4.view(), 1e-6f};
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g, u, out.view(), &wrong_rows),
               "GatedActivation: row_scale.x \\[4, 16\\] must have one row per token row "
               "\\(gate's rows = 3\\), got 4");
  const HostTensor x3 = Full({3, 16}, 1.0f);
  const RowRmsScale bad_eps{x3.view(), -1.0f};
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g, u, out.view(), &bad_eps),
               "GatedActivation: row_scale.eps must be finite and >= 0, got -1");
  const HostTensor x1 = Full({48}, 1.0f);
  const RowRmsScale flat{x1.view(), 0.0f};
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g, u, out.view(), &flat),
               "GatedActivation: row_scale.x \\[48\\] must have rank 2 \\(\\[R, C\\]\\)");
  const RowRmsScale self{buf.view().Slice(1, 0, 4), 0.0f};  // x aliases the output
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g, u, g, &self),
               "GatedActivation: out \\[3, 4\\].* aliases row_scale.x");
}

TEST(CpuGatedActivation, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  HostTensor buf = Full({3, 8}, 1.0f);
  const Tensor g = buf.view().Slice(1, 0, 4), u = buf.view().Slice(1, 4, 8);
  HostTensor wide(DType::kF32, {3, 5});
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kGeluTanh, g, u, wide.view(), nullptr),
               "GatedActivation: gate \\[3, 4\\] and out \\[3, 5\\] must have the same shape");
  const HostTensor u_wide = Full({3, 5}, 1.0f);
  HostTensor out(DType::kF32, {3, 4});
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kGeluTanh, g, u_wide.view(), out.view(), nullptr),
               "GatedActivation: gate \\[3, 4\\] and out \\[3, 4\\] must have the same shape|"
               "GatedActivation: up \\[3, 5\\] and out \\[3, 4\\] must have the same shape");
  // out starts where gate starts but with another row stride: not the identical view.
  HostTensor buf2 = Full({6, 4}, 1.0f);
  const Tensor g_rows = buf2.view().Slice(0, 0, 3);                      // rows 0..2
  const Tensor o_rows = buf2.view().Reshape({3, 2, 4}).Select(1, 0);     // rows 0, 2, 4
  const Tensor u_rows = buf2.view().Slice(0, 3, 6);
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g_rows, u_rows, o_rows, nullptr),
               "GatedActivation: out \\[3, 4\\] and gate \\[3, 4\\] share a start address");
  HostTensor row(DType::kF32, {4});
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g, u, row.view().Broadcast({3, 4}), nullptr),
               "GatedActivation: output out \\[3, 4\\] has overlapping elements");
  HostTensor i32(DType::kI32, {3, 4});
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, i32.view(), u, out.view(), nullptr),
               "GatedActivation: gate \\[3, 4\\] has dtype I32, expected F32, F16 or BF16");
  HostTensor bf16(DType::kBF16, {3, 4});
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, g, bf16.view(), out.view(), nullptr),
               "GatedActivation: up \\[3, 4\\] has dtype BF16, which the CPU reference backend "
               "does not support");
  Tensor on_gpu = g;
  on_gpu.device = Device::kCuda;
  EXPECT_DEATH(Cpu().GatedActivation(Activation::kSilu, on_gpu, u, out.view(), nullptr),
               "GatedActivation: gate \\[3, 4\\] is on cuda, expected cpu");
}

// ---- MulAdd -------------------------------------------------------------------------------

// The pi0.5 layouts: x [B, S, W] += y * gate, the gate one row broadcast over every token or one
// row per sample broadcast over that sample's tokens (stride 0 over S). Dyadic values make the
// product and the sum exact, so the result equals the double formula c + a * b exactly, into a
// separate output and in place over c (the model's call), over a and over b.
TEST(CpuMulAdd, ExactWithBroadcastRowsAndInPlace) {
  const int64_t b = 3, s = 5, w = 19;
  const HostTensor y = Dyadic({b, s, w}, 1040);
  const HostTensor x = Dyadic({b, s, w}, 1041);
  const HostTensor shared = Dyadic({w}, 1042);
  const HostTensor per_sample = Dyadic({b, w}, 1043);
  const Shape shape{b, s, w};
  const Tensor gates[] = {shared.view().Broadcast(shape),                   // strides [0, 0, 1]
                          per_sample.view().Unsqueeze(1).Broadcast(shape)};  // strides [w, 0, 1]
  for (const Tensor& gate : gates) {
    SCOPED_TRACE(gate.ToString());
    std::vector<double> want = ToDouble(x.view());
    const std::vector<double> yv = ToDouble(y.view()), gv = ToDouble(gate);
    for (size_t i = 0; i < want.size(); ++i) want[i] += yv[i] * gv[i];

    Padded out = PaddedF32(shape, {0, 1, 2});
    Cpu().MulAdd(y.view(), gate, x.view(), out.view);
    ExpectExact(out.view, want, "MulAdd into a padded output");
    ExpectPaddingUntouched(out, "MulAdd padding");

    HostTensor on_c = HostTensor::CopyOf(x.view());
    Cpu().MulAdd(y.view(), gate, on_c.view(), on_c.view());  // x = x + y * gate
    ExpectExact(on_c.view(), want, "MulAdd in place over c");

    HostTensor on_a = HostTensor::CopyOf(y.view());
    Cpu().MulAdd(on_a.view(), gate, x.view(), on_a.view());
    ExpectExact(on_a.view(), want, "MulAdd in place over a");

    HostTensor dense_gate = HostTensor::CopyOf(gate);
    Cpu().MulAdd(y.view(), dense_gate.view(), x.view(), dense_gate.view());
    ExpectExact(dense_gate.view(), want, "MulAdd in place over b");
  }
}

// The product is rounded to f32 before the add (the spec is Mul then Add; vlart_backend_cpu is
// built with -ffp-contract=off, and baseline x86-64 has no FMA instruction to contract into).
// a = b = 1 + 2^-12: a b = 1 + 2^-11 + 2^-24 exactly, which rounds (a tie, to even) to
// 1 + 2^-11; with c = -(1 + 2^-11) Mul then Add gives exactly 0, an FMA would give 2^-24.
TEST(CpuMulAdd, ProductIsRoundedBeforeTheAdd) {
  const float a = 1.0f + std::ldexp(1.0f, -12);
  const float c = -(1.0f + std::ldexp(1.0f, -11));
  HostTensor av = Full({3}, a), cv = Full({3}, c), out(DType::kF32, {3});
  Cpu().MulAdd(av.view(), av.view(), cv.view(), out.view());
  ExpectExact(out.view(), {0.0, 0.0, 0.0}, "(1 + 2^-12)^2 - (1 + 2^-11)");
  EXPECT_EQ(std::fma(a, a, c), std::ldexp(1.0f, -24)) << "the FMA result the test tells apart";
}

// Random (inexact) values on strided views: bit for bit Mul then Add, and against double within
// the two roundings.
TEST(CpuMulAdd, BitEqualToMulThenAddOnStridedViews) {
  const int64_t rows = 7, w = 111;
  const HostTensor buf = Random({rows, 2, w}, 1050, -4.0f, 4.0f);
  const Tensor a = buf.view().Select(1, 0);  // [7, 111], row stride 222
  const HostTensor bt = Random({w, rows}, 1051, -4.0f, 4.0f);
  const Tensor b = bt.view().Transpose(0, 1);  // innermost stride 7
  const HostTensor c = Random({rows, w}, 1052, -4.0f, 4.0f);

  HostTensor spec(DType::kF32, {rows, w});
  Cpu().Mul(a, b, spec.view());
  Cpu().Add(c.view(), spec.view(), spec.view());
  Padded out = PaddedF32({rows, w}, {2, 5});
  Cpu().MulAdd(a, b, c.view(), out.view);
  ExpectBitEqual(out.view, spec.view(), "MulAdd vs Mul then Add");
  ExpectPaddingUntouched(out, "MulAdd padding");

  const std::vector<double> av = ToDouble(a), bv = ToDouble(b), cv = ToDouble(c.view());
  std::vector<double> want(av.size()), tol(av.size());
  for (size_t i = 0; i < want.size(); ++i) {
    want[i] = cv[i] + av[i] * bv[i];
    // product: u |ab|; sum: u |its result| <= u (|want| + u |ab|); 2u covers both with margin.
    tol[i] = 2 * kU * (std::fabs(av[i] * bv[i]) + std::fabs(want[i])) + 1e-30;
  }
  ExpectWithin(out.view, want, tol, "MulAdd against double");

  // A naive f32 loop written as the spec (product stored, then the sum), on the dense copies.
  const HostTensor ad = HostTensor::CopyOf(a), bd = HostTensor::CopyOf(b);
  std::vector<double> naive(av.size());
  for (size_t i = 0; i < naive.size(); ++i) {
    const float p = ad.data<float>()[i] * bd.data<float>()[i];
    naive[i] = c.data<float>()[i] + p;
  }
  ExpectExact(out.view, naive, "MulAdd vs a naive f32 loop");
}

TEST(CpuMulAdd, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const HostTensor a = Full({3, 4}, 1.0f), row = Full({4}, 2.0f);
  HostTensor c = Full({3, 4}, 0.5f), out(DType::kF32, {3, 4});
  EXPECT_DEATH(Cpu().MulAdd(a.view(), row.view(), c.view(), out.view()),
               "MulAdd: a \\[3, 4\\], b \\[4\\], c \\[3, 4\\] and out \\[3, 4\\] must have the "
               "same shape; hint: broadcast with Tensor::Broadcast");
  HostTensor buf = Full({6, 4}, 1.0f);
  const Tensor c_rows = buf.view().Slice(0, 0, 3);                   // rows 0..2
  const Tensor o_rows = buf.view().Reshape({3, 2, 4}).Select(1, 0);  // rows 0, 2, 4
  EXPECT_DEATH(Cpu().MulAdd(a.view(), a.view(), c_rows, o_rows),
               "MulAdd: out \\[3, 4\\] and c \\[3, 4\\] share a start address");
  HostTensor one(DType::kF32, {4});
  EXPECT_DEATH(Cpu().MulAdd(a.view(), a.view(), c.view(), one.view().Broadcast({3, 4})),
               "MulAdd: output out \\[3, 4\\] has overlapping elements");
  HostTensor i32(DType::kI32, {3, 4});
  EXPECT_DEATH(Cpu().MulAdd(a.view(), a.view(), i32.view(), out.view()),
               "MulAdd: c \\[3, 4\\] has dtype I32, expected F32, F16 or BF16");
  HostTensor bf16(DType::kBF16, {3, 4});
  EXPECT_DEATH(Cpu().MulAdd(a.view(), a.view(), bf16.view(), out.view()),
               "MulAdd: c \\[3, 4\\] has dtype BF16, which the CPU reference backend does not support");
  Tensor on_gpu = a.view();
  on_gpu.device = Device::kCuda;
  EXPECT_DEATH(Cpu().MulAdd(a.view(), on_gpu, c.view(), out.view()),
               "MulAdd: b \\[3, 4\\] is on cuda, expected cpu");
}

}  // namespace
}  // namespace vlart::testing
