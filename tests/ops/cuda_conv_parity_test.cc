// SPDX-License-Identifier: Apache-2.0
//
// cuda_conv_parity_test.cc: CUDA Conv2d against the CPU reference, in every ParityMode:
// depthwise 3x3 (DaViT's conv1/conv2, with bias and residual, separate or in place), dense
// convs through im2col + cuBLASLt (DaViT's stage-0 7x7 s4 p3 from an NCHW f32 image viewed as
// NHWC, the 3x3 s2 p1 stage convs), grouped convs on the direct kernel, awkward sizes.
//
// Tolerance: with P = the input patch of an output pixel (its group's channels, in-image taps)
// and S = ||P||·||w_co|| + |b_co| + |residual| >= Σ |w x| + |b| + |r| (Cauchy-Schwarz),
//   tol = u_out |want| + ReductionTol(Cin/groups · kh · kw, S) + x_round ||P||·||w_co|| + AbsFloor
// where x_round = u_w when the device rounds an f32 image to the weights' dtype in im2col.
// In the bf16/f16 modes the GEMM tuner may pick cuBLASLt's fused epilogue for the im2col GEMM
// (CudaBackendOptions::fused_lt_epilogues): the product is rounded before bias and residual
// are added, which adds u_out |product| with product = want - b - r (see
// cuda_linear_parity_test.cc).

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend_internal.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

enum class Residual { kNone, kSeparate, kInPlace };

struct ConvCase {
  int64_t batch, h, w, cin, cout, k, stride, pad, groups;
  bool bias;
  Residual residual;
  bool nchw_f32_image = false;  // x is an f32 NCHW image permuted to NHWC (stage 0)
  int64_t out_pad = 2;  // output pixel stride Cout + out_pad (0: aligned, the vector depthwise path)
};

std::string Describe(const ConvCase& c) {
  return fmt::format("B {} H {} W {} Cin {} Cout {} k {} s {} p {} groups {} bias {} residual {} image {}",
                     c.batch, c.h, c.w, c.cin, c.cout, c.k, c.stride, c.pad, c.groups, c.bias,
                     static_cast<int>(c.residual), c.nchw_f32_image);
}

