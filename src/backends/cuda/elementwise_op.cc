// SPDX-License-Identifier: Apache-2.0
//
// elementwise_op.cc: CudaBackend::Add, Mul, Axpby, Activate (kernels in elementwise.cu).
// Operands are collapsed jointly, so contiguous same-dtype work takes the flat fast path.

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"

namespace vlart::cuda {
namespace {

void CheckFloatSameShape(const Tensor& a, const Tensor& out, const char* op) {
  VLART_CHECK(SameShape(a, out), "{}: shapes differ: {} vs out {}", op, a.ToString(), out.ToString());
  VLART_CHECK(IsComputeFloat(a.dtype) && IsComputeFloat(out.dtype),
              "{}: operands must be F32/F16/BF16, got {} and {}", op, DTypeName(a.dtype),
              DTypeName(out.dtype));
}

}  // namespace

void CudaBackend::Add(const Tensor& a, const Tensor& b, const Tensor& out) {
  Axpby(1.0f, a, 1.0f, b, out);  // a + b exactly: 1*x is exact, one f32 add
}

void CudaBackend::Mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(a, "Mul", "a");
  CheckDeviceTensor(b, "Mul", "b");
  CheckDeviceTensor(out, "Mul", "out");
  CheckFloatSameShape(a, out, "Mul");
  CheckFloatSameShape(b, out, "Mul");
  StridedArg sa = ToArg(a);
  StridedArg sb = ToArg(b);
  StridedArg so = ToArg(out);
  CollapseDims({&sa, &sb, &so});
  LaunchBinary(BinaryKind::kMul, 1.0f, 1.0f, sa, sb, so, stream_);
  AfterOp("Mul");
}

void CudaBackend::Axpby(float alpha, const Tensor& x, float beta, const Tensor& y,
                        const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "Axpby", "x");
  CheckDeviceTensor(y, "Axpby", "y");
  CheckDeviceTensor(out, "Axpby", "out");
  CheckFloatSameShape(x, out, "Axpby");
  CheckFloatSameShape(y, out, "Axpby");
  StridedArg sx = ToArg(x);
  StridedArg sy = ToArg(y);
  StridedArg so = ToArg(out);
  CollapseDims({&sx, &sy, &so});
  const bool add = alpha == 1.0f && beta == 1.0f;
  LaunchBinary(add ? BinaryKind::kAdd : BinaryKind::kAxpby, alpha, beta, sx, sy, so, stream_);
  AfterOp(add ? "Add" : "Axpby");
}

void CudaBackend::Activate(Activation act, const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "Activate", "x");
  CheckDeviceTensor(out, "Activate", "out");
  CheckFloatSameShape(x, out, "Activate");
  StridedArg sx = ToArg(x);
  StridedArg so = ToArg(out);
  CollapseDims({&sx, &so});
  LaunchActivate(ToActKind(act), sx, so, stream_);
  AfterOp("Activate");
}

}  // namespace vlart::cuda
