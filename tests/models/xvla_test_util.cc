// SPDX-License-Identifier: Apache-2.0
//
// xvla_test_util.cc: see the header.

#include "xvla_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "backends/cpu/cpu_backend.h"
#include "image/resample.h"
#include "image/resize_taps.h"

namespace vlart::testing {

void MakeSourceInputs(xvla::XvlaInputs& planes, xvla::XvlaInputs& bytes, xvla::XvlaInputs& source,
                      int h, int w, uint64_t seed) {
  const Shape shape = bytes.pixels.shape();  // [B, V, 3, S, S]
  const int64_t b = shape[0], v = shape[1], s = shape[3];
  auto plan = Resampler::Create(h, w, static_cast<int>(s), static_cast<int>(s),
                                ResampleFilter::kBicubic);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::optional<ResizeTaps> taps = SeparableResizeTaps(*plan);
  ASSERT_TRUE(taps.has_value()) << h << "x" << w << " -> " << s << ": no convolution plan";
  source.images = HostTensor();
  source.pixels = HostTensor();
  source.pixel_table = HostTensor::CopyOf(bytes.pixel_table.view());
  source.source_pixels = HostTensor(DType::kU8, {b, v, h, w, 3});
  source.resize_x = std::move(taps->x);
  source.resize_y = std::move(taps->y);
  uint64_t state = seed;
  for (int64_t k = 0; k < source.source_pixels.numel(); ++k) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    source.source_pixels.data<uint8_t>()[k] = static_cast<uint8_t>(state >> 56);
  }
  const std::unique_ptr<Backend> cpu = CreateCpuBackend();
  cpu->ResizePixels(source.source_pixels.view().Reshape({b * v, h, w, 3}), source.resize_x.view(),
                    source.resize_y.view(), bytes.pixels.view().Reshape({b * v, 3, s, s}));
  const float* table = bytes.pixel_table.data<float>();
  const int64_t plane = s * s;
  for (int64_t k = 0; k < bytes.pixels.numel(); ++k) {
    planes.images.data<float>()[k] = table[((k / plane) % 3) * 256 + bytes.pixels.data<uint8_t>()[k]];
  }
}

void MakeByteInputs(xvla::XvlaInputs& planes, xvla::XvlaInputs& bytes, uint64_t seed) {
  const Shape shape = planes.images.shape();  // [B, V, 3, S, S]
  const int64_t plane = shape[3] * shape[4];
  bytes.images = HostTensor();
  bytes.pixels = HostTensor(DType::kU8, shape);
  bytes.pixel_table = HostTensor(DType::kF32, {3, 256});
  uint64_t state = seed;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 32);
  };
  float* table = bytes.pixel_table.data<float>();
  for (int64_t k = 0; k < 3 * 256; ++k) table[k] = static_cast<float>(next() % 4001) / 1000.0f - 2.0f;
  for (int64_t k = 0; k < bytes.pixels.numel(); ++k) {
    const auto byte = static_cast<uint8_t>(next() >> 24);
    bytes.pixels.data<uint8_t>()[k] = byte;
    planes.images.data<float>()[k] = table[((k / plane) % 3) * 256 + byte];
  }
}

}  // namespace vlart::testing