void RunConvCase(ParityMode mode, const ConvCase& c, uint64_t seed) {
  SCOPED_TRACE(SeedNote(seed) + " " + Describe(c));
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const DType x_dt = c.nchw_f32_image ? DType::kF32 : dt;

  Twin xbuf;
  Tensor xh, xd;
  if (c.nchw_f32_image) {
    xbuf = RandomTwin(cuda, *arena, Shape{c.batch, c.cin, c.h, c.w}, x_dt, seed, -2.0f, 2.0f);
    xh = xbuf.h().Permute({0, 2, 3, 1});
    xd = xbuf.dev.Permute({0, 2, 3, 1});
  } else {
    xbuf = RandomTwin(cuda, *arena, Shape{c.batch, c.h, c.w, c.cin}, x_dt, seed, -2.0f, 2.0f);
    xh = xbuf.h();
    xd = xbuf.dev;
  }
  const int64_t cg = c.cin / c.groups;
  Twin w = RandomTwin(cuda, *arena, Shape{c.cout, cg, c.k, c.k}, dt, seed + 1, -0.5f, 0.5f);
  Twin bias = RandomTwin(cuda, *arena, Shape{c.cout}, dt, seed + 2);
  const int64_t ho = (c.h + 2 * c.pad - c.k) / c.stride + 1;
  const int64_t wo = (c.w + 2 * c.pad - c.k) / c.stride + 1;
  const Shape out_shape{c.batch, ho, wo, c.cout};
  Twin res = RandomTwin(cuda, *arena, out_shape, dt, seed + 3);
  const Conv2dParams params{static_cast<int>(c.stride), static_cast<int>(c.pad), static_cast<int>(c.groups)};
  const Tensor* bias_h = c.bias ? &bias.host.view() : nullptr;
  const Tensor* bias_d = c.bias ? &bias.dev : nullptr;
  const bool has_res = c.residual != Residual::kNone;

  HostTensor want(DType::kF32, out_shape);
  CpuRef().Conv2d(xh, w.h(), bias_h, params, has_res ? &res.host.view() : nullptr, want.view());

  const std::vector<double> xv = Values(xh);  // NHWC order
  const float* wp = w.host.data<float>();
  std::vector<double> wn(static_cast<size_t>(c.cout));
  for (int64_t co = 0; co < c.cout; ++co) {
    double s = 0;
    for (int64_t e = 0; e < cg * c.k * c.k; ++e) s += static_cast<double>(wp[co * cg * c.k * c.k + e]) * wp[co * cg * c.k * c.k + e];
    wn[static_cast<size_t>(co)] = std::sqrt(s);
  }
  const double x_round = x_dt != dt ? UnitRoundoff(dt) : 0.0;
  const int64_t kred = cg * c.k * c.k;
  const bool product_rounded = mode == ParityMode::kBF16 || mode == ParityMode::kF16;
  std::vector<double> tol(static_cast<size_t>(want.numel()));
  for (int64_t b = 0; b < c.batch; ++b) {
    for (int64_t oy = 0; oy < ho; ++oy) {
      for (int64_t ox = 0; ox < wo; ++ox) {
        for (int64_t g = 0; g < c.groups; ++g) {
          double pn = 0;
          for (int64_t ky = 0; ky < c.k; ++ky) {
            const int64_t iy = oy * c.stride - c.pad + ky;
            if (iy < 0 || iy >= c.h) continue;
            for (int64_t kx = 0; kx < c.k; ++kx) {
              const int64_t ix = ox * c.stride - c.pad + kx;
              if (ix < 0 || ix >= c.w) continue;
              for (int64_t ci = g * cg; ci < (g + 1) * cg; ++ci) {
                const double v = xv[static_cast<size_t>(((b * c.h + iy) * c.w + ix) * c.cin + ci)];
                pn += v * v;
              }
            }
          }
          pn = std::sqrt(pn);
          const int64_t per_group = c.cout / c.groups;
          for (int64_t co = g * per_group; co < (g + 1) * per_group; ++co) {
            const size_t o = static_cast<size_t>(((b * ho + oy) * wo + ox) * c.cout + co);
            const double sxw = pn * wn[static_cast<size_t>(co)];
            const double s = sxw + (c.bias ? std::fabs(bias.host.data<float>()[co]) : 0.0) +
                             (has_res ? std::fabs(res.host.data<float>()[o]) : 0.0);
            tol[o] = UnitRoundoff(dt) * std::fabs(want.data<float>()[o]) + ReductionTol(kred, s) + x_round * sxw + AbsFloor(dt);
            if (product_rounded) {
              const double product = static_cast<double>(want.data<float>()[o]) -
                                     (c.bias ? bias.host.data<float>()[co] : 0.0) -
                                     (has_res ? res.host.data<float>()[o] : 0.0);
              tol[o] += UnitRoundoff(dt) * std::fabs(product);
            }
          }
        }
      }
    }
  }

  GuardedOutput out = MakeGuarded(cuda, *arena, out_shape, dt, c.out_pad);
  if (c.residual == Residual::kInPlace) {
    cuda.Copy(res.dev, out.view);
    cuda.Conv2d(xd, w.dev, bias_d, params, &out.view, out.view);
  } else {
    cuda.Conv2d(xd, w.dev, bias_d, params, c.residual == Residual::kSeparate ? &res.dev : nullptr, out.view);
  }
  ExpectClose(ReadGuarded(cuda, out, "Conv2d"), want, tol, "Conv2d");
}

VLART_PARITY_SUITE(ConvParity);

