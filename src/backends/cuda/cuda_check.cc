// SPDX-License-Identifier: Apache-2.0
//
// cuda_check.cc: the failure paths of VLART_CUDA_CHECK / VLART_CUBLAS_CHECK.

#include "backends/cuda/cuda_check.h"

#include <cublasLt.h>

#include <cstdio>
#include <cstdlib>

namespace vlart::cuda::detail {

void CudaCheckFailed(const char* statement, const char* file, int line, cudaError_t error) {
  std::fprintf(stderr, "CUDA error: %s failed at %s:%d: %s (%s)\n", statement, file, line,
               cudaGetErrorName(error), cudaGetErrorString(error));
  std::fflush(stderr);
  std::abort();
}

void CublasCheckFailed(const char* statement, const char* file, int line, int status) {
  const auto s = static_cast<cublasStatus_t>(status);
  std::fprintf(stderr, "cuBLAS error: %s failed at %s:%d: %s (%s)\n", statement, file, line,
               cublasLtGetStatusName(s), cublasLtGetStatusString(s));
  std::fflush(stderr);
  std::abort();
}

}  // namespace vlart::cuda::detail
