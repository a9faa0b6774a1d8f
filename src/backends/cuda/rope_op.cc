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
#include "ops/op_checks.h"

namespace vlart::cuda {

void CudaBackend::Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) {
  BeginOp();
  CheckRopeArgs(Device::kCuda, x, positions, theta, out);  // x, out [B, S, H, D]; positions [B, S]
  const int64_t head_dim = x.dim(3);
  VLART_CHECK(head_dim / 2 <= kRopeMaxHalf, "Rope: head dim at most {}, got x {}", 2 * kRopeMaxHalf,
              x.ToString());
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
