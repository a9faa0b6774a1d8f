// SPDX-License-Identifier: Apache-2.0
//
// backend_factory.h: turning "cpu" / "cuda:0" and "bf16" into a Backend.
//
// The runtime is the only layer that knows which backends exist; models only see the
// op interface. A CUDA request in a build without CUDA, or on a machine without a GPU,
// is a clear error, never a silent fallback to the CPU.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "ops/backend.h"

namespace vlart {

struct BackendSpec {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  std::string precision;       // "f32", "bf16", "f16"; empty: f32 on cpu, bf16 on cuda
  std::string tuning_cache;    // CUDA: PolicyOptions::tuning_cache ("" = none)
};

Result<std::unique_ptr<Backend>> CreateBackend(const BackendSpec& spec);
// True when this build has the CUDA backend and a CUDA device is present.
bool CudaAvailable();
// The hardware behind `backend`, for benchmark headers ("NVIDIA H100 ... driver 13.0" or
// the CPU model name).
std::string DescribeDevice(const Backend& backend);

}  // namespace vlart
