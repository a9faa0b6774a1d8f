// SPDX-License-Identifier: Apache-2.0
//
// resample.h: Pillow-exact resizing of 8-bit images (Image.resize on "L"/"RGB").
//
// Resampler reproduces Pillow 12's Image.resize(size, resample, box, reducing_gap=None)
// for 8-bit images of 1 to 4 independent channels (modes "L" and "RGB"; RGBA/LA are
// premultiplied by Pillow first and are not modelled). It is bit-exact with Pillow, as
// tests/image/resample_test.cc proves on fixtures made by tools/make_image_fixtures.py.
// What Pillow does, and so what this does:
//  - Same size and full box: a copy. A box whose size equals the output size and whose
//    origin is integral: a crop.
//  - NEAREST: Pillow's affine scale: source index = int(box0 + (x + 0.5) * step), with the
//    position accumulated by repeated addition of step = (box1 - box0) / out, as Pillow does.
//  - Other filters: separable convolution (ImagingResample). Per axis, scale = in / out;
//    the filter is stretched by max(scale, 1) (antialiasing on downscale), taps cover
//    [center - support, center + support] rounded, weights are normalised to sum 1, then
//    quantised to int32 with 22 fractional bits (32 - 8 - 2). A horizontal pass runs
//    first over only the rows the vertical pass will read, rounds (+2^21, >> 22) and
//    clamps to uint8, then the vertical pass does the same. A pass whose axis is
//    unchanged (same size, box spanning it from 0) is skipped.
//  - Images taller than 100x their width that shrink in height run as two resizes:
//    vertical first, then horizontal (Image.resize's special case since Pillow 12.2).
//  - reducing_gap (Image.reduce pre-pass) is not implemented: it defaults to None in
//    Image.resize and CLIPImageProcessor never sets it.
// Filter values are PIL.Image.Resampling's integers (what preprocessor_config.json's
// "resample" holds). Sizes are height first, unlike Pillow's (width, height) tuples.
//
// A Resampler precomputes the coefficient tables for one (input size, output size,
// filter, box) and owns its scratch buffers, so Run() allocates nothing after the first
// call. It is not thread-safe: use one per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "image/image.h"

namespace vlart {

// PIL.Image.Resampling values.
enum class ResampleFilter : int {
  kNearest = 0,
  kLanczos = 1,
  kBilinear = 2,
  kBicubic = 3,
  kBox = 4,
  kHamming = 5,
};

// Maps a PIL.Image.Resampling integer (preprocessor_config.json "resample") to a filter.
Result<ResampleFilter> ResampleFilterFromPil(int pil_value);
std::string_view ResampleFilterName(ResampleFilter filter);  // "BICUBIC", ...

// Pillow's `box`: the source region (x0, y0, x1, y1) in input pixel units. Pillow
// passes it to C as single-precision floats; so does this.
struct ResampleBox {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

class Resampler {
 public:
  // Plans Image.resize((out_width, out_height), filter, box) for an input of
  // in_height x in_width. InvalidArgument for sizes < 1 or a box outside the input
  // (Pillow's ValueErrors).
  static Result<Resampler> Create(int in_height, int in_width, int out_height, int out_width,
                                  ResampleFilter filter,
                                  std::optional<ResampleBox> box = std::nullopt);

  int in_height() const { return in_height_; }
  int in_width() const { return in_width_; }
  int out_height() const { return out_height_; }
  int out_width() const { return out_width_; }
  ResampleFilter filter() const { return filter_; }

  // Resizes `in` ([in_height, in_width, C], C in 1..4) into `out`
  // ([out_height, out_width, C], same C). `out` must not alias `in`.
  // InvalidArgument if `in` does not have the planned size.
  Status Run(const ImageView& in, uint8_t* out);
  // Same, for an RGB view, into a new Image.
  Result<Image> Run(const ImageView& rgb);

  // One step of the plan (public: resample.cc's helpers and image_preprocessor.cc read it).
  struct Axis {
    int out_size = 0;
    int ksize = 0;                // taps reserved per output (Pillow's ksize)
    std::vector<int> first;       // [out_size] first input index read
    std::vector<int> count;       // [out_size] taps used (<= ksize)
    std::vector<int32_t> weight;  // [out_size, ksize] weights, 22 fractional bits
  };
  struct Step {
    enum class Kind { kCrop, kNearest, kHorizontal, kVertical } kind = Kind::kCrop;
    int in_height = 0, in_width = 0;    // the step's input
    int out_height = 0, out_width = 0;  // the step's output
    int crop_x = 0, crop_y = 0;         // kCrop: origin of the region copied
    std::vector<int> src_x, src_y;      // kNearest: [out_width], [out_height]; -1 = black
    int row_offset = 0;                 // kHorizontal: first input row read
    Axis axis;                          // kHorizontal (x) or kVertical (y)
  };
  // The planned steps, in order (image_preprocessor.h runs the two passes itself).
  const std::vector<Step>& steps() const { return steps_; }

 private:
  int in_height_ = 0, in_width_ = 0, out_height_ = 0, out_width_ = 0;
  ResampleFilter filter_ = ResampleFilter::kBicubic;
  std::vector<Step> steps_;
  std::vector<uint8_t> scratch_[2];  // intermediate images between steps
  std::vector<uint8_t> transposed_;  // horizontal pass: input band, [in_width, rows, C]
  std::vector<uint8_t> convolved_;   // horizontal pass: result, [out_width, rows, C]
  std::vector<int32_t> acc_;         // [row length] int32 sums of the row being made
};

// One-shot Image.resize of an RGB view (plans, runs, discards the plan).
Result<Image> ResizeImage(const ImageView& rgb, int out_height, int out_width,
                          ResampleFilter filter);

}  // namespace vlart
