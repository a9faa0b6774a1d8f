// SPDX-License-Identifier: Apache-2.0
//
// resize_with_pad.cc: openpi-client resize_with_pad on Pillow-exact resizing.
// The geometry uses doubles in Python's order of operations, so int() truncations
// land on the same integers as in Python (e.g. 640x480 -> 224 gives 223 or 224
// exactly as Python does).

#include "image/resize_with_pad.h"

#include <algorithm>
#include <cstring>

namespace vlart {

Result<PadGeometry> ResizeWithPadGeometry(int in_height, int in_width, int height, int width) {
  if (in_height < 1 || in_width < 1 || height < 1 || width < 1) {
    return InvalidArgument(
        "resize_with_pad: sizes: expected input and target height, width >= 1, got input {}x{}, "
        "target {}x{}",
        in_height, in_width, height, width);
  }
  PadGeometry g;
  if (in_height == height && in_width == width) {
    g.resized_height = height, g.resized_width = width;
    return g;
  }
  const double ratio =
      std::max(static_cast<double>(in_width) / width, static_cast<double>(in_height) / height);
  g.resized_height = static_cast<int>(in_height / ratio);
  g.resized_width = static_cast<int>(in_width / ratio);
  if (g.resized_height < 1 || g.resized_width < 1) {
    return InvalidArgument(
        "resize_with_pad: input {}x{} (HxW): expected an aspect ratio that fits {}x{} with at "
        "least one pixel per side, got a {}x{} resize",
        in_height, in_width, height, width, g.resized_height, g.resized_width);
  }
  // Python: max(0, int((height - resized_height) / 2)): true division, then truncation.
  g.pad_top = std::max(0, static_cast<int>((height - g.resized_height) / 2.0));
  g.pad_left = std::max(0, static_cast<int>((width - g.resized_width) / 2.0));
  return g;
}

Result<Image> ResizeWithPad(const ImageView& rgb, int height, int width, ResampleFilter filter) {
  if (rgb.channels != 3 || rgb.data == nullptr) {
    return InvalidArgument(
        "resize_with_pad: input: expected an RGB image [H, W, 3], got {} channels", rgb.channels);
  }
  VLART_ASSIGN_OR_RETURN(const PadGeometry g,
                         ResizeWithPadGeometry(rgb.height, rgb.width, height, width));
  VLART_ASSIGN_OR_RETURN(Image resized,
                         ResizeImage(rgb, g.resized_height, g.resized_width, filter));
  if (resized.height == height && resized.width == width) return resized;
  // Paste, clipped to the canvas as Pillow's paste clips.
  Image out = Image::Zeros(height, width);
  const int rows = std::min(resized.height, height - g.pad_top);
  const int cols = std::min(resized.width, width - g.pad_left);
  for (int y = 0; y < rows; ++y) {
    std::memcpy(out.data() + (static_cast<size_t>(y + g.pad_top) * width + g.pad_left) * 3,
                resized.data() + static_cast<size_t>(y) * resized.width * 3,
                static_cast<size_t>(cols) * 3);
  }
  return out;
}

}  // namespace vlart
