// SPDX-License-Identifier: Apache-2.0
//
// pixel_normalizer.cc: table and verified AVX2 forms of the pixel maps (see the header).
// Built with -ffp-contract=off (src/image/CMakeLists.txt): the only fused operations are
// the explicit FMAs of the division correction.

#include "image/pixel_normalizer.h"

#include <cstring>

#include "image/simd_support.h"

#if VLART_IMAGE_X86
#include <immintrin.h>
#endif

namespace vlart {
namespace {

#if VLART_IMAGE_X86

VLART_TARGET_AVX2 inline __m256i Load8(const uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// a / d, given inv = 1 / d: one correction step on the product (see the header).
VLART_TARGET_AVX2 inline __m256 Divide(__m256 a, __m256 d, __m256 inv) {
  const __m256 q = _mm256_mul_ps(a, inv);
  const __m256 r = _mm256_fnmadd_ps(q, d, a);  // a - q * d, exact in one rounding
  return _mm256_fmadd_ps(r, inv, q);
}

// ClipPixelValue over in[0, n) in blocks of 8; returns the count done. The rescale
// float32(float64(v) * factor) is either evaluated so (float64 lanes) or, when
// `float_rescale`, as the float32 quotient v / float32(1 / factor), which is the same
// value for factor = 1/255 (the verification decides) at half the cost.
VLART_TARGET_AVX2 size_t ClipAvx2(const uint8_t* in, size_t n, const ClipNormalization& norm,
                                  bool float_rescale, int channel, float* out) {
  const __m256d factor = _mm256_set1_pd(norm.rescale_factor);
  const float divisor = static_cast<float>(1.0 / norm.rescale_factor);
  const __m256 rd = _mm256_set1_ps(divisor);
  const __m256 rinv = _mm256_set1_ps(1.0f / divisor);
  const __m256 mean = _mm256_set1_ps(norm.mean[channel]);
  const __m256 std = _mm256_set1_ps(norm.std[channel]);
  const __m256 inv = _mm256_set1_ps(1.0f / norm.std[channel]);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = Load8(in + i);
    __m256 x;
    if (!norm.do_rescale) {
      x = _mm256_cvtepi32_ps(v);
    } else if (float_rescale) {
      x = Divide(_mm256_cvtepi32_ps(v), rd, rinv);
    } else {
      const __m256d lo = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(v)), factor);
      const __m256d hi = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(v, 1)), factor);
      x = _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
    }
    if (norm.do_normalize) x = Divide(_mm256_sub_ps(x, mean), std, inv);
    _mm256_storeu_ps(out + i, x);
  }
  return i;
}

// OpenpiPixelValue over in[0, n) in blocks of 8; returns the count done.
VLART_TARGET_AVX2 size_t OpenpiAvx2(const uint8_t* in, size_t n, float* out) {
  const __m256 d = _mm256_set1_ps(255.0f);
  const __m256 inv = _mm256_set1_ps(1.0f / 255.0f);
  const __m256 two = _mm256_set1_ps(2.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 q = Divide(_mm256_cvtepi32_ps(Load8(in + i)), d, inv);
    _mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_mul_ps(q, two), one));
  }
  return i;
}

#endif  // VLART_IMAGE_X86

}  // namespace

PixelNormalizer PixelNormalizer::Clip(const ClipNormalization& norm, bool simd) {
  PixelNormalizer p;
  p.kind_ = Kind::kClip;
  p.clip_ = norm;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) p.table_[c][v] = ClipPixelValue(static_cast<uint8_t>(v), c, norm);
  }
  p.Verify(simd);
  return p;
}

PixelNormalizer PixelNormalizer::Openpi(bool simd) {
  PixelNormalizer p;
  p.kind_ = Kind::kOpenpi;
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) p.table_[c][v] = OpenpiPixelValue(static_cast<uint8_t>(v));
  }
  p.Verify(simd);
  return p;
}

void PixelNormalizer::Verify(bool simd) {
  mode_ = {Mode::kTable, Mode::kTable, Mode::kTable};
  if (!simd || !CpuHasAvx2Fma()) return;
  uint8_t ramp[256];
  for (int v = 0; v < 256; ++v) ramp[v] = static_cast<uint8_t>(v);
  for (int c = 0; c < 3; ++c) {
    // Cheapest first; keep the first kernel that reproduces all 256 table values.
    for (Mode m : {Mode::kVectorFloat, Mode::kVectorDouble}) {
      mode_[c] = m;
      float got[256];
      RunVector(ramp, c, 256, got);
      if (std::memcmp(got, table_[c].data(), sizeof(got)) == 0) break;
      mode_[c] = Mode::kTable;
      if (kind_ == Kind::kOpenpi) break;  // one kernel only
    }
  }
}

void PixelNormalizer::RunVector(const uint8_t* in, int channel, size_t n, float* out) const {
  size_t i = 0;
#if VLART_IMAGE_X86
  i = kind_ == Kind::kClip
          ? ClipAvx2(in, n, clip_, mode_[channel] == Mode::kVectorFloat, channel, out)
          : OpenpiAvx2(in, n, out);
#endif
  const std::array<float, 256>& t = table_[channel];
  for (; i < n; ++i) out[i] = t[in[i]];
}

void PixelNormalizer::Run(const uint8_t* in, int channel, size_t n, float* out) const {
  if (mode_[channel] != Mode::kTable) return RunVector(in, channel, n, out);
  const std::array<float, 256>& t = table_[channel];
  for (size_t i = 0; i < n; ++i) out[i] = t[in[i]];
}

}  // namespace vlart
