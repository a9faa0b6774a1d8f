// SPDX-License-Identifier: Apache-2.0
//
// synth_image.h: the deterministic test picture of tools/make_image_fixtures.py
// (`synth`), reproduced exactly so that resize fixtures need not store their inputs.
// Integer arithmetic only: gradients, +-8 hash noise, a disc whose inside is
// inverted (hard edges) and a checkerboard of 8-pixel squares over the left third.
// Any change here must be made in the script too, and the fixtures regenerated.
#pragma once

#include <algorithm>
#include <cstdint>

#include "image/image.h"

namespace vlart::testing {

inline uint32_t SynthHash(uint64_t x, uint64_t y, uint64_t c, uint64_t seed) {
  constexpr uint64_t kMask = 0xFFFFFFFFu;
  uint64_t h = (x * 374761393u + y * 668265263u + c * 2246822519u + seed * 3266489917u) & kMask;
  h = ((h ^ (h >> 13)) * 1274126177u) & kMask;
  return static_cast<uint32_t>(h ^ (h >> 16));
}

// [h, w, 3]
inline Image Synth(int h, int w, int seed) {
  Image img = Image::Zeros(h, w);
  const int64_t r = (static_cast<int64_t>(std::min(h, w)) * 6) / 10;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int64_t gx = (x * 255) / std::max(w - 1, 1);
      const int64_t gy = (y * 255) / std::max(h - 1, 1);
      const int64_t wave = ((x * 7 + y * 3) % 64) * 2;
      const int64_t dx = 2 * x + 1 - w, dy = 2 * y + 1 - h;
      const bool disc = dx * dx + dy * dy < r * r;
      const bool checker = (((x >> 3) ^ (y >> 3)) & 1) == 1 && x < w / 3;
      const int64_t bases[3] = {gx, gy, (gx + 2 * gy + wave) / 3};
      for (int c = 0; c < 3; ++c) {
        const int64_t noise = static_cast<int64_t>(SynthHash(x, y, c, seed) & 15) - 8;
        int64_t v = bases[c] + noise;
        if (disc) v = 255 - v;
        if (checker) v += 60 - 40 * c;
        img.rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
      }
    }
  }
  return img;
}

}  // namespace vlart::testing
