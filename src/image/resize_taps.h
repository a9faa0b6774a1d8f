// SPDX-License-Identifier: Apache-2.0
//
// resize_taps.h: a Pillow resize plan as the two tap tables of Backend::ResizePixels, so a
// model can upload camera bytes and resize them on its device, bit for bit as Pillow does.
//
// A Resampler plan (resample.h) of one convolution call -- a horizontal pass over the rows
// the vertical pass reads, then the vertical pass, either one skipped when its axis is
// unchanged -- is, per output column and per output row, a list of input indices and
// integer weights. ResizeTaps holds them as I32 [out, 2 + K] rows {first, count, weights},
// the first index absolute (the plan's vertical indices are relative to the band the
// horizontal pass made; they are shifted back here). A skipped pass becomes the identity
// taps {i, 1, 2^22}: (2^21 + 2^22 v) >> 22 = v, so the bytes are unchanged.
// Plans of another shape have no taps: a crop or copy (the input already has the output's
// size), NEAREST, and the two-call rule for images over 100x taller than wide.
#pragma once

#include <optional>

#include "core/host_tensor.h"
#include "image/resample.h"

namespace vlart {

struct ResizeTaps {
  HostTensor x;  // I32 [out_width, 2 + Kx]: first input column, count, Kx weights (22 bits)
  HostTensor y;  // I32 [out_height, 2 + Ky]: first input row, count, Ky weights
};

// The taps of `plan`, or nullopt when its steps are not one convolution call (see above).
std::optional<ResizeTaps> SeparableResizeTaps(const Resampler& plan);

}  // namespace vlart
