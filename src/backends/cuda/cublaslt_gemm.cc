// SPDX-License-Identifier: Apache-2.0
//
// cublaslt_gemm.cc: LtGemm (see cublaslt_gemm.h for the row-/column-major mapping).

#include "backends/cuda/cublaslt_gemm.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>

#include "backends/cuda/cuda_check.h"
#include "core/check.h"

namespace vlart::cuda {
namespace {

cudaDataType_t ToCudaType(DType dtype) {
  switch (dtype) {
    case DType::kF32: return CUDA_R_32F;
    case DType::kF16: return CUDA_R_16F;
    case DType::kBF16: return CUDA_R_16BF;
    case DType::kF8E4M3:
    case DType::kF64:
    case DType::kI64:
    case DType::kI32:
    case DType::kI16:
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
    case DType::kFp4E2M1: break;
  }
  VLART_CHECK(false, "LtGemm: unsupported dtype {}", DTypeName(dtype));
  return CUDA_R_32F;
}

// The alignment (bytes, power of two, at most 256) every row of a matrix starting at `p`
// with row stride `ld` elements of `elem_bytes` has.
int RowAlignment(const void* p, int64_t ld, int elem_bytes) {
  const uint64_t bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)) |
                        static_cast<uint64_t>(ld) * static_cast<uint64_t>(elem_bytes) | 256u;
  return static_cast<int>(uint64_t{1} << std::countr_zero(bits));
}

template <typename T>
void SetDescAttr(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const T& value) {
  VLART_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof(value)));
}

template <typename T>
void SetPrefAttr(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                 const T& value) {
  VLART_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value)));
}

// A column-major layout; batch > 1 adds the strided batch (offset in elements).
cublasLtMatrixLayout_t MakeLayout(DType dtype, int64_t rows, int64_t cols, int64_t ld, int64_t batch = 1,
                                  int64_t batch_stride = 0) {
  cublasLtMatrixLayout_t layout = nullptr;
  VLART_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, ToCudaType(dtype), static_cast<uint64_t>(rows),
                                                static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    const auto count = static_cast<int32_t>(batch);
    VLART_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                                        sizeof(count)));
    VLART_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride, sizeof(batch_stride)));
  }
  return layout;
}

}  // namespace

bool LtGemm::Key::operator==(const Key& o) const {
  return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc &&
         ldd == o.ldd && batch == o.batch && stride_a == o.stride_a && stride_b == o.stride_b &&
         stride_d == o.stride_d && ab_dtype == o.ab_dtype && d_dtype == o.d_dtype && has_bias == o.has_bias &&
         has_c == o.has_c && gelu == o.gelu && align_a == o.align_a && align_b == o.align_b && align_c == o.align_c &&
         align_d == o.align_d;
}

size_t LtGemm::KeyHash::operator()(const Key& k) const {
  size_t h = 0;
  const auto mix = [&h](int64_t v) {
    h ^= std::hash<int64_t>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  };
  for (int64_t v : {k.m, k.n, k.k, k.lda, k.ldb, k.ldc, k.ldd, k.batch, k.stride_a, k.stride_b, k.stride_d}) {
    mix(v);
  }
  for (int v : {k.ab_dtype, k.d_dtype, static_cast<int>(k.has_bias), static_cast<int>(k.has_c),
                static_cast<int>(k.gelu), k.align_a, k.align_b, k.align_c, k.align_d}) {
    mix(v);
  }
  return h;
}

