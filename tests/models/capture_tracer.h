// SPDX-License-Identifier: Apache-2.0
//
// capture_tracer.h: a TraceFn that copies every traced tensor to the host (f32).
//
// Works on any backend: it downloads (converting to f32) and synchronises at each
// trace point, so the copy reflects the tensor at that moment even though the buffer
// is reused later. Strided device views (slices, stride-0 broadcasts) are first packed
// by the backend's Copy into a temporary arena. Slow by design; for tests only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/check.h"
#include "core/host_tensor.h"
#include "models/common/trace.h"
#include "ops/backend.h"

namespace vlart::testing {

// `t` (any strides, on `backend`'s device) as a contiguous host tensor of `dtype`
// (float dtypes convert; integers must keep theirs). Synchronises.
inline HostTensor DownloadToHost(Backend& backend, const Tensor& t, DType dtype) {
  if (t.device == Device::kCpu) {
    if (dtype == DType::kF32) return HostTensor::ToF32(t);
    VLART_CHECK(dtype == t.dtype, "DownloadToHost: {} to {} on the CPU", DTypeName(t.dtype),
                DTypeName(dtype));
    return HostTensor::CopyOf(t);
  }
  HostTensor host(dtype, t.shape);
  if (t.is_contiguous()) {
    backend.Download(t, host.view());
  } else {
    std::unique_ptr<Arena> arena = backend.NewArena();
    const Tensor packed = arena->Allocate(t.shape, t.dtype);
    backend.Copy(t, packed);
    backend.Download(packed, host.view());
  }
  backend.Synchronize();
  return host;
}

class CaptureTracer {
 public:
  explicit CaptureTracer(Backend& backend) : be_(backend) {}
  TraceFn Fn() {
    return [this](std::string_view name, const Tensor& t) {
      tensors_[std::string(name)] = DownloadToHost(be_, t, DType::kF32);
    };
  }
  bool Has(const std::string& name) const { return tensors_.count(name) != 0; }
  const HostTensor& Get(const std::string& name) const { return tensors_.at(name); }
  const std::map<std::string, HostTensor>& all() const { return tensors_; }

 private:
  Backend& be_;
  std::map<std::string, HostTensor> tensors_;
};

}  // namespace vlart::testing
