// SPDX-License-Identifier: Apache-2.0
//
// backend_factory.cc: backend selection (see the header).

#include "runtime/backend_factory.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <string>

#include "backends/cpu/cpu_backend.h"
#include "runtime/build_info.h"
#if VLART_RUNTIME_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace vlart {

bool CudaAvailable() {
#if VLART_RUNTIME_HAS_CUDA
  return CudaDeviceAvailable();
#else
  return false;
#endif
}

std::string DescribeDevice(const Backend& backend) {
#if VLART_RUNTIME_HAS_CUDA
  if (backend.device() == Device::kCuda) {
    const std::string name(backend.name());  // "cuda:N ..."
    int index = 0;
    if (name.rfind("cuda:", 0) == 0) index = std::atoi(name.c_str() + 5);
    return CudaDeviceDescription(index);
  }
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return "CPU: " + line.substr(colon + 2);
    }
  }
  return "CPU";
}

Result<std::unique_ptr<Backend>> CreateBackend(const BackendSpec& spec) {
  if (spec.device == "cpu") {
    if (!spec.precision.empty() && spec.precision != "f32" && spec.precision != "fp32") {
      return InvalidArgument(
          "backend: precision: the CPU reference computes in f32 only, got '{}'; hint: use "
          "--device cuda for bf16/f16",
          spec.precision);
    }
    return CreateCpuBackend();
  }
  int index = 0;
  if (spec.device != "cuda") {
    const std::string prefix = "cuda:";
    if (spec.device.rfind(prefix, 0) != 0) {
      return InvalidArgument("backend: device: expected cpu, cuda or cuda:N, got '{}'", spec.device);
    }
    const std::string num = spec.device.substr(prefix.size());
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), index);
    if (ec != std::errc() || ptr != num.data() + num.size() || index < 0) {
      return InvalidArgument("backend: device: expected cuda:N with N >= 0, got '{}'", spec.device);
    }
  }
#if VLART_RUNTIME_HAS_CUDA
  DType dtype = DType::kBF16;
  if (spec.precision == "f32" || spec.precision == "fp32") {
    dtype = DType::kF32;
  } else if (spec.precision == "f16" || spec.precision == "fp16") {
    dtype = DType::kF16;
  } else if (!spec.precision.empty() && spec.precision != "bf16") {
    return InvalidArgument("backend: precision: expected f32, bf16 or f16, got '{}'", spec.precision);
  }
  if (!CudaDeviceAvailable()) {
    return Unimplemented("backend: device '{}': no CUDA device is available on this machine",
                         spec.device);
  }
  CudaBackendOptions options;
  options.device = index;
  options.compute_dtype = dtype;
  options.build_tag = BuildCommit();  // a GEMM tuning file (VLART_GEMM_TUNING_FILE) is per build
  options.gemm_tuning_file = spec.tuning_cache;  // the backend makes its folder when it writes
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, CreateCudaBackend(options));
  return be;
#else
  return Unimplemented("backend: device '{}': this vlart was built without CUDA; hint: rebuild "
                       "with nvcc installed (scripts/setup.sh detects it)", spec.device);
#endif
}

}  // namespace vlart
