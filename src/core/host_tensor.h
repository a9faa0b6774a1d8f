// SPDX-License-Identifier: Apache-2.0
//
// host_tensor.h: HostTensor, a contiguous tensor that owns 64-byte-aligned host memory.
//
// Used for checkpoint tensors converted on load, preprocessed inputs, goldens and
// test data. It is move-only; `view()` hands out a non-owning Tensor. Memory is
// zero-initialised so that a buffer nobody wrote is recognisable in a dump.
#pragma once

#include <cstddef>
#include <memory>

#include "core/tensor.h"

namespace vlart {

class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, const Shape& shape);

  HostTensor(HostTensor&&) noexcept = default;
  HostTensor& operator=(HostTensor&&) noexcept = default;
  HostTensor(const HostTensor&) = delete;
  HostTensor& operator=(const HostTensor&) = delete;

  // A deep copy of any CPU view (strided views become contiguous).
  static HostTensor CopyOf(const Tensor& cpu_view);
  // A contiguous f32 copy of any CPU float view (f32/f16/bf16/f8/f64), converting values.
  static HostTensor ToF32(const Tensor& cpu_view);

  const Tensor& view() const { return view_; }
  DType dtype() const { return view_.dtype; }
  const Shape& shape() const { return view_.shape; }
  int64_t numel() const { return view_.numel(); }
  size_t nbytes() const { return view_.nbytes(); }
  template <typename T>
  T* data() const {
    return static_cast<T*>(view_.data);
  }

 private:
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, FreeDeleter> storage_;
  Tensor view_;
};

// Makes `t` a dtype[shape] tensor, keeping its memory (and contents) when it already is
// one; otherwise a new zeroed tensor. Returns whether it was (re)made. For buffers
// reused call to call (the policies' host inputs).
bool EnsureHostTensor(HostTensor& t, DType dtype, const Shape& shape);

// Reads element `linear_index` (row-major over the view's shape) of any CPU float view as f32.
float LoadAsF32(const Tensor& cpu_view, int64_t linear_index);

}  // namespace vlart
