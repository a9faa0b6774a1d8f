// SPDX-License-Identifier: Apache-2.0
//
// norm_op.cc: CudaBackend::LayerNorm, RmsNorm, AdaRmsNorm, Softmax, MeanOverTokens: shared
// argument checks, then the launch (kernels in norm.cu: one block per row). AdaRmsNorm takes
// the scalar kernel under force_fallback_kernels (so the fallback mode checks it too).

#include <algorithm>
#include <climits>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

void CheckRowCount(const Tensor& x, const char* op) {
  VLART_CHECK(x.numel() / std::max<int64_t>(x.dim(-1), 1) <= INT_MAX,
              "{}: more than {} rows in {} (one block per row)", op, INT_MAX, x.ToString());
}

}  // namespace

void CudaBackend::LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                            const Tensor& out) {
  BeginOp();
  CheckLayerNormArgs(Device::kCuda, x, gamma, beta, eps, out);
  CheckRowCount(x, "LayerNorm");
  LaunchLayerNorm(ToArg(x), ToArg(gamma), ToArg(beta), eps, ToArg(out), stream_);
  AfterOp("LayerNorm");
}

void CudaBackend::RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
                          const Tensor& out) {
  BeginOp();
  CheckRmsNormArgs(Device::kCuda, x, w, eps, out);
  CheckRowCount(x, "RmsNorm");
  LaunchRmsNorm(ToArg(x), ToArg(w), eps, weight_offset, ToArg(out), stream_);
  AfterOp("RmsNorm");
}

void CudaBackend::AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                             const Tensor& out) {
  BeginOp();
  CheckAdaRmsNormArgs(Device::kCuda, x, scale, shift, eps, out);
  CheckRowCount(x, "AdaRmsNorm");
  if (LaunchAdaRmsNorm(ToArg(x), ToArg(scale), ToArg(shift), eps, ToArg(out), force_fallback_,
                       stream_)) {
    ++stats_.ada_rms_norm_vec;
  }
  AfterOp("AdaRmsNorm");
}

void CudaBackend::MulAddAdaRmsNorm(const Tensor& x, const Tensor& y, const Tensor& gate,
                                   const Tensor& scale, const Tensor& shift, float eps,
                                   const Tensor& out) {
  BeginOp();
  CheckMulAddAdaRmsNormArgs(Device::kCuda, x, y, gate, scale, shift, eps, out);
  CheckRowCount(x, "MulAddAdaRmsNorm");
  if (!force_fallback_ && fuse_residual_norm_ &&
      LaunchMulAddAdaRmsNorm(ToArg(x), ToArg(y), ToArg(gate), ToArg(scale), ToArg(shift), eps,
                             ToArg(out), stream_)) {
    ++stats_.mul_add_ada_rms_norm_fused;
    AfterOp("MulAddAdaRmsNorm");
    return;
  }
  AfterOp("MulAddAdaRmsNorm");
  Backend::MulAddAdaRmsNorm(x, y, gate, scale, shift, eps, out);  // the two ops
}

void CudaBackend::Softmax(const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckSoftmaxArgs(Device::kCuda, x, out);
  CheckRowCount(x, "Softmax");
  LaunchSoftmax(ToArg(x), ToArg(out), stream_);
  AfterOp("Softmax");
}

void CudaBackend::MeanOverTokens(const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckMeanOverTokensArgs(Device::kCuda, x, out);  // x [B, N, C], out [B, C]
  VLART_CHECK(x.dim(0) <= 65535, "MeanOverTokens: at most 65535 batch entries, got x {}",
              x.ToString());
  LaunchMeanOverTokens(ToArg(x), ToArg(out), stream_);
  AfterOp("MeanOverTokens");
}

}  // namespace vlart::cuda
