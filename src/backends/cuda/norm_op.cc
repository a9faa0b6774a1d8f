// SPDX-License-Identifier: Apache-2.0
//
// norm_op.cc: CudaBackend::LayerNorm, RmsNorm, Softmax, MeanOverTokens (kernels in norm.cu).

#include <algorithm>
#include <climits>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"

namespace vlart::cuda {
namespace {

void CheckRows(const Tensor& x, const Tensor& out, const char* op) {
  VLART_CHECK(x.ndim() >= 1 && SameShape(x, out), "{}: x {} and out {} must have one shape", op,
              x.ToString(), out.ToString());
  VLART_CHECK(IsComputeFloat(x.dtype) && IsComputeFloat(out.dtype),
              "{}: x and out must be F32/F16/BF16, got {} and {}", op, DTypeName(x.dtype),
              DTypeName(out.dtype));
  VLART_CHECK(x.numel() / std::max<int64_t>(x.dim(-1), 1) <= INT_MAX, "{}: too many rows in {}", op,
              x.ToString());
}

void CheckVector(const Tensor& v, int64_t width, const char* op, const char* what) {
  VLART_CHECK(v.ndim() == 1 && v.dim(0) == width && IsComputeFloat(v.dtype),
              "{}: {} must be a float [{}], got {}", op, what, width, v.ToString());
}

}  // namespace

void CudaBackend::LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                            const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "LayerNorm", "x");
  CheckDeviceTensor(gamma, "LayerNorm", "gamma");
  CheckDeviceTensor(beta, "LayerNorm", "beta");
  CheckDeviceTensor(out, "LayerNorm", "out");
  CheckRows(x, out, "LayerNorm");
  CheckVector(gamma, x.dim(-1), "LayerNorm", "gamma");
  CheckVector(beta, x.dim(-1), "LayerNorm", "beta");
  LaunchLayerNorm(ToArg(x), ToArg(gamma), ToArg(beta), eps, ToArg(out), stream_);
  AfterOp("LayerNorm");
}

void CudaBackend::RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
                          const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "RmsNorm", "x");
  CheckDeviceTensor(w, "RmsNorm", "w");
  CheckDeviceTensor(out, "RmsNorm", "out");
  CheckRows(x, out, "RmsNorm");
  CheckVector(w, x.dim(-1), "RmsNorm", "w");
  LaunchRmsNorm(ToArg(x), ToArg(w), eps, weight_offset, ToArg(out), stream_);
  AfterOp("RmsNorm");
}

void CudaBackend::Softmax(const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "Softmax", "x");
  CheckDeviceTensor(out, "Softmax", "out");
  CheckRows(x, out, "Softmax");
  LaunchSoftmax(ToArg(x), ToArg(out), stream_);
  AfterOp("Softmax");
}

void CudaBackend::MeanOverTokens(const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "MeanOverTokens", "x");
  CheckDeviceTensor(out, "MeanOverTokens", "out");
  VLART_CHECK(x.ndim() == 3 && IsComputeFloat(x.dtype), "MeanOverTokens: x must be a float [B, N, C], got {}",
              x.ToString());
  VLART_CHECK(out.ndim() == 2 && out.dim(0) == x.dim(0) && out.dim(1) == x.dim(2) &&
                  IsComputeFloat(out.dtype),
              "MeanOverTokens: out must be a float [{}, {}], got {}", x.dim(0), x.dim(2),
              out.ToString());
  VLART_CHECK(x.dim(0) <= 65535, "MeanOverTokens: at most 65535 batch entries, got {}", x.dim(0));
  LaunchMeanOverTokens(ToArg(x), ToArg(out), stream_);
  AfterOp("MeanOverTokens");
}

}  // namespace vlart::cuda
