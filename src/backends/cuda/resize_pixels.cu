// SPDX-License-Identifier: Apache-2.0
//
// resize_pixels.cu: ResizePixels, Pillow's separable 8-bit resize on the device.
//
// Math:      backend.h's ResizePixels: a horizontal pass (per output column, a weighted sum
//            of input columns, rounded and clamped to a byte), then a vertical pass over
//            those bytes, written as planes out [N, C, Ho, Wo]. taps rows {first, count,
//            weights} with 22 fractional bits (image/resize_taps.h).
// Mapping:   one block per (image, kTileRows output rows). The block first runs the
//            horizontal pass for the band of input rows its output rows read -- from the
//            smallest first row of the tile, up to band_rows rows, the launcher's bound for
//            valid taps (rows(tile) <= (kTileRows - 1) * H / Ho + 2 + Ky), capped so the band
//            fits 48 KB of shared memory -- into shared memory [rows][C][Wo], then the
//            vertical pass reads the band. Any row outside the band (taps the bound does not
//            cover, or a band that did not fit) is computed from global memory instead:
//            slower, the same bytes. Threads stride over [rows][C][Wo] with Wo fastest, so
//            the stores of a warp are consecutive bytes. Indices are clamped into the input
//            and counts into [0, K], so any taps read in bounds (backend.h: the CPU backend
//            checks them, this one cannot read them without a sync).
//            A plain launch (no PDL): it is the first kernel of a forward, after the upload.
//            LIBERO (2 views 256x256 -> 224, bicubic, Ky = 7): 2 x 56 blocks, 12-row bands.
// Numerics:  int32 sums and an arithmetic shift, as Pillow; exact, so the bytes equal the
//            CPU backend's and the host Resampler's.
// Reference: backends/cpu/resize_pixels.cc; parity in tests/ops/cuda_parity_test.cc
//            (CopyParity.ResizePixelsIsExact).

#include <algorithm>
#include <climits>
#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"

namespace vlart::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTileRows = 4;                // output rows per block
constexpr int64_t kBandBytes = 48 * 1024;   // the default dynamic shared memory limit
constexpr int kPrecisionBits = 22;
constexpr int32_t kRoundHalf = int32_t{1} << (kPrecisionBits - 1);

__device__ __forceinline__ uint8_t Clip8(int32_t acc) {
  return static_cast<uint8_t>(min(max(acc >> kPrecisionBits, 0), 255));
}

struct ResizeArgs {
  const uint8_t* in;    // [N, H, W, C]
  const int32_t* tx;    // [Wo, row_x]
  const int32_t* ty;    // [Ho, row_y]
  uint8_t* out;         // [N, C, Ho, Wo]
  int h, w, c, ho, wo;
  int row_x, row_y;     // 2 + Kx, 2 + Ky
  int band_rows;        // shared-memory band height (may be 0)
};

// h[n, y, xo, ch] from global memory (y in range).
__device__ __forceinline__ uint8_t Horizontal(const ResizeArgs& a, const uint8_t* image, int y,
                                              int xo, int ch) {
  const int32_t* tap = a.tx + static_cast<int64_t>(xo) * a.row_x;
  const int first = __ldg(tap);
  const int count = min(max(__ldg(tap + 1), 0), a.row_x - 2);
  const uint8_t* row = image + static_cast<int64_t>(y) * a.w * a.c + ch;
  int32_t acc = kRoundHalf;
  for (int j = 0; j < count; ++j) {
    const int x = min(max(first + j, 0), a.w - 1);
    acc += __ldg(tap + 2 + j) * static_cast<int32_t>(__ldg(row + static_cast<int64_t>(x) * a.c));
  }
  return Clip8(acc);
}

