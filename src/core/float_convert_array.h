// SPDX-License-Identifier: Apache-2.0
//
// float_convert_array.h: an f32 array to bf16 bits, the same values as the scalar
// F32ToBF16Bits of float_convert.h (torch's cast), faster.
//
// Host uploads convert whole images (two 224x224 views are 301,056 values) on every
// policy call. This is the scalar conversion in a plain loop, compiled for the build's
// baseline and for AVX2 (picked at run time, core/cpu_features.h): about 2.3x faster than
// the baseline loop (bench/host/upload_bench). tests/core/float_convert_test.cc compares
// both builds with the scalar function. (F32ToF16Bits has data-dependent branches that
// the compiler does not vectorise; an array version of it gained nothing, so there is none.)
#pragma once

#include <cstdint>

namespace vlart {

// dst[i] = F32ToBF16Bits(src[i]) for i < n.
void F32ToBF16Array(const float* src, uint16_t* dst, int64_t n);
// The same without AVX2 (what other CPUs run; tests compare both).
void F32ToBF16ArrayPortable(const float* src, uint16_t* dst, int64_t n);

}  // namespace vlart
