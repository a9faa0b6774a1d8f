// SPDX-License-Identifier: Apache-2.0
//
// image_preprocessor.cc: plans, per-worker scratch and the planar passes of
// ImagePreprocessor (see the header for why the planes equal the reference path's).

#include "image/image_preprocessor.h"

#include <cstring>
#include <optional>

#include "core/check.h"
#include "image/plane_ops.h"
#include "image/row_convolution.h"
#include "image/simd_support.h"

namespace vlart {
namespace {

size_t RoundUp16(int x) { return (static_cast<size_t>(x) + 15) / 16 * 16; }

// Grows (never shrinks) a scratch vector; new bytes are zero.
template <typename T>
T* Grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

struct ImagePreprocessor::Plan {
  enum class Kind {
    kCopy,     // input already out_height x out_width: normalise only
    kPlanar,   // Pillow's horizontal and/or vertical convolution pass, run planar here
    kGeneric,  // anything else: the reference Resampler on the whole picture
  };
  int in_height = 0, in_width = 0;
  Kind kind = Kind::kCopy;
  std::optional<Resampler> resampler;
  std::optional<ResizeTaps> taps;               // kPlanar: the passes as ResizePixels taps
  const Resampler::Step* horizontal = nullptr;  // into resampler->steps(), or null
  const Resampler::Step* vertical = nullptr;
};

struct ImagePreprocessor::Scratch {
  std::vector<uint8_t> plane;       // one channel of the input band, [rows16, w16]
  std::vector<uint8_t> transposed;  // [w16, rows16]
  std::vector<uint8_t> convolved;   // horizontal pass result, transposed: [ow16, rows16]
  std::vector<uint8_t> between;     // horizontal pass result: [rows16, ow16]
  std::vector<uint8_t> row;         // one output row before normalising
  // kGeneric: this worker's copy of the plan's Resampler (it owns mutable scratch).
  std::optional<Resampler> resampler;
  std::vector<uint8_t> rgb;         // its output, [out_height, out_width, 3]
};

ImagePreprocessor::ImagePreprocessor(int out_height, int out_width, ResampleFilter filter,
                                     PixelNormalizer normalizer, Options options)
    : out_height_(out_height),
      out_width_(out_width),
      filter_(filter),
      normalizer_(normalizer),
      simd_(options.simd && CpuHasAvx2Fma()) {}

ImagePreprocessor::~ImagePreprocessor() = default;
ImagePreprocessor::ImagePreprocessor(ImagePreprocessor&&) noexcept = default;
ImagePreprocessor& ImagePreprocessor::operator=(ImagePreprocessor&&) noexcept = default;

Status ImagePreprocessor::Prepare(int in_height, int in_width, int workers) {
  while (static_cast<int>(scratch_.size()) < workers) scratch_.push_back(std::make_unique<Scratch>());
  for (const auto& p : plans_) {
    if (p->in_height == in_height && p->in_width == in_width) return Status::Ok();
  }
  auto plan = std::make_unique<Plan>();
  plan->in_height = in_height;
  plan->in_width = in_width;
  if (in_height != out_height_ || in_width != out_width_) {
    VLART_ASSIGN_OR_RETURN(Resampler r, Resampler::Create(in_height, in_width, out_height_,
                                                          out_width_, filter_));
    plan->resampler.emplace(std::move(r));
    plan->kind = Plan::Kind::kPlanar;
    using Kind = Resampler::Step::Kind;
    const std::vector<Resampler::Step>& steps = plan->resampler->steps();
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].kind == Kind::kHorizontal && i == 0) {
        plan->horizontal = &steps[i];
      } else if (steps[i].kind == Kind::kVertical && i + 1 == steps.size()) {
        plan->vertical = &steps[i];
      } else {
        plan->kind = Plan::Kind::kGeneric;
      }
    }
    if (plan->horizontal == nullptr && plan->vertical == nullptr) plan->kind = Plan::Kind::kGeneric;
    if (plan->kind == Plan::Kind::kPlanar) plan->taps = SeparableResizeTaps(*plan->resampler);
  }
  // Callers see few input sizes (one per camera); keep the last several.
  constexpr size_t kMaxPlans = 8;
  if (plans_.size() == kMaxPlans) plans_.erase(plans_.begin());
  plans_.push_back(std::move(plan));
  return Status::Ok();
}

const ImagePreprocessor::Plan& ImagePreprocessor::PlanFor(int in_height, int in_width) const {
  for (const auto& p : plans_) {
    if (p->in_height == in_height && p->in_width == in_width) return *p;
  }
  VLART_CHECK(false, "ImagePreprocessor: {}x{} input was not prepared", in_height, in_width);
  return *plans_.front();
}

const ResizeTaps* ImagePreprocessor::SeparableTaps(int in_height, int in_width) const {
  const Plan& plan = PlanFor(in_height, in_width);
  return plan.taps.has_value() ? &*plan.taps : nullptr;
}

void ImagePreprocessor::RunPlane(const ImageView& rgb, int channel, int worker, float* out) {
  Run(rgb, channel, worker, out);
}

void ImagePreprocessor::RunPlaneBytes(const ImageView& rgb, int channel, int worker, uint8_t* out) {
  Run(rgb, channel, worker, out);
}

void ImagePreprocessor::EmitRow(const uint8_t* row, int channel, size_t n, float* out) const {
  normalizer_.Run(row, channel, n, out);
}

