// SPDX-License-Identifier: Apache-2.0
//
// strided.cc: host helpers that turn Tensors into kernel arguments: ToArg, dimension
// collapsing (so contiguous work takes the flat fast paths), row collapsing for GEMMs.

#include <algorithm>
#include <vector>

#include "backends/cuda/cuda_backend_impl.h"
#include "core/check.h"

namespace vlart::cuda {

StridedArg ToArg(const Tensor& t) {
  StridedArg a;
  a.data = t.data;
  a.dtype = t.dtype;
  a.ndim = t.ndim();
  for (int d = 0; d < t.ndim(); ++d) {
    a.shape[d] = t.shape[d];
    a.stride[d] = t.stride[d];
  }
  return a;
}

RowRmsArg ToRowRmsArg(const RowRmsScale& s) {
  RowRmsArg a;
  a.x = s.x.data;
  a.dtype = s.x.dtype;
  a.row_stride = s.x.shape[0] > 1 ? s.x.stride[0] : 0;  // x [R, C]: rank 2 (checked)
  a.cols = s.x.shape[1];
  a.eps = s.eps;
  return a;
}

void CollapseDims(std::initializer_list<StridedArg*> args) {
  VLART_CHECK(args.size() > 0, "CollapseDims: no operands");
  const StridedArg& first = **args.begin();
  for (const StridedArg* a : args) {
    VLART_CHECK(a->ndim == first.ndim, "CollapseDims: ranks differ");
    for (int d = 0; d < first.ndim; ++d) {
      VLART_CHECK(a->shape[d] == first.shape[d], "CollapseDims: shapes differ");
      if (first.shape[d] == 0) return;  // empty: nothing will run, keep as is
    }
  }
  const int ndim = first.ndim;
  const int num = static_cast<int>(args.size());
  // New dims, innermost first.
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> strides(num);
  for (int d = ndim - 1; d >= 0; --d) {
    const int64_t size = first.shape[d];
    if (size == 1) continue;
    bool merge = !shape.empty();
    int i = 0;
    for (const StridedArg* a : args) {
      if (merge && a->stride[d] != strides[i].back() * shape.back()) merge = false;
      ++i;
    }
    if (merge) {
      shape.back() *= size;
      continue;
    }
    shape.push_back(size);
    i = 0;
    for (const StridedArg* a : args) strides[i++].push_back(a->stride[d]);
  }
  int i = 0;
  for (StridedArg* a : args) {
    if (shape.empty()) {  // one element
      a->ndim = 1;
      a->shape[0] = 1;
      a->stride[0] = 1;
    } else {
      a->ndim = static_cast<int>(shape.size());
      for (int d = 0; d < a->ndim; ++d) {
        a->shape[d] = shape[a->ndim - 1 - d];
        a->stride[d] = strides[i][a->ndim - 1 - d];
      }
    }
    for (int d = a->ndim; d < kKernelMaxDims; ++d) {
      a->shape[d] = 0;
      a->stride[d] = 0;
    }
    ++i;
  }
}

bool CollapseRows(const Tensor& t, int64_t* rows, int64_t* row_stride) {
  VLART_CHECK(t.ndim() >= 1, "CollapseRows: a 0-d tensor");
  int64_t n = 1;
  for (int d = 0; d + 1 < t.ndim(); ++d) n *= t.shape[d];
  *rows = n;
  *row_stride = 0;
  if (n <= 1) return true;
  // The innermost leading dim of size > 1 sets the stride; every outer one must nest in it.
  int64_t stride = 0;
  int64_t span = 0;  // rows covered so far by the dims inside the current one
  for (int d = t.ndim() - 2; d >= 0; --d) {
    if (t.shape[d] == 1) continue;
    if (span == 0) {
      stride = t.stride[d];
      span = t.shape[d];
      continue;
    }
    if (t.stride[d] != stride * span) return false;
    span *= t.shape[d];
  }
  *row_stride = stride;
  return true;
}

int64_t RowStride(const Tensor& t) {
  return t.dim(0) > 1 ? t.stride[0] : std::max<int64_t>(t.dim(1), 1);
}

ActKind ToActKind(Activation act) {
  switch (act) {
    case Activation::kNone: return ActKind::kNone;
    case Activation::kGeluErf: return ActKind::kGeluErf;
    case Activation::kGeluTanh: return ActKind::kGeluTanh;
    case Activation::kSilu: return ActKind::kSilu;
    case Activation::kSigmoid: return ActKind::kSigmoid;
  }
  VLART_CHECK(false, "unknown Activation {}", static_cast<int>(act));
  return ActKind::kNone;
}

bool IsComputeFloat(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

int ElementBytes(DType dtype) {
  VLART_CHECK(DTypeBits(dtype) % 8 == 0, "packed dtype {} has no element size", DTypeName(dtype));
  return DTypeBits(dtype) / 8;
}

const void* OffsetPtr(const void* p, int64_t elements, DType dtype) {
  return static_cast<const char*>(p) + elements * ElementBytes(dtype);
}

void* OffsetPtr(void* p, int64_t elements, DType dtype) {
  return static_cast<char*>(p) + elements * ElementBytes(dtype);
}

}  // namespace vlart::cuda
