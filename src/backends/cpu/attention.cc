// SPDX-License-Identifier: Apache-2.0
//
// attention.cc: Attention (multi-head, MQA/GQA) and ChannelAttention (DaViT) on the
// CPU reference backend.
//
// Math:
//   Attention, per batch b and query head h, with g = h / (Hq / Hkv):
//     S[i, j]   = scale * Σ_d q[b, i, h, d] k[b, j, g, d] + mask[b, i, j]
//     P[i, :]   = softmax(S[i, :])
//     out[b, i, h, :] = Σ_j P[i, j] v[b, j, g, :]
//   ChannelAttention, per batch b and channel group g (q, k, v, out [B, N, G, d]):
//     A[i, j]   = softmax_j(scale * Σ_n q[b, n, g, i] k[b, n, g, j])      A is [d, d]
//     out[b, n, g, i] = Σ_j A[i, j] v[b, n, g, j]
// Reference: transformers eager_attention_forward (matmul(q, kᵀ) * scaling + mask,
//   softmax in f32, matmul with v), with GQA as repeat_kv (query head h reads kv head
//   h / n_rep); transformers Florence2VisionChannelAttention (qkv reshaped
//   [B, N, 3, G, d] and permuted so that channels are the "sequence" and tokens the
//   reduced dim; scale = N^-0.5; output permuted back to [B, N, G, d]).
// Numerics: both products are OpenBLAS sgemm in f32 (scale applied as sgemm's alpha);
// the mask is added in f32; the softmax is SoftmaxRowInPlace (softmax.cc), so a row
// masked everywhere with the finite -2.3819763e38 comes out uniform, as in torch.

#include <cstdint>
#include <vector>

#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_util.h"
#include "ops/op_checks.h"

namespace vlart::cpu {
namespace {

// dst rows (row stride dst_row_stride, unit inner stride) = src [rows, cols] contiguous.
void StoreRows(const float* src, int64_t rows, int64_t cols, float* dst, int64_t dst_row_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * cols;
    float* d = dst + r * dst_row_stride;
    for (int64_t c = 0; c < cols; ++c) d[c] = s[c];
  }
}

}  // namespace

void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
               const Tensor& out) {
  CheckAttentionArgs(Device::kCpu, q, k, v, mask, scale, out);
  RequireF32("Attention", "q", q);
  RequireF32("Attention", "k", k);
  RequireF32("Attention", "v", v);
  RequireF32("Attention", "out", out);
  const int64_t batch = q.shape[0];
  const int64_t sq = q.shape[1];
  const int64_t hq = q.shape[2];
  const int64_t d = q.shape[3];
  const int64_t sk = k.shape[1];
  const int64_t hkv = k.shape[2];
  const int64_t dv = v.shape[3];
  if (out.numel() == 0) return;
  const int64_t group = hq / hkv;  // query heads per kv head
  std::vector<float> scores(static_cast<size_t>(sq * sk));  // [Sq, Sk]
  std::vector<float> o(static_cast<size_t>(sq * dv));       // [Sq, Dv]
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t g = h / group;
      const float* qh = q.data_as<const float>() + b * q.stride[0] + h * q.stride[2];
      const float* kg = k.data_as<const float>() + b * k.stride[0] + g * k.stride[2];
      const float* vg = v.data_as<const float>() + b * v.stride[0] + g * v.stride[2];
      Gemm(/*trans_a=*/false, {qh, sq, d, q.stride[1]}, /*trans_b=*/true, {kg, sk, d, k.stride[1]},
           scale, scores.data(), sk);
#pragma omp parallel for schedule(static) if (sq * sk >= kParallelWork)
      for (int64_t i = 0; i < sq; ++i) {
        float* row = scores.data() + i * sk;
        if (mask != nullptr) {
          const float* m =
              mask->data_as<const float>() + b * mask->stride[0] + i * mask->stride[1];
          for (int64_t j = 0; j < sk; ++j) row[j] = row[j] + m[j];
        }
        SoftmaxRowInPlace(row, sk);
      }
      Gemm(/*trans_a=*/false, {scores.data(), sq, sk, sk}, /*trans_b=*/false,
           {vg, sk, dv, v.stride[1]}, 1.0f, o.data(), dv);
      StoreRows(o.data(), sq, dv, out.data_as<float>() + b * out.stride[0] + h * out.stride[2],
                out.stride[1]);
    }
  }
}

void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                      const Tensor& out) {
  CheckChannelAttentionArgs(Device::kCpu, q, k, v, scale, out);
  RequireF32("ChannelAttention", "q", q);
  RequireF32("ChannelAttention", "k", k);
  RequireF32("ChannelAttention", "v", v);
  RequireF32("ChannelAttention", "out", out);
  const int64_t batch = q.shape[0];
  const int64_t n = q.shape[1];
  const int64_t groups = q.shape[2];
  const int64_t d = q.shape[3];
  if (out.numel() == 0) return;
  std::vector<float> a(static_cast<size_t>(d * d));  // [d, d]
  std::vector<float> o(static_cast<size_t>(n * d));  // [N, d]
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* qg = q.data_as<const float>() + b * q.stride[0] + g * q.stride[2];
      const float* kg = k.data_as<const float>() + b * k.stride[0] + g * k.stride[2];
      const float* vg = v.data_as<const float>() + b * v.stride[0] + g * v.stride[2];
      // A = scale * qᵀ k: q and k are stored [N, d], so op(q) = qᵀ is [d, N].
      Gemm(/*trans_a=*/true, {qg, n, d, q.stride[1]}, /*trans_b=*/false, {kg, n, d, k.stride[1]},
           scale, a.data(), d);
      for (int64_t i = 0; i < d; ++i) SoftmaxRowInPlace(a.data() + i * d, d);
      // out[n, i] = Σ_j A[i, j] v[n, j]  ->  out = v · Aᵀ.
      Gemm(/*trans_a=*/false, {vg, n, d, v.stride[1]}, /*trans_b=*/true, {a.data(), d, d, d}, 1.0f,
           o.data(), d);
      StoreRows(o.data(), n, d, out.data_as<float>() + b * out.stride[0] + g * out.stride[2],
                out.stride[1]);
    }
  }
}

}  // namespace vlart::cpu
