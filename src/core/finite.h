// SPDX-License-Identifier: Apache-2.0
//
// finite.h: the first non-finite value (NaN or +-inf) of an f32 array, fast.
//
// Input checks run over whole images on every policy call (two 224x224 views are 301k
// values). A loop that stops at the first bad value cannot be vectorised; this one tests
// blocks of values without branches (exponent bits all ones <=> NaN or inf) and searches
// a block element by element only when the block holds a bad value, so the common case
// (everything finite) runs at memory speed.
#pragma once

#include <cstdint>

namespace vlart {

// Index of the first value of x[0, n) that is NaN or +-inf, or -1 when all are finite.
// Uses AVX2 where the CPU has it.
int64_t FirstNonFinite(const float* x, int64_t n);
// The same without AVX2 (what other CPUs run; tests compare both).
int64_t FirstNonFinitePortable(const float* x, int64_t n);

}  // namespace vlart
