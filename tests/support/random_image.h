// SPDX-License-Identifier: Apache-2.0
//
// random_image.h: an h x w RGB test picture of uniform random bytes (std::mt19937 from
// `seed`, one draw per byte in row-major RGB order), for tests that need arbitrary pixels.
#pragma once

#include <cstdint>
#include <random>

#include "image/image.h"

namespace vlart::testing {

inline Image RandomImage(int h, int w, uint32_t seed) {
  Image img = Image::Zeros(h, w);
  std::mt19937 rng(seed);
  for (uint8_t& b : img.rgb) b = static_cast<uint8_t>(rng());
  return img;
}

}  // namespace vlart::testing