TEST_P(ConvParity, DepthwiseAwkwardAndDaVitSizes) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 3000;
  const std::vector<ConvCase> cases = {
      {1, 1, 1, 1, 1, 3, 1, 1, 1, true, Residual::kNone},
      {2, 7, 19, 3, 3, 3, 1, 1, 3, true, Residual::kSeparate},
      {1, 19, 7, 111, 111, 3, 1, 1, 111, false, Residual::kInPlace},
      {1, 9, 11, 5, 5, 5, 2, 2, 5, true, Residual::kNone},  // generic depthwise (5x5, s2)
      {2, 56, 56, 256, 256, 3, 1, 1, 256, true, Residual::kSeparate},   // DaViT stage 0
      {2, 14, 14, 1024, 1024, 3, 1, 1, 1024, true, Residual::kInPlace},  // DaViT stage 2
      // Aligned outputs: the 8-channel vector kernel in bf16/f16 (DepthwiseConv3x3VecKernel).
      {2, 56, 56, 256, 256, 3, 1, 1, 256, true, Residual::kSeparate, false, 0},
      {2, 14, 14, 1024, 1024, 3, 1, 1, 1024, true, Residual::kInPlace, false, 0},
      {1, 9, 7, 64, 64, 3, 2, 1, 64, false, Residual::kNone, false, 0},     // stride 2, no bias
      {3, 5, 6, 24, 24, 3, 1, 0, 24, true, Residual::kSeparate, false, 0},  // no padding
  };
  for (const ConvCase& c : cases) RunConvCase(GetParam(), c, TestSeed(++salt));
}

// The vector depthwise kernel does DepthwiseConvKernel's arithmetic in the same order, so in
// bf16 it must equal the fallback (direct) kernel bit for bit, not only within tolerance.
TEST_P(ConvParity, DepthwiseVectorKernelEqualsScalarBits) {
  VLART_REQUIRE_REAL_CUDA();
  if (GetParam() != ParityMode::kBF16) GTEST_SKIP() << "bf16 against the bf16 fallback backend";
  Backend& fast = CudaFor(ParityMode::kBF16);
  Backend& slow = CudaFor(ParityMode::kBF16Fallback);
  auto fast_arena = fast.NewArena();
  auto slow_arena = slow.NewArena();
  struct Case {
    int64_t b, h, w, c, stride, pad;
    Residual residual;
  };
  uint64_t salt = 3300;
  for (const Case& k : {Case{2, 14, 14, 1024, 1, 1, Residual::kInPlace}, Case{2, 56, 56, 256, 1, 1, Residual::kSeparate},
                        Case{1, 9, 7, 64, 2, 1, Residual::kNone}, Case{3, 5, 6, 24, 1, 0, Residual::kSeparate}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + fmt::format(" B {} H {} W {} C {} s {} p {}", k.b, k.h, k.w, k.c, k.stride, k.pad));
    const int64_t ho = (k.h + 2 * k.pad - 3) / k.stride + 1;
    const int64_t wo = (k.w + 2 * k.pad - 3) / k.stride + 1;
    const Conv2dParams params{static_cast<int>(k.stride), static_cast<int>(k.pad), static_cast<int>(k.c)};
    std::vector<HostTensor> results;
    for (Backend* be : {&fast, &slow}) {
      Arena& arena = be == &fast ? *fast_arena : *slow_arena;
      const Twin x = RandomTwin(*be, arena, Shape{k.b, k.h, k.w, k.c}, DType::kBF16, seed, -2.0f, 2.0f);
      const Twin w = RandomTwin(*be, arena, Shape{k.c, 1, 3, 3}, DType::kBF16, seed + 1);
      const Twin bias = RandomTwin(*be, arena, Shape{k.c}, DType::kBF16, seed + 2);
      const Twin res = RandomTwin(*be, arena, Shape{k.b, ho, wo, k.c}, DType::kBF16, seed + 3);
      const Tensor out = arena.Allocate(Shape{k.b, ho, wo, k.c}, DType::kBF16);
      cuda::ResetStats(*be);
      if (k.residual == Residual::kInPlace) {
        be->Copy(res.dev, out);
        be->Conv2d(x.dev, w.dev, &bias.dev, params, &out, out);
      } else {
        be->Conv2d(x.dev, w.dev, &bias.dev, params, k.residual == Residual::kSeparate ? &res.dev : nullptr, out);
      }
      HostTensor bits(DType::kBF16, out.shape);
      be->Download(out, bits.view());
      be->Synchronize();
      EXPECT_EQ(cuda::StatsOf(*be).conv_depthwise_vec, be == &fast ? 1 : 0);
      results.push_back(std::move(bits));
    }
    ASSERT_EQ(results[0].nbytes(), results[1].nbytes());
    int64_t differing = 0;
    const uint16_t* a = results[0].data<uint16_t>();
    const uint16_t* b = results[1].data<uint16_t>();
    for (int64_t i = 0; i < results[0].numel(); ++i) differing += a[i] != b[i];
    EXPECT_EQ(differing, 0) << "of " << results[0].numel() << " outputs";
  }
}

