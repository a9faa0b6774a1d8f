// SPDX-License-Identifier: Apache-2.0
//
// resample.cc: the Pillow-exact resize plan (filters, coefficient tables, steps) and
// the integer passes that execute it. resample.h describes the algorithm.
//
// Bit-exactness depends on doing the double-precision coefficient maths in the same
// order as Pillow: every expression below that feeds a coefficient is written in the
// order Pillow evaluates it (the comments say where that matters), and the build keeps
// floating-point contraction off (-ffp-contract=off in src/image/CMakeLists.txt) so no
// FMA changes a rounding. The pixel passes are pure int32 arithmetic, exact however
// the compiler vectorises them.

#include "image/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/check.h"

namespace vlart {
namespace {

// Fixed-point weights: 8 bits of pixel, 2 bits of headroom for overshooting filters
// (weights may sum above 1 or go negative), the rest fractional.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr int32_t kRoundHalf = int32_t{1} << (kPrecisionBits - 1);

// ---- Filters: weight(x) for x in input pixels at scale 1, and their half-widths. ----

double BoxWeight(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double TriangleWeight(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution with a = -0.5 (Catmull-Rom), Horner form as Pillow evaluates it.
double CubicWeight(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Hamming-windowed sinc of half-width 1. Pillow writes the window's constants as
// single-precision literals (0.54f, 0.46f); they are kept so for identical weights.
double HammingWeight(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}

double Sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x;
}

// Lanczos-3: sinc(x) * sinc(x / 3) on [-3, 3).
double LanczosWeight(double x) { return (-3.0 <= x && x < 3.0) ? Sinc(x) * Sinc(x / 3.0) : 0.0; }

struct FilterDef {
  double (*weight)(double);
  double support;  // half-width at scale 1, in input pixels
};

FilterDef FilterFor(ResampleFilter filter) {
  switch (filter) {
    case ResampleFilter::kBox: return {BoxWeight, 0.5};
    case ResampleFilter::kBilinear: return {TriangleWeight, 1.0};
    case ResampleFilter::kHamming: return {HammingWeight, 1.0};
    case ResampleFilter::kBicubic: return {CubicWeight, 2.0};
    case ResampleFilter::kLanczos: return {LanczosWeight, 3.0};
    case ResampleFilter::kNearest: break;
  }
  VLART_CHECK(false, "FilterFor: no convolution filter for {}", ResampleFilterName(filter));
  return {};
}

// Coefficients mapping in_size input samples, of which [in0, in1) is the source region,
// to out_size outputs.
Resampler::Axis ComputeAxis(int in_size, float in0, float in1, int out_size,
                            const FilterDef& filter) {
  // The region's extent is a float difference, as Pillow computes it, then widened.
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter.support * filter_scale;
  const double inv_filter_scale = 1.0 / filter_scale;

  Resampler::Axis axis;
  axis.out_size = out_size;
  axis.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weight.assign(static_cast<size_t>(out_size) * axis.ksize, 0);
  std::vector<double> w(axis.ksize);
  for (int o = 0; o < out_size; ++o) {
    const double center = in0 + (o + 0.5) * scale;
    // Round-to-nearest of the window ends by +0.5 and truncation toward zero.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = std::max(hi - lo, 0);
    VLART_CHECK(n <= axis.ksize, "ComputeAxis: {} taps exceed ksize {}", n, axis.ksize);
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      // Sample at the input pixel's centre: ((index - center) + 0.5), in this order.
      w[i] = filter.weight(((i + lo) - center + 0.5) * inv_filter_scale);
      sum += w[i];
    }
    if (sum != 0.0) {
      for (int i = 0; i < n; ++i) w[i] /= sum;
    }
    int32_t* k = &axis.weight[static_cast<size_t>(o) * axis.ksize];
    for (int i = 0; i < n; ++i) {
      // Round half away from zero into 22 fractional bits.
      const double scaled = w[i] * (1 << kPrecisionBits);
      k[i] = static_cast<int32_t>(w[i] < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    axis.first[o] = lo;
    axis.count[o] = n;
  }
  return axis;
}

// Pillow's NEAREST source indices: the position starts at box0 + step / 2 and grows by
// repeated addition of step (so rounding accumulates exactly as in Pillow); the index
// is its truncation, -1 (black output) when it leaves [0, in_size).
std::vector<int> NearestIndices(int in_size, float in0, float in1, int out_size) {
  const double step = static_cast<double>(in1 - in0) / out_size;
  std::vector<int> index(out_size);
  double pos = static_cast<double>(in0) + step * 0.5;
  for (int o = 0; o < out_size; ++o) {
    const int i = pos < 0.0 ? -1 : static_cast<int>(pos);
    index[o] = (i >= 0 && i < in_size) ? i : -1;
    pos += step;
  }
  return index;
}

// One Pillow `ImagingObject.resize` call (_imaging.c `_resize`): crop, nearest, or
// ImagingResample's one or two convolution passes. Appends its steps.
Status PlanResizeCall(int in_h, int in_w, int out_h, int out_w, ResampleFilter filter,
                      const ResampleBox& box, std::vector<Resampler::Step>& steps) {
  using Step = Resampler::Step;
  if (out_h < 1 || out_w < 1) {
    return InvalidArgument("resize: output size: expected height and width >= 1, got {}x{}", out_h,
                           out_w);
  }
  if (box.x0 < 0 || box.y0 < 0 || box.x1 > in_w || box.y1 > in_h || box.x1 - box.x0 < 0 ||
      box.y1 - box.y0 < 0) {
    return InvalidArgument(
        "resize: box: expected 0 <= x0 <= x1 <= {} and 0 <= y0 <= y1 <= {}, got ({}, {}, {}, {})",
        in_w, in_h, box.x0, box.y0, box.x1, box.y1);
  }
  // An integral origin and a box exactly the output size: Pillow crops.
  if (box.x0 - static_cast<int>(box.x0) == 0 && box.x1 - box.x0 == out_w &&
      box.y0 - static_cast<int>(box.y0) == 0 && box.y1 - box.y0 == out_h) {
    Step s;
    s.kind = Step::Kind::kCrop;
    s.in_height = in_h, s.in_width = in_w, s.out_height = out_h, s.out_width = out_w;
    s.crop_x = static_cast<int>(box.x0);
    s.crop_y = static_cast<int>(box.y0);
    steps.push_back(std::move(s));
    return Status::Ok();
  }
  if (filter == ResampleFilter::kNearest) {
    Step s;
    s.kind = Step::Kind::kNearest;
    s.in_height = in_h, s.in_width = in_w, s.out_height = out_h, s.out_width = out_w;
    s.src_x = NearestIndices(in_w, box.x0, box.x1, out_w);
    s.src_y = NearestIndices(in_h, box.y0, box.y1, out_h);
    steps.push_back(std::move(s));
    return Status::Ok();
  }

  const FilterDef def = FilterFor(filter);
  // A pass is skipped when its axis keeps its size and the box spans it from 0.
  const bool need_h = out_w != in_w || box.x0 != 0 || box.x1 != out_w;
  const bool need_v = out_h != in_h || box.y0 != 0 || box.y1 != out_h;
  Resampler::Axis vertical = ComputeAxis(in_h, box.y0, box.y1, out_h, def);
  // The rows the vertical pass reads; the horizontal pass computes only those.
  const int row_first = vertical.first[0];
  const int row_last = vertical.first[out_h - 1] + vertical.count[out_h - 1];
  int cur_h = in_h, cur_w = in_w;
  if (need_h) {
    Step s;
    s.kind = Step::Kind::kHorizontal;
    s.in_height = in_h, s.in_width = in_w;
    s.out_height = row_last - row_first, s.out_width = out_w;
    s.row_offset = row_first;
    s.axis = ComputeAxis(in_w, box.x0, box.x1, out_w, def);
    for (int& f : vertical.first) f -= row_first;
    cur_h = s.out_height, cur_w = out_w;
    steps.push_back(std::move(s));
  }
  if (need_v) {
    Step s;
    s.kind = Step::Kind::kVertical;
    s.in_height = cur_h, s.in_width = cur_w;
    s.out_height = out_h, s.out_width = cur_w;
    s.axis = std::move(vertical);
    steps.push_back(std::move(s));
  }
  if (!need_h && !need_v) {  // unreachable after the crop test, kept as Pillow's copy
    Step s;
    s.kind = Step::Kind::kCrop;
    s.in_height = in_h, s.in_width = in_w, s.out_height = in_h, s.out_width = in_w;
    steps.push_back(std::move(s));
  }
  return Status::Ok();
}

// ---- Passes. Images are packed [H, W, C]. ----
//
// Both convolution passes run the same kernel, ConvolveRows: an output row is a
// weighted sum of whole input rows, a loop over contiguous bytes that the compiler
// vectorises. The vertical pass applies it directly. The horizontal pass transposes
// the rows it needs to [W, rows * C] (pixels become rows), applies it along x, and
// transposes back: two cheap copies instead of a gather-bound per-pixel loop. The
// sums are the same integers in the same fixed-point format either way, so the bytes
// are Pillow's whatever the loop order.
//
// The kernels are compiled twice on x86-64, for AVX2 (8-lane int32 multiply) and the
// baseline, and picked at load time; integer arithmetic makes both identical.
#if defined(__x86_64__) && defined(__GNUC__)
#define VLART_PASS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VLART_PASS_CLONES
#endif

inline uint8_t Clip8(int32_t acc) {
  // Arithmetic shift (defined in C++20), then clamp: Pillow's clip8 lookup.
  return static_cast<uint8_t>(std::clamp(acc >> kPrecisionBits, 0, 255));
}

// out[o, j] = clip8(round + sum_i weight[o, i] * in[first[o] + i, j]) for o < ax.out_size,
// j < row. in: [*, row], out: [ax.out_size, row], acc: [row] scratch.
VLART_PASS_CLONES void ConvolveRows(const uint8_t* in, size_t row, const Resampler::Axis& ax,
                                    int32_t* acc, uint8_t* out) {
  for (int o = 0; o < ax.out_size; ++o) {
    const int32_t* k = &ax.weight[static_cast<size_t>(o) * ax.ksize];
    const uint8_t* first = in + static_cast<size_t>(ax.first[o]) * row;
    std::fill(acc, acc + row, kRoundHalf);
    for (int i = 0; i < ax.count[o]; ++i) {
      const uint8_t* r = first + i * row;
      const int32_t w = k[i];
      for (size_t j = 0; j < row; ++j) acc[j] += static_cast<int32_t>(r[j]) * w;
    }
    uint8_t* dst = out + static_cast<size_t>(o) * row;
    for (size_t j = 0; j < row; ++j) dst[j] = Clip8(acc[j]);
  }
}

// Pixel transpose: in [rows, cols, C] -> out [cols, rows, C], in cache-sized tiles.
template <int C>
void TransposePixelsC(const uint8_t* in, int rows, int cols, uint8_t* out) {
  constexpr int kTile = 32;
  for (int r0 = 0; r0 < rows; r0 += kTile) {
    const int r1 = std::min(rows, r0 + kTile);
    for (int c0 = 0; c0 < cols; c0 += kTile) {
      const int c1 = std::min(cols, c0 + kTile);
      for (int c = c0; c < c1; ++c) {
        uint8_t* o = out + (static_cast<size_t>(c) * rows + r0) * C;
        const uint8_t* i = in + (static_cast<size_t>(r0) * cols + c) * C;
        for (int r = r0; r < r1; ++r, o += C, i += static_cast<size_t>(cols) * C) {
          for (int k = 0; k < C; ++k) o[k] = i[k];
        }
      }
    }
  }
}

VLART_PASS_CLONES void TransposePixels(const uint8_t* in, int rows, int cols, int channels,
                                       uint8_t* out) {
  switch (channels) {
    case 1: return TransposePixelsC<1>(in, rows, cols, out);
    case 2: return TransposePixelsC<2>(in, rows, cols, out);
    case 3: return TransposePixelsC<3>(in, rows, cols, out);
    case 4: return TransposePixelsC<4>(in, rows, cols, out);
  }
  VLART_CHECK(false, "TransposePixels: {} channels", channels);
}

// in: the step's input [in_height, in_width, C]; out: [out_height, out_width, C], made
// of input rows [row_offset, row_offset + out_height). transposed: [in_width * rows * C]
// and convolved: [out_width * rows * C] scratch; acc: [rows * C].
void HorizontalPass(const uint8_t* in, int channels, const Resampler::Step& s, uint8_t* transposed,
                    uint8_t* convolved, int32_t* acc, uint8_t* out) {
  const int rows = s.out_height;
  const uint8_t* band = in + static_cast<size_t>(s.row_offset) * s.in_width * channels;
  TransposePixels(band, rows, s.in_width, channels, transposed);  // [in_width, rows, C]
  ConvolveRows(transposed, static_cast<size_t>(rows) * channels, s.axis, acc, convolved);
  TransposePixels(convolved, s.out_width, rows, channels, out);  // [rows, out_width, C]
}

void VerticalPass(const uint8_t* in, int channels, const Resampler::Step& s, int32_t* acc,
                  uint8_t* out) {
  ConvolveRows(in, static_cast<size_t>(s.in_width) * channels, s.axis, acc, out);
}

void CropPass(const uint8_t* in, int channels, const Resampler::Step& s, uint8_t* out) {
  const size_t in_row = static_cast<size_t>(s.in_width) * channels;
  const size_t out_row = static_cast<size_t>(s.out_width) * channels;
  for (int y = 0; y < s.out_height; ++y) {
    std::memcpy(out + y * out_row,
                in + (y + s.crop_y) * in_row + static_cast<size_t>(s.crop_x) * channels, out_row);
  }
}

void NearestPass(const uint8_t* in, int channels, const Resampler::Step& s, uint8_t* out) {
  const size_t in_row = static_cast<size_t>(s.in_width) * channels;
  for (int y = 0; y < s.out_height; ++y) {
    uint8_t* o = out + static_cast<size_t>(y) * s.out_width * channels;
    const int sy = s.src_y[y];
    for (int x = 0; x < s.out_width; ++x) {
      const int sx = s.src_x[x];
      if (sy < 0 || sx < 0) {
        std::memset(o + x * channels, 0, channels);
      } else {
        std::memcpy(o + x * channels, in + sy * in_row + static_cast<size_t>(sx) * channels,
                    channels);
      }
    }
  }
}

}  // namespace

Result<ResampleFilter> ResampleFilterFromPil(int pil_value) {
  if (pil_value < 0 || pil_value > 5) {
    return InvalidArgument(
        "resample filter: expected a PIL.Image.Resampling value 0..5 (NEAREST=0, LANCZOS=1, "
        "BILINEAR=2, BICUBIC=3, BOX=4, HAMMING=5), got {}",
        pil_value);
  }
  return static_cast<ResampleFilter>(pil_value);
}

std::string_view ResampleFilterName(ResampleFilter filter) {
  switch (filter) {
    case ResampleFilter::kNearest: return "NEAREST";
    case ResampleFilter::kLanczos: return "LANCZOS";
    case ResampleFilter::kBilinear: return "BILINEAR";
    case ResampleFilter::kBicubic: return "BICUBIC";
    case ResampleFilter::kBox: return "BOX";
    case ResampleFilter::kHamming: return "HAMMING";
  }
  return "?";
}

Result<Resampler> Resampler::Create(int in_height, int in_width, int out_height, int out_width,
                                    ResampleFilter filter, std::optional<ResampleBox> box) {
  if (in_height < 1 || in_width < 1) {
    return InvalidArgument("resize: input size: expected height and width >= 1, got {}x{}",
                           in_height, in_width);
  }
  if (static_cast<int>(filter) < 0 || static_cast<int>(filter) > 5) {
    return InvalidArgument("resize: filter: expected a PIL.Image.Resampling value, got {}",
                           static_cast<int>(filter));
  }
  if (out_height > 0 && out_width > 0 &&
      static_cast<int64_t>(out_height) * out_width > kDefaultMaxImagePixels) {
    return InvalidArgument("resize: output size: expected at most {} pixels, got {}x{}",
                           kDefaultMaxImagePixels, out_height, out_width);
  }
  Resampler r;
  r.in_height_ = in_height, r.in_width_ = in_width;
  r.out_height_ = out_height, r.out_width_ = out_width;
  r.filter_ = filter;
  const ResampleBox full{0.0f, 0.0f, static_cast<float>(in_width), static_cast<float>(in_height)};
  const ResampleBox b = box.value_or(full);
  const bool full_box = b.x0 == 0 && b.y0 == 0 && b.x1 == in_width && b.y1 == in_height;
  if (out_height == in_height && out_width == in_width && full_box) {
    VLART_TRY(PlanResizeCall(in_height, in_width, out_height, out_width, filter, b, r.steps_));
  } else if (in_height > in_width * int64_t{100} && out_height < in_height) {
    // Very tall images: shrink the height first (over the box's rows, full width),
    // then the width (over the box's columns of the now out_height rows).
    VLART_TRY(PlanResizeCall(in_height, in_width, out_height, in_width, filter,
                             {0.0f, b.y0, static_cast<float>(in_width), b.y1}, r.steps_));
    VLART_TRY(PlanResizeCall(out_height, in_width, out_height, out_width, filter,
                             {b.x0, 0.0f, b.x1, static_cast<float>(out_height)}, r.steps_));
  } else {
    VLART_TRY(PlanResizeCall(in_height, in_width, out_height, out_width, filter, b, r.steps_));
  }
  return r;
}

Status Resampler::Run(const ImageView& in, uint8_t* out) {
  if (in.height != in_height_ || in.width != in_width_) {
    return InvalidArgument("resize: input: expected {}x{} (HxW) as planned, got {}x{}", in_height_,
                           in_width_, in.height, in.width);
  }
  if (in.channels < 1 || in.channels > 4) {
    return InvalidArgument("resize: input: expected 1 to 4 channels, got {}", in.channels);
  }
  const int c = in.channels;
  const uint8_t* src = in.data;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    const bool last = i + 1 == steps_.size();
    uint8_t* dst = out;
    if (!last) {
      std::vector<uint8_t>& buf = scratch_[i % 2];
      buf.resize(static_cast<size_t>(s.out_height) * s.out_width * c);
      dst = buf.data();
    }
    switch (s.kind) {
      case Step::Kind::kCrop: CropPass(src, c, s, dst); break;
      case Step::Kind::kNearest: NearestPass(src, c, s, dst); break;
      case Step::Kind::kHorizontal: {
        const size_t band = static_cast<size_t>(s.out_height) * c;  // one transposed row
        transposed_.resize(band * s.in_width);
        convolved_.resize(band * s.out_width);
        acc_.resize(band);
        HorizontalPass(src, c, s, transposed_.data(), convolved_.data(), acc_.data(), dst);
        break;
      }
      case Step::Kind::kVertical:
        acc_.resize(static_cast<size_t>(s.in_width) * c);
        VerticalPass(src, c, s, acc_.data(), dst);
        break;
    }
    src = dst;
  }
  return Status::Ok();
}

Result<Image> Resampler::Run(const ImageView& rgb) {
  if (rgb.channels != 3) {
    return InvalidArgument("resize: input: expected an RGB image (3 channels), got {}",
                           rgb.channels);
  }
  Image out = Image::Zeros(out_height_, out_width_);
  VLART_TRY(Run(rgb, out.data()));
  return out;
}

Result<Image> ResizeImage(const ImageView& rgb, int out_height, int out_width,
                          ResampleFilter filter) {
  VLART_ASSIGN_OR_RETURN(Resampler r,
                         Resampler::Create(rgb.height, rgb.width, out_height, out_width, filter));
  return r.Run(rgb);
}

}  // namespace vlart