Result<std::unique_ptr<LtGemm>> LtGemm::Create(size_t workspace_bytes, int max_algos) {
  if (max_algos < 1 || max_algos > kMaxAlgosLimit) {
    return InvalidArgument("creating cuBLASLt GEMM: max_algos: expected 1..{}, got {}", kMaxAlgosLimit,
                           max_algos);
  }
  std::unique_ptr<LtGemm> lt(new LtGemm());
  lt->max_algos_ = max_algos;
  const cublasStatus_t status = cublasLtCreate(&lt->handle_);
  if (status != CUBLAS_STATUS_SUCCESS) {
    return Internal("creating cuBLASLt handle: cublasLtCreate: expected success, got {} ({})",
                    cublasLtGetStatusName(status), cublasLtGetStatusString(status));
  }
  if (workspace_bytes > 0) {
    const cudaError_t err = cudaMalloc(&lt->workspace_, workspace_bytes);
    if (err != cudaSuccess) {
      return Internal("allocating the cuBLASLt workspace: cudaMalloc({} bytes): {}", workspace_bytes,
                      cudaGetErrorString(err));
    }
  }
  lt->workspace_bytes_ = workspace_bytes;
  return lt;
}

LtGemm::~LtGemm() {
  for (auto& [key, plan] : plans_) Destroy(plan);
  if (workspace_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(workspace_));
  if (handle_ != nullptr) VLART_CUBLAS_CHECK(cublasLtDestroy(handle_));
}

void LtGemm::Destroy(Plan& plan) {
  if (plan.layout_w != nullptr) VLART_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(plan.layout_w));
  if (plan.layout_x != nullptr) VLART_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(plan.layout_x));
  if (plan.layout_c != nullptr) VLART_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(plan.layout_c));
  if (plan.layout_d != nullptr) VLART_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(plan.layout_d));
  if (plan.desc != nullptr) VLART_CUBLAS_CHECK(cublasLtMatmulDescDestroy(plan.desc));
  plan = Plan{};
}

