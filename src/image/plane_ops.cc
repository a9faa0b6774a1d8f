// SPDX-License-Identifier: Apache-2.0
//
// plane_ops.cc: channel extraction and byte transposes (see the header).

#include "image/plane_ops.h"

#include <algorithm>
#include <array>

#include "image/simd_support.h"

#if VLART_IMAGE_X86
#include <immintrin.h>
#endif

namespace vlart {
namespace {

#if VLART_IMAGE_X86

// pshufb controls picking channel `c` of 16 packed RGB pixels out of the three 16-byte
// loads that hold them: kPick[c][k] takes from load k the bytes 3 * i + c that fall in
// it, into position i; other positions get 0x80 (zero) and the three are OR-ed.
constexpr std::array<std::array<std::array<int8_t, 16>, 3>, 3> MakePickTables() {
  std::array<std::array<std::array<int8_t, 16>, 3>, 3> t{};
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 3; ++k) {
      for (int i = 0; i < 16; ++i) {
        const int src = 3 * i + c;
        t[c][k][i] = static_cast<int8_t>(src / 16 == k ? src % 16 : 0x80);
      }
    }
  }
  return t;
}
constexpr auto kPick = MakePickTables();

VLART_TARGET_AVX2 size_t ExtractChannelAvx2(const uint8_t* rgb, size_t n, int channel,
                                            uint8_t* out) {
  const auto& p = kPick[channel];
  const __m128i m0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[0].data()));
  const __m128i m1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[1].data()));
  const __m128i m2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[2].data()));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i* src = reinterpret_cast<const __m128i*>(rgb + 3 * i);
    const __m128i a = _mm_shuffle_epi8(_mm_loadu_si128(src), m0);
    const __m128i b = _mm_shuffle_epi8(_mm_loadu_si128(src + 1), m1);
    const __m128i c = _mm_shuffle_epi8(_mm_loadu_si128(src + 2), m2);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_or_si128(_mm_or_si128(a, b), c));
  }
  return i;
}

// One 16 x 16 block: rows in[r * in_stride + 0..15] -> out[c * out_stride + 0..15].
// Four rounds of interleaves (8, 16, 32, 64-bit): after round k each register holds
// 2^k consecutive rows of 16 / 2^k columns; after the last, one column of all 16 rows.
VLART_TARGET_AVX2 void Transpose16x16(const uint8_t* in, size_t in_stride, uint8_t* out,
                                      size_t out_stride) {
  __m128i a[16], b[16];
  for (int r = 0; r < 16; ++r) {
    a[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + r * in_stride));
  }
  for (int i = 0; i < 8; ++i) {  // b[2i]: cols 0-7 of rows 2i, 2i+1; b[2i+1]: cols 8-15
    b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // rows 4g..4g+3; a[4g + q]: cols 4q..4q+3
    const __m128i* s = b + 4 * g;
    a[4 * g + 0] = _mm_unpacklo_epi16(s[0], s[2]);
    a[4 * g + 1] = _mm_unpackhi_epi16(s[0], s[2]);
    a[4 * g + 2] = _mm_unpacklo_epi16(s[1], s[3]);
    a[4 * g + 3] = _mm_unpackhi_epi16(s[1], s[3]);
  }
  for (int g = 0; g < 2; ++g) {  // rows 8g..8g+7; b[8g + q]: cols 2q, 2q+1
    const __m128i* s = a + 8 * g;
    for (int q = 0; q < 4; ++q) {
      b[8 * g + 2 * q] = _mm_unpacklo_epi32(s[q], s[q + 4]);
      b[8 * g + 2 * q + 1] = _mm_unpackhi_epi32(s[q], s[q + 4]);
    }
  }
  for (int q = 0; q < 8; ++q) {  // column 2q and 2q + 1 of all 16 rows
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * q) * out_stride),
                     _mm_unpacklo_epi64(b[q], b[q + 8]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * q + 1) * out_stride),
                     _mm_unpackhi_epi64(b[q], b[q + 8]));
  }
}

