// SPDX-License-Identifier: Apache-2.0
//
// cpu_torch_reference_test.cc: the CPU backend against outputs of the real PyTorch /
// transformers code, for the ops whose exact interpretation matters most.
//
// Data: tests/ops/data/*.f32|i32, written by tests/ops/data/gen_torch_refs.py (its
// header says how to run it and what each case is). Tolerances are the derived bounds
// of cpu_reference_loops.h applied to |ours - torch|: torch's f32 result is itself
// within such a bound of the exact value, so we allow twice the bound. The exact
// double results are not used here: the point is agreement with torch's code path.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu_reference_loops.h"
#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

std::vector<double> Twice(std::vector<double> tol) {
  for (double& t : tol) t *= 2;
  return tol;
}

TEST(CpuRope, MatchesTransformersGemmaRotary) {
  // x [1, 5, 2, 256], positions [0, 1, 17, 255, 1023], theta 10000 (pi0's Gemma RoPE).
  const HostTensor x = ReadF32("rope_gemma_x.f32", {1, 5, 2, 256});
  const HostTensor pos = ReadI32("rope_gemma_positions.i32", {1, 5});
  const HostTensor want = ReadF32("rope_gemma_out.f32", {1, 5, 2, 256});
  HostTensor out(DType::kF32, {1, 5, 2, 256});
  Cpu().Rope(x.view(), pos.view(), 10000.0f, out.view());
  // Both compute inv_freq and the angle in f32 the same way, so this bound (which
  // also allows for the angle rounding) is generous; twice it covers torch's own error.
  std::vector<double> exact, tol;
  RopeReference(x.view(), pos.view(), 10000.0, &exact, &tol);
  ExpectWithin(out.view(), ToDouble(want.view()), Twice(tol), "RoPE vs transformers Gemma");
}

TEST(CpuChannelAttention, MatchesTransformersFlorence2) {
  // qkv [1, 49, 192] viewed [B, N, 3, G, d] = [1, 49, 3, 2, 32]; scale N^-0.5.
  const HostTensor qkv = ReadF32("channel_attn_qkv.f32", {1, 49, 192});
  const HostTensor want = ReadF32("channel_attn_out.f32", {1, 49, 64});
  const Tensor v5 = qkv.view().Reshape({1, 49, 3, 2, 32});
  HostTensor out(DType::kF32, {1, 49, 2, 32});
  Cpu().ChannelAttention(v5.Select(2, 0), v5.Select(2, 1), v5.Select(2, 2),
                         1.0f / std::sqrt(49.0f), out.view());
  std::vector<double> exact, tol;
  ChannelAttentionReference(v5.Select(2, 0), v5.Select(2, 1), v5.Select(2, 2),
                            1.0f / std::sqrt(49.0f), &exact, &tol);
  ExpectWithin(out.view().Reshape({1, 49, 64}), ToDouble(want.view()), Twice(tol), "ChannelAttention vs Florence-2");
}

TEST(CpuAttention, MatchesTransformersGqaWithOpenpiMask) {
  // q [1, 4, 8, 16], k/v [1, 6, 2, 16], mask [1, 4, 6] with a fully masked row 2,
  // scale 0.25, GQA 8 query heads over 2 kv heads (repeat_kv).
  const HostTensor q = ReadF32("gqa_attn_q.f32", {1, 4, 8, 16});
  const HostTensor k = ReadF32("gqa_attn_k.f32", {1, 6, 2, 16});
  const HostTensor v = ReadF32("gqa_attn_v.f32", {1, 6, 2, 16});
  const HostTensor mask = ReadF32("gqa_attn_mask.f32", {1, 4, 6});
  const HostTensor want = ReadF32("gqa_attn_out.f32", {1, 4, 8, 16});
  HostTensor out(DType::kF32, {1, 4, 8, 16});
  Cpu().Attention(q.view(), k.view(), v.view(), &mask.view(), 0.25f, out.view());
  std::vector<double> exact, tol;
  AttentionReference(q.view(), k.view(), v.view(), &mask.view(), 0.25, &exact, &tol);
  ExpectWithin(out.view(), ToDouble(want.view()), Twice(tol), "GQA attention vs transformers");
  for (int64_t i = 0; i < out.numel(); ++i) ASSERT_FALSE(std::isnan(out.data<float>()[i])) << i;
}

}  // namespace
}  // namespace vlart::testing
