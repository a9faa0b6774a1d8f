// SPDX-License-Identifier: Apache-2.0
//
// resample_test.cc: Resampler equals Pillow's Image.resize byte for byte on every
// fixture case (filters, up/down scaling, odd and 1-pixel sizes, extreme aspect
// ratios, the tall-image rule, one-pass cases, boxes, crops, copies).

#include "image/resample.h"

#include <gtest/gtest.h>

#include <string>

#include "fixture_util.h"
#include "image/decode.h"
#include "synth_image.h"

namespace vlart {
namespace {

using testing::CountMismatches;
using testing::Fnv1a64Hex;
using testing::ImageFixtureIndex;
using testing::ImageFixturePath;
using testing::Synth;

std::optional<ResampleBox> BoxOf(const nlohmann::json& c) {
  if (c["box"].is_null()) return std::nullopt;
  const auto& b = c["box"];
  return ResampleBox{b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>()};
}

TEST(Resample, MatchesPillowOnEveryFixture) {
  const auto& cases = ImageFixtureIndex()["resize"];
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    const std::string expected_file = c["expected"];
    SCOPED_TRACE(expected_file);
    const Image in = Synth(c["in_height"], c["in_width"], c["seed"]);
    const Result<ResampleFilter> filter = ResampleFilterFromPil(c["filter"]);
    ASSERT_TRUE(filter.ok());
    Result<Resampler> r =
        Resampler::Create(in.height, in.width, c["out_height"], c["out_width"], *filter, BoxOf(c));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Result<Image> out = r->Run(in.view());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const Result<Image> expected = DecodeImageFile(ImageFixturePath(expected_file));
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    ASSERT_EQ(out->height, expected->height);
    ASSERT_EQ(out->width, expected->width);
    EXPECT_EQ(CountMismatches(out->rgb, expected->rgb), 0u);
    EXPECT_EQ(Fnv1a64Hex(out->rgb), c["fnv1a64"].get<std::string>());
  }
}

TEST(Resample, PlanIsReusableAcrossImages) {
  // Two LIBERO views through one plan equal two one-shot resizes (scratch reuse is clean).
  Result<Resampler> r = Resampler::Create(256, 256, 224, 224, ResampleFilter::kBicubic);
  ASSERT_TRUE(r.ok());
  const Image a = Synth(256, 256, 1), b = Synth(256, 256, 2);
  const Result<Image> ra = r->Run(a.view()), rb = r->Run(b.view()), ra2 = r->Run(a.view());
  ASSERT_TRUE(ra.ok() && rb.ok() && ra2.ok());
  EXPECT_EQ(*ra, *ResizeImage(a.view(), 224, 224, ResampleFilter::kBicubic));
  EXPECT_EQ(*rb, *ResizeImage(b.view(), 224, 224, ResampleFilter::kBicubic));
  EXPECT_EQ(*ra, *ra2);
}

TEST(Resample, ChannelsAreIndependent) {
  // Pillow resamples each band alike, so a 1-channel ("L") resize equals one channel
  // of the RGB resize; likewise 4 channels.
  const Image rgb = Synth(61, 37, 3);
  for (const ResampleFilter f :
       {ResampleFilter::kBicubic, ResampleFilter::kLanczos, ResampleFilter::kNearest}) {
    Result<Resampler> r = Resampler::Create(61, 37, 224, 200, f);
    ASSERT_TRUE(r.ok());
    const Result<Image> ref = r->Run(rgb.view());
    ASSERT_TRUE(ref.ok());
    std::vector<uint8_t> gray(61 * 37), rgba(61 * 37 * 4);
    for (size_t i = 0; i < gray.size(); ++i) {
      gray[i] = rgb.rgb[3 * i + 1];
      for (int c = 0; c < 3; ++c) rgba[4 * i + c] = rgb.rgb[3 * i + c];
      rgba[4 * i + 3] = static_cast<uint8_t>(i);
    }
    std::vector<uint8_t> gray_out(224 * 200), rgba_out(224 * 200 * 4);
    ASSERT_TRUE(r->Run(ImageView{gray.data(), 61, 37, 1}, gray_out.data()).ok());
    ASSERT_TRUE(r->Run(ImageView{rgba.data(), 61, 37, 4}, rgba_out.data()).ok());
    size_t mismatches = 0;
    for (size_t i = 0; i < gray_out.size(); ++i) {
      mismatches += gray_out[i] != ref->rgb[3 * i + 1];
      for (int c = 0; c < 3; ++c) mismatches += rgba_out[4 * i + c] != ref->rgb[3 * i + c];
    }
    EXPECT_EQ(mismatches, 0u) << ResampleFilterName(f);
  }
}

TEST(Resample, RefusesBadArguments) {
  EXPECT_EQ(Resampler::Create(10, 10, 0, 5, ResampleFilter::kBicubic).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(0, 10, 5, 5, ResampleFilter::kBicubic).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(10, 10, 100000, 100000, ResampleFilter::kBicubic).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(10, 10, 5, 5, ResampleFilter::kBilinear, ResampleBox{-1, 0, 5, 5})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(10, 10, 5, 5, ResampleFilter::kBilinear, ResampleBox{0, 0, 11, 5})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Resampler::Create(10, 10, 5, 5, ResampleFilter::kBilinear, ResampleBox{6, 0, 5, 5})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  Result<Resampler> r = Resampler::Create(10, 10, 5, 5, ResampleFilter::kBicubic);
  ASSERT_TRUE(r.ok());
  const Image wrong = Image::Zeros(10, 11);
  const Result<Image> out = r->Run(wrong.view());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "resize: input: expected 10x10 (HxW) as planned, got 10x11");
}

TEST(Resample, FilterNamesFollowPil) {
  EXPECT_EQ(*ResampleFilterFromPil(3), ResampleFilter::kBicubic);
  EXPECT_EQ(*ResampleFilterFromPil(2), ResampleFilter::kBilinear);
  EXPECT_EQ(*ResampleFilterFromPil(0), ResampleFilter::kNearest);
  EXPECT_EQ(ResampleFilterName(ResampleFilter::kLanczos), "LANCZOS");
  EXPECT_FALSE(ResampleFilterFromPil(6).ok());
  EXPECT_FALSE(ResampleFilterFromPil(-1).ok());
}

}  // namespace
}  // namespace vlart
