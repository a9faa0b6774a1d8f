// SPDX-License-Identifier: Apache-2.0
//
// embedding.cc: Embedding on the CPU reference backend.
//
// Math: out[n, :] = table[ids[n], :], ids I32 [N], table [V, D], out [N, D].
// Reference: torch.nn.functional.embedding (no max_norm, no scaling).
// Numerics: a copy; exact. The caller guarantees 0 <= id < V (backend.h); the
// reference still checks it, so a bad id aborts here instead of reading out of bounds.

#include <cstdint>
#include <cstring>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {

void Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) {
  CheckEmbeddingArgs(Device::kCpu, ids, table, out);
  RequireF32("Embedding", "table", table);
  RequireF32("Embedding", "out", out);
  const int64_t n = ids.shape[0];
  const int64_t v = table.shape[0];
  const int64_t d = table.shape[1];
  const int32_t* id = ids.data_as<const int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    VLART_CHECK(id[i] >= 0 && id[i] < v, "Embedding: ids[{}] = {} is outside the table [{}, {}]",
                i, id[i], v, d);
  }
  if (d == 0) return;
#pragma omp parallel for schedule(static) if (n * d >= kParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(RowPtr<float>(out, i), RowPtr<const float>(table, id[i]), d * sizeof(float));
  }
}

}  // namespace vlart::cpu
