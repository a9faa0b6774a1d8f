// SPDX-License-Identifier: Apache-2.0
//
// cpu_util.h: small helpers shared by the CPU reference ops.
//
// Row addressing for strided views (a "row" is one index of all dims but the last),
// the f32-only rule, and the row softmax that Softmax and both attentions share.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace vlart::cpu {

// OpenMP loops run in parallel only above this many elements of work: waking threads
// costs more than a small op, and results do not depend on the split (each element or
// row is computed by one thread in a fixed order).
inline constexpr int64_t kParallelWork = int64_t{1} << 15;

// Aborts unless t is F32: the CPU reference computes in f32 only.
void RequireF32(std::string_view op, std::string_view name, const Tensor& t);

// Product of all dims but the last (1 for rank 0 and rank 1).
int64_t NumRows(const Tensor& t);

// Element offset of row `row` (row-major over all dims but the last) from t.data.
int64_t RowOffset(const Tensor& t, int64_t row);

// Element offset of element `index` (row-major over all dims) from t.data.
int64_t ElementOffset(const Tensor& t, int64_t index);

// Length and stride of the innermost dim (1 and 1 for rank 0).
int64_t RowLength(const Tensor& t);
int64_t InnerStride(const Tensor& t);

template <typename T>
T* RowPtr(const Tensor& t, int64_t row) {
  return static_cast<T*>(t.data) + RowOffset(t, row);
}

// In place over a contiguous row of n f32 values: x <- softmax(x).
// Stable form: m = max x; e = exp(x - m) in f32; each output is e / Σe with the sum
// and division in double (softmax.cc says why). A row whose entries are all the same
// finite value (e.g. every key masked with -2.38e38) gives the uniform 1/n.
void SoftmaxRowInPlace(float* x, int64_t n);

}  // namespace vlart::cpu
