// SPDX-License-Identifier: Apache-2.0
//
// rope_op.cc: CudaBackend::Rope: validation and the inverse frequencies (kernel in rope.cu).
//
// inv_freq[i] = 1 / theta^(2i / D) is computed here in f32 exactly as HF's rotary embeddings
// do on the CPU (`1.0 / (base ** (arange(0, D, 2).float() / D))`: an f32 exponent, powf, an
// f32 reciprocal) and passed to the kernel by value, so the device never evaluates powf.

#include <cmath>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"

namespace vlart::cuda {

void CudaBackend::Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) {
  BeginOp();
  CheckDeviceTensor(x, "Rope", "x");
  CheckDeviceTensor(positions, "Rope", "positions");
  CheckDeviceTensor(out, "Rope", "out");
  VLART_CHECK(x.ndim() == 4 && SameShape(x, out), "Rope: x and out must be one [B, S, H, D] shape, got {} and {}",
              x.ToString(), out.ToString());
  VLART_CHECK(IsComputeFloat(x.dtype) && IsComputeFloat(out.dtype), "Rope: x and out must be F32/F16/BF16");
  const int64_t head_dim = x.dim(3);
  VLART_CHECK(head_dim % 2 == 0 && head_dim / 2 <= kRopeMaxHalf,
              "Rope: head dim must be even and at most {}, got {}", 2 * kRopeMaxHalf, head_dim);
  VLART_CHECK(positions.dtype == DType::kI32 && positions.ndim() == 2 && positions.dim(0) == x.dim(0) &&
                  positions.dim(1) == x.dim(1),
              "Rope: positions must be I32 [{}, {}], got {}", x.dim(0), x.dim(1), positions.ToString());
  if (x.data == out.data) {
    VLART_CHECK(x.stride == out.stride && x.dtype == out.dtype,
                "Rope: in place needs out to be the same view as x: {} vs {}", x.ToString(), out.ToString());
  }
  RopeArgs a;
  a.x = ToArg(x);
  a.out = ToArg(out);
  a.positions = positions.data_as<const int32_t>();
  a.pos_sb = positions.stride[0];
  a.pos_ss = positions.stride[1];
  a.half = static_cast<int>(head_dim / 2);
  for (int i = 0; i < a.half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    a.inv_freq[i] = 1.0f / std::pow(theta, exponent);  // float overload: f32 powf
  }
  LaunchRope(a, stream_);
  AfterOp("Rope");
}

}  // namespace vlart::cuda
