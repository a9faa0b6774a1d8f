// SPDX-License-Identifier: Apache-2.0
//
// host_tensor.cc: owning host tensors and element access by linear index.

#include "core/host_tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/float_convert.h"

namespace vlart {

void HostTensor::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

HostTensor::HostTensor(DType dtype, const Shape& shape) {
  for (int64_t d : shape) VLART_CHECK(d >= 0, "HostTensor: negative dim in {}", shape.ToString());
  const size_t bytes = DTypeBytes(dtype, shape.numel());
  const size_t rounded = (bytes + 63) / 64 * 64;
  std::byte* p = static_cast<std::byte*>(std::aligned_alloc(64, rounded == 0 ? 64 : rounded));
  VLART_CHECK(p != nullptr, "HostTensor: out of memory for {} bytes", bytes);
  std::memset(p, 0, rounded == 0 ? 64 : rounded);
  storage_.reset(p);
  view_ = Tensor::Contiguous(p, dtype, shape, Device::kCpu);
}

bool EnsureHostTensor(HostTensor& t, DType dtype, const Shape& shape) {
  if (t.dtype() == dtype && t.shape() == shape && t.data<void>() != nullptr) return false;
  t = HostTensor(dtype, shape);
  return true;
}

namespace {

// Byte offset of the element at row-major `linear_index` in a strided view.
int64_t ElementOffset(const Tensor& t, int64_t linear_index) {
  int64_t off = 0;
  for (int i = t.ndim() - 1; i >= 0; --i) {
    const int64_t d = t.shape[i];
    off += (linear_index % d) * t.stride[i];
    linear_index /= d;
  }
  return off;
}

}  // namespace

HostTensor HostTensor::CopyOf(const Tensor& v) {
  VLART_CHECK(v.device == Device::kCpu, "CopyOf needs a CPU view, got {}", v.ToString());
  HostTensor out(v.dtype, v.shape);
  if (v.is_contiguous()) {
    std::memcpy(out.view_.data, v.data, out.nbytes());
    return out;
  }
  VLART_CHECK(DTypeBits(v.dtype) % 8 == 0, "CopyOf a strided packed view");
  const size_t es = DTypeBits(v.dtype) / 8;
  const int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(static_cast<char*>(out.view_.data) + i * es,
                static_cast<const char*>(v.data) + ElementOffset(v, i) * es, es);
  }
  return out;
}

float LoadAsF32(const Tensor& v, int64_t linear_index) {
  const int64_t off = ElementOffset(v, linear_index);
  switch (v.dtype) {
    case DType::kF32: return static_cast<const float*>(v.data)[off];
    case DType::kF64: return static_cast<float>(static_cast<const double*>(v.data)[off]);
    case DType::kF16: return F16BitsToF32(static_cast<const uint16_t*>(v.data)[off]);
    case DType::kBF16: return BF16BitsToF32(static_cast<const uint16_t*>(v.data)[off]);
    case DType::kF8E4M3: return E4M3BitsToF32(static_cast<const uint8_t*>(v.data)[off]);
    case DType::kI64: return static_cast<float>(static_cast<const int64_t*>(v.data)[off]);
    case DType::kI32: return static_cast<float>(static_cast<const int32_t*>(v.data)[off]);
    case DType::kI16: return static_cast<float>(static_cast<const int16_t*>(v.data)[off]);
    case DType::kI8: return static_cast<float>(static_cast<const int8_t*>(v.data)[off]);
    case DType::kU8: return static_cast<float>(static_cast<const uint8_t*>(v.data)[off]);
    case DType::kBool: return static_cast<const uint8_t*>(v.data)[off] ? 1.0f : 0.0f;
    case DType::kFp4E2M1: break;
  }
  VLART_CHECK(false, "LoadAsF32: unsupported dtype {}", DTypeName(v.dtype));
  return 0.0f;
}

HostTensor HostTensor::ToF32(const Tensor& v) {
  VLART_CHECK(v.device == Device::kCpu, "ToF32 needs a CPU view, got {}", v.ToString());
  HostTensor out(DType::kF32, v.shape);
  float* dst = out.data<float>();
  const int64_t n = v.numel();
  if (v.dtype == DType::kF32 && v.is_contiguous()) {
    std::memcpy(dst, v.data, n * sizeof(float));
    return out;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = LoadAsF32(v, i);
  return out;
}

}  // namespace vlart
