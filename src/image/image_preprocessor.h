// SPDX-License-Identifier: Apache-2.0
//
// image_preprocessor.h: ImagePreprocessor, the fast path from a packed RGB picture to a
// model's float input planes: Pillow-exact resize + normalisation, one colour plane per
// call, so the planes of a batch can run on several threads (core/worker_pool.h).
//
// RunPlane(rgb, c) writes plane c of exactly what the reference path gives (RunPlaneBytes
// the same before the normalisation: the resized bytes):
//   NormalizeClip / NormalizeOpenpi(Resampler::Run(rgb))      (or of rgb itself when the
//   size already matches, as the processors and Pillow's copy do)
// because channels never mix in either step: Pillow resamples each channel with the same
// integer weights, and the normalisation is a per-channel function of the byte. How:
//  - the colour channel is pulled out of the packed rows into a byte plane;
//  - horizontal pass (when the width changes): the plane's band of rows that the
//    vertical pass reads is transposed (AVX2/SSE blocks), each output column is then
//    a whole-row sum (row_convolution.h) over input columns, and the result is
//    transposed back;
//  - vertical pass: each output row is a whole-row sum over input rows, normalised
//    (pixel_normalizer.h) while it is still in L1.
// Plans (Resampler coefficient tables) are made once per input size and kept; scratch
// is per worker and reused, so a call allocates nothing after the first of its shape.
// Shapes Pillow resizes otherwise (NEAREST, the two-call rule for images over 100x
// taller than wide) run the reference Resampler on the whole picture instead.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/status.h"
#include "image/image.h"
#include "image/pixel_normalizer.h"
#include "image/resample.h"
#include "image/resize_taps.h"

namespace vlart {

class ImagePreprocessor {
 public:
  struct Options {
    bool simd = true;  // use the AVX2 kernels when the CPU has them
  };

  ImagePreprocessor(int out_height, int out_width, ResampleFilter filter,
                    PixelNormalizer normalizer, Options options);
  ~ImagePreprocessor();
  ImagePreprocessor(ImagePreprocessor&&) noexcept;
  ImagePreprocessor& operator=(ImagePreprocessor&&) noexcept;

  int out_height() const { return out_height_; }
  int out_width() const { return out_width_; }

  // Plans the resize of an in_height x in_width input (kept for later calls) and sizes
  // the scratch of `workers` workers. Call from one thread, before RunPlane on pictures
  // of this size. InvalidArgument as Resampler::Create.
  Status Prepare(int in_height, int in_width, int workers);

  // Plane `channel` (0..2) of `rgb` ([H, W, 3], a Prepare'd size) into out
  // ([out_height, out_width] f32), using the scratch of `worker` (< the workers given
  // to Prepare). Calls with different workers may run concurrently.
  void RunPlane(const ImageView& rgb, int channel, int worker, float* out);
  // The same plane before normalisation: the resized bytes ([out_height, out_width] u8),
  // which a model normalises on its device (Backend::NormalizePixels with Value()'s table).
  void RunPlaneBytes(const ImageView& rgb, int channel, int worker, uint8_t* out);
  // The resize of a Prepare'd size as Backend::ResizePixels taps (image/resize_taps.h), so a
  // model can resize on its device; null when Pillow does not resize that size in one
  // convolution call (a copy, NEAREST, the two-call rule). Valid until the plan is evicted
  // (Prepare keeps the last 8 sizes).
  const ResizeTaps* SeparableTaps(int in_height, int in_width) const;
  // The normalisation of byte v in `channel` (what RunPlane writes for it).
  float Value(uint8_t v, int channel) const { return normalizer_.Value(v, channel); }

 private:
  struct Plan;
  struct Scratch;
  const Plan& PlanFor(int in_height, int in_width) const;
  // `Out`: float (normalised planes) or uint8_t (bytes); EmitRow writes one output row.
  void EmitRow(const uint8_t* row, int channel, size_t n, float* out) const;
  void EmitRow(const uint8_t* row, int channel, size_t n, uint8_t* out) const;
  template <typename Out>
  void Run(const ImageView& rgb, int channel, int worker, Out* out);
  template <typename Out>
  void RunCopy(const ImageView& rgb, int channel, Scratch& s, Out* out) const;
  template <typename Out>
  void RunPlanar(const Plan& plan, const ImageView& rgb, int channel, Scratch& s, Out* out) const;
  template <typename Out>
  void RunGeneric(const Plan& plan, const ImageView& rgb, int channel, Scratch& s, Out* out) const;

  int out_height_ = 0, out_width_ = 0;
  ResampleFilter filter_;
  PixelNormalizer normalizer_;
  bool simd_ = false;
  std::vector<std::unique_ptr<Plan>> plans_;
  std::vector<std::unique_ptr<Scratch>> scratch_;
};

}  // namespace vlart
