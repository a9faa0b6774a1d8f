// SPDX-License-Identifier: Apache-2.0
//
// image.cc: Image helpers: dimension limits, raw-buffer intake, 180-degree rotation.

#include "image/image.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"

namespace vlart {

Image Image::Zeros(int height, int width) {
  VLART_CHECK(height >= 0 && width >= 0, "Image::Zeros: negative size {}x{}", height, width);
  Image image;
  image.height = height;
  image.width = width;
  image.rgb.assign(static_cast<size_t>(height) * static_cast<size_t>(width) * 3, 0);
  return image;
}

Status CheckImageDims(int64_t height, int64_t width, int64_t max_pixels, std::string_view what) {
  if (height < 1 || width < 1) {
    return InvalidArgument("{}: expected height and width >= 1, got {}x{} (HxW)", what, height,
                           width);
  }
  // Compare without overflowing: height, width < 2^31 here, so the product fits int64.
  if (height * width > max_pixels) {
    return InvalidArgument(
        "{}: expected at most {} pixels, got {}x{} (HxW) = {} pixels; hint: this looks like a "
        "decompression bomb; raise max_pixels if the size is intended",
        what, max_pixels, height, width, height * width);
  }
  return Status::Ok();
}

Result<Image> ImageFromRgbBuffer(std::span<const uint8_t> data, int height, int width, int channels,
                                 int64_t max_pixels) {
  constexpr std::string_view kWhat = "image from raw buffer";
  VLART_TRY(CheckImageDims(height, width, max_pixels, kWhat));
  if (channels != 1 && channels != 3 && channels != 4) {
    return InvalidArgument("{}: expected 1, 3 or 4 channels ([H, W, C] uint8), got {}", kWhat,
                           channels);
  }
  const size_t pixels = static_cast<size_t>(height) * static_cast<size_t>(width);
  const size_t expected = pixels * static_cast<size_t>(channels);
  if (data.size() != expected) {
    return InvalidArgument("{}: expected {} bytes for [{}, {}, {}] uint8, got {}", kWhat, expected,
                           height, width, channels, data.size());
  }
  Image image = Image::Zeros(height, width);
  uint8_t* out = image.data();
  const uint8_t* in = data.data();
  if (channels == 3) {
    std::memcpy(out, in, expected);
  } else {
    for (size_t i = 0; i < pixels; ++i) {
      const uint8_t* p = in + i * static_cast<size_t>(channels);
      out[3 * i + 0] = p[0];
      out[3 * i + 1] = channels == 1 ? p[0] : p[1];
      out[3 * i + 2] = channels == 1 ? p[0] : p[2];
    }
  }
  return image;
}

Image Rotate180(const ImageView& rgb) {
  VLART_CHECK(rgb.channels == 3, "Rotate180: expected an RGB view, got {} channels", rgb.channels);
  Image out = Image::Zeros(rgb.height, rgb.width);
  const size_t pixels = static_cast<size_t>(rgb.height) * static_cast<size_t>(rgb.width);
  for (size_t i = 0; i < pixels; ++i) {
    std::memcpy(out.data() + 3 * i, rgb.data + 3 * (pixels - 1 - i), 3);
  }
  return out;
}

void Rotate180InPlace(Image& image) {
  const size_t pixels = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
  uint8_t* p = image.data();
  for (size_t i = 0, j = pixels; i + 1 < j; ++i, --j) {
    std::swap_ranges(p + 3 * i, p + 3 * i + 3, p + 3 * (j - 1));
  }
}

}  // namespace vlart
