// SPDX-License-Identifier: Apache-2.0
//
// cpu_elementwise_test.cc: Add, Mul, Axpby and Activate of the CPU reference backend.
//
// Dyadic inputs make Add/Mul/Axpby exact (compared bitwise); activations are compared
// with the double formula under a bound of 8u (|x| + |act(x)|): a handful of f32
// roundings plus libm's erf/tanh/exp within 2 ulp, scaled by at most |x|.

#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace vlart::testing
