// SPDX-License-Identifier: Apache-2.0
//
// rope_op.cc: CudaBackend::Rope and RopeQkv: validation and the inverse frequencies (kernels in
// rope.cu).
//
// inv_freq[i] = 1 / theta^(2i / D) is computed here in f32 exactly as HF's rotary embeddings
// do on the CPU (`1.0 / (base ** (arange(0, D, 2).float() / D))`: an f32 exponent, powf, an
// f32 reciprocal) and passed to the kernel by value, so the device never evaluates powf. Rope
// and RopeQkv fill it with the same function, so both kernels see the same bits.

#include <cmath>
#include <limits>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {
namespace {

// inv_freq[0, D/2) for head dim D (<= 2 kRopeMaxHalf, checked by the callers).
void FillInvFreq(float theta, int64_t head_dim, float* inv_freq) {
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv_freq[i] = 1.0f / std::pow(theta, exponent);  // float overload: f32 powf
  }
}

RopeQkvView ToView(const Tensor& t) {  // t [B, S, H, *], innermost contiguous (checked)
  RopeQkvView v;
  v.data = t.data;
  v.dtype = t.dtype;
  v.sb = t.stride[0];
  v.ss = t.stride[1];
  v.sh = t.stride[2];
  return v;
}

}  // namespace

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
  FillInvFreq(theta, head_dim, a.inv_freq);
  LaunchRope(a, stream_);
  AfterOp("Rope");
}

void CudaBackend::RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v,
                          const Tensor& positions, float theta, const Tensor& q_out,
                          const Tensor& k_out, const Tensor& v_out,
                          const RowRmsScale* row_scale) {
  BeginOp();
  // q, q_out [B, S, Hq, D]; k, k_out [B, S, Hkv, D]; v, v_out [B, S, Hkv, Dv]; positions [B, S];
  // row_scale->x [B * S, C]
  CheckRopeQkvArgs(Device::kCuda, q, k, v, positions, theta, q_out, k_out, v_out, row_scale);
  const int64_t head_dim = q.dim(3);
  VLART_CHECK(head_dim / 2 <= kRopeMaxHalf, "RopeQkv: head dim at most {}, got q {}",
              2 * kRopeMaxHalf, q.ToString());
  const int64_t hq = q.dim(2), hkv = k.dim(2), dv = v.dim(3);
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  VLART_CHECK(hq + 2 * hkv <= kIntMax / kRopeMaxHalf && dv <= kIntMax,
              "RopeQkv: q {} and k {} have too many heads, or v {} too wide a head, for one "
              "launch",
              q.ToString(), k.ToString(), v.ToString());
  if (head_dim == 0) {  // nothing to rotate (q and k are empty): the op is Copy(v, v_out)
    StridedArg s = ToArg(v);
    StridedArg d = ToArg(v_out);
    CollapseDims({&s, &d});
    LaunchCopy(s, d, stream_);
    AfterOp("RopeQkv");
    return;
  }
  RopeQkvArgs a;
  a.q = ToView(q);
  a.k = ToView(k);
  a.v = ToView(v);
  a.q_out = ToView(q_out);
  a.k_out = ToView(k_out);
  a.v_out = ToView(v_out);
  a.positions = positions.data_as<const int32_t>();
  a.pos_sb = positions.stride[0];
  a.pos_ss = positions.stride[1];
  a.batch = q.dim(0);
  a.seq = q.dim(1);
  a.hq = static_cast<int>(hq);
  a.hkv = static_cast<int>(hkv);
  a.dv = static_cast<int>(dv);
  a.half = static_cast<int>(head_dim / 2);
  FillInvFreq(theta, head_dim, a.inv_freq);
  if (row_scale != nullptr) a.rms = ToRowRmsArg(*row_scale);
  LaunchRopeQkv(a, stream_);
  AfterOp("RopeQkv");
}

}  // namespace vlart::cuda
