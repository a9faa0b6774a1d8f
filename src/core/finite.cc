// SPDX-License-Identifier: Apache-2.0
//
// finite.cc: FirstNonFinite (see finite.h). The block test uses that a float's exponent
// bits are all ones (NaN or inf) exactly when (bits & 0x7f800000) + 0x00800000 carries into
// bit 31; OR-ing those sums over a block and looking at bit 31 takes three vector
// operations per lane group. An AVX2 build of the same loop is picked at run time on x86.

#include "core/finite.h"

#include <cmath>
#include <cstring>

#include "core/cpu_features.h"

namespace vlart {
namespace {

constexpr int64_t kBlock = 1024;

// Bit 31 set iff some value of x[0, n) is NaN or +-inf.
inline uint32_t BlockFlags(const float* x, int64_t n) {
  uint32_t flags = 0;
  for (int64_t i = 0; i < n; ++i) {  // branch-free: the compiler vectorises it
    uint32_t u;
    std::memcpy(&u, x + i, sizeof(u));
    flags |= (u & 0x7f800000u) + 0x00800000u;
  }
  return flags;
}

int64_t Scan(const float* x, int64_t n, uint32_t (*flags_of)(const float*, int64_t)) {
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = b0 + kBlock < n ? kBlock : n - b0;
    if ((flags_of(x + b0, len) & 0x80000000u) == 0) continue;
    for (int64_t i = b0; i < b0 + len; ++i) {
      if (!std::isfinite(x[i])) return i;
    }
  }
  return -1;
}

uint32_t BlockFlagsPortable(const float* x, int64_t n) { return BlockFlags(x, n); }

#if VLART_CORE_X86
VLART_CORE_AVX2 uint32_t BlockFlagsAvx2(const float* x, int64_t n) { return BlockFlags(x, n); }
#endif

}  // namespace

int64_t FirstNonFinite(const float* x, int64_t n) {
#if VLART_CORE_X86
  if (CpuHasAvx2()) return Scan(x, n, BlockFlagsAvx2);
#endif
  return Scan(x, n, BlockFlagsPortable);
}

int64_t FirstNonFinitePortable(const float* x, int64_t n) { return Scan(x, n, BlockFlagsPortable); }

}  // namespace vlart
