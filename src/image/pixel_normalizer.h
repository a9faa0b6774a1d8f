// SPDX-License-Identifier: Apache-2.0
//
// pixel_normalizer.h: PixelNormalizer, the fast form of normalize.h's per-pixel maps
// (ClipPixelValue, OpenpiPixelValue) over runs of one channel's bytes.
//
// The reference is a 256-entry table per channel built from those functions. The AVX2
// kernel evaluates the same steps in 8 lanes: CLIP's rescale (float64 multiply then
// float32, or, cheaper, the float32 quotient v / 255 when the factor is 1/255, which
// rounds to the same floats), its float32 subtract, and each division, (x - mean) / std
// or v / 255, as q = a * (1 / d) corrected once with two FMAs (q + (a - q * d) / d, the
// usual correction step). Those give the correctly rounded result for nearly every
// input; the inputs here are only 256 values per channel, so the constructor runs the
// kernels on all of them and keeps, per channel, the cheapest whose every result equals
// the table bit for bit. A channel none reproduces (no known configuration) uses the
// table. Either way Run writes exactly normalize.h's values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "image/normalize.h"

namespace vlart {

class PixelNormalizer {
 public:
  // CLIPImageProcessor's rescale / normalise (ClipPixelValue).
  static PixelNormalizer Clip(const ClipNormalization& norm, bool simd = true);
  // openpi's float32(v) / 255 * 2 - 1 (OpenpiPixelValue), the same for all channels.
  static PixelNormalizer Openpi(bool simd = true);

  // out[i] = value of in[i] in `channel` (0..2), for i < n.
  void Run(const uint8_t* in, int channel, size_t n, float* out) const;

  // The reference value (normalize.h) of byte v in `channel`.
  float Value(uint8_t v, int channel) const { return table_[channel][v]; }
  // Whether `channel` runs the vector kernel (else the table).
  bool vectorized(int channel) const { return mode_[channel] != Mode::kTable; }

 private:
  enum class Kind { kClip, kOpenpi };
  enum class Mode {
    kTable,         // table_ lookups
    kVectorFloat,   // AVX2; CLIP's rescale as a float32 division by 1 / factor
    kVectorDouble,  // AVX2; CLIP's rescale in float64, as numpy does it
  };
  PixelNormalizer() = default;
  void Verify(bool simd);  // picks mode_
  void RunVector(const uint8_t* in, int channel, size_t n, float* out) const;

  Kind kind_ = Kind::kOpenpi;
  ClipNormalization clip_;
  std::array<std::array<float, 256>, 3> table_{};  // [3][256] reference values
  std::array<Mode, 3> mode_{};
};

}  // namespace vlart
