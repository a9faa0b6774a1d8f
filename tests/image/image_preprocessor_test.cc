// SPDX-License-Identifier: Apache-2.0
//
// image_preprocessor_test.cc: the fast planar path (ImagePreprocessor and its kernels:
// plane_ops, row_convolution, pixel_normalizer) writes exactly the bytes of the reference
// path (Resampler / ResizeImage + NormalizeClip / NormalizeOpenpi, which resample_test and
// normalize_test hold against Pillow and torch), bit for bit, on random pictures, the
// deterministic test picture and the bundled demo views; with and without AVX2.

#include "image/image_preprocessor.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/normalize.h"
#include "image/pixel_normalizer.h"
#include "image/plane_ops.h"
#include "image/resample.h"
#include "image/row_convolution.h"
#include "image/simd_support.h"
#include "support/random_image.h"
#include "support/test_paths.h"
#include "synth_image.h"

namespace vlart {
namespace {

using testing::RandomImage;

// The reference: [3, out_h, out_w] f32 from ResizeImage (skipped when the size already
// matches, as the processors do) and the normalisation's own entry point.
std::vector<float> Reference(const Image& in, int out_h, int out_w, ResampleFilter filter,
                             bool clip) {
  Image resized;
  const Image* src = &in;
  if (in.height != out_h || in.width != out_w) {
    Result<Image> r = ResizeImage(in.view(), out_h, out_w, filter);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    resized = std::move(*r);
    src = &resized;
  }
  Result<HostTensor> t = clip ? NormalizeClip(src->view(), ClipNormalization{})
                              : NormalizeOpenpi(src->view(), ChannelLayout::kCHW);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  const float* p = t->data<float>();
  return std::vector<float>(p, p + t->numel());
}

std::vector<float> Fast(ImagePreprocessor& pre, const Image& in, int workers = 1) {
  EXPECT_TRUE(pre.Prepare(in.height, in.width, workers).ok());
  const size_t plane = static_cast<size_t>(pre.out_height()) * pre.out_width();
  std::vector<float> out(3 * plane, -7.0f);
  for (int c = 0; c < 3; ++c) pre.RunPlane(in.view(), c, c % workers, out.data() + c * plane);
  return out;
}

size_t BitMismatches(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

struct Case {
  int in_h, in_w, out_h, out_w;
  ResampleFilter filter;
};

// Both passes, one pass each way, copies, up- and downscaling, sizes that are not
// multiples of 16 (SIMD tails and padding), 1-pixel sides, NEAREST and the tall-image
// rule (the generic fallback), every convolution filter.
const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {256, 256, 224, 224, ResampleFilter::kBicubic},  // X-VLA's LIBERO views
      {224, 224, 224, 224, ResampleFilter::kBicubic},  // copy
      {480, 640, 224, 224, ResampleFilter::kBicubic},
      {231, 250, 224, 224, ResampleFilter::kBicubic},
      {224, 300, 224, 224, ResampleFilter::kBicubic},  // horizontal pass only
      {300, 224, 224, 224, ResampleFilter::kBicubic},  // vertical pass only
      {100, 90, 224, 224, ResampleFilter::kBicubic},   // upscale
      {1, 1, 224, 224, ResampleFilter::kBicubic},
      {7, 300, 37, 61, ResampleFilter::kBicubic},
      {300, 7, 61, 37, ResampleFilter::kBilinear},
      {3000, 20, 224, 224, ResampleFilter::kBicubic},  // taller than 100x: two Pillow calls
      {256, 256, 224, 224, ResampleFilter::kNearest},
      {256, 256, 224, 224, ResampleFilter::kLanczos},
      {256, 256, 224, 224, ResampleFilter::kBox},
      {256, 256, 224, 224, ResampleFilter::kHamming},
      {97, 113, 50, 41, ResampleFilter::kBilinear},
  };
  return cases;
}

class ImagePreprocessorTest : public ::testing::TestWithParam<bool> {};  // param: simd

TEST_P(ImagePreprocessorTest, ClipEqualsReferenceOnRandomAndSynthPictures) {
  const bool simd = GetParam();
  for (const Case& c : Cases()) {
    SCOPED_TRACE(::testing::Message() << c.in_h << "x" << c.in_w << " -> " << c.out_h << "x"
                                      << c.out_w << " " << ResampleFilterName(c.filter));
    ImagePreprocessor pre(c.out_h, c.out_w, c.filter, PixelNormalizer::Clip({}, simd), {simd});
    for (uint32_t seed : {1u, 2u}) {
      const Image img = RandomImage(c.in_h, c.in_w, seed * 7919 + c.in_h);
      EXPECT_EQ(BitMismatches(Fast(pre, img), Reference(img, c.out_h, c.out_w, c.filter, true)), 0u);
    }
    const Image synth = testing::Synth(c.in_h, c.in_w, 3);
    EXPECT_EQ(BitMismatches(Fast(pre, synth, 2), Reference(synth, c.out_h, c.out_w, c.filter, true)),
              0u);
  }
}

TEST_P(ImagePreprocessorTest, OpenpiEqualsReference) {
  const bool simd = GetParam();
  for (const Case& c : Cases()) {
    SCOPED_TRACE(::testing::Message() << c.in_h << "x" << c.in_w << " -> " << c.out_h << "x"
                                      << c.out_w);
    ImagePreprocessor pre(c.out_h, c.out_w, c.filter, PixelNormalizer::Openpi(simd), {simd});
    const Image img = RandomImage(c.in_h, c.in_w, 11);
    EXPECT_EQ(BitMismatches(Fast(pre, img), Reference(img, c.out_h, c.out_w, c.filter, false)), 0u);
  }
}

TEST_P(ImagePreprocessorTest, DemoViewsEqualReference) {
  const bool simd = GetParam();
  ImagePreprocessor pre(224, 224, ResampleFilter::kBicubic, PixelNormalizer::Clip({}, simd), {simd});
  for (const char* name : {"agentview.png", "wrist.png"}) {
    SCOPED_TRACE(name);
    Result<Image> img = DecodeImageFile(testing::SourceDir() / "assets" / "demo" / name);
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    EXPECT_EQ(BitMismatches(Fast(pre, *img), Reference(*img, 224, 224, ResampleFilter::kBicubic, true)),
              0u);
  }
}

TEST_P(ImagePreprocessorTest, ScratchReuseAcrossSizesIsClean) {
  // Alternating sizes through one preprocessor and one worker: stale scratch never leaks.
  const bool simd = GetParam();
  ImagePreprocessor pre(224, 224, ResampleFilter::kBicubic, PixelNormalizer::Clip({}, simd), {simd});
  const Image big = RandomImage(480, 640, 5), small = RandomImage(231, 250, 6);
  const std::vector<float> want_big = Reference(big, 224, 224, ResampleFilter::kBicubic, true);
  const std::vector<float> want_small = Reference(small, 224, 224, ResampleFilter::kBicubic, true);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(BitMismatches(Fast(pre, big), want_big), 0u);
    EXPECT_EQ(BitMismatches(Fast(pre, small), want_small), 0u);
  }
}

