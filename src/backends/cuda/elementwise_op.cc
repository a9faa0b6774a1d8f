// SPDX-License-Identifier: Apache-2.0
//
// elementwise_op.cc: CudaBackend::Add, Mul, Axpby, Activate (kernels in elementwise.cu).
// Operands are collapsed jointly, so contiguous same-dtype work takes the flat fast path.

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

void LaunchBinaryOp(BinaryKind kind, float alpha, const Tensor& a, float beta, const Tensor& b,
                    const Tensor& out, cudaStream_t stream) {
  StridedArg sa = ToArg(a);
  StridedArg sb = ToArg(b);
  StridedArg so = ToArg(out);
  CollapseDims({&sa, &sb, &so});
  LaunchBinary(kind, alpha, beta, sa, sb, so, stream);
}

}  // namespace

void CudaBackend::Add(const Tensor& a, const Tensor& b, const Tensor& out) {
  BeginOp();
  CheckBinaryElementwiseArgs(Device::kCuda, "Add", a, b, out);
  LaunchBinaryOp(BinaryKind::kAdd, 1.0f, a, 1.0f, b, out, stream_);
  AfterOp("Add");
}

void CudaBackend::Mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  BeginOp();
  CheckBinaryElementwiseArgs(Device::kCuda, "Mul", a, b, out);
  LaunchBinaryOp(BinaryKind::kMul, 1.0f, a, 1.0f, b, out, stream_);
  AfterOp("Mul");
}

void CudaBackend::Axpby(float alpha, const Tensor& x, float beta, const Tensor& y,
                        const Tensor& out) {
  BeginOp();
  CheckBinaryElementwiseArgs(Device::kCuda, "Axpby", x, y, out);
  LaunchBinaryOp(BinaryKind::kAxpby, alpha, x, beta, y, out, stream_);
  AfterOp("Axpby");
}

void CudaBackend::Activate(Activation act, const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckActivateArgs(Device::kCuda, x, out);
  StridedArg sx = ToArg(x);
  StridedArg so = ToArg(out);
  CollapseDims({&sx, &so});
  LaunchActivate(ToActKind(act), sx, so, stream_);
  AfterOp("Activate");
}

}  // namespace vlart::cuda
