// SPDX-License-Identifier: Apache-2.0
//
// xvla_test_util.cc: see the header.

#include "xvla_test_util.h"

namespace vlart::testing {

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
