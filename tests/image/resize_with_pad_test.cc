// SPDX-License-Identifier: Apache-2.0
//
// resize_with_pad_test.cc: ResizeWithPad equals openpi-client's resize_with_pad
// (Pillow BILINEAR + centred zero padding) byte for byte.

#include "image/resize_with_pad.h"

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

TEST(ResizeWithPad, MatchesOpenpiClient) {
  const auto& cases = ImageFixtureIndex()["pad"];
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    const int h = c["height"], w = c["width"];
    SCOPED_TRACE(std::to_string(c["in_height"].get<int>()) + "x" +
                 std::to_string(c["in_width"].get<int>()) + " -> " + std::to_string(h) + "x" +
                 std::to_string(w));
    const Image in = Synth(c["in_height"], c["in_width"], c["seed"]);
    const Result<Image> out = ResizeWithPad(in.view(), h, w);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->height, h);
    ASSERT_EQ(out->width, w);
    if (c["identity"].get<bool>()) {
      EXPECT_EQ(*out, in);
    } else {
      const Result<Image> expected = DecodeImageFile(ImageFixturePath(c["expected"]));
      ASSERT_TRUE(expected.ok()) << expected.status().ToString();
      EXPECT_EQ(CountMismatches(out->rgb, expected->rgb), 0u);
    }
    EXPECT_EQ(Fnv1a64Hex(out->rgb), c["fnv1a64"].get<std::string>());
  }
}

TEST(ResizeWithPad, GeometryFollowsPythonArithmetic) {
  // 480x640 -> 224: ratio 640/224 = 2.857142857142857; int(480 / ratio) = 168.
  const Result<PadGeometry> g = ResizeWithPadGeometry(480, 640, 224, 224);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->resized_height, 168);
  EXPECT_EQ(g->resized_width, 224);
  EXPECT_EQ(g->pad_top, 28);
  EXPECT_EQ(g->pad_left, 0);
  // 61x37 -> 224: ratio 61/224; int(37 / ratio) = 135; slack 89 -> left pad 44.
  const Result<PadGeometry> odd = ResizeWithPadGeometry(61, 37, 224, 224);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->resized_height, 224);
  EXPECT_EQ(odd->resized_width, 135);
  EXPECT_EQ(odd->pad_left, 44);
}

TEST(ResizeWithPad, RefusesDegenerateAspectRatios) {
  const Image thin = Image::Zeros(1, 1000);  // 1000 wide -> 224 wide leaves 0 rows
  const Result<Image> out = ResizeWithPad(thin.view(), 224, 224);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ResizeWithPadGeometry(0, 5, 224, 224).ok());
}

}  // namespace
}  // namespace vlart
