// SPDX-License-Identifier: Apache-2.0
//
// image_test.cc: raw-buffer intake (Pillow fromarray(...).convert("RGB") semantics),
// dimension limits and the LIBERO 180-degree rotation.

#include "image/image.h"

#include <gtest/gtest.h>

#include "synth_image.h"

namespace vlart {
namespace {

using testing::Synth;

TEST(Image, FromRgbBufferCopiesReplicatesOrDropsAlpha) {
  const std::vector<uint8_t> rgb = {1, 2, 3, 4, 5, 6};
  const Result<Image> a = ImageFromRgbBuffer(rgb, 1, 2, 3);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->rgb, rgb);
  const std::vector<uint8_t> gray = {7, 8};
  const Result<Image> g = ImageFromRgbBuffer(gray, 2, 1, 1);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->rgb, (std::vector<uint8_t>{7, 7, 7, 8, 8, 8}));
  const std::vector<uint8_t> rgba = {1, 2, 3, 0, 4, 5, 6, 255};
  const Result<Image> r = ImageFromRgbBuffer(rgba, 1, 2, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rgb, rgb);  // alpha dropped, not composited
}

TEST(Image, FromRgbBufferValidatesShapes) {
  const std::vector<uint8_t> six(6);
  const Result<Image> short_buffer = ImageFromRgbBuffer(six, 2, 2, 3);
  ASSERT_FALSE(short_buffer.ok());
  EXPECT_EQ(short_buffer.status().message(),
            "image from raw buffer: expected 12 bytes for [2, 2, 3] uint8, got 6");
  EXPECT_EQ(ImageFromRgbBuffer(six, 1, 3, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageFromRgbBuffer(six, 0, 2, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageFromRgbBuffer(six, -1, -2, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageFromRgbBuffer(six, 1, 2, 3, /*max_pixels=*/1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Image, Rotate180FlipsBothAxes) {
  const Image img = Synth(5, 4, 2);
  const Image rot = Rotate180(img.view());
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) {
        ASSERT_EQ(rot.rgb[(y * 4 + x) * 3 + c], img.rgb[((4 - y) * 4 + (3 - x)) * 3 + c]);
      }
    }
  }
  Image in_place = img;
  Rotate180InPlace(in_place);
  EXPECT_EQ(in_place, rot);
  Rotate180InPlace(in_place);
  EXPECT_EQ(in_place, img);
}

}  // namespace
}  // namespace vlart
