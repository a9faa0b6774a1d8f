// SPDX-License-Identifier: Apache-2.0
//
// float_cast.h: bulk casts between f32, f16 and bf16 buffers, bit-exact with torch.
//
// Each element goes through core/float_convert.h (round to nearest even, as torch's
// `.to(dtype)`); f16 <-> bf16 goes through f32 exactly as torch's scalar path does
// (the widening is exact, so only the final rounding counts). NaN stays NaN, but its
// payload is not guaranteed to match torch, whose own vectorised and scalar paths
// disagree on NaN bits. Sources may be unaligned (mmapped files written by foreign
// writers): elements are read with memcpy. Large casts are split across threads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace vlart {

// True for the pairs CastFloats handles: {F32, F16, BF16} to {F32, F16, BF16}.
bool IsCastSupported(DType from, DType to);

// Converts `numel` contiguous elements from `src` (dtype `from`) into `dst` (dtype
// `to`). The buffers must not overlap. Requires IsCastSupported(from, to).
void CastFloats(const void* src, DType from, void* dst, DType to, int64_t numel);

}  // namespace vlart
