// SPDX-License-Identifier: Apache-2.0
//
// cpu_conv_test.cc: Conv2d (NHWC, PyTorch weight layout) of the CPU reference backend,
// against a naive double loop over backend.h's formula.
//
// Tolerance per output: the f32 dot product over K = Cg*kh*kw terms, gamma_K Σ|w x|,
// plus u per epilogue add (bias, residual). Integer-valued cases compare bitwise.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

struct ConvCase {
  int64_t batch, h, w, cin, cout, k;
  int stride, padding, groups;
  bool bias, residual, nchw;  // nchw: x is an NCHW buffer permuted to NHWC (inner stride H*W)
};

std::string Name(const ConvCase& c) {
  return fmt::format("Conv2d B{} {}x{}x{} -> Cout {} k{} s{} p{} g{} bias{} res{} nchw{}",
                     c.batch, c.h, c.w, c.cin, c.cout, c.k, c.stride, c.padding, c.groups, c.bias,
                     c.residual, c.nchw);
}

void ConvReference(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& p,
                   const Tensor* residual, const Shape& out_shape, std::vector<double>* want,
                   std::vector<double>* tol) {
  const int64_t batch = out_shape[0], ho = out_shape[1], wo = out_shape[2], cout = out_shape[3];
  const int64_t h = x.shape[1], wd = x.shape[2], cin = x.shape[3];
  const int64_t cg = cin / p.groups, cog = cout / p.groups, kh = w.shape[2], kw = w.shape[3];
  want->assign(out_shape.numel(), 0.0);
  tol->assign(out_shape.numel(), 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t y = 0; y < ho; ++y) {
      for (int64_t xo = 0; xo < wo; ++xo) {
        for (int64_t co = 0; co < cout; ++co) {
          const int64_t g = co / cog;
          double acc = 0.0, abs = 0.0;
          for (int64_t ci = 0; ci < cg; ++ci) {
            for (int64_t ky = 0; ky < kh; ++ky) {
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t iy = y * p.stride - p.padding + ky;
                const int64_t ix = xo * p.stride - p.padding + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const double t = At(w, {co, ci, ky, kx}) * At(x, {b, iy, ix, g * cg + ci});
                acc += t;
                abs += std::fabs(t);
              }
            }
          }
          double err = Gamma(cg * kh * kw) * abs;
          if (bias != nullptr) {
            acc += At(*bias, {co});
            err += kU * std::fabs(acc);
          }
          if (residual != nullptr) {
            acc += At(*residual, {b, y, xo, co});
            err += kU * std::fabs(acc);
          }
          const int64_t o = ((b * ho + y) * wo + xo) * cout + co;
          (*want)[o] = acc;
          (*tol)[o] = err + 1e-30;
        }
      }
    }
  }
}

// Runs one case with random (or integer) inputs; returns the output for further checks.
HostTensor RunCase(const ConvCase& c, uint64_t seed, bool integers) {
  const Conv2dParams params{c.stride, c.padding, c.groups};
  HostTensor x_storage = integers ? RandomIntegers({c.batch, c.cin, c.h, c.w}, seed, -4, 4)
                                  : Random({c.batch, c.cin, c.h, c.w}, seed);
  Tensor x;
  HostTensor x_nhwc;
  if (c.nchw) {
    x = x_storage.view().Permute({0, 2, 3, 1});  // innermost stride H*W
  } else {
    x_nhwc = HostTensor::CopyOf(x_storage.view().Permute({0, 2, 3, 1}));
    x = x_nhwc.view();
  }
  const HostTensor w = integers ? RandomIntegers({c.cout, c.cin / c.groups, c.k, c.k}, seed + 1, -4, 4)
                                : Random({c.cout, c.cin / c.groups, c.k, c.k}, seed + 1);
  const HostTensor bias = integers ? RandomIntegers({c.cout}, seed + 2, -4, 4)
                                   : Random({c.cout}, seed + 2);
  const int64_t ho = (c.h + 2 * c.padding - c.k) / c.stride + 1;
  const int64_t wo = (c.w + 2 * c.padding - c.k) / c.stride + 1;
  const Shape out_shape{c.batch, ho, wo, c.cout};
  const HostTensor residual = integers ? RandomIntegers(out_shape, seed + 3, -4, 4)
                                       : Random(out_shape, seed + 3);
  Padded out = PaddedF32(out_shape, {0, 1, 0, 3});
  const Tensor* bp = c.bias ? &bias.view() : nullptr;
  const Tensor* rp = c.residual ? &residual.view() : nullptr;
  Cpu().Conv2d(x, w.view(), bp, params, rp, out.view);
  std::vector<double> want, tol;
  ConvReference(x, w.view(), bp, params, rp, out_shape, &want, &tol);
  if (integers) {
    ExpectExact(out.view, want, Name(c) + " (integers)");
  } else {
    ExpectWithin(out.view, want, tol, Name(c));
  }
  ExpectPaddingUntouched(out, Name(c) + " padding");
  return HostTensor::CopyOf(out.view);
}

