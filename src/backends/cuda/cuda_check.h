// SPDX-License-Identifier: Apache-2.0
//
// cuda_check.h: VLART_CUDA_CHECK, VLART_CUBLAS_CHECK and VLART_CUDA_CHECK_LAUNCH.
//
// Every CUDA runtime and cuBLASLt call in backends/cuda goes through one of these; a
// failure prints the statement, file, line and the library's error name and string,
// then aborts (device faults are broken invariants here: ops return void). Asynchronous
// faults surface at a later call; set VLART_CUDA_SYNC_CHECK=1 to synchronise after every
// op so the failing op is named (cuda_backend.cc). fmt-free, so .cu files can include it.
#pragma once

#include <cuda_runtime_api.h>

namespace vlart::cuda::detail {
[[noreturn]] void CudaCheckFailed(const char* statement, const char* file, int line,
                                  cudaError_t error);
[[noreturn]] void CublasCheckFailed(const char* statement, const char* file, int line,
                                    int status);
}  // namespace vlart::cuda::detail

#define VLART_CUDA_CHECK(expr)                                                  \
  do {                                                                          \
    const cudaError_t vlart_cuda_err_ = (expr);                                 \
    if (vlart_cuda_err_ != cudaSuccess) [[unlikely]] {                          \
      ::vlart::cuda::detail::CudaCheckFailed(#expr, __FILE__, __LINE__, vlart_cuda_err_); \
    }                                                                           \
  } while (0)

// In destructors: also accepts cudaErrorCudartUnloading, which a CUDA object destroyed
// during process exit (after the runtime began its own teardown) legitimately sees.
#define VLART_CUDA_CHECK_TEARDOWN(expr)                                         \
  do {                                                                          \
    const cudaError_t vlart_cuda_err_ = (expr);                                 \
    if (vlart_cuda_err_ != cudaSuccess && vlart_cuda_err_ != cudaErrorCudartUnloading) [[unlikely]] { \
      ::vlart::cuda::detail::CudaCheckFailed(#expr, __FILE__, __LINE__, vlart_cuda_err_); \
    }                                                                           \
  } while (0)

// After every kernel launch: catches bad launch configurations immediately.
#define VLART_CUDA_CHECK_LAUNCH() VLART_CUDA_CHECK(cudaGetLastError())

// `expr` is a cublasStatus_t (0 == CUBLAS_STATUS_SUCCESS).
#define VLART_CUBLAS_CHECK(expr)                                                 \
  do {                                                                           \
    const int vlart_cublas_status_ = static_cast<int>(expr);                     \
    if (vlart_cublas_status_ != 0) [[unlikely]] {                                \
      ::vlart::cuda::detail::CublasCheckFailed(#expr, __FILE__, __LINE__, vlart_cublas_status_); \
    }                                                                            \
  } while (0)
