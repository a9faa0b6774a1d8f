// SPDX-License-Identifier: Apache-2.0
//
// normalize.h: uint8 RGB pictures to the float inputs the models take, bit-exact
// with the Python preprocessors.
//
// CLIP / ImageNet style (X-VLA's CLIPImageProcessor, PIL backend): numpy computes
//   x = float32(float64(v) * rescale_factor)          rescale (np.float64, then cast)
//   y = (x - float32(mean[c])) / float32(std[c])       normalize, in float32
// and transposes HWC -> CHW. openpi style (Observation.from_dict, pi0/pi0.5):
//   y = float32(v) / 255 * 2 - 1                       each op rounded to float32
// Both are pure functions of (value, channel), so each call builds a 256-entry table
// per channel and the pixels are lookups: identical results, no per-pixel arithmetic.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/host_tensor.h"
#include "core/status.h"
#include "core/tensor.h"
#include "image/image.h"

namespace vlart {

// CLIPImageProcessor's rescale/normalize settings (preprocessor_config.json). mean and
// std are the config's numbers rounded to float32, as np.array(mean, dtype=float32).
struct ClipNormalization {
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;  // "rescale_factor": 0.00392156862745098 is this double
  bool do_normalize = true;
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // ImageNet, X-VLA's setting
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

// The float CLIPImageProcessor produces for value v in channel c (0..2).
float ClipPixelValue(uint8_t v, int channel, const ClipNormalization& norm);
// openpi's float32(v) / 255 * 2 - 1.
float OpenpiPixelValue(uint8_t v);

enum class ChannelLayout {
  kHWC,  // [H, W, 3]: openpi JAX models
  kCHW,  // [3, H, W]: PyTorch models (openpi-PT permutes to NCHW; CLIP processors)
};

// rgb: [H, W, 3] uint8. out: F32, CPU, contiguous, [3, H, W] (CLIP output is CHW).
// InvalidArgument if out is not that.
Status NormalizeClip(const ImageView& rgb, const ClipNormalization& norm, const Tensor& out);
// Same into a new HostTensor F32 [3, H, W].
Result<HostTensor> NormalizeClip(const ImageView& rgb, const ClipNormalization& norm);

// rgb: [H, W, 3] uint8. out: F32, CPU, contiguous, [H, W, 3] (kHWC) or [3, H, W] (kCHW).
Status NormalizeOpenpi(const ImageView& rgb, ChannelLayout layout, const Tensor& out);
Result<HostTensor> NormalizeOpenpi(const ImageView& rgb, ChannelLayout layout);

}  // namespace vlart
