// SPDX-License-Identifier: Apache-2.0
//
// simd_support.h: which vector kernels of src/image this CPU can run.
//
// The fast preprocessing kernels (plane_ops, row_convolution, pixel_normalizer) have an
// AVX2+FMA version, compiled with a per-function target attribute and chosen at run time,
// and a portable version. Both compute the same bytes: integer arithmetic is exact, and
// the float kernels are checked against the scalar reference at construction.
#pragma once

#include "core/cpu_features.h"  // CpuHasAvx2Fma()

#define VLART_IMAGE_X86 VLART_CORE_X86
#if VLART_IMAGE_X86
#define VLART_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define VLART_TARGET_AVX2
#endif