// Two side-by-side 16 x 16 blocks (16 rows x 32 columns) in 256-bit registers: the same
// interleave network runs in both 128-bit lanes, the low lane transposing columns 0-15
// and the high lane columns 16-31.
VLART_TARGET_AVX2 void Transpose16x32(const uint8_t* in, size_t in_stride, uint8_t* out,
                                      size_t out_stride) {
  __m256i a[16], b[16];
  for (int r = 0; r < 16; ++r) {
    a[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + r * in_stride));
  }
  for (int i = 0; i < 8; ++i) {
    b[2 * i] = _mm256_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = _mm256_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {
    const __m256i* s = b + 4 * g;
    a[4 * g + 0] = _mm256_unpacklo_epi16(s[0], s[2]);
    a[4 * g + 1] = _mm256_unpackhi_epi16(s[0], s[2]);
    a[4 * g + 2] = _mm256_unpacklo_epi16(s[1], s[3]);
    a[4 * g + 3] = _mm256_unpackhi_epi16(s[1], s[3]);
  }
  for (int g = 0; g < 2; ++g) {
    const __m256i* s = a + 8 * g;
    for (int q = 0; q < 4; ++q) {
      b[8 * g + 2 * q] = _mm256_unpacklo_epi32(s[q], s[q + 4]);
      b[8 * g + 2 * q + 1] = _mm256_unpackhi_epi32(s[q], s[q + 4]);
    }
  }
  for (int q = 0; q < 8; ++q) {
    const __m256i even = _mm256_unpacklo_epi64(b[q], b[q + 8]);  // columns 2q and 16 + 2q
    const __m256i odd = _mm256_unpackhi_epi64(b[q], b[q + 8]);   // 2q + 1 and 17 + 2q
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * q) * out_stride),
                     _mm256_castsi256_si128(even));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * q + 16) * out_stride),
                     _mm256_extracti128_si256(even, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * q + 1) * out_stride),
                     _mm256_castsi256_si128(odd));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * q + 17) * out_stride),
                     _mm256_extracti128_si256(odd, 1));
  }
}

#endif  // VLART_IMAGE_X86

// Rows [r0, r1) x columns [c0, c1), in 16 x 16 tiles so both sides stay in cache.
void TransposeScalar(const uint8_t* in, size_t in_stride, int r0, int r1, int c0, int c1,
                     uint8_t* out, size_t out_stride) {
  constexpr int kTile = 16;
  for (int rb = r0; rb < r1; rb += kTile) {
    const int re = std::min(r1, rb + kTile);
    for (int cb = c0; cb < c1; cb += kTile) {
      const int ce = std::min(c1, cb + kTile);
      for (int c = cb; c < ce; ++c) {
        uint8_t* o = out + c * out_stride;
        for (int r = rb; r < re; ++r) o[r] = in[r * in_stride + c];
      }
    }
  }
}

}  // namespace

void ExtractChannel(const uint8_t* rgb, size_t n, int channel, uint8_t* out, bool simd) {
  size_t i = 0;
#if VLART_IMAGE_X86
  if (simd) i = ExtractChannelAvx2(rgb, n, channel, out);
#else
  (void)simd;
#endif
  for (; i < n; ++i) out[i] = rgb[3 * i + channel];
}

void TransposeBytes(const uint8_t* in, size_t in_stride, int rows, int cols, uint8_t* out,
                    size_t out_stride, bool simd) {
  int rows16 = 0, cols16 = 0;
#if VLART_IMAGE_X86
  if (simd) {
    rows16 = rows / 16 * 16;
    cols16 = cols / 16 * 16;
    for (int r = 0; r < rows16; r += 16) {
      int c = 0;
      for (; c + 32 <= cols16; c += 32) {
        Transpose16x32(in + r * in_stride + c, in_stride, out + c * out_stride + r, out_stride);
      }
      for (; c < cols16; c += 16) {
        Transpose16x16(in + r * in_stride + c, in_stride, out + c * out_stride + r, out_stride);
      }
    }
  }
#else
  (void)simd;
#endif
  // The right strip (all rows) and the bottom strip (left columns) left by the blocks.
  TransposeScalar(in, in_stride, 0, rows, cols16, cols, out, out_stride);
  TransposeScalar(in, in_stride, rows16, rows, 0, cols16, out, out_stride);
}

}  // namespace vlart
