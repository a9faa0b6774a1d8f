// SPDX-License-Identifier: Apache-2.0
//
// cpu_util.cc: row addressing and the f32-only rule (cpu_util.h).

#include "backends/cpu/cpu_util.h"

#include "ops/op_checks.h"

namespace vlart::cpu {

void RequireF32(std::string_view op, std::string_view name, const Tensor& t) {
  RequireDTypes(op, name, t, {DType::kF32}, "the CPU reference backend");
}

int64_t NumRows(const Tensor& t) {
  int64_t n = 1;
  for (int i = 0; i + 1 < t.ndim(); ++i) n *= t.shape[i];
  return n;
}

int64_t RowOffset(const Tensor& t, int64_t row) {
  int64_t off = 0;
  for (int i = t.ndim() - 2; i >= 0; --i) {
    const int64_t d = t.shape[i];
    off += (row % d) * t.stride[i];
    row /= d;
  }
  return off;
}

int64_t ElementOffset(const Tensor& t, int64_t index) {
  int64_t off = 0;
  for (int i = t.ndim() - 1; i >= 0; --i) {
    const int64_t d = t.shape[i];
    off += (index % d) * t.stride[i];
    index /= d;
  }
  return off;
}

int64_t RowLength(const Tensor& t) { return t.ndim() == 0 ? 1 : t.shape[t.ndim() - 1]; }

int64_t InnerStride(const Tensor& t) { return t.ndim() == 0 ? 1 : t.stride[t.ndim() - 1]; }

}  // namespace vlart::cpu