LtGemm::Plan& LtGemm::PlanFor(const Key& key) {
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  Plan plan;
  const auto ab = static_cast<DType>(key.ab_dtype);
  const auto dt = static_cast<DType>(key.d_dtype);
  VLART_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  SetDescAttr(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
  SetDescAttr(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
  const cublasLtEpilogue_t epilogue =
      key.gelu ? (key.has_bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU)
               : (key.has_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT);
  SetDescAttr(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue);
  if (key.has_bias) {
    SetDescAttr(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, static_cast<int32_t>(ToCudaType(dt)));
  }
  plan.layout_w = MakeLayout(ab, key.k, key.n, key.ldb, key.batch, key.stride_b);
  plan.layout_x = MakeLayout(ab, key.k, key.m, key.lda, key.batch, key.stride_a);
  plan.layout_c = MakeLayout(dt, key.n, key.m, key.ldc, key.batch, key.stride_d);
  plan.layout_d = MakeLayout(dt, key.n, key.m, key.ldd, key.batch, key.stride_d);

  cublasLtMatmulPreference_t pref = nullptr;
  VLART_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  SetPrefAttr(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<uint64_t>(workspace_bytes_));
  // Split-K partial sums only in f32 (the compute type): the INPLACE and OUTPUT_TYPE schemes
  // would add bf16/f16-rounded partials and break "accumulation is always f32".
  SetPrefAttr(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
              static_cast<uint32_t>(CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE));
  SetPrefAttr(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, static_cast<uint32_t>(key.align_b));
  SetPrefAttr(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, static_cast<uint32_t>(key.align_a));
  SetPrefAttr(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, static_cast<uint32_t>(key.align_c));
  SetPrefAttr(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, static_cast<uint32_t>(key.align_d));
  cublasLtMatmulHeuristicResult_t results[kMaxAlgosLimit] = {};
  int count = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle_, plan.desc, plan.layout_w, plan.layout_x, plan.layout_c,
                                     plan.layout_d, pref, max_algos_, results, &count);
  VLART_CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
  if (status == CUBLAS_STATUS_SUCCESS) {
    for (int i = 0; i < count; ++i) {
      if (results[i].state == CUBLAS_STATUS_SUCCESS) plan.algos.push_back(results[i].algo);
    }
    plan.rejected.assign(plan.algos.size(), false);
  } else if (status != CUBLAS_STATUS_NOT_SUPPORTED && status != CUBLAS_STATUS_INVALID_VALUE) {
    VLART_CUBLAS_CHECK(status);
  }
  return plans_.emplace(key, plan).first->second;
}

bool LtGemm::Run(const LtGemmProblem& p, cudaStream_t stream, int algo) {
  if (p.m == 0 || p.n == 0) return true;
  if (p.k == 0) return false;  // D = bias + C: the fallback's epilogue does that
  if (p.lda < p.k || p.ldb < p.k || p.ldd < p.n || (p.c != nullptr && p.ldc < p.n)) return false;
  if (p.ab_dtype != DType::kF32 && p.ab_dtype != DType::kF16 && p.ab_dtype != DType::kBF16) return false;
  if (p.d_dtype != p.ab_dtype && p.d_dtype != DType::kF32) return false;
  VLART_CHECK(p.c != p.d || p.ldc == p.ldd, "LtGemm: C aliases D with ldc {} != ldd {}", p.ldc, p.ldd);
  VLART_CHECK(p.batch >= 1 && p.stride_a >= 0 && p.stride_b >= 0 && p.stride_d >= 0,
              "LtGemm: batch {} with strides a {} b {} d {}", p.batch, p.stride_a, p.stride_b, p.stride_d);
  const int ab_bytes = DTypeBits(p.ab_dtype) / 8;
  const int d_bytes = DTypeBits(p.d_dtype) / 8;
  Key key{};
  key.m = p.m;
  key.n = p.n;
  key.k = p.k;
  key.lda = p.lda;
  key.ldb = p.ldb;
  key.ldc = p.c != nullptr ? p.ldc : p.ldd;
  key.ldd = p.ldd;
  key.ab_dtype = static_cast<int>(p.ab_dtype);
  key.d_dtype = static_cast<int>(p.d_dtype);
  key.has_bias = p.bias != nullptr;
  key.has_c = p.c != nullptr;
  key.gelu = p.gelu;
  const bool batched = p.batch > 1;
  key.batch = p.batch;
  key.stride_a = batched ? p.stride_a : 0;
  key.stride_b = batched ? p.stride_b : 0;
  key.stride_d = batched ? p.stride_d : 0;
  // Every batch entry's rows: the start, the row stride and the batch stride decide alignment.
  key.align_a = std::min(RowAlignment(p.a, p.lda, ab_bytes), RowAlignment(p.a, key.stride_a, ab_bytes));
  key.align_b = std::min(RowAlignment(p.b, p.ldb, ab_bytes), RowAlignment(p.b, key.stride_b, ab_bytes));
  key.align_c = std::min(RowAlignment(p.c != nullptr ? p.c : p.d, key.ldc, d_bytes),
                         RowAlignment(p.d, key.stride_d, d_bytes));
  key.align_d = std::min(RowAlignment(p.d, p.ldd, d_bytes), RowAlignment(p.d, key.stride_d, d_bytes));
  Plan& plan = PlanFor(key);
  if (!plan.supported() || algo < 0 || algo >= static_cast<int>(plan.algos.size()) ||
      plan.rejected[static_cast<size_t>(algo)]) {
    return false;
  }
  if (p.bias != nullptr) SetDescAttr(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, p.bias);
  const float alpha = 1.0f;
  const float beta = p.c != nullptr ? 1.0f : 0.0f;
  const cublasStatus_t status = cublasLtMatmul(
      handle_, plan.desc, &alpha, p.b, plan.layout_w, p.a, plan.layout_x, &beta,
      p.c != nullptr ? p.c : p.d, plan.layout_c, p.d, plan.layout_d, &plan.algos[static_cast<size_t>(algo)],
      workspace_, workspace_bytes_, stream);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED || status == CUBLAS_STATUS_INVALID_VALUE) {
    // Rejected before anything was enqueued; never try this algorithm again (the first one
    // failing marks the whole signature unsupported, as before). Indices stay stable.
    plan.rejected[static_cast<size_t>(algo)] = true;
    return false;
  }
  VLART_CUBLAS_CHECK(status);
  return true;
}

}  // namespace vlart::cuda
