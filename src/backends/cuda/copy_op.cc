// SPDX-License-Identifier: Apache-2.0
//
// copy_op.cc: CudaBackend::Copy, Fill and Embedding: validation, dim collapsing, launch
// (kernels in copy.cu).

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"

namespace vlart::cuda {

void CudaBackend::Copy(const Tensor& src, const Tensor& dst) {
  BeginOp();
  CheckDeviceTensor(src, "Copy", "src");
  CheckDeviceTensor(dst, "Copy", "dst");
  VLART_CHECK(SameShape(src, dst), "Copy: shapes differ: src {} dst {}", src.ToString(),
              dst.ToString());
  VLART_CHECK(src.dtype == dst.dtype || (IsComputeFloat(src.dtype) && IsComputeFloat(dst.dtype)),
              "Copy: cannot convert {} to {}", DTypeName(src.dtype), DTypeName(dst.dtype));
  VLART_CHECK(DTypeBits(dst.dtype) % 8 == 0, "Copy: packed dtype {} is not supported",
              DTypeName(dst.dtype));
  StridedArg s = ToArg(src);
  StridedArg d = ToArg(dst);
  CollapseDims({&s, &d});
  LaunchCopy(s, d, stream_);
  AfterOp("Copy");
}

void CudaBackend::Fill(const Tensor& dst, float value) {
  BeginOp();
  CheckDeviceTensor(dst, "Fill", "dst");
  VLART_CHECK(IsComputeFloat(dst.dtype) || dst.dtype == DType::kI32,
              "Fill: dst dtype must be F32, F16, BF16 or I32, got {}", DTypeName(dst.dtype));
  StridedArg d = ToArg(dst);
  CollapseDims({&d});
  LaunchFill(d, value, stream_);
  AfterOp("Fill");
}

void CudaBackend::Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(ids, "Embedding", "ids");
  CheckDeviceTensor(table, "Embedding", "table");
  CheckDeviceTensor(out, "Embedding", "out");
  VLART_CHECK(ids.dtype == DType::kI32 && ids.ndim() == 1, "Embedding: ids must be I32 [N], got {}",
              ids.ToString());
  VLART_CHECK(table.ndim() == 2 && IsComputeFloat(table.dtype),
              "Embedding: table must be a float [V, D], got {}", table.ToString());
  VLART_CHECK(out.ndim() == 2 && IsComputeFloat(out.dtype) && out.dim(0) == ids.dim(0) &&
                  out.dim(1) == table.dim(1),
              "Embedding: out must be a float [{}, {}], got {}", ids.dim(0), table.dim(1),
              out.ToString());
  LaunchEmbedding(ids.data_as<const int32_t>(), ids.stride[0], ToArg(table), ToArg(out), stream_);
  AfterOp("Embedding");
}

}  // namespace vlart::cuda
