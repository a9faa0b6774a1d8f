// SPDX-License-Identifier: Apache-2.0
//
// probe_registry.h: the GEMM configurations the CUTLASS probe (probe_main.cu) times, each
// compiled in its own translation unit (CUTLASS instantiations are slow to compile) and
// registered by name at static-initialisation time.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

namespace probe {

// D[m, n] = X[m, k] · W[n, k]ᵀ + bias[n]; X, W, D row-major bf16 (K contiguous).
struct Problem {
  const void* x = nullptr;
  const void* w = nullptr;
  void* d = nullptr;
  const void* bias = nullptr;
  int m = 0, n = 0, k = 0;
  void* workspace = nullptr;
  int sm_count = 132;
  int splits = 1;  // stream-K scheduler only: > 1 forces a split-K decomposition
};

struct Variant {
  const char* name;
  int (*run)(const Problem&, cudaStream_t, bool pdl);
  size_t (*workspace)(const Problem&);
};

inline std::vector<Variant>& Variants() {
  static std::vector<Variant> v;
  return v;
}
inline bool Register(Variant v) {
  Variants().push_back(v);
  return true;
}

}  // namespace probe
