// SPDX-License-Identifier: Apache-2.0
//
// resize_pixels.cc: ResizePixels on the CPU reference backend.
//
// Math: Pillow's 8-bit ImagingResample as backend.h states it: per output column xo,
//   h[n, y, xo, c] = clip8((2^21 + sum_{j < count} w_x[xo, j] * pixels[n, y, first + j, c]) >> 22)
// for every input row y, then per output row yo the same sum over rows of h, written as
// planes out[n, c, yo, xo]. taps rows are {first, count, weights...} (22 fractional bits).
// The horizontal pass runs over all H rows here; Pillow runs it over the rows the vertical
// pass reads only, and a row's result does not depend on which other rows are computed.
// Reference: image/resample.cc (the host Resampler, proven equal to Pillow's bytes);
// tests/ops/cpu_memory_test.cc (CpuResizePixels) checks this op against it bit for bit.
// Numerics: int32 sums and an arithmetic shift; exact. Taps are read on the host, so their
// values are checked here: first >= 0, 1 <= count <= K, first + count <= the input size.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cpu {
namespace {

constexpr int kPrecisionBits = 22;
constexpr int32_t kRoundHalf = int32_t{1} << (kPrecisionBits - 1);

uint8_t Clip8(int32_t acc) { return static_cast<uint8_t>(std::clamp(acc >> kPrecisionBits, 0, 255)); }

// Checks every row of `taps` [out, 2 + K] against an input axis of `size` pixels.
void CheckTaps(const char* name, const Tensor& taps, int64_t size) {
  const int32_t* t = taps.data_as<const int32_t>();
  const int64_t k = taps.shape[1] - 2;
  for (int64_t o = 0; o < taps.shape[0]; ++o) {
    const int64_t first = t[o * taps.shape[1]], count = t[o * taps.shape[1] + 1];
    VLART_CHECK(first >= 0 && count >= 1 && count <= k && first + count <= size,
                "ResizePixels: {}[{}]: expected taps inside the input (0 <= first, 1 <= count <= "
                "{}, first + count <= {}), got first {} count {}",
                name, o, k, size, first, count);
  }
}

}  // namespace

void ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                  const Tensor& out) {
  CheckResizePixelsArgs(Device::kCpu, pixels, taps_x, taps_y, out);
  const int64_t n = pixels.shape[0], h = pixels.shape[1], w = pixels.shape[2];
  const int64_t channels = pixels.shape[3];
  const int64_t ho = out.shape[2], wo = out.shape[3];
  CheckTaps("taps_x", taps_x, w);
  CheckTaps("taps_y", taps_y, h);
  const int32_t* tx = taps_x.data_as<const int32_t>();
  const int32_t* ty = taps_y.data_as<const int32_t>();
  const int64_t row_x = taps_x.shape[1], row_y = taps_y.shape[1];
  const uint8_t* in = pixels.data_as<const uint8_t>();
  uint8_t* o = out.data_as<uint8_t>();
#pragma omp parallel for collapse(2) schedule(static) if (n * channels * h * wo >= kParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      std::vector<uint8_t> mid(static_cast<size_t>(h * wo));  // h[i, :, :, c], [H, Wo]
      const uint8_t* src = in + i * h * w * channels + c;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t xo = 0; xo < wo; ++xo) {
          const int32_t* tap = tx + xo * row_x;
          int32_t acc = kRoundHalf;
          for (int32_t j = 0; j < tap[1]; ++j) acc += tap[2 + j] * src[(y * w + tap[0] + j) * channels];
          mid[y * wo + xo] = Clip8(acc);
        }
      }
      uint8_t* dst = o + (i * channels + c) * ho * wo;
      for (int64_t yo = 0; yo < ho; ++yo) {
        const int32_t* tap = ty + yo * row_y;
        for (int64_t xo = 0; xo < wo; ++xo) {
          int32_t acc = kRoundHalf;
          for (int32_t j = 0; j < tap[1]; ++j) acc += tap[2 + j] * mid[(tap[0] + j) * wo + xo];
          dst[yo * wo + xo] = Clip8(acc);
        }
      }
    }
  }
}

}  // namespace vlart::cpu
