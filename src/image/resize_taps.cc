// SPDX-License-Identifier: Apache-2.0
//
// resize_taps.cc: Resampler plan -> ResizePixels tap tables (resize_taps.h says what and why).

#include "image/resize_taps.h"

#include <algorithm>
#include <cstdint>

namespace vlart {
namespace {

constexpr int32_t kOne = int32_t{1} << 22;  // weight 1.0 with 22 fractional bits

// Rows {first + offset, count, weights} of `axis`, padded with zero weights to its ksize.
HostTensor TapsOf(const Resampler::Axis& axis, int offset) {
  const int k = std::max(axis.ksize, 1);
  HostTensor t(DType::kI32, {axis.out_size, 2 + k});
  int32_t* row = t.data<int32_t>();
  for (int o = 0; o < axis.out_size; ++o, row += 2 + k) {
    row[0] = axis.first[o] + offset;
    row[1] = axis.count[o];
    const int32_t* w = axis.weight.data() + static_cast<size_t>(o) * axis.ksize;
    for (int j = 0; j < k; ++j) row[2 + j] = j < axis.count[o] ? w[j] : 0;
  }
  return t;
}

HostTensor IdentityTaps(int size) {
  HostTensor t(DType::kI32, {size, 3});
  int32_t* row = t.data<int32_t>();
  for (int i = 0; i < size; ++i, row += 3) {
    row[0] = i;
    row[1] = 1;
    row[2] = kOne;
  }
  return t;
}

}  // namespace

std::optional<ResizeTaps> SeparableResizeTaps(const Resampler& plan) {
  using Kind = Resampler::Step::Kind;
  const auto& steps = plan.steps();
  const Resampler::Step* horizontal = nullptr;
  const Resampler::Step* vertical = nullptr;
  for (const Resampler::Step& s : steps) {
    if (s.kind == Kind::kHorizontal && horizontal == nullptr && vertical == nullptr) {
      horizontal = &s;
    } else if (s.kind == Kind::kVertical && vertical == nullptr) {
      vertical = &s;
    } else {
      return std::nullopt;  // a crop, NEAREST, or a second resize call
    }
  }
  if (horizontal == nullptr && vertical == nullptr) return std::nullopt;
  ResizeTaps taps;
  taps.x = horizontal != nullptr ? TapsOf(horizontal->axis, 0) : IdentityTaps(plan.in_width());
  const int row_offset = horizontal != nullptr ? horizontal->row_offset : 0;
  taps.y = vertical != nullptr ? TapsOf(vertical->axis, row_offset) : IdentityTaps(plan.in_height());
  return taps;
}

}  // namespace vlart
