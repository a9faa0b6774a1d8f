// SPDX-License-Identifier: Apache-2.0
//
// pdl.cc: whether programmatic dependent launch is used (see pdl.cuh), per device, cached.
// It needs griddepcontrol in the kernels the device runs (kernel_image.h): on an sm_90+
// device running code built for an older architecture, PdlWaitPrior() compiles to nothing,
// so a programmatic launch would let a kernel read its predecessor's output unsynchronised.

#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernel_image.h"

namespace vlart::cuda {

bool PdlEnabled() {
  static const bool env_off = [] {
    const char* v = std::getenv("VLART_PDL");
    return v != nullptr && std::strcmp(v, "0") == 0;
  }();
  if (env_off) return false;
  // 0 = unknown, 1 = no, 2 = yes; indexed by device ordinal.
  static std::array<std::atomic<int>, 64> known{};
  int device = 0;
  VLART_CUDA_CHECK(cudaGetDevice(&device));
  if (device < 0 || device >= static_cast<int>(known.size())) return false;
  int state = known[device].load(std::memory_order_relaxed);
  if (state == 0) {
    state = KernelImageHasHopperFeatures() ? 2 : 1;  // device and code sm_90+
    known[device].store(state, std::memory_order_relaxed);
  }
  return state == 2;
}

}  // namespace vlart::cuda
