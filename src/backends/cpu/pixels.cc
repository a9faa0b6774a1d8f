// SPDX-License-Identifier: Apache-2.0
//
// pixels.cc: NormalizePixels on the CPU reference backend.
//
// Math: out[n, c, y, x] = table[c, pixels[n, y, x, c]]; pixels U8 [N, H, W, C] packed or
// planar (read through its strides), table F32 [C, 256], out F32 [N, C, H, W] contiguous.
// Reference: a model's host normalisation of one byte (image/normalize.h: OpenpiPixelValue,
// ClipPixelValue), which is what the table holds; the planes equal the host path's bits.
// Numerics: a lookup; exact.

#include <cstdint>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {

void NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out) {
  CheckNormalizePixelsArgs(Device::kCpu, pixels, table, out);
  RequireF32("NormalizePixels", "out", out);
  const int64_t n = pixels.shape[0], h = pixels.shape[1], w = pixels.shape[2];
  const int64_t channels = pixels.shape[3];
  const uint8_t* in = pixels.data_as<const uint8_t>();
  const float* lut = table.data_as<const float>();
  float* o = out.data_as<float>();
#pragma omp parallel for collapse(2) schedule(static) if (n * channels * h * w >= kParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      const uint8_t* src = in + i * pixels.stride[0] + c * pixels.stride[3];
      float* dst = o + (i * channels + c) * h * w;
      const float* row = lut + c * 256;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          dst[y * w + x] = row[src[y * pixels.stride[1] + x * pixels.stride[2]]];
        }
      }
    }
  }
}

}  // namespace vlart::cpu
