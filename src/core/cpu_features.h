// SPDX-License-Identifier: Apache-2.0
//
// cpu_features.h: whether this x86 CPU has AVX2 (and FMA), for the vectorised host loops.
//
// Such a loop is written once, plainly (the compiler vectorises it), and compiled twice:
// as is (SSE2, the build's baseline) and inside a function marked VLART_CORE_AVX2; the
// caller picks the AVX2 copy when CpuHasAvx2(). Both copies compute the same values (the
// loops are integer or exactly rounded per element). src/image's AVX2+FMA kernels use
// CpuHasAvx2Fma() with their own target macro (image/simd_support.h).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#define VLART_CORE_X86 1
#define VLART_CORE_AVX2 __attribute__((target("avx2")))
#else
#define VLART_CORE_X86 0
#define VLART_CORE_AVX2
#endif

namespace vlart {

// True when the CPU has AVX2 (checked once).
inline bool CpuHasAvx2() {
#if VLART_CORE_X86
  static const bool has = [] {
    __builtin_cpu_init();  // safe even if first called during static initialisation
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
#else
  return false;
#endif
}

// True when the CPU has AVX2 and FMA (checked once).
inline bool CpuHasAvx2Fma() {
#if VLART_CORE_X86
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
