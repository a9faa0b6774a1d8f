// SPDX-License-Identifier: Apache-2.0
//
// float_convert_array.cc: see float_convert_array.h.

#include "core/float_convert_array.h"

#include "core/cpu_features.h"
#include "core/float_convert.h"

namespace vlart {
namespace {

inline void ToBF16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = F32ToBF16Bits(src[i]);
}

#if VLART_CORE_X86
VLART_CORE_AVX2 void ToBF16Avx2(const float* src, uint16_t* dst, int64_t n) { ToBF16(src, dst, n); }
#endif

}  // namespace

void F32ToBF16ArrayPortable(const float* src, uint16_t* dst, int64_t n) { ToBF16(src, dst, n); }

void F32ToBF16Array(const float* src, uint16_t* dst, int64_t n) {
#if VLART_CORE_X86
  if (CpuHasAvx2()) return ToBF16Avx2(src, dst, n);
#endif
  ToBF16(src, dst, n);
}

}  // namespace vlart
