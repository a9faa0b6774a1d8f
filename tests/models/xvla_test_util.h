// SPDX-License-Identifier: Apache-2.0
//
// xvla_test_util.h: shared helpers of the X-VLA model tests.
#pragma once

#include <cstdint>

#include "models/xvla/xvla_model.h"

namespace vlart::testing {

// Turns `planes` (inputs with F32 images [B, V, 3, S, S]) into a pair for the byte path:
// `bytes` gets the same inputs with random bytes as `pixels` (planar, like the images) and
// a random per-byte `pixel_table` (values in [-2, 2], 1e-3 steps), and `planes`' images
// become what those bytes stand for: images[..., c, y, x] = pixel_table[c, byte]. Seeded.
// `bytes` must hold a copy of `planes`' other inputs (ids, mask, domain, proprio, noise).
void MakeByteInputs(xvla::XvlaInputs& planes, xvla::XvlaInputs& bytes, uint64_t seed);

// Then the camera-bytes form: `source` (a copy of `bytes`' other inputs and its pixel_table)
// gets random camera bytes [B, V, h, w, 3] as `source_pixels` and Pillow's bicubic taps to
// S x S (image/resize_taps.h); `bytes`' pixels and `planes`' images become what that resize
// gives (the CPU reference's ResizePixels, proven equal to Pillow's bytes), so all three
// forms stand for the same planes. Seeded.
void MakeSourceInputs(xvla::XvlaInputs& planes, xvla::XvlaInputs& bytes, xvla::XvlaInputs& source,
                      int h, int w, uint64_t seed);

}  // namespace vlart::testing
