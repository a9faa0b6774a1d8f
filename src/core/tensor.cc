// SPDX-License-Identifier: Apache-2.0
//
// tensor.cc: Shape and Tensor view arithmetic.

#include "core/tensor.h"

#include <fmt/format.h>

#include <vector>

namespace vlart {

const char* DeviceName(Device device) {
  switch (device) {
    case Device::kCpu: return "cpu";
    case Device::kCuda: return "cuda";
  }
  return "?";
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (ndim_ != o.ndim_) return false;
  for (int i = 0; i < ndim_; ++i) {
    if (dims_[i] != o.dims_[i]) return false;
  }
  return true;
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

Tensor Tensor::Contiguous(void* data, DType dtype, const Shape& shape, Device device) {
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.shape = shape;
  int64_t s = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    t.stride[i] = s;
    s *= shape[i];
  }
  return t;
}

bool Tensor::is_contiguous() const {
  int64_t s = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (shape[i] != 1 && stride[i] != s) return false;
    s *= shape[i];
  }
  return true;
}

size_t Tensor::nbytes() const {
  VLART_CHECK(is_contiguous(), "nbytes of a non-contiguous view {}", ToString());
  return DTypeBytes(dtype, numel());
}

Tensor Tensor::Reshape(const Shape& new_shape) const {
  VLART_CHECK(is_contiguous(), "Reshape of a non-contiguous view {}", ToString());
  Shape resolved = new_shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < resolved.size(); ++i) {
    if (resolved[i] == -1) {
      VLART_CHECK(infer < 0, "Reshape: more than one -1 in {}", new_shape.ToString());
      infer = i;
    } else {
      known *= resolved[i];
    }
  }
  if (infer >= 0) {
    VLART_CHECK(known > 0 && numel() % known == 0, "Reshape {} -> {}", shape.ToString(),
                new_shape.ToString());
    resolved[infer] = numel() / known;
  }
  VLART_CHECK(resolved.numel() == numel(), "Reshape {} -> {}: element counts differ",
              shape.ToString(), new_shape.ToString());
  return Contiguous(data, dtype, resolved, device);
}

Tensor Tensor::Slice(int axis, int64_t start, int64_t stop) const {
  const int a = axis < 0 ? axis + ndim() : axis;
  VLART_CHECK(a >= 0 && a < ndim(), "Slice axis {} of {}", axis, ToString());
  VLART_CHECK(0 <= start && start <= stop && stop <= shape[a], "Slice [{}, {}) of axis {} size {}",
              start, stop, a, shape[a]);
  VLART_CHECK(DTypeBits(dtype) % 8 == 0, "Slice of packed dtype {}", DTypeName(dtype));
  Tensor t = *this;
  t.shape[a] = stop - start;
  t.data = static_cast<char*>(data) + start * stride[a] * (DTypeBits(dtype) / 8);
  return t;
}

Tensor Tensor::Select(int axis, int64_t index) const {
  const int a = axis < 0 ? axis + ndim() : axis;
  Tensor s = Slice(a, index, index + 1);
  Tensor t;
  t.data = s.data;
  t.dtype = dtype;
  t.device = device;
  for (int i = 0; i < ndim(); ++i) {
    if (i == a) continue;
    t.stride[t.shape.size()] = stride[i];
    t.shape.push_back(shape[i]);
  }
  return t;
}

Tensor Tensor::Permute(std::initializer_list<int> order) const {
  VLART_CHECK(static_cast<int>(order.size()) == ndim(), "Permute: {} axes for {}", order.size(),
              ToString());
  Tensor t = *this;
  std::array<bool, kMaxDims> seen{};
  int i = 0;
  for (int src : order) {
    VLART_CHECK(src >= 0 && src < ndim() && !seen[src], "Permute: bad axis {}", src);
    seen[src] = true;
    t.shape[i] = shape[src];
    t.stride[i] = stride[src];
    ++i;
  }
  return t;
}

Tensor Tensor::Transpose(int a, int b) const {
  const int x = a < 0 ? a + ndim() : a;
  const int y = b < 0 ? b + ndim() : b;
  VLART_CHECK(x >= 0 && x < ndim() && y >= 0 && y < ndim(), "Transpose {} {} of {}", a, b,
              ToString());
  Tensor t = *this;
  std::swap(t.shape[x], t.shape[y]);
  std::swap(t.stride[x], t.stride[y]);
  return t;
}

Tensor Tensor::Unsqueeze(int axis) const {
  const int a = axis < 0 ? axis + ndim() + 1 : axis;
  VLART_CHECK(a >= 0 && a <= ndim() && ndim() < kMaxDims, "Unsqueeze {} of {}", axis, ToString());
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  for (int i = 0; i <= ndim(); ++i) {
    if (i == a) {
      t.stride[t.shape.size()] = (i < ndim()) ? stride[i] * shape[i] : 1;
      t.shape.push_back(1);
    }
    if (i < ndim()) {
      t.stride[t.shape.size()] = stride[i];
      t.shape.push_back(shape[i]);
    }
  }
  return t;
}

Tensor Tensor::Broadcast(const Shape& to) const {
  VLART_CHECK(to.size() >= ndim(), "Broadcast {} to {}", ToString(), to.ToString());
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  const int lead = to.size() - ndim();
  for (int i = 0; i < to.size(); ++i) {
    t.shape.push_back(to[i]);
    if (i < lead) {
      t.stride[i] = 0;
      continue;
    }
    const int64_t src = shape[i - lead];
    VLART_CHECK(src == to[i] || src == 1, "Broadcast {} to {}", ToString(), to.ToString());
    t.stride[i] = (src == to[i]) ? stride[i - lead] : 0;
  }
  return t;
}

void* Tensor::ElementPtr(std::initializer_list<int64_t> index) const {
  VLART_CHECK(static_cast<int>(index.size()) == ndim(), "ElementPtr: {} indices for {}",
              index.size(), ToString());
  VLART_CHECK(DTypeBits(dtype) % 8 == 0, "ElementPtr of packed dtype");
  int64_t off = 0;
  int i = 0;
  for (int64_t idx : index) {
    VLART_DCHECK(idx >= 0 && idx < shape[i], "index {} out of range", idx);
    off += idx * stride[i];
    ++i;
  }
  return static_cast<char*>(data) + off * (DTypeBits(dtype) / 8);
}

std::string Tensor::ToString() const {
  std::string s = fmt::format("{}{} ({}", DTypeName(dtype), shape.ToString(), DeviceName(device));
  if (!is_contiguous()) {
    s += ", strides [";
    for (int i = 0; i < ndim(); ++i) s += (i ? ", " : "") + std::to_string(stride[i]);
    s += "]";
  }
  return s + ")";
}

bool SameShape(const Tensor& a, const Tensor& b) { return a.shape == b.shape; }

}  // namespace vlart
