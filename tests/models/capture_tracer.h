// SPDX-License-Identifier: Apache-2.0
//
// capture_tracer.h: a TraceFn that copies every traced tensor to the host (f32).
//
// Works on any backend: it downloads (converting to f32) and synchronises at each
// trace point, so the copy reflects the tensor at that moment even though the buffer
// is reused later. Slow by design; for tests only.
#pragma once

#include <map>
#include <string>

#include "core/host_tensor.h"
#include "models/common/trace.h"
#include "ops/backend.h"

namespace vlart::testing {

class CaptureTracer {
 public:
  explicit CaptureTracer(Backend& backend) : be_(backend) {}
  TraceFn Fn() {
    return [this](std::string_view name, const Tensor& t) {
      HostTensor host(DType::kF32, t.shape);
      if (t.is_contiguous()) {
        be_.Download(t, host.view());
      } else {
        // Download needs a contiguous source on some backends: stage through Copy.
        HostTensor packed = HostTensor::CopyOf(t);  // CPU only; device views are contiguous here
        host = HostTensor::ToF32(packed.view());
      }
      be_.Synchronize();
      tensors_[std::string(name)] = std::move(host);
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
