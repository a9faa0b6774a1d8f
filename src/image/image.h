// SPDX-License-Identifier: Apache-2.0
//
// image.h: Image (an owned 8-bit RGB picture), ImageView (a borrowed packed 8-bit
// picture of 1 to 4 channels), and the small helpers every image path shares.
//
// Layout everywhere in src/image: packed rows, channels last, no row padding:
// byte (y, x, c) lives at data[(y * width + x) * channels + c], i.e. a numpy
// uint8 array [H, W, C] in C order, which is what Pillow's np.asarray() returns.
// Image is always RGB (C = 3): it is what DecodeImage*() returns and what the
// model preprocessors consume. Sizes are given height first, as shapes are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vlart {

// Pillow's Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3): above it Pillow
// warns of a decompression bomb (and refuses above twice that). vlart refuses above it.
inline constexpr int64_t kDefaultMaxImagePixels = 89478485;

// A borrowed packed uint8 picture, [H, W, C] with C in 1..4.
struct ImageView {
  const uint8_t* data = nullptr;  // [H, W, C]
  int height = 0;
  int width = 0;
  int channels = 3;

  size_t size_bytes() const {
    return static_cast<size_t>(height) * static_cast<size_t>(width) * static_cast<size_t>(channels);
  }
};

// An owned 8-bit RGB picture.
struct Image {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;  // [H, W, 3]

  // A zero-filled (black) image.
  static Image Zeros(int height, int width);

  ImageView view() const { return ImageView{rgb.data(), height, width, 3}; }
  uint8_t* data() { return rgb.data(); }
  const uint8_t* data() const { return rgb.data(); }
  bool operator==(const Image& o) const = default;
};

// Checks that a picture of height x width fits vlart's limits: both sides >= 1 and
// height * width <= max_pixels. `what` names the thing in the message
// ("decoding image: a.png"). InvalidArgument otherwise.
Status CheckImageDims(int64_t height, int64_t width, int64_t max_pixels, std::string_view what);

// Builds an RGB Image from a raw uint8 array [H, W, C] (as a client sends it in a
// request). C = 3 is copied; C = 1 is replicated to gray RGB and C = 4 drops alpha
// without compositing, exactly as Pillow's Image.fromarray(a).convert("RGB") does.
// `data` must hold exactly height * width * channels bytes. InvalidArgument on any
// mismatch (sizes, channel count, byte count, more than max_pixels pixels).
Result<Image> ImageFromRgbBuffer(std::span<const uint8_t> data, int height, int width, int channels,
                                 int64_t max_pixels = kDefaultMaxImagePixels);

// Rotates by 180 degrees (flips both H and W), as LIBERO clients do with
// img[::-1, ::-1] for the agent-view camera.
Image Rotate180(const ImageView& rgb);  // rgb: [H, W, 3]
void Rotate180InPlace(Image& image);

}  // namespace vlart
