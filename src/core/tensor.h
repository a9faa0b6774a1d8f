// SPDX-License-Identifier: Apache-2.0
//
// tensor.h: Shape, and Tensor, a non-owning strided view of typed memory on a device.
//
// Conventions (docs/ARCHITECTURE.md): shapes are outermost-first as PyTorch prints
// them; strides are in elements, not bytes; a stride of 0 broadcasts. A Tensor never
// owns memory: arenas (backend) and HostTensor (host_tensor.h) do. View operations
// (Reshape, Slice, Select, Permute, Broadcast) only rewrite shape/stride/offset and
// are how concat, split, window partition and transposes are expressed before a
// single Backend::Copy materialises them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/check.h"
#include "core/dtype.h"

namespace vlart {

inline constexpr int kMaxDims = 6;

enum class Device : uint8_t { kCpu, kCuda };
const char* DeviceName(Device device);

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  template <typename It>
  Shape(It begin, It end) {
    for (It it = begin; it != end; ++it) push_back(static_cast<int64_t>(*it));
  }

  int size() const { return ndim_; }
  int64_t operator[](int i) const { return dims_[Wrap(i)]; }
  int64_t& operator[](int i) { return dims_[Wrap(i)]; }
  void push_back(int64_t d) {
    VLART_CHECK(ndim_ < kMaxDims, "Shape: more than {} dims", kMaxDims);
    dims_[ndim_++] = d;
  }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + ndim_; }
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string ToString() const;  // "[2, 3, 4]", as PyTorch prints torch.Size

 private:
  int Wrap(int i) const {
    const int j = i < 0 ? i + ndim_ : i;
    VLART_CHECK(j >= 0 && j < ndim_, "Shape: axis {} out of range for {} dims", i, ndim_);
    return j;
  }
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::kF32;
  Device device = Device::kCpu;
  Shape shape;
  std::array<int64_t, kMaxDims> stride{};  // elements; stride[i] pairs with shape[i]

  // A contiguous (row-major) view of `data`.
  static Tensor Contiguous(void* data, DType dtype, const Shape& shape, Device device);

  int ndim() const { return shape.size(); }
  int64_t dim(int axis) const { return shape[axis]; }
  int64_t numel() const { return shape.numel(); }
  bool defined() const { return data != nullptr || numel() == 0; }
  bool is_contiguous() const;
  // Bytes spanned by a contiguous tensor (checked).
  size_t nbytes() const;

  // Views. All check their arguments and abort on misuse (these are programmer errors).
  Tensor Reshape(const Shape& new_shape) const;           // contiguous only; one -1 allowed
  Tensor Slice(int axis, int64_t start, int64_t stop) const;  // [start, stop) along axis
  Tensor Select(int axis, int64_t index) const;               // drops `axis`
  Tensor Permute(std::initializer_list<int> order) const;
  Tensor Transpose(int a, int b) const;
  Tensor Unsqueeze(int axis) const;
  Tensor Broadcast(const Shape& to) const;  // stride-0 expansion of size-1 (or missing leading) dims

  // Element pointer at `index` (one entry per dim). Not for packed 4-bit dtypes.
  void* ElementPtr(std::initializer_list<int64_t> index) const;

  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data);
  }

  std::string ToString() const;  // "BF16[2, 3] (cuda, strides [3, 1])"
};

// True when both describe the same shape (dtype and device are not compared).
bool SameShape(const Tensor& a, const Tensor& b);

}  // namespace vlart
