// SPDX-License-Identifier: Apache-2.0
//
// row_convolution.h: one output row of a Pillow fixed-point resampling pass, with the
// sum over taps kept in registers.
//
// Pillow's ImagingResample computes every output byte as
//   clip8(((1 << 21) + sum_i weight[i] * in[first + i]) >> 22)
// in int32, with 22-bit fixed-point weights (resample.h). When the inputs of one output
// row are whole input rows (the vertical pass, or the horizontal pass on a transposed
// plane) the row is that sum taken element-wise over `count` input rows. The sums are
// exact integers, so any evaluation order gives Pillow's bytes; the AVX2 version keeps 32
// int32 sums in four registers across the taps instead of re-reading a row of sums.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vlart {

// out[j] = clip8(((1 << 21) + sum_{i < count} weight[i] * in[(first + i) * stride + j]) >> 22)
// for j < len. in: rows of `stride` bytes; out: [len].
void ConvolveRow(const uint8_t* in, size_t stride, int first, int count, const int32_t* weight,
                 size_t len, uint8_t* out, bool simd);

}  // namespace vlart
