// SPDX-License-Identifier: Apache-2.0
//
// copy_op.cc: CudaBackend::Copy, Fill, Embedding, NormalizePixels and ResizePixels: shared
// argument checks (ops/op_checks.h), dim collapsing, launch (kernels in copy.cu, pixels.cu and
// resize_pixels.cu).

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {

void CudaBackend::Copy(const Tensor& src, const Tensor& dst) {
  BeginOp();
  CheckCopyArgs(Device::kCuda, src, dst);
  if (DTypeBits(dst.dtype) % 8 != 0) {  // packed formats: contiguous on both sides (checked)
    VLART_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, DTypeBytes(dst.dtype, dst.numel()),
                                     cudaMemcpyDeviceToDevice, stream_));
  } else {
    StridedArg s = ToArg(src);
    StridedArg d = ToArg(dst);
    CollapseDims({&s, &d});
    if (LaunchCopy(s, d, stream_)) ++stats_.copy_vec;
  }
  AfterOp("Copy");
}

void CudaBackend::Fill(const Tensor& dst, float value) {
  BeginOp();
  CheckFillArgs(Device::kCuda, dst);
  StridedArg d = ToArg(dst);
  CollapseDims({&d});
  LaunchFill(d, value, stream_);
  AfterOp("Fill");
}

void CudaBackend::Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) {
  BeginOp();
  CheckEmbeddingArgs(Device::kCuda, ids, table, out);
  LaunchEmbedding(ids.data_as<const int32_t>(), ids.stride[0], ToArg(table), ToArg(out), stream_);
  AfterOp("Embedding");
}

void CudaBackend::NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out) {
  BeginOp();
  CheckNormalizePixelsArgs(Device::kCuda, pixels, table, out);
  LaunchNormalizePixels(pixels.data_as<const uint8_t>(), !pixels.is_contiguous(),
                        table.data_as<const float>(), out.data, out.dtype, pixels.shape[0],
                        pixels.shape[3], pixels.shape[1] * pixels.shape[2], stream_);
  AfterOp("NormalizePixels");
}

void CudaBackend::ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                               const Tensor& out) {
  BeginOp();
  CheckResizePixelsArgs(Device::kCuda, pixels, taps_x, taps_y, out);
  LaunchResizePixels(pixels.data_as<const uint8_t>(), taps_x.data_as<const int32_t>(),
                     taps_x.shape[1], taps_y.data_as<const int32_t>(), taps_y.shape[1],
                     out.data_as<uint8_t>(), pixels.shape[0], pixels.shape[1], pixels.shape[2],
                     pixels.shape[3], out.shape[2], out.shape[3], stream_);
  AfterOp("ResizePixels");
}

}  // namespace vlart::cuda
