// SPDX-License-Identifier: Apache-2.0
//
// elementwise_op.cc: CudaBackend::Add, Mul, Axpby, Activate, GatedActivation, MulAdd (kernels
// in elementwise.cu). Operands are collapsed jointly, so contiguous same-dtype work becomes one
// long row and column slices of a wider buffer become rows with a stride: both take the rows
// kernels (16-byte vectors where aligned). force_fallback_kernels sends everything to the
// strided kernel (parity debugging). Stats count the path of every call.

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "ops/op_checks.h"

namespace vlart::cuda {

void CudaBackend::CountElementwise(ElementwisePath path) {
  switch (path) {
    case ElementwisePath::kNone: break;
    case ElementwisePath::kRowsVec: ++stats_.elementwise_vec; break;
    case ElementwisePath::kRows: ++stats_.elementwise_rows; break;
    case ElementwisePath::kStrided: ++stats_.elementwise_strided; break;
  }
}

namespace {

ElementwisePath LaunchBinaryOp(BinaryKind kind, float alpha, const Tensor& a, float beta,
                               const Tensor& b, const Tensor& out, bool force_strided,
                               cudaStream_t stream) {
  StridedArg sa = ToArg(a);
  StridedArg sb = ToArg(b);
  StridedArg so = ToArg(out);
  CollapseDims({&sa, &sb, &so});
  return LaunchBinary(kind, alpha, beta, sa, sb, so, force_strided, stream);
}

}  // namespace

void CudaBackend::Add(const Tensor& a, const Tensor& b, const Tensor& out) {
  BeginOp();
  CheckBinaryElementwiseArgs(Device::kCuda, "Add", a, b, out);
  CountElementwise(LaunchBinaryOp(BinaryKind::kAdd, 1.0f, a, 1.0f, b, out, force_fallback_, stream_));
  AfterOp("Add");
}

void CudaBackend::Mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  BeginOp();
  CheckBinaryElementwiseArgs(Device::kCuda, "Mul", a, b, out);
  CountElementwise(LaunchBinaryOp(BinaryKind::kMul, 1.0f, a, 1.0f, b, out, force_fallback_, stream_));
  AfterOp("Mul");
}

void CudaBackend::Axpby(float alpha, const Tensor& x, float beta, const Tensor& y,
                        const Tensor& out) {
  BeginOp();
  CheckBinaryElementwiseArgs(Device::kCuda, "Axpby", x, y, out);
  CountElementwise(LaunchBinaryOp(BinaryKind::kAxpby, alpha, x, beta, y, out, force_fallback_, stream_));
  AfterOp("Axpby");
}

void CudaBackend::Activate(Activation act, const Tensor& x, const Tensor& out) {
  BeginOp();
  CheckActivateArgs(Device::kCuda, x, out);
  StridedArg sx = ToArg(x);
  StridedArg so = ToArg(out);
  CollapseDims({&sx, &so});
  CountElementwise(LaunchActivate(ToActKind(act), sx, so, force_fallback_, stream_));
  AfterOp("Activate");
}

void CudaBackend::GatedActivation(Activation act, const Tensor& gate, const Tensor& up,
                                  const Tensor& out, const RowRmsScale* row_scale) {
  BeginOp();
  CheckGatedActivationArgs(Device::kCuda, gate, up, out, row_scale);
  StridedArg sg = ToArg(gate);
  StridedArg su = ToArg(up);
  StridedArg so = ToArg(out);
  if (row_scale != nullptr) {  // gate, up, out [R, N]: rows stay rows (no collapsing)
    CountElementwise(LaunchGatedActivationRms(ToActKind(act), sg, su, so, ToRowRmsArg(*row_scale),
                                              force_fallback_, stream_));
    AfterOp("GatedActivation");
    return;
  }
  CollapseDims({&sg, &su, &so});
  CountElementwise(LaunchGatedActivation(ToActKind(act), sg, su, so, force_fallback_, stream_));
  AfterOp("GatedActivation");
}

void CudaBackend::MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out) {
  BeginOp();
  CheckMulAddArgs(Device::kCuda, a, b, c, out);
  StridedArg sa = ToArg(a);
  StridedArg sb = ToArg(b);
  StridedArg sc = ToArg(c);
  StridedArg so = ToArg(out);
  CollapseDims({&sa, &sb, &sc, &so});
  CountElementwise(LaunchMulAdd(sa, sb, sc, so, force_fallback_, stream_));
  AfterOp("MulAdd");
}

}  // namespace vlart::cuda