std::string SimdName(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "Avx2" : "Portable";
}
INSTANTIATE_TEST_SUITE_P(Simd, ImagePreprocessorTest, ::testing::Bool(), SimdName);

TEST(PixelNormalizer, EveryByteEqualsTheReferenceFunctions) {
  ClipNormalization clip_mean;  // CLIP's own mean/std, and a do_rescale/normalize-off variant
  clip_mean.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  clip_mean.std = {0.26862954f, 0.26130258f, 0.27577711f};
  ClipNormalization no_rescale;
  no_rescale.do_rescale = false;
  ClipNormalization no_normalize;
  no_normalize.do_normalize = false;
  uint8_t bytes[259];
  for (int i = 0; i < 259; ++i) bytes[i] = static_cast<uint8_t>((i * 37) % 256);  // odd length
  for (bool simd : {false, true}) {
    for (const ClipNormalization& n : {ClipNormalization{}, clip_mean, no_rescale, no_normalize}) {
      const PixelNormalizer p = PixelNormalizer::Clip(n, simd);
      for (int c = 0; c < 3; ++c) {
        float out[259];
        p.Run(bytes, c, 259, out);
        for (int i = 0; i < 259; ++i) {
          const float want = ClipPixelValue(bytes[i], c, n);
          ASSERT_EQ(std::memcmp(&out[i], &want, 4), 0) << "channel " << c << " byte " << +bytes[i];
        }
      }
    }
    const PixelNormalizer o = PixelNormalizer::Openpi(simd);
    float out[259];
    o.Run(bytes, 1, 259, out);
    for (int i = 0; i < 259; ++i) {
      const float want = OpenpiPixelValue(bytes[i]);
      ASSERT_EQ(std::memcmp(&out[i], &want, 4), 0) << "byte " << +bytes[i];
    }
  }
}

