// SPDX-License-Identifier: Apache-2.0
//
// cpu_backend.h: the CPU reference backend ("cpu-ref"), vlart's executable spec.
//
// Every op of ops/backend.h in f32 on host memory: plain loops (OpenMP over rows),
// OpenBLAS sgemm for the matrix products. Each CUDA kernel is checked against it
// and the models' golden tests run through it. Float ops accept F32 only; Upload,
// Download and Copy also convert between F32/F16/BF16. Tensors are host memory
// (Device::kCpu), so a HostTensor view can be passed to any op directly.
// Threads: OpenMP loops follow OMP_NUM_THREADS, sgemm follows OPENBLAS_NUM_THREADS.
#pragma once

#include <memory>

#include "ops/backend.h"

namespace vlart {

// name() "cpu-ref", device() kCpu, compute_dtype() kF32. Arenas hand out
// 256-byte-aligned host memory, freed with the arena.
std::unique_ptr<Backend> CreateCpuBackend();

}  // namespace vlart
