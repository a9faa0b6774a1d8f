// SPDX-License-Identifier: Apache-2.0
//
// normalize.cc: uint8 RGB -> model floats by per-channel lookup tables (normalize.h).

#include "image/normalize.h"

#include <cstddef>

namespace vlart {
namespace {

using ChannelTables = std::array<std::array<float, 256>, 3>;  // [3][256]

Status CheckInput(const ImageView& rgb, std::string_view what) {
  if (rgb.channels != 3 || rgb.data == nullptr || rgb.height < 1 || rgb.width < 1) {
    return InvalidArgument(
        "{}: input: expected an RGB image [H, W, 3] with H, W >= 1, got [{}, {}, {}]", what,
        rgb.height, rgb.width, rgb.channels);
  }
  return Status::Ok();
}

Status CheckOutput(const ImageView& rgb, const Tensor& out, const Shape& want,
                   std::string_view what) {
  VLART_TRY(CheckInput(rgb, what));
  if (out.dtype != DType::kF32 || out.device != Device::kCpu || !out.is_contiguous() ||
      out.shape != want || out.data == nullptr) {
    return InvalidArgument("{}: output: expected a contiguous CPU F32{} tensor, got {}", what,
                           want.ToString(), out.ToString());
  }
  return Status::Ok();
}

// Writes table[c][rgb(y, x, c)] to out in the requested layout.
void Apply(const ImageView& rgb, const ChannelTables& table, ChannelLayout layout, float* out) {
  const size_t pixels = static_cast<size_t>(rgb.height) * static_cast<size_t>(rgb.width);
  const uint8_t* in = rgb.data;
  if (layout == ChannelLayout::kHWC) {
    for (size_t i = 0; i < pixels; ++i) {
      for (int c = 0; c < 3; ++c) out[3 * i + c] = table[c][in[3 * i + c]];
    }
    return;
  }
  for (int c = 0; c < 3; ++c) {
    float* plane = out + c * pixels;
    const std::array<float, 256>& t = table[c];
    for (size_t i = 0; i < pixels; ++i) plane[i] = t[in[3 * i + c]];
  }
}

}  // namespace

float ClipPixelValue(uint8_t v, int channel, const ClipNormalization& norm) {
  // numpy: image.astype(float64) * scale, then .astype(float32).
  float x = norm.do_rescale ? static_cast<float>(static_cast<double>(v) * norm.rescale_factor)
                            : static_cast<float>(v);
  // numpy: (image - mean_f32) / std_f32, both float32 operations.
  if (norm.do_normalize) x = (x - norm.mean[channel]) / norm.std[channel];
  return x;
}

float OpenpiPixelValue(uint8_t v) {
  float x = static_cast<float>(v);
  x = x / 255.0f;
  x = x * 2.0f;
  return x - 1.0f;
}

Status NormalizeClip(const ImageView& rgb, const ClipNormalization& norm, const Tensor& out) {
  VLART_TRY(CheckOutput(rgb, out, Shape{3, rgb.height, rgb.width}, "CLIP normalize"));
  ChannelTables table;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) table[c][v] = ClipPixelValue(static_cast<uint8_t>(v), c, norm);
  }
  Apply(rgb, table, ChannelLayout::kCHW, out.data_as<float>());
  return Status::Ok();
}

Result<HostTensor> NormalizeClip(const ImageView& rgb, const ClipNormalization& norm) {
  VLART_TRY(CheckInput(rgb, "CLIP normalize"));
  HostTensor out(DType::kF32, Shape{3, rgb.height, rgb.width});
  VLART_TRY(NormalizeClip(rgb, norm, out.view()));
  return out;
}

Status NormalizeOpenpi(const ImageView& rgb, ChannelLayout layout, const Tensor& out) {
  const Shape want = layout == ChannelLayout::kHWC ? Shape{rgb.height, rgb.width, 3}
                                                   : Shape{3, rgb.height, rgb.width};
  VLART_TRY(CheckOutput(rgb, out, want, "openpi normalize"));
  ChannelTables table;
  for (int v = 0; v < 256; ++v) {
    table[0][v] = table[1][v] = table[2][v] = OpenpiPixelValue(static_cast<uint8_t>(v));
  }
  Apply(rgb, table, layout, out.data_as<float>());
  return Status::Ok();
}

Result<HostTensor> NormalizeOpenpi(const ImageView& rgb, ChannelLayout layout) {
  VLART_TRY(CheckInput(rgb, "openpi normalize"));
  const Shape shape = layout == ChannelLayout::kHWC ? Shape{rgb.height, rgb.width, 3}
                                                    : Shape{3, rgb.height, rgb.width};
  HostTensor out(DType::kF32, shape);
  VLART_TRY(NormalizeOpenpi(rgb, layout, out.view()));
  return out;
}

}  // namespace vlart