__global__ void __launch_bounds__(kThreads) ResizePixelsKernel(ResizeArgs a) {
  extern __shared__ uint8_t band[];  // [rows][C][Wo]
  __shared__ int band_first;
  const int n = blockIdx.y;
  const int yo0 = blockIdx.x * kTileRows;
  const int yo1 = min(a.ho, yo0 + kTileRows);
  const uint8_t* image = a.in + static_cast<int64_t>(n) * a.h * a.w * a.c;
  if (threadIdx.x == 0) {
    int r0 = INT_MAX;
    for (int yo = yo0; yo < yo1; ++yo) {
      r0 = min(r0, min(max(__ldg(a.ty + static_cast<int64_t>(yo) * a.row_y), 0), a.h - 1));
    }
    band_first = r0;
  }
  __syncthreads();
  const int r0 = band_first;
  const int rows = min(a.band_rows, a.h - r0);
  const int plane = a.c * a.wo;  // one band row
  for (int i = threadIdx.x; i < rows * plane; i += kThreads) {
    const int xo = i % a.wo;
    const int rc = i / a.wo;
    band[i] = Horizontal(a, image, r0 + rc / a.c, xo, rc % a.c);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < (yo1 - yo0) * plane; i += kThreads) {
    const int xo = i % a.wo;
    const int t = i / a.wo;
    const int ch = t % a.c;
    const int yo = yo0 + t / a.c;
    const int32_t* tap = a.ty + static_cast<int64_t>(yo) * a.row_y;
    const int first = __ldg(tap);
    const int count = min(max(__ldg(tap + 1), 0), a.row_y - 2);
    int32_t acc = kRoundHalf;
    for (int j = 0; j < count; ++j) {
      const int y = min(max(first + j, 0), a.h - 1);
      const int r = y - r0;
      const uint8_t v = r >= 0 && r < rows ? band[(r * a.c + ch) * a.wo + xo]
                                           : Horizontal(a, image, y, xo, ch);
      acc += __ldg(tap + 2 + j) * static_cast<int32_t>(v);
    }
    a.out[((static_cast<int64_t>(n) * a.c + ch) * a.ho + yo) * a.wo + xo] = Clip8(acc);
  }
}

}  // namespace

void LaunchResizePixels(const uint8_t* pixels, const int32_t* taps_x, int64_t row_x,
                        const int32_t* taps_y, int64_t row_y, uint8_t* out, int64_t n, int64_t h,
                        int64_t w, int64_t channels, int64_t ho, int64_t wo, cudaStream_t stream) {
  if (n * channels * ho * wo == 0) return;
  ResizeArgs a;
  a.tx = taps_x;
  a.ty = taps_y;
  a.h = static_cast<int>(h);
  a.w = static_cast<int>(w);
  a.c = static_cast<int>(channels);
  a.ho = static_cast<int>(ho);
  a.wo = static_cast<int>(wo);
  a.row_x = static_cast<int>(row_x);
  a.row_y = static_cast<int>(row_y);
  // Rows a tile of valid taps reads: its first rows are at most ~(kTileRows - 1) * H / Ho
  // apart (Pillow's centres step by the scale, the box is inside the input), plus a row of
  // rounding and the last row's Ky taps.
  const int64_t bound = (kTileRows - 1) * h / ho + 2 + (row_y - 2);
  const int64_t fit = kBandBytes / (channels * wo);
  a.band_rows = static_cast<int>(std::min({bound, fit, h}));
  const size_t smem = static_cast<size_t>(a.band_rows) * channels * wo;
  const unsigned int tiles = static_cast<unsigned int>((ho + kTileRows - 1) / kTileRows);
  // gridDim.y is at most 65535 images: launch in slices.
  for (int64_t n0 = 0; n0 < n; n0 += 65535) {
    const int64_t slice = std::min<int64_t>(65535, n - n0);
    a.in = pixels + n0 * h * w * channels;
    a.out = out + n0 * channels * ho * wo;
    ResizePixelsKernel<<<dim3(tiles, static_cast<unsigned int>(slice)), kThreads, smem, stream>>>(a);
    VLART_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace vlart::cuda
