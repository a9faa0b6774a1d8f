// SPDX-License-Identifier: Apache-2.0
//
// cpu_attention_test.cc: Attention (MHA/MQA/GQA, masks) and ChannelAttention of the CPU
// reference backend, against explicit per-head double loops.
//
// Tolerances are derived per element in cpu_reference_loops.h (AttentionReference,
// ChannelAttentionReference); exact cases (one key, GQA mapping) compare bitwise.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_reference_loops.h"
#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

constexpr float kMasked = -2.3819763e38f;  // openpi's finite mask value

struct AttnCase {
  int64_t batch, sq, sk, hq, hkv, d, dv;
  bool mask;
  bool fused;  // q, k, v as strided views into one fused [B, S, 3, H, D] buffer
};

TEST(CpuAttention, MatchesPerHeadDoubleLoop) {
  const std::vector<AttnCase> cases = {
      {1, 1, 1, 1, 1, 1, 1, false, false},    {1, 7, 19, 2, 2, 16, 16, true, false},
      {2, 19, 7, 4, 1, 7, 5, true, false},    // MQA, Dv != D
      {1, 111, 111, 6, 2, 64, 64, true, true},  // GQA, fused qkv views
      {2, 1, 111, 8, 4, 19, 19, false, false},  // one query (decode step)
      {1, 19, 1, 3, 3, 7, 7, true, false},   {2, 7, 7, 3, 3, 8, 8, true, true},
  };
  uint64_t seed = 100;
  for (const AttnCase& c : cases) {
    const std::string name =
        fmt::format("Attention B{} Sq{} Sk{} Hq{} Hkv{} D{} Dv{} mask{} fused{}", c.batch, c.sq,
                    c.sk, c.hq, c.hkv, c.d, c.dv, c.mask, c.fused);
    HostTensor qs, ks, vs, fused;
    Tensor q, k, v;
    if (c.fused) {
      ASSERT_EQ(c.hq, c.hkv * (c.hq / c.hkv));
      ASSERT_EQ(c.sq, c.sk);
      ASSERT_EQ(c.d, c.dv);
      // [B, S, Hq + 2 Hkv, D], as a fused qkv projection writes it.
      fused = Random({c.batch, c.sq, c.hq + 2 * c.hkv, c.d}, seed++, -2.0f, 2.0f);
      q = fused.view().Slice(2, 0, c.hq);
      k = fused.view().Slice(2, c.hq, c.hq + c.hkv);
      v = fused.view().Slice(2, c.hq + c.hkv, c.hq + 2 * c.hkv);
    } else {
      qs = Random({c.batch, c.sq, c.hq, c.d}, seed++, -2.0f, 2.0f);
      ks = Random({c.batch, c.sk, c.hkv, c.d}, seed++, -2.0f, 2.0f);
      vs = Random({c.batch, c.sk, c.hkv, c.dv}, seed++);
      q = qs.view();
      k = ks.view();
      v = vs.view();
    }
    // One [Sq, Sk] mask shared across the batch through a stride-0 dim; some keys masked.
    HostTensor mask_storage = Random({1, c.sq, c.sk}, seed++, -1.0f, 1.0f);
    for (int64_t i = 0; i < c.sq; ++i) {
      for (int64_t j = 0; j < c.sk; ++j) {
        if (c.sk > 1 && (i + 2 * j) % 5 == 0 && j != i % c.sk) {
          mask_storage.data<float>()[i * c.sk + j] = kMasked;
        }
      }
    }
    const Tensor mask = mask_storage.view().Broadcast({c.batch, c.sq, c.sk});
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
    Padded out = PaddedF32({c.batch, c.sq, c.hq, c.dv}, {0, 0, 1, 3});
    Cpu().Attention(q, k, v, c.mask ? &mask : nullptr, scale, out.view);
    std::vector<double> want, tol;
    AttentionReference(q, k, v, c.mask ? &mask : nullptr, scale, &want, &tol);
    ExpectWithin(out.view, want, tol, name);
    ExpectPaddingUntouched(out, name + " padding");
  }
}

TEST(CpuAttention, SingleKeyReturnsV) {
  // softmax over one key is exactly 1 (exp(0) / 1), so out = 1 * v bitwise.
  const HostTensor q = Random({2, 5, 4, 8}, 200, -3.0f, 3.0f);
  const HostTensor k = Random({2, 1, 4, 8}, 201);
  const HostTensor v = Random({2, 1, 4, 6}, 202);
  HostTensor out(DType::kF32, {2, 5, 4, 6});
  Cpu().Attention(q.view(), k.view(), v.view(), nullptr, 0.3f, out.view());
  ExpectBitEqual(out.view(), v.view().Broadcast({2, 5, 4, 6}), "Attention with one key");
}

TEST(CpuAttention, GqaAndMqaHeadMapping) {
  // With one key, query head h returns kv head h / (Hq / Hkv) exactly: the mapping
  // repeat_kv implies (kv head g serves query heads g*rep .. g*rep + rep - 1).
  for (const auto& [hq, hkv] : std::vector<std::pair<int64_t, int64_t>>{{8, 2}, {8, 1}, {6, 3}}) {
    const HostTensor q = Random({1, 3, hq, 4}, 210);
    const HostTensor k = Random({1, 1, hkv, 4}, 211);
    const HostTensor v = Random({1, 1, hkv, 5}, 212);
    HostTensor out(DType::kF32, {1, 3, hq, 5});
    Cpu().Attention(q.view(), k.view(), v.view(), nullptr, 0.5f, out.view());
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t g = h / (hq / hkv);
      ExpectBitEqual(out.view().Select(2, h), v.view().Select(2, g).Broadcast({1, 3, 5}),
                     fmt::format("Hq {} Hkv {}: head {} reads kv head {}", hq, hkv, h, g));
    }
  }
}

