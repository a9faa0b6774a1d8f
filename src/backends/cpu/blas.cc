// SPDX-License-Identifier: Apache-2.0
//
// blas.cc: Gemm over cblas_sgemm, packing operands BLAS cannot address directly.

#include "backends/cpu/blas.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "core/check.h"

namespace vlart::cpu {
namespace {

blasint ToBlasInt(int64_t v, const char* what) {
  VLART_CHECK(v >= 0 && v <= INT_MAX, "Gemm: {} = {} does not fit a 32-bit BLAS integer", what, v);
  return static_cast<blasint>(v);
}

// Returns a pointer BLAS can read with leading dim *ld, packing into `scratch` if needed.
const float* Operand(const MatrixRef& m, std::vector<float>& scratch, blasint* ld) {
  if (m.rows <= 1 || m.row_stride >= m.cols) {
    *ld = ToBlasInt(m.rows <= 1 ? std::max<int64_t>(m.cols, 1) : m.row_stride, "leading dim");
    return m.data;
  }
  scratch.resize(static_cast<size_t>(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    std::memcpy(scratch.data() + r * m.cols, m.data + r * m.row_stride, m.cols * sizeof(float));
  }
  *ld = ToBlasInt(std::max<int64_t>(m.cols, 1), "leading dim");
  return scratch.data();
}

}  // namespace

void Gemm(bool trans_a, const MatrixRef& a, bool trans_b, const MatrixRef& b, float alpha,
          float* c, int64_t ldc) {
  const int64_t m = trans_a ? a.cols : a.rows;
  const int64_t k = trans_a ? a.rows : a.cols;
  const int64_t kb = trans_b ? b.cols : b.rows;
  const int64_t n = trans_b ? b.rows : b.cols;
  VLART_CHECK(k == kb, "Gemm: inner dims differ ({} vs {})", k, kb);
  VLART_CHECK(ldc >= n, "Gemm: ldc {} < N {}", ldc, n);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  std::vector<float> scratch_a;
  std::vector<float> scratch_b;
  blasint lda = 0;
  blasint ldb = 0;
  const float* pa = Operand(a, scratch_a, &lda);
  const float* pb = Operand(b, scratch_b, &ldb);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, ToBlasInt(m, "M"), ToBlasInt(n, "N"),
              ToBlasInt(k, "K"), alpha, pa, lda, pb, ldb, 0.0f, c, ToBlasInt(ldc, "ldc"));
}

}  // namespace vlart::cpu
