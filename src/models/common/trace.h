// SPDX-License-Identifier: Apache-2.0
//
// trace.h: stage tracing, how tests and tools see a model's intermediates.
//
// Model code calls `trace(name, tensor)` at every stage boundary with a stable
// dotted name (the golden fixtures use the same names, tests/golden/README.md).
// With no tracer installed the call is a null check; tracing never runs while a CUDA
// graph is being captured (the runtime clears the tracer first). A tracer typically
// downloads the tensor and compares or stores it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace vlart {

using TraceFn = std::function<void(std::string_view name, const Tensor& tensor)>;

class Tracer {
 public:
  void Set(TraceFn fn) { fn_ = std::move(fn); }
  void Clear() { fn_ = nullptr; }
  bool active() const { return static_cast<bool>(fn_); }
  void operator()(std::string_view name, const Tensor& tensor) const {
    if (fn_) fn_(name, tensor);
  }

 private:
  TraceFn fn_;
};

}  // namespace vlart