TEST(PixelNormalizer, KnownConfigurationsRunVectorized) {
  // The verified kernel must hold for the settings the models ship (else they lose speed,
  // not exactness): X-VLA's ImageNet CLIP settings and openpi's map.
  if (!CpuHasAvx2Fma()) GTEST_SKIP() << "no AVX2/FMA on this CPU";
  const PixelNormalizer clip = PixelNormalizer::Clip(ClipNormalization{});
  const PixelNormalizer openpi = PixelNormalizer::Openpi();
  for (int c = 0; c < 3; ++c) {
    EXPECT_TRUE(clip.vectorized(c)) << c;
    EXPECT_TRUE(openpi.vectorized(c)) << c;
  }
}

TEST(PlaneOps, TransposeAndExtractMatchScalar) {
  std::mt19937 rng(3);
  for (auto [rows, cols] : {std::pair{16, 16}, {32, 48}, {17, 35}, {3, 100}, {256, 256}, {1, 1}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << cols);
    const size_t in_stride = cols + 5, out_stride = rows + 3;
    std::vector<uint8_t> in(rows * in_stride);
    for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
    for (bool simd : {false, true}) {
      std::vector<uint8_t> out(cols * out_stride, 0xAB);
      TransposeBytes(in.data(), in_stride, rows, cols, out.data(), out_stride, simd);
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) ASSERT_EQ(out[c * out_stride + r], in[r * in_stride + c]);
      }
    }
  }
  std::vector<uint8_t> rgb(3 * 101);
  for (uint8_t& b : rgb) b = static_cast<uint8_t>(rng());
  for (bool simd : {false, true}) {
    for (int c = 0; c < 3; ++c) {
      std::vector<uint8_t> out(101);
      ExtractChannel(rgb.data(), 101, c, out.data(), simd);
      for (int i = 0; i < 101; ++i) ASSERT_EQ(out[i], rgb[3 * i + c]);
    }
  }
}

TEST(RowConvolution, SimdEqualsScalarIncludingClamps) {
  // Weights far outside Pillow's range drive the sums to both clamps.
  std::mt19937 rng(4);
  const size_t stride = 250, len = 245;  // tails after the 32- and 8-wide blocks
  std::vector<uint8_t> in(7 * stride);
  for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
  for (int trial = 0; trial < 50; ++trial) {
    const int count = 1 + trial % 7;  // 7 * 255 * 2^20 + 2^21 < 2^31: no int32 overflow
    std::vector<int32_t> w(count);
    for (int32_t& x : w) x = static_cast<int32_t>(rng() % (1 << 21)) - (1 << 20);
    std::vector<uint8_t> a(len), b(len);
    ConvolveRow(in.data(), stride, 0, count, w.data(), len, a.data(), false);
    ConvolveRow(in.data(), stride, 0, count, w.data(), len, b.data(), true);
    ASSERT_EQ(a, b) << "trial " << trial;
  }
}

}  // namespace
}  // namespace vlart
