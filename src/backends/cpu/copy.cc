// SPDX-License-Identifier: Apache-2.0
//
// copy.cc: Upload, Download, Copy and Fill on the CPU reference backend.
//
// Math: dst[i] = convert(src[i]) element by element in row-major index order of the
// shared shape; Fill sets every element of dst. Any strides on either side (innermost
// included, stride 0 on the source), which is how transposes, concat, split, padding
// and window partition are materialised.
// Reference: torch.Tensor.copy_ / .to(dtype) and torch.Tensor.fill_.
// Numerics: same dtype copies bytes (exact, any dtype, including I32 ids). F32/F16/BF16
// convert through f32 with core/float_convert.h, round-to-nearest-even, bit-exact with
// torch's CPU casts (f16 <-> bf16 goes through f32, which is exact for the widening
// step, so the result is the single rounding torch produces). Upload and Download are
// the same conversion between contiguous tensors: the backend's memory is host memory.

#include <cstdint>
#include <cstring>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "core/float_convert.h"
#include "ops/op_checks.h"

namespace vlart::cpu {
namespace {

float LoadF32(DType dtype, const void* base, int64_t off) {
  switch (dtype) {
    case DType::kF32: return static_cast<const float*>(base)[off];
    case DType::kF16: return F16BitsToF32(static_cast<const uint16_t*>(base)[off]);
    case DType::kBF16: return BF16BitsToF32(static_cast<const uint16_t*>(base)[off]);
    default: break;
  }
  VLART_CHECK(false, "Copy: cannot convert from {}", DTypeName(dtype));
  return 0.0f;
}

void StoreF32(DType dtype, void* base, int64_t off, float v) {
  switch (dtype) {
    case DType::kF32: static_cast<float*>(base)[off] = v; return;
    case DType::kF16: static_cast<uint16_t*>(base)[off] = F32ToF16Bits(v); return;
    case DType::kBF16: static_cast<uint16_t*>(base)[off] = F32ToBF16Bits(v); return;
    default: break;
  }
  VLART_CHECK(false, "Copy: cannot convert to {}", DTypeName(dtype));
}

// dst = src for views already checked (same shape; byte dtypes or contiguous packed).
void CopyConvert(const Tensor& src, const Tensor& dst) {
  if (src.numel() == 0) return;
  if (src.dtype == dst.dtype && src.is_contiguous() && dst.is_contiguous()) {
    std::memcpy(dst.data, src.data, src.nbytes());
    return;
  }
  const int64_t rows = NumRows(src);
  const int64_t n = RowLength(src);
  const int64_t ss = InnerStride(src);
  const int64_t ds = InnerStride(dst);
  if (src.dtype == dst.dtype) {
    const int64_t es = DTypeBits(src.dtype) / 8;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelWork)
    for (int64_t r = 0; r < rows; ++r) {
      const char* s = static_cast<const char*>(src.data) + RowOffset(src, r) * es;
      char* d = static_cast<char*>(dst.data) + RowOffset(dst, r) * es;
      if (ss == 1 && ds == 1) {
        std::memcpy(d, s, static_cast<size_t>(n * es));
      } else {
        for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * ds * es, s + i * ss * es, es);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (rows * n >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t so = RowOffset(src, r);
    const int64_t dof = RowOffset(dst, r);
    for (int64_t i = 0; i < n; ++i) {
      StoreF32(dst.dtype, dst.data, dof + i * ds, LoadF32(src.dtype, src.data, so + i * ss));
    }
  }
}

}  // namespace

void Upload(const Tensor& host_src, const Tensor& dst) {
  CheckUploadArgs(Device::kCpu, host_src, dst);
  CopyConvert(host_src, dst);
}

void Download(const Tensor& src, const Tensor& host_dst) {
  CheckDownloadArgs(Device::kCpu, src, host_dst);
  CopyConvert(src, host_dst);
}

void Copy(const Tensor& src, const Tensor& dst) {
  CheckCopyArgs(Device::kCpu, src, dst);
  CopyConvert(src, dst);
}

void Fill(const Tensor& dst, float value) {
  CheckFillArgs(Device::kCpu, dst);
  RequireF32("Fill", "dst", dst);
  const int64_t rows = NumRows(dst);
  const int64_t n = RowLength(dst);
  const int64_t ds = InnerStride(dst);
  if (dst.numel() == 0) return;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelWork)
  for (int64_t r = 0; r < rows; ++r) {
    float* d = RowPtr<float>(dst, r);
    for (int64_t i = 0; i < n; ++i) d[i * ds] = value;
  }
}

}  // namespace vlart::cpu
