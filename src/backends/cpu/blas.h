// SPDX-License-Identifier: Apache-2.0
//
// blas.h: the one sgemm entry point of the CPU reference (OpenBLAS underneath).
//
// Operands are row-major f32 matrices given by their physical storage (rows, cols,
// row stride; column stride 1). A view whose row stride cannot serve as a BLAS
// leading dimension (smaller than its row length, e.g. a stride-0 broadcast) is
// packed into a contiguous copy first. Numerics are OpenBLAS's: f32 products and
// f32 accumulation in a blocked (FMA) order, the same family of results as the
// sgemm PyTorch's CPU matmul calls.
#pragma once

#include <cstdint>

namespace vlart::cpu {

// A row-major f32 matrix in memory: element (r, c) at data[r * row_stride + c].
struct MatrixRef {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;
};

// c[M, N] (row-major, leading dim ldc >= N) = alpha * op(a) · op(b), where op(a) is
// a ([M, K]) or its transpose when trans_a (a stored [K, M]), likewise b ([K, N], or
// stored [N, K] when trans_b). c is overwritten (beta = 0); K = 0 gives zeros.
void Gemm(bool trans_a, const MatrixRef& a, bool trans_b, const MatrixRef& b, float alpha,
          float* c, int64_t ldc);

}  // namespace vlart::cpu
