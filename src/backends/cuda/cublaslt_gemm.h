// SPDX-License-Identifier: Apache-2.0
//
// cublaslt_gemm.h: LtGemm, the cuBLASLt matmul behind Linear and the dense Conv2d path.
//
// Problems are row-major, in nn.Linear's orientation:
//   D[M, N] = A[M, K] · B[N, K]ᵀ (+ bias[N]) (+ C[M, N])
// cuBLASLt is column-major, so LtGemm computes Dᵀ (N x M, ld = ldd) = op_T(B) · A with B as
// cuBLASLt's "A" (transposed) and our A as its "B" -- no data movement. Compute type is
// CUBLAS_COMPUTE_32F for every input type: f32 accumulation, and true FP32 (no TF32) when the
// inputs are f32; split-K partials are reduced in f32 too (REDUCTION_SCHEME_MASK). Plans
// (descriptors, layouts, the heuristic's algorithm) are cached per problem signature,
// pointer alignments included; a signature cuBLASLt cannot run is remembered as unsupported
// and Run() returns false so the caller can fall back. A plan keeps the heuristic's first
// max_algos algorithms (best first; Create's argument, at most kMaxAlgosLimit): Run's `algo`
// picks one, so that a caller can time them (the backend's GEMM tuner does; the heuristic's
// first choice is often not the fastest at the small-M shapes of VLA policies, and its later
// answers include split-K and tile variants that its ranking puts behind).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace vlart::cuda {

struct LtGemmProblem {
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;  // [M, K] row-major, row stride lda, dtype ab_dtype
  int64_t lda = 0;
  const void* b = nullptr;  // [N, K] row-major, row stride ldb, dtype ab_dtype
  int64_t ldb = 0;
  DType ab_dtype = DType::kBF16;
  const void* bias = nullptr;  // [N], contiguous, dtype d_dtype; or null
  const void* c = nullptr;     // [M, N], row stride ldc, dtype d_dtype; or null. May equal d
  int64_t ldc = 0;             //   (then ldc must equal ldd).
  void* d = nullptr;           // [M, N], row stride ldd
  int64_t ldd = 0;
  DType d_dtype = DType::kBF16;  // ab_dtype or F32
  // cuBLASLt's GELU epilogue on (product + bias), before D's rounding (EPILOGUE_GELU_BIAS or
  // EPILOGUE_GELU). The backend asks for it only for Activation::kGeluTanh: the H100
  // measurement (LinearParity.CublasLtGeluEpilogueIsTheTanhForm) found the tanh form.
  bool gelu = false;
  // Strided batch (cuBLASLt's BATCH_COUNT / STRIDED_BATCH_OFFSET): `batch` independent
  // problems, the i-th at a + i·stride_a, b + i·stride_b, d + i·stride_d (elements; C, when
  // given, strides like D). The split-K partials of Linear + LayerNorm are such a batch: the
  // i-th K slice of A and B (stride = the slice's K) into the i-th f32 [M, N] of D.
  int batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_d = 0;
};

class LtGemm {
 public:
  // max_algos: how many of the heuristic's algorithms a plan keeps, 1..kMaxAlgosLimit.
  static Result<std::unique_ptr<LtGemm>> Create(size_t workspace_bytes, int max_algos = kDefaultMaxAlgos);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  static constexpr int kDefaultMaxAlgos = 8;
  static constexpr int kMaxAlgosLimit = 64;
  int max_algos() const { return max_algos_; }

  // Enqueues the GEMM on `stream` with the plan's algorithm number `algo` (0: cuBLASLt's
  // heuristic first choice); false (nothing enqueued) when cuBLASLt has no algorithm for this
  // signature or fewer than algo + 1. Aborts on any other cuBLASLt failure.
  bool Run(const LtGemmProblem& problem, cudaStream_t stream, int algo = 0);

 private:
  struct Key {
    int64_t m, n, k, lda, ldb, ldc, ldd;
    int64_t batch, stride_a, stride_b, stride_d;
    int ab_dtype, d_dtype;
    bool has_bias, has_c, gelu;
    int align_a, align_b, align_c, align_d;
    bool operator==(const Key& o) const;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t layout_w = nullptr;  // cuBLASLt "A": our B (weights)
    cublasLtMatrixLayout_t layout_x = nullptr;  // cuBLASLt "B": our A (activations)
    cublasLtMatrixLayout_t layout_c = nullptr;
    cublasLtMatrixLayout_t layout_d = nullptr;
    std::vector<cublasLtMatmulAlgo_t> algos;  // the heuristic's, best first
    std::vector<bool> rejected;               // per algo: cublasLtMatmul refused it once
    // cuBLASLt can run the signature: it has algorithms and did not refuse its first.
    bool supported() const { return !algos.empty() && !rejected[0]; }
  };

  LtGemm() = default;
  Plan& PlanFor(const Key& key);
  void Destroy(Plan& plan);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  int max_algos_ = kDefaultMaxAlgos;
  std::unordered_map<Key, Plan, KeyHash> plans_;
};

}  // namespace vlart::cuda
