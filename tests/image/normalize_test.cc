// SPDX-License-Identifier: Apache-2.0
//
// normalize_test.cc: model-input floats equal the Python preprocessors' exactly
// (max abs error 0): CLIPImageProcessor (PIL backend, X-VLA settings) and openpi's
// uint8 -> [-1, 1]; plus the full X-VLA chain (Pillow BICUBIC 224 + CLIP normalise).

#include "image/normalize.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>

#include "fixture_util.h"
#include "image/resample.h"
#include "synth_image.h"

namespace vlart {
namespace {

using testing::Fnv1a64Hex;
using testing::ImageFixtureIndex;
using testing::Synth;

TEST(Normalize, ClipTableMatchesTransformers) {
  const auto& table = ImageFixtureIndex()["clip_table_f32_bits"];
  ASSERT_EQ(table.size(), 3u);
  const ClipNormalization norm;  // defaults are X-VLA's preprocessor_config.json
  int mismatches = 0;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      const uint32_t got =
          std::bit_cast<uint32_t>(ClipPixelValue(static_cast<uint8_t>(v), c, norm));
      mismatches += got != table[c][v].get<uint32_t>();
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(norm.rescale_factor,
            ImageFixtureIndex()["clip_config"]["rescale_factor"].get<double>());
}

TEST(Normalize, OpenpiTableMatchesNumpy) {
  const auto& table = ImageFixtureIndex()["openpi_table_f32_bits"];
  ASSERT_EQ(table.size(), 256u);
  int mismatches = 0;
  for (int v = 0; v < 256; ++v) {
    mismatches += std::bit_cast<uint32_t>(OpenpiPixelValue(static_cast<uint8_t>(v))) !=
                  table[v].get<uint32_t>();
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(OpenpiPixelValue(0), -1.0f);
  EXPECT_EQ(OpenpiPixelValue(255), 1.0f);
}

TEST(Normalize, XvlaChainMatchesClipImageProcessor) {
  // synth -> Pillow BICUBIC 224x224 -> rescale/normalise -> [3, 224, 224] f32, hashed
  // by the script from CLIPImageProcessorPil's pixel_values.
  const auto& cases = ImageFixtureIndex()["clip"];
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    const Image in = Synth(c["in_height"], c["in_width"], c["seed"]);
    const Result<Image> resized = ResizeImage(in.view(), 224, 224, ResampleFilter::kBicubic);
    ASSERT_TRUE(resized.ok());
    const Result<HostTensor> out = NormalizeClip(resized->view(), ClipNormalization{});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->shape(), (Shape{3, 224, 224}));
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(out->data<float>()),
                                         out->nbytes());
    EXPECT_EQ(Fnv1a64Hex(bytes), c["out_fnv1a64"].get<std::string>())
        << c["in_height"] << "x" << c["in_width"];
  }
}

TEST(Normalize, LayoutsHoldTheSameValues) {
  const Image img = Synth(5, 7, 9);
  const Result<HostTensor> hwc = NormalizeOpenpi(img.view(), ChannelLayout::kHWC);
  const Result<HostTensor> chw = NormalizeOpenpi(img.view(), ChannelLayout::kCHW);
  const Result<HostTensor> clip = NormalizeClip(img.view(), ClipNormalization{});
  ASSERT_TRUE(hwc.ok() && chw.ok() && clip.ok());
  EXPECT_EQ(hwc->shape(), (Shape{5, 7, 3}));
  EXPECT_EQ(chw->shape(), (Shape{3, 5, 7}));
  int mismatches = 0;
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 7; ++x) {
      for (int c = 0; c < 3; ++c) {
        const uint8_t v = img.rgb[(y * 7 + x) * 3 + c];
        mismatches += hwc->data<float>()[(y * 7 + x) * 3 + c] != OpenpiPixelValue(v);
        mismatches += chw->data<float>()[(c * 5 + y) * 7 + x] != OpenpiPixelValue(v);
        mismatches += clip->data<float>()[(c * 5 + y) * 7 + x] != ClipPixelValue(v, c, {});
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Normalize, FlagsAndCustomStatistics) {
  ClipNormalization norm;
  norm.do_normalize = false;
  EXPECT_EQ(ClipPixelValue(255, 0, norm), 1.0f);
  norm.do_rescale = false;
  EXPECT_EQ(ClipPixelValue(200, 2, norm), 200.0f);
  norm.do_normalize = true;
  norm.mean = {0.5f, 0.5f, 0.5f};
  norm.std = {2.0f, 2.0f, 2.0f};
  EXPECT_EQ(ClipPixelValue(3, 1, norm), 1.25f);  // (3 - 0.5) / 2
}

TEST(Normalize, RefusesMismatchedOutputs) {
  const Image img = Synth(4, 6, 1);
  HostTensor wrong_shape(DType::kF32, Shape{3, 6, 4});
  const Status s = NormalizeClip(img.view(), ClipNormalization{}, wrong_shape.view());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("[3, 4, 6]"), std::string::npos) << s.message();
  HostTensor wrong_dtype(DType::kBF16, Shape{4, 6, 3});
  EXPECT_EQ(NormalizeOpenpi(img.view(), ChannelLayout::kHWC, wrong_dtype.view()).code(),
            StatusCode::kInvalidArgument);
  const std::vector<uint8_t> gray(24);
  EXPECT_FALSE(NormalizeOpenpi(ImageView{gray.data(), 4, 6, 1}, ChannelLayout::kHWC).ok());
}

}  // namespace
}  // namespace vlart