TEST(CpuAttention, FullyMaskedRowIsUniformNotNan) {
  // Every key masked with the finite -2.38e38: each masked score rounds to the mask
  // value itself (|score| is far below its ulp, ~2e31), so the row is constant and the
  // softmax uniform, as in PyTorch; the output is the mean of v over keys.
  const int64_t sk = 7;
  const HostTensor q = Random({1, 2, 2, 8}, 220, -3.0f, 3.0f);
  const HostTensor k = Random({1, sk, 2, 8}, 221, -3.0f, 3.0f);
  const HostTensor v = Random({1, sk, 2, 8}, 222);
  HostTensor mask = Full({1, 2, sk}, 0.0f);
  for (int64_t j = 0; j < sk; ++j) mask.data<float>()[j] = kMasked;  // query row 0
  HostTensor out(DType::kF32, {1, 2, 2, 8});
  Cpu().Attention(q.view(), k.view(), v.view(), &mask.view(), 0.35f, out.view());
  std::vector<double> want(2 * 8), tol(2 * 8);
  for (int64_t h = 0; h < 2; ++h) {
    for (int64_t c = 0; c < 8; ++c) {
      double sum = 0.0, abs = 0.0;
      for (int64_t j = 0; j < sk; ++j) {
        sum += At(v.view(), {0, j, h, c});
        abs += std::fabs(At(v.view(), {0, j, h, c}));
      }
      want[h * 8 + c] = sum / sk;
      // weights are f32(1/7) (one rounding) and the weighted sum adds gamma_Sk.
      tol[h * 8 + c] = (kU + Gamma(sk)) * abs / sk;
    }
  }
  ExpectWithin(out.view().Select(1, 0), want, tol, "fully masked query row");
}

TEST(CpuAttention, MaskedKeysGetNoWeight) {
  // Masking keys 3.. equals attention over keys 0..2 alone.
  const HostTensor q = Random({1, 4, 2, 16}, 230, -2.0f, 2.0f);
  const HostTensor k = Random({1, 6, 2, 16}, 231, -2.0f, 2.0f);
  const HostTensor v = Random({1, 6, 2, 16}, 232);
  HostTensor mask = Full({1, 4, 6}, 0.0f);
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 3; j < 6; ++j) mask.data<float>()[i * 6 + j] = kMasked;
  }
  HostTensor masked(DType::kF32, {1, 4, 2, 16});
  Cpu().Attention(q.view(), k.view(), v.view(), &mask.view(), 0.25f, masked.view());
  std::vector<double> want, tol;
  AttentionReference(q.view(), k.view().Slice(1, 0, 3), v.view().Slice(1, 0, 3), nullptr, 0.25,
                     &want, &tol);
  ExpectWithin(masked.view(), want, tol, "masked keys");
}

// ---- ChannelAttention -------------------------------------------------------------------

TEST(CpuChannelAttention, MatchesDoubleLoopOnFusedQkvViews) {
  for (const auto& [batch, n, groups, d] :
       std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1}, {2, 19, 3, 7}, {1, 49, 2, 32},
                                           {1, 111, 4, 5}}) {
    // Florence-2 layout: qkv [B, N, 3, G, d]; q/k/v are Select(2, i) views.
    const HostTensor qkv = Random({batch, n, 3, groups, d}, 300 + n, -2.0f, 2.0f);
    const Tensor q = qkv.view().Select(2, 0);
    const Tensor k = qkv.view().Select(2, 1);
    const Tensor v = qkv.view().Select(2, 2);
    const float scale = 1.0f / std::sqrt(static_cast<float>(n));
    Padded out = PaddedF32({batch, n, groups, d}, {0, 1, 0, 2});
    Cpu().ChannelAttention(q, k, v, scale, out.view);
    std::vector<double> want, tol;
    ChannelAttentionReference(q, k, v, scale, &want, &tol);
    const std::string name = fmt::format("ChannelAttention B{} N{} G{} d{}", batch, n, groups, d);
    ExpectWithin(out.view, want, tol, name);
    ExpectPaddingUntouched(out, name + " padding");
  }
}

TEST(CpuChannelAttention, OneChannelPerGroupReturnsV) {
  // d = 1: A is the 1x1 softmax = 1 exactly, so out = v bitwise.
  const HostTensor qkv = Random({2, 9, 3, 4, 1}, 310);
  HostTensor out(DType::kF32, {2, 9, 4, 1});
  Cpu().ChannelAttention(qkv.view().Select(2, 0), qkv.view().Select(2, 1),
                         qkv.view().Select(2, 2), 0.33f, out.view());
  ExpectBitEqual(out.view(), qkv.view().Select(2, 2), "ChannelAttention with d = 1");
}

}  // namespace
}  // namespace vlart::testing