const std::vector<ConvCase>& Cases() {
  static const std::vector<ConvCase> cases = {
      // batch, h, w, cin, cout, k, stride, padding, groups, bias, residual, nchw
      {1, 1, 1, 1, 1, 1, 1, 0, 1, false, false, false},
      {2, 19, 23, 3, 16, 7, 4, 3, 1, true, false, true},    // X-VLA stage-0 shape family
      {1, 13, 11, 8, 12, 3, 2, 1, 1, true, true, false},    // downsampling conv
      {1, 9, 7, 5, 7, 3, 1, 0, 1, false, true, true},       // no padding, odd channels
      {2, 11, 9, 12, 12, 3, 1, 1, 12, true, true, false},   // depthwise (DaViT conv1/conv2)
      {1, 15, 17, 6, 6, 7, 2, 3, 6, true, false, true},     // depthwise k7 s2
      {1, 10, 10, 4, 8, 3, 1, 1, 4, true, false, false},    // depthwise, 2 outputs per input
      {1, 12, 9, 8, 6, 3, 2, 1, 2, true, true, true},       // grouped (Cg = 4)
      {1, 8, 8, 3, 5, 7, 4, 3, 1, false, false, false},     // kernel larger than the stride grid
      {1, 7, 7, 16, 9, 1, 1, 0, 1, true, false, false},     // 1x1
  };
  return cases;
}

TEST(CpuConv2d, MatchesNaiveDoubleLoop) {
  uint64_t seed = 600;
  for (const ConvCase& c : Cases()) RunCase(c, seed += 10, /*integers=*/false);
}

TEST(CpuConv2d, IntegerInputsAreBitExact) {
  // |Σ| <= 16 * K + 8 with K <= 147: every partial sum is an exact f32 integer.
  uint64_t seed = 700;
  for (const ConvCase& c : Cases()) RunCase(c, seed += 10, /*integers=*/true);
}

TEST(CpuConv2d, ResidualMayAliasOut) {
  for (int groups : {1, 8}) {  // im2col and depthwise paths
    const HostTensor x = Random({1, 9, 9, 8}, 800);
    const HostTensor w = Random({8, 8 / groups, 3, 3}, 801);
    const HostTensor bias = Random({8}, 802);
    const HostTensor r = Random({1, 5, 5, 8}, 803);
    const Conv2dParams params{2, 1, groups};
    HostTensor separate(DType::kF32, {1, 5, 5, 8});
    Cpu().Conv2d(x.view(), w.view(), &bias.view(), params, &r.view(), separate.view());
    HostTensor inplace = HostTensor::CopyOf(r.view());
    Cpu().Conv2d(x.view(), w.view(), &bias.view(), params, &inplace.view(), inplace.view());
    ExpectBitEqual(inplace.view(), separate.view(), fmt::format("Conv2d in place, groups {}", groups));
  }
}

TEST(CpuConv2d, HandComputedPaddingAndStride) {
  // 1 channel, 3x3 image 1..9, 3x3 kernel of ones, padding 1, stride 2:
  // outputs at (0,0), (0,2), (2,0), (2,2) sum the clipped 2x2 neighbourhoods.
  HostTensor x(DType::kF32, {1, 3, 3, 1});
  for (int i = 0; i < 9; ++i) x.data<float>()[i] = static_cast<float>(i + 1);
  const HostTensor w = Full({1, 1, 3, 3}, 1.0f);
  HostTensor out(DType::kF32, {1, 2, 2, 1});
  Cpu().Conv2d(x.view(), w.view(), nullptr, Conv2dParams{2, 1, 1}, nullptr, out.view());
  ExpectExact(out.view(), {1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9},
              "3x3 ones, stride 2, padding 1");
}

}  // namespace
}  // namespace vlart::testing
