// SPDX-License-Identifier: Apache-2.0
//
// fixed_order_backend.h: a test-only backend whose matrix products do not depend on the
// extents of the operands, to prove shortcuts that change shapes bit for bit.
//
// The CPU reference's sgemm (OpenBLAS) rounds a row's dot products differently
// depending on where the row falls in the kernel's tiles, i.e. on how many rows (M) or
// columns (N) the call has: measured, a row of x.w^T is bit-identical to the M = 64
// result only when M is a multiple of 16. Shortcuts that drop tokens therefore change
// the last bits there, though the removed terms are exact zeros. This backend
// delegates every op to the CPU reference except Linear, Attention and Conv2d, which
// it computes with plain f32 loops in a fixed order (each output element: the products
// summed in ascending index order, one rounding per operation, then the CPU reference's
// epilogue ops: bias add, activation, residual add; softmax rows by the CPU Softmax).
// Every output element is then a function of its own inputs only.
#pragma once

#include <memory>

#include "ops/backend.h"

namespace vlart::testing {

std::unique_ptr<Backend> CreateFixedOrderBackend();

}  // namespace vlart::testing