void ImagePreprocessor::EmitRow(const uint8_t* row, int, size_t n, uint8_t* out) const {
  std::memcpy(out, row, n);
}

template <typename Out>
void ImagePreprocessor::Run(const ImageView& rgb, int channel, int worker, Out* out) {
  VLART_CHECK(rgb.channels == 3 && channel >= 0 && channel < 3, "RunPlane: channel {} of {}",
              channel, rgb.channels);
  VLART_CHECK(worker >= 0 && worker < static_cast<int>(scratch_.size()),
              "RunPlane: worker {} of {} prepared", worker, scratch_.size());
  const Plan& plan = PlanFor(rgb.height, rgb.width);
  Scratch& s = *scratch_[worker];
  switch (plan.kind) {
    case Plan::Kind::kCopy: return RunCopy(rgb, channel, s, out);
    case Plan::Kind::kPlanar: return RunPlanar(plan, rgb, channel, s, out);
    case Plan::Kind::kGeneric: return RunGeneric(plan, rgb, channel, s, out);
  }
}

template <typename Out>
void ImagePreprocessor::RunCopy(const ImageView& rgb, int channel, Scratch& s, Out* out) const {
  const size_t w = static_cast<size_t>(rgb.width);
  uint8_t* row = Grow(s.row, w);
  for (int y = 0; y < rgb.height; ++y) {
    ExtractChannel(rgb.data + y * w * 3, w, channel, row, simd_);
    EmitRow(row, channel, w, out + y * w);
  }
}

template <typename Out>
void ImagePreprocessor::RunPlanar(const Plan& plan, const ImageView& rgb, int channel, Scratch& s,
                                  Out* out) const {
  const size_t in_w = static_cast<size_t>(rgb.width);
  const size_t ow = static_cast<size_t>(out_width_);
  // The byte plane the vertical pass (or the output) reads: [rows, stride].
  const uint8_t* plane = nullptr;
  size_t stride = 0;
  if (const Resampler::Step* h = plan.horizontal) {
    const int rows = h->out_height;  // input rows [row_offset, row_offset + rows)
    const size_t rows16 = RoundUp16(rows), w16 = RoundUp16(rgb.width), ow16 = RoundUp16(out_width_);
    uint8_t* band = Grow(s.plane, rows16 * w16);
    for (int r = 0; r < rows; ++r) {
      ExtractChannel(rgb.data + (h->row_offset + r) * in_w * 3, in_w, channel, band + r * w16, simd_);
    }
    // Padding rows/columns hold stale bytes: they are transposed and convolved along,
    // but no output byte that is kept reads them.
    uint8_t* t = Grow(s.transposed, w16 * rows16);  // [w16, rows16]: input column x = row x
    TransposeBytes(band, w16, static_cast<int>(rows16), static_cast<int>(w16), t, rows16, simd_);
    uint8_t* conv = Grow(s.convolved, ow16 * rows16);  // [ow16, rows16]
    const Resampler::Axis& ax = h->axis;
    for (int o = 0; o < ax.out_size; ++o) {
      ConvolveRow(t, rows16, ax.first[o], ax.count[o], &ax.weight[static_cast<size_t>(o) * ax.ksize],
                  rows16, conv + o * rows16, simd_);
    }
    uint8_t* between = Grow(s.between, rows16 * ow16);  // [rows16, ow16]
    TransposeBytes(conv, rows16, static_cast<int>(ow16), static_cast<int>(rows16), between, ow16,
                   simd_);
    plane = between;
    stride = ow16;
  } else {
    uint8_t* whole = Grow(s.plane, static_cast<size_t>(rgb.height) * in_w);
    ExtractChannel(rgb.data, static_cast<size_t>(rgb.height) * in_w, channel, whole, simd_);
    plane = whole;
    stride = in_w;
  }
  if (const Resampler::Step* v = plan.vertical) {
    uint8_t* row = Grow(s.row, ow);
    const Resampler::Axis& ax = v->axis;
    for (int o = 0; o < ax.out_size; ++o) {
      ConvolveRow(plane, stride, ax.first[o], ax.count[o], &ax.weight[static_cast<size_t>(o) * ax.ksize],
                  ow, row, simd_);
      EmitRow(row, channel, ow, out + o * ow);
    }
  } else {
    for (int y = 0; y < out_height_; ++y) EmitRow(plane + y * stride, channel, ow, out + y * ow);
  }
}

template <typename Out>
void ImagePreprocessor::RunGeneric(const Plan& plan, const ImageView& rgb, int channel, Scratch& s,
                                   Out* out) const {
  if (!s.resampler || s.resampler->in_height() != plan.in_height ||
      s.resampler->in_width() != plan.in_width) {
    s.resampler.emplace(*plan.resampler);
  }
  const size_t ow = static_cast<size_t>(out_width_);
  uint8_t* resized = Grow(s.rgb, static_cast<size_t>(out_height_) * ow * 3);
  const Status st = s.resampler->Run(rgb, resized);
  VLART_CHECK(st.ok(), "RunPlane: planned resize failed: {}", st.ToString());
  uint8_t* row = Grow(s.row, ow);
  for (int y = 0; y < out_height_; ++y) {
    ExtractChannel(resized + y * ow * 3, ow, channel, row, simd_);
    EmitRow(row, channel, ow, out + y * ow);
  }
}

}  // namespace vlart
