// SPDX-License-Identifier: Apache-2.0
//
// plane_ops.h: byte-plane moves of the planar preprocessing path: one colour channel out
// of packed RGB, and byte-matrix transposes. Pure copies, so every version writes the
// same bytes; `simd` picks the SSE/AVX2 one when the CPU has it (simd_support.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vlart {

// out[i] = rgb[3 * i + channel] for i < n. rgb: [n, 3] bytes; out: [n].
void ExtractChannel(const uint8_t* rgb, size_t n, int channel, uint8_t* out, bool simd);

// out[c * out_stride + r] = in[r * in_stride + c] for r < rows, c < cols (in [rows, cols]
// with row stride in_stride; out [cols, rows] with row stride out_stride). Blocks of
// 16 x 32 and 16 x 16 go through AVX2 / SSE2 registers when `simd`; the remainder is
// copied byte by byte.
void TransposeBytes(const uint8_t* in, size_t in_stride, int rows, int cols, uint8_t* out,
                    size_t out_stride, bool simd);

}  // namespace vlart
