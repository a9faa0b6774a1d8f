// SPDX-License-Identifier: Apache-2.0
//
// simd_support.h: which vector kernels of src/image this CPU can run.
//
// The fast preprocessing kernels (plane_ops, row_convolution, pixel_normalizer) have an
// AVX2+FMA version, compiled with a per-function target attribute and chosen at run time,
// and a portable version. Both compute the same bytes: integer arithmetic is exact, and
// the float kernels are checked against the scalar reference at construction.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#define VLART_IMAGE_X86 1
#define VLART_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define VLART_IMAGE_X86 0
#define VLART_TARGET_AVX2
#endif

namespace vlart {

// True when the CPU has AVX2 and FMA (checked once).
inline bool CpuHasAvx2Fma() {
#if VLART_IMAGE_X86
  static const bool has = [] {
    __builtin_cpu_init();  // safe even if first called during static initialisation
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace vlart
