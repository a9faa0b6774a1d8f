// SPDX-License-Identifier: Apache-2.0
//
// resize_with_pad.h: openpi's resize_with_pad (tf.image.resize_with_pad semantics):
// scale to fit inside height x width keeping the aspect ratio, then centre on black.
//
// This is the openpi *client* version (packages/openpi-client, image_tools.py), which
// the LIBERO/ALOHA/DROID example clients run before sending, on uint8 with Pillow:
//   if (h, w) == (height, width): unchanged
//   ratio = max(w / width, h / height)                       (Python floats)
//   resized = Image.resize((int(w / ratio), int(h / ratio)), BILINEAR)   Pillow-exact
//   pad_top = max(0, int((height - rh) / 2)), pad_left likewise (floor of half the slack)
//   zero image of height x width with `resized` pasted at (pad_left, pad_top)
// A side that rounds to 0 pixels (aspect ratio beyond the target's extent) is an
// InvalidArgument, as Pillow's resize raises.
// The openpi *server* versions differ and are not modelled here: the JAX one
// (shared/image_tools.py) uses jax.image.resize "linear" (float32 triangle kernel,
// antialiased when shrinking), then rounds half-to-even and clips to uint8 (or clips
// floats to [-1, 1], padding with -1); the PyTorch one uses F.interpolate(bilinear,
// align_corners=False, antialias=False), then rounds/clamps. Their geometry (sizes,
// pads) is the same as here. For 224x224 inputs all of them are the identity.
#pragma once

#include "core/status.h"
#include "image/image.h"
#include "image/resample.h"

namespace vlart {

struct PadGeometry {
  int resized_height = 0;  // the picture's size inside the output
  int resized_width = 0;
  int pad_top = 0;  // rows of black above it
  int pad_left = 0;
};

// The sizes and offsets resize_with_pad uses for an in_height x in_width input.
Result<PadGeometry> ResizeWithPadGeometry(int in_height, int in_width, int height, int width);

// rgb: [H, W, 3] -> [height, width, 3].
Result<Image> ResizeWithPad(const ImageView& rgb, int height, int width,
                            ResampleFilter filter = ResampleFilter::kBilinear);

}  // namespace vlart
