// SPDX-License-Identifier: Apache-2.0
//
// cpu_resize_pixels_test.cc: Backend::ResizePixels on the CPU reference against the host
// Resampler (image/resample.h, itself proven equal to Pillow's bytes by
// tests/image/resample_test.cc), through the taps image/resize_taps.h makes from its plan.
// Exact: every byte must match.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "cpu_test_util.h"
#include "image/resample.h"
#include "image/resize_taps.h"

namespace vlart::testing {
namespace {

struct ResizeCase {
  int h, w, ho, wo;
  std::optional<ResampleBox> box;
  const char* what;
};

// n images of random bytes [n, h, w, 3].
HostTensor RandomPixels(int64_t n, int h, int w, uint64_t seed) {
  HostTensor pixels(DType::kU8, {n, h, w, 3});
  const HostTensor bytes = RandomIntegers({pixels.numel()}, seed, 0, 255);
  for (int64_t i = 0; i < pixels.numel(); ++i) {
    pixels.data<uint8_t>()[i] = static_cast<uint8_t>(bytes.data<float>()[i]);
  }
  return pixels;
}

// Every separable filter, down- and up-scales, one axis unchanged (its pass skipped: identity
// taps), a box (Pillow's region argument), and X-VLA's LIBERO shape (256 -> 224 bicubic).
TEST(CpuResizePixels, EqualsTheResamplersBytes) {
  const std::vector<ResizeCase> cases = {
      {256, 256, 224, 224, std::nullopt, "LIBERO 256 -> 224"},
      {61, 80, 23, 31, std::nullopt, "downscale, odd sizes"},
      {17, 13, 40, 29, std::nullopt, "upscale"},
      {32, 48, 32, 20, std::nullopt, "width only (no vertical pass)"},
      {48, 32, 20, 32, std::nullopt, "height only (no horizontal pass)"},
      {40, 50, 16, 21, ResampleBox{3.5f, 2.0f, 44.25f, 37.0f}, "a fractional box"},
  };
  const ResampleFilter filters[] = {ResampleFilter::kBicubic, ResampleFilter::kBilinear,
                                    ResampleFilter::kLanczos, ResampleFilter::kBox,
                                    ResampleFilter::kHamming};
  uint64_t seed = 4100;
  for (const ResizeCase& rc : cases) {
    for (const ResampleFilter filter : filters) {
      const std::string what = std::string(rc.what) + " " + std::string(ResampleFilterName(filter));
      auto plan = Resampler::Create(rc.h, rc.w, rc.ho, rc.wo, filter, rc.box);
      ASSERT_TRUE(plan.ok()) << what << ": " << plan.status().ToString();
      const std::optional<ResizeTaps> taps = SeparableResizeTaps(*plan);
      ASSERT_TRUE(taps.has_value()) << what;
      const int64_t n = 2;
      const HostTensor pixels = RandomPixels(n, rc.h, rc.w, ++seed);
      HostTensor out(DType::kU8, {n, 3, rc.ho, rc.wo});
      Cpu().ResizePixels(pixels.view(), taps->x.view(), taps->y.view(), out.view());
      for (int64_t i = 0; i < n; ++i) {
        const ImageView view{pixels.data<uint8_t>() + i * rc.h * rc.w * 3, rc.h, rc.w, 3};
        std::vector<uint8_t> want(static_cast<size_t>(rc.ho) * rc.wo * 3);
        ASSERT_TRUE(plan->Run(view, want.data()).ok()) << what;
        for (int c = 0; c < 3; ++c) {
          for (int p = 0; p < rc.ho * rc.wo; ++p) {
            const uint8_t got = out.data<uint8_t>()[(i * 3 + c) * rc.ho * rc.wo + p];
            ASSERT_EQ(got, want[static_cast<size_t>(p) * 3 + c])
                << what << ": image " << i << " channel " << c << " y " << p / rc.wo << " x "
                << p % rc.wo;
          }
        }
      }
    }
  }
}

// Plans that are not one convolution call have no taps: the model resizes those on the host.
TEST(CpuResizePixels, OnlyConvolutionPlansHaveTaps) {
  auto same = Resampler::Create(224, 224, 224, 224, ResampleFilter::kBicubic);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(SeparableResizeTaps(*same).has_value()) << "same size: Pillow copies";
  auto nearest = Resampler::Create(256, 256, 224, 224, ResampleFilter::kNearest);
  ASSERT_TRUE(nearest.ok());
  EXPECT_FALSE(SeparableResizeTaps(*nearest).has_value()) << "NEAREST";
  auto tall = Resampler::Create(1010, 10, 224, 224, ResampleFilter::kBicubic);
  ASSERT_TRUE(tall.ok());
  EXPECT_FALSE(SeparableResizeTaps(*tall).has_value()) << "over 100x taller: two resize calls";
}

// Taps outside the input are refused with what, where, expected and got.
TEST(CpuResizePixels, TapsOutsideTheInputAreClearErrors) {
  const HostTensor pixels = RandomPixels(1, 8, 8, 4200);
  auto plan = Resampler::Create(8, 8, 4, 4, ResampleFilter::kBilinear);
  ASSERT_TRUE(plan.ok());
  std::optional<ResizeTaps> taps = SeparableResizeTaps(*plan);
  ASSERT_TRUE(taps.has_value());
  HostTensor out(DType::kU8, {1, 3, 4, 4});
  const int64_t row = taps->x.shape()[1];
  taps->x.data<int32_t>()[2 * row] = 7;  // column 2 starts at 7 and reads count > 1 taps
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view(), taps->x.view(), taps->y.view(), out.view()),
               "ResizePixels: taps_x\\[2\\]: expected taps inside the input \\(0 <= first, 1 <= "
               "count <= [0-9]+, first \\+ count <= 8\\), got first 7 count [0-9]+");
}

}  // namespace
}  // namespace vlart::testing
