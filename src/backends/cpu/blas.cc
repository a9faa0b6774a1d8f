// SPDX-License-Identifier: Apache-2.0
//
// blas.cc: Gemm over cblas_sgemm, packing operands BLAS cannot address directly.
//
// Threading: OpenBLAS runs single-threaded (set once, process-wide) and Gemm splits the
// output into blocks of rows (or of columns when there are few rows) across OpenMP
// threads, one sgemm call per block; callers already inside a parallel region (the
// attentions' loops over heads) get one call on their own thread. One thread pool for
// the whole backend keeps OpenBLAS's pthreads and OpenMP's spinning threads from
// fighting over the same cores. K is never split, but OpenBLAS's internal tiling
// depends on the block shape, so the last bits of a product can change with the
// thread count (as in PyTorch); a fixed thread count gives identical results run to run.

#include "backends/cpu/blas.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/check.h"

namespace vlart::cpu {
namespace {

// Below this many multiply-adds one sgemm call on one thread is cheaper than a split.
constexpr double kSplitWork = 1 << 20;

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

void SingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
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
  SingleThreadedBlas();
  std::vector<float> scratch_a;
  std::vector<float> scratch_b;
  blasint lda = 0;
  blasint ldb = 0;
  const float* pa = Operand(a, scratch_a, &lda);
  const float* pb = Operand(b, scratch_b, &ldb);
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  ToBlasInt(ldc, "ldc");

  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  // Inside a parallel region (attention's per-head loop) each call stays on its thread.
  const int threads = (work >= kSplitWork && !omp_in_parallel()) ? omp_get_max_threads() : 1;
  // Split the rows of C, or its columns when rows are too few to share.
  const bool split_rows = m >= 8 * threads || m >= n;
  const int64_t extent = split_rows ? m : n;
  const int64_t blocks = std::min<int64_t>(threads, extent);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(blocks)) if (blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t begin = extent * blk / blocks;
    const int64_t count = extent * (blk + 1) / blocks - begin;
    if (split_rows) {
      // Rows [begin, begin + count) of op(a) and of c.
      const float* pa_blk = trans_a ? pa + begin : pa + begin * lda;
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(count), static_cast<blasint>(n),
                  static_cast<blasint>(k), alpha, pa_blk, lda, pb, ldb, 0.0f, c + begin * ldc,
                  static_cast<blasint>(ldc));
    } else {
      // Columns [begin, begin + count) of op(b) and of c.
      const float* pb_blk = trans_b ? pb + begin * ldb : pb + begin;
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(count),
                  static_cast<blasint>(k), alpha, pa, lda, pb_blk, ldb, 0.0f, c + begin,
                  static_cast<blasint>(ldc));
    }
  }
}

}  // namespace vlart::cpu
