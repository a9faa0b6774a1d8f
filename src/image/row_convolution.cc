// SPDX-License-Identifier: Apache-2.0
//
// row_convolution.cc: the fixed-point row kernel of the planar resize (see the header).

#include "image/row_convolution.h"

#include <algorithm>

#include "image/simd_support.h"

#if VLART_IMAGE_X86
#include <immintrin.h>
#endif

namespace vlart {
namespace {

constexpr int kPrecisionBits = 22;  // resample.cc's 32 - 8 - 2
constexpr int32_t kRoundHalf = int32_t{1} << (kPrecisionBits - 1);

// Elements [j0, len) in blocks of 64 sums kept on the stack, taps outer, so the inner
// loop runs over contiguous bytes and the compiler vectorises it (on x86-64 also as an
// AVX2 clone, as resample.cc's passes are: SSE2 has no 32-bit multiply).
#if VLART_IMAGE_X86
__attribute__((target_clones("avx2", "default")))
#endif
void ConvolvePortable(const uint8_t* rows, size_t stride, int count, const int32_t* weight,
                      size_t j0, size_t len, uint8_t* out) {
  constexpr size_t kBlock = 64;
  int32_t acc[kBlock];
  for (size_t j = j0; j < len; j += kBlock) {
    const size_t n = std::min(kBlock, len - j);
    std::fill(acc, acc + n, kRoundHalf);
    const uint8_t* r = rows + j;
    for (int i = 0; i < count; ++i, r += stride) {
      const int32_t w = weight[i];
      for (size_t k = 0; k < n; ++k) acc[k] += static_cast<int32_t>(r[k]) * w;
    }
    for (size_t k = 0; k < n; ++k) {
      out[j + k] = static_cast<uint8_t>(std::clamp(acc[k] >> kPrecisionBits, 0, 255));
    }
  }
}

#if VLART_IMAGE_X86

VLART_TARGET_AVX2 inline __m256i Taps8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// Returns the first element it did not write (a multiple of 8).
VLART_TARGET_AVX2 size_t ConvolveRowAvx2(const uint8_t* rows, size_t stride, int count,
                                         const int32_t* weight, size_t len, uint8_t* out) {
  const __m256i round = _mm256_set1_epi32(kRoundHalf);
  // packs + packus interleave 128-bit lanes; this puts the 32 bytes back in order.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  size_t j = 0;
  for (; j + 32 <= len; j += 32) {
    __m256i a0 = round, a1 = round, a2 = round, a3 = round;
    const uint8_t* r = rows + j;
    for (int i = 0; i < count; ++i, r += stride) {
      const __m256i w = _mm256_set1_epi32(weight[i]);
      a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(Taps8(r), w));
      a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(Taps8(r + 8), w));
      a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(Taps8(r + 16), w));
      a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(Taps8(r + 24), w));
    }
    // >> 22, then the saturating packs clamp to [0, 255] exactly as clip8 does.
    const __m256i p01 = _mm256_packs_epi32(_mm256_srai_epi32(a0, kPrecisionBits),
                                           _mm256_srai_epi32(a1, kPrecisionBits));
    const __m256i p23 = _mm256_packs_epi32(_mm256_srai_epi32(a2, kPrecisionBits),
                                           _mm256_srai_epi32(a3, kPrecisionBits));
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p01, p23), order);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j), bytes);
  }
  for (; j + 8 <= len; j += 8) {
    __m256i a = round;
    const uint8_t* r = rows + j;
    for (int i = 0; i < count; ++i, r += stride) {
      a = _mm256_add_epi32(a, _mm256_mullo_epi32(Taps8(r), _mm256_set1_epi32(weight[i])));
    }
    const __m256i s = _mm256_srai_epi32(a, kPrecisionBits);
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j), _mm_packus_epi16(w16, w16));
  }
  return j;
}

#endif  // VLART_IMAGE_X86

}  // namespace

void ConvolveRow(const uint8_t* in, size_t stride, int first, int count, const int32_t* weight,
                 size_t len, uint8_t* out, bool simd) {
  const uint8_t* rows = in + static_cast<size_t>(first) * stride;
  size_t j = 0;
#if VLART_IMAGE_X86
  if (simd) j = ConvolveRowAvx2(rows, stride, count, weight, len, out);
#else
  (void)simd;
#endif
  if (j < len) ConvolvePortable(rows, stride, count, weight, j, len, out);
}

}  // namespace vlart