TEST_P(ConvParity, DenseAndGroupedConvs) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 3100;
  const std::vector<ConvCase> cases = {
      {1, 7, 9, 5, 3, 3, 2, 1, 1, true, Residual::kNone},
      {2, 19, 7, 4, 7, 1, 1, 0, 1, false, Residual::kSeparate},
      {1, 16, 16, 3, 19, 7, 4, 3, 1, true, Residual::kNone, true},  // small stage-0 from NCHW f32
      {1, 11, 13, 6, 4, 3, 1, 1, 2, true, Residual::kInPlace},     // grouped: direct kernel
      {1, 224, 224, 3, 256, 7, 4, 3, 1, true, Residual::kNone, true},  // DaViT stage-0 conv
      {1, 224, 224, 3, 1152, 14, 14, 0, 1, true, Residual::kNone, true},  // SigLIP patches
      {1, 56, 56, 256, 512, 3, 2, 1, 1, true, Residual::kNone},        // DaViT stage-1 conv
  };
  for (const ConvCase& c : cases) RunConvCase(GetParam(), c, TestSeed(++salt));
}

TEST_P(ConvParity, PathsTaken) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const Tensor x = arena->Allocate(Shape{1, 28, 28, 64}, dt);
  const Tensor dw = arena->Allocate(Shape{64, 1, 3, 3}, dt);
  const Tensor dense = arena->Allocate(Shape{128, 64, 3, 3}, dt);
  const Tensor y1 = arena->Allocate(Shape{1, 28, 28, 64}, dt);
  const Tensor y2 = arena->Allocate(Shape{1, 14, 14, 128}, dt);
  for (const Tensor* t : {&x, &dw, &dense}) cuda.Fill(*t, 0.125f);
  cuda::ResetStats(cuda);
  cuda.Conv2d(x, dw, nullptr, Conv2dParams{1, 1, 64}, nullptr, y1);
  cuda.Conv2d(x, dense, nullptr, Conv2dParams{2, 1, 1}, nullptr, y2);
  cuda.Synchronize();
  const cuda::Stats s = cuda::StatsOf(cuda);
  if (mode == ParityMode::kBF16Fallback) {
    EXPECT_EQ(s.conv_direct, 2);
  } else {
    EXPECT_EQ(s.conv_depthwise, 1);
    EXPECT_EQ(s.conv_depthwise_vec, dt == DType::kF32 ? 0 : 1);  // 64 aligned channels
    EXPECT_EQ(s.conv_im2col_gemm, 1);
    EXPECT_EQ(s.gemm_cublaslt + s.gemm_mma, 1);  // mma for bf16/f16, cuBLASLt for f32
  }
  // RGB patch convolutions (K = 3 * 14 * 14 = 588, not a multiple of 8: no tensor-core GEMM
  // of ours) with a bias: cuBLASLt's f32 product and one epilogue pass, not the SIMT GEMM.
  const Tensor image = arena->Allocate(Shape{1, 28, 28, 3}, dt);
  const Tensor patch_w = arena->Allocate(Shape{32, 3, 14, 14}, dt);
  const Tensor patch_b = arena->Allocate(Shape{32}, dt);
  const Tensor patches = arena->Allocate(Shape{1, 2, 2, 32}, dt);
  for (const Tensor* t : {&image, &patch_w, &patch_b}) cuda.Fill(*t, 0.25f);
  cuda::ResetStats(cuda);
  cuda.Conv2d(image, patch_w, &patch_b, Conv2dParams{14, 0, 1}, nullptr, patches);
  cuda.Synchronize();
  const cuda::Stats p = cuda::StatsOf(cuda);
  EXPECT_EQ(p.conv_im2col_gemm, mode == ParityMode::kBF16Fallback ? 0 : 1);
  EXPECT_EQ(p.gemm_simt, 0);
  if (mode != ParityMode::kBF16Fallback) EXPECT_EQ(p.gemm_cublaslt, 1);
}

}  // namespace
}  // namespace vlart::testing
