// SPDX-License-Identifier: Apache-2.0
//
// cpu_rope_test.cc: Rope (rotate-half) of the CPU reference backend.
//
// Reference in double from backend.h's formula. The backend follows transformers'
// Gemma path in f32 (inv_freq, then angle = pos * inv_freq rounded to f32), so against
// an all-double reference the angle differs by up to |pos| inv_freq 3u (powf within an
// ulp, the reciprocal and the product each u); the rotated pair then moves by at most
// that angle error times (|x1| + |x2|), plus 4u (|x1| + |x2|) for cosf/sinf (<= 1 ulp
// each), the two products and the sum.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "cpu_reference_loops.h"
#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

HostTensor Positions(int64_t batch, int64_t seq, int32_t first, int32_t step) {
  HostTensor p(DType::kI32, {batch, seq});
  for (int64_t i = 0; i < p.numel(); ++i) p.data<int32_t>()[i] = first + step * static_cast<int32_t>(i);
  return p;
}

TEST(CpuRope, HandComputedPairRotation) {
  // D = 2: inv_freq[0] = 1, so the pair (1, 0) at position 1 becomes (cos 1, sin 1).
  HostTensor x(DType::kF32, {1, 1, 1, 2});
  x.data<float>()[0] = 1.0f;
  x.data<float>()[1] = 0.0f;
  const HostTensor pos = Positions(1, 1, 1, 0);
  HostTensor out(DType::kF32, {1, 1, 1, 2});
  Cpu().Rope(x.view(), pos.view(), 10000.0f, out.view());
  ExpectWithin(out.view(), {std::cos(1.0), std::sin(1.0)}, {2 * kU, 2 * kU},
               "rotation of (1, 0) by 1 rad");
}

TEST(CpuRope, PositionZeroIsIdentity) {
  // cos 0 = 1 and sin 0 = 0 exactly: x * 1 - y * 0 = x bitwise.
  const HostTensor x = Random({2, 5, 3, 64}, 500, -4.0f, 4.0f);
  const HostTensor pos = Positions(2, 5, 0, 0);
  HostTensor out(DType::kF32, {2, 5, 3, 64});
  Cpu().Rope(x.view(), pos.view(), 10000.0f, out.view());
  ExpectBitEqual(out.view(), x.view(), "RoPE at position 0");
}

TEST(CpuRope, PreservesPairNorms) {
  const HostTensor x = Random({1, 19, 2, 128}, 510);
  const HostTensor pos = Positions(1, 19, 3, 97);
  HostTensor out(DType::kF32, {1, 19, 2, 128});
  Cpu().Rope(x.view(), pos.view(), 10000.0f, out.view());
  for (int64_t s = 0; s < 19; ++s) {
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t i = 0; i < 64; ++i) {
        const double a = At(x.view(), {0, s, h, i}), b = At(x.view(), {0, s, h, i + 64});
        const double c = At(out.view(), {0, s, h, i}), d = At(out.view(), {0, s, h, i + 64});
        // cos²+sin² of the f32 cos/sin is 1 within 4u; products and sums add 4u.
        EXPECT_NEAR(c * c + d * d, a * a + b * b, 8 * kU * (a * a + b * b) * 2)
            << "s " << s << " h " << h << " i " << i;
      }
    }
  }
}

TEST(CpuRope, MatchesDoubleReferenceOnStridedViews) {
  // x is the k part of a fused [B, S, Hq + Hkv, D] buffer; positions differ per batch.
  for (int64_t dim : {2, 16, 256}) {
    const HostTensor fused = Random({2, 7, 5, dim}, 520 + dim, -2.0f, 2.0f);
    const Tensor x = fused.view().Slice(2, 3, 5);  // [2, 7, 2, D]
    HostTensor pos = Positions(2, 7, 0, 151);      // up to 13 * 151 = 1963
    Padded out = PaddedF32({2, 7, 2, dim}, {0, 1, 1, 2});
    Cpu().Rope(x, pos.view(), 10000.0f, out.view);
    std::vector<double> want, tol;
    RopeReference(x, pos.view(), 10000.0, &want, &tol);
    ExpectWithin(out.view, want, tol, fmt::format("RoPE D={}", dim));
    ExpectPaddingUntouched(out, "RoPE out padding");
  }
}

TEST(CpuRope, InPlaceMatchesOutOfPlace) {
  const HostTensor x = Random({1, 7, 3, 32}, 530);
  const HostTensor pos = Positions(1, 7, 5, 11);
  HostTensor out(DType::kF32, {1, 7, 3, 32});
  Cpu().Rope(x.view(), pos.view(), 500000.0f, out.view());
  HostTensor inplace = HostTensor::CopyOf(x.view());
  Cpu().Rope(inplace.view(), pos.view(), 500000.0f, inplace.view());
  ExpectBitEqual(inplace.view(), out.view(), "RoPE in place");
}

// ---- RopeQkv --------------------------------------------------------------------------------

struct QkvShape {
  int64_t b, s, hq, hkv, d, dv;  // dv != d: v comes from its own buffer (not the fused qkv)
  int64_t cache_len, offset;     // K/V cache [B, cache_len, Hkv, *]; written at [offset, offset+S)
};

// Bitwise equality of two whole f32 buffers (same shape), for "nothing else changed".
void ExpectSameBits(const HostTensor& got, const HostTensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  EXPECT_EQ(std::memcmp(got.view().data, want.view().data, got.view().nbytes()), 0) << what;
}

TEST(CpuRopeQkv, BitEqualToRopeRopeCopyOnFusedViewsAndCacheSlices) {
  uint64_t seed = 600;
  for (const QkvShape& c : {QkvShape{1, 50, 8, 1, 256, 256, 50, 0},   // pi0 expert, cache start
                            QkvShape{1, 10, 8, 1, 256, 256, 70, 57},  // pi0.5 expert after prefix
                            QkvShape{2, 7, 3, 2, 64, 64, 12, 5},      // odd S, GQA, batch 2
                            QkvShape{3, 5, 4, 2, 32, 48, 9, 3},       // batch 3, Dv != D
                            QkvShape{1, 3, 1, 1, 2, 2, 4, 1}}) {      // D = 2
    SCOPED_TRACE(::testing::Message() << "B " << c.b << " S " << c.s << " Hq " << c.hq << " Hkv "
                                      << c.hkv << " D " << c.d << " Dv " << c.dv);
    const int64_t heads = c.hq + 2 * c.hkv;
    const HostTensor fused = Random({c.b, c.s, heads, c.d}, ++seed, -3.0f, 3.0f);
    const HostTensor v_own = Random({c.b, c.s, c.hkv, c.dv}, ++seed, -3.0f, 3.0f);
    const HostTensor k_cache0 = Random({c.b, c.cache_len, c.hkv, c.d}, ++seed);
    const HostTensor v_cache0 = Random({c.b, c.cache_len, c.hkv, c.dv}, ++seed);
    HostTensor pos(DType::kI32, {c.b, c.s});
    for (int64_t i = 0; i < pos.numel(); ++i) {
      pos.data<int32_t>()[i] = static_cast<int32_t>((i * 389 + seed) % 1024);
    }
    const float theta = 10000.0f;
    auto q_of = [&](const HostTensor& f) { return f.view().Slice(2, 0, c.hq); };
    auto k_of = [&](const HostTensor& f) { return f.view().Slice(2, c.hq, c.hq + c.hkv); };
    auto v_of = [&](const HostTensor& f) {
      return c.dv == c.d ? f.view().Slice(2, c.hq + c.hkv, heads) : v_own.view();
    };
    auto rows = [&](const HostTensor& cache) {
      return cache.view().Slice(1, c.offset, c.offset + c.s);
    };

    // The chain: q rotated in place, k rotated into the K cache, v copied into the V cache.
    HostTensor want_fused = HostTensor::CopyOf(fused.view());
    HostTensor want_k = HostTensor::CopyOf(k_cache0.view());
    HostTensor want_v = HostTensor::CopyOf(v_cache0.view());
    Cpu().Rope(q_of(want_fused), pos.view(), theta, q_of(want_fused));
    Cpu().Rope(k_of(want_fused), pos.view(), theta, rows(want_k));
    Cpu().Copy(v_of(want_fused), rows(want_v));

    HostTensor got_fused = HostTensor::CopyOf(fused.view());
    HostTensor got_k = HostTensor::CopyOf(k_cache0.view());
    HostTensor got_v = HostTensor::CopyOf(v_cache0.view());
    Cpu().RopeQkv(q_of(got_fused), k_of(got_fused), v_of(got_fused), pos.view(), theta,
                  q_of(got_fused), rows(got_k), rows(got_v), nullptr);
    ExpectSameBits(got_fused, want_fused, "fused qkv (q in place, k and v untouched)");
    ExpectSameBits(got_k, want_k, "K cache");
    ExpectSameBits(got_v, want_v, "V cache");
    // The chain itself did something: q rotated, cache rows replaced, other rows kept.
    ExpectBitEqual(rows(got_v), v_of(fused), "V cache rows = v");
    ExpectBitEqual(k_of(got_fused), k_of(fused), "k input untouched");
    ExpectBitEqual(got_k.view().Slice(1, 0, c.offset), k_cache0.view().Slice(1, 0, c.offset),
                   "K cache rows before the offset");

    // Out of place for q too, into a padded output (sentinels must survive).
    Padded q_out = PaddedF32({c.b, c.s, c.hq, c.d}, {1, 2, 1, 3});
    Padded k_out = PaddedF32({c.b, c.s, c.hkv, c.d}, {0, 1, 2, 0});
    Padded v_out = PaddedF32({c.b, c.s, c.hkv, c.dv}, {2, 0, 1, 1});
    Cpu().RopeQkv(q_of(fused), k_of(fused), v_of(fused), pos.view(), theta, q_out.view,
                  k_out.view, v_out.view, nullptr);
    ExpectBitEqual(q_out.view, q_of(want_fused), "q_out padded");
    ExpectBitEqual(k_out.view, rows(want_k), "k_out padded");
    ExpectBitEqual(v_out.view, rows(want_v), "v_out padded");
    ExpectPaddingUntouched(q_out, "q_out padding");
    ExpectPaddingUntouched(k_out, "k_out padding");
    ExpectPaddingUntouched(v_out, "v_out padding");
  }
}

TEST(CpuRopeQkv, KInPlaceAndRotationAgainstDouble) {
  // k_out == k (in place) and the rotated values against the double reference.
  const HostTensor fused = Random({2, 9, 6, 16}, 640, -2.0f, 2.0f);  // Hq 4, Hkv 1
  HostTensor pos(DType::kI32, {2, 9});
  for (int64_t i = 0; i < pos.numel(); ++i) pos.data<int32_t>()[i] = static_cast<int32_t>(97 * i);
  HostTensor work = HostTensor::CopyOf(fused.view());
  const Tensor q = work.view().Slice(2, 0, 4), k = work.view().Slice(2, 4, 5);
  HostTensor v_out(DType::kF32, {2, 9, 1, 16});
  Cpu().RopeQkv(q, k, work.view().Slice(2, 5, 6), pos.view(), 10000.0f, q, k, v_out.view(), nullptr);
  for (const auto& [name, lo, hi] : {std::tuple<const char*, int64_t, int64_t>{"q", 0, 4},
                                     {"k", 4, 5}}) {
    std::vector<double> want, tol;
    RopeReference(fused.view().Slice(2, lo, hi), pos.view(), 10000.0, &want, &tol);
    ExpectWithin(work.view().Slice(2, lo, hi), want, tol, fmt::format("{} in place", name));
  }
  ExpectBitEqual(v_out.view(), fused.view().Slice(2, 5, 6), "v copied");
}

// A row scale (RowRmsScale): at position 0 RoPE is the identity (cos 0 = 1, sin 0 = 0), so every
// q, k and v element of token r must come out as value * s[r], s[r] = 1 / sqrt(mean(x[r]²) + eps)
// worked out by hand: x rows [2, 2, 2, 2] (s = 1 / sqrt(4 + eps)) and [1, -1, 1, -1].
TEST(CpuRopeQkv, RowScaleByHandAtPositionZero) {
  const HostTensor fused = Random({1, 2, 4, 8}, 651, -2.0f, 2.0f);  // Hq 2, Hkv 1, D 8
  HostTensor work = HostTensor::CopyOf(fused.view());
  const Tensor q = work.view().Slice(2, 0, 2), k = work.view().Slice(2, 2, 3),
               v = work.view().Slice(2, 3, 4);
  HostTensor pos(DType::kI32, {1, 2});
  pos.data<int32_t>()[0] = pos.data<int32_t>()[1] = 0;
  HostTensor x(DType::kF32, {2, 4});
  const float xv[] = {2.0f, 2.0f, 2.0f, 2.0f, 1.0f, -1.0f, 1.0f, -1.0f};
  std::copy(std::begin(xv), std::end(xv), x.data<float>());
  const float eps = 0.5f;
  const double s[] = {1.0 / std::sqrt(4.5), 1.0 / std::sqrt(1.5)};
  HostTensor kc(DType::kF32, {1, 2, 1, 8}), vc(DType::kF32, {1, 2, 1, 8});
  const RowRmsScale rs{x.view(), eps};
  Cpu().RopeQkv(q, k, v, pos.view(), 10000.0f, q, kc.view(), vc.view(), &rs);
  for (int64_t t = 0; t < 2; ++t) {
    for (int64_t e = 0; e < 8; ++e) {
      for (int64_t h = 0; h < 2; ++h) {
        const double want = fused.data<float>()[(t * 4 + h) * 8 + e] * s[t];
        EXPECT_NEAR(work.data<float>()[(t * 4 + h) * 8 + e], want, 2.5e-7 * std::fabs(want)) << "q";
      }
      const double kw = fused.data<float>()[(t * 4 + 2) * 8 + e] * s[t];
      const double vw = fused.data<float>()[(t * 4 + 3) * 8 + e] * s[t];
      EXPECT_NEAR(kc.data<float>()[t * 8 + e], kw, 2.5e-7 * std::fabs(kw)) << "k";
      EXPECT_NEAR(vc.data<float>()[t * 8 + e], vw, 2.5e-7 * std::fabs(vw)) << "v";
    }
  }
  // k and v in the fused buffer are inputs only.
  ExpectBitEqual(work.view().Slice(2, 2, 4), fused.view().Slice(2, 2, 4), "k, v inputs untouched");
  // Wrong number of rows: the op's message.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const HostTensor x3 = Full({3, 4}, 1.0f);
  const RowRmsScale wrong{x3.view(), eps};
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 10000.0f, q, kc.view(), vc.view(), &wrong),
               "RopeQkv: row_scale.x \\[3, 4\\] must have one row per token row \\(B \\* S of q = "
               "2\\), got 3");
}

TEST(CpuRopeQkv, BadArgumentsAbortWithTheOpsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  HostTensor fused = Full({1, 5, 10, 8}, 1.0f);  // Hq 8, Hkv 1, D 8
  const Tensor q = fused.view().Slice(2, 0, 8), k = fused.view().Slice(2, 8, 9),
               v = fused.view().Slice(2, 9, 10);
  HostTensor pos(DType::kI32, {1, 5});
  for (int64_t i = 0; i < 5; ++i) pos.data<int32_t>()[i] = static_cast<int32_t>(i);
  HostTensor kc = Full({1, 5, 1, 8}, 0.0f), vc = Full({1, 5, 1, 8}, 0.0f);
  // k's head dim differs from q's.
  HostTensor k6 = Full({1, 5, 1, 6}, 1.0f), kc6 = Full({1, 5, 1, 6}, 0.0f);
  EXPECT_DEATH(Cpu().RopeQkv(q, k6.view(), v, pos.view(), 1e4f, q, kc6.view(), vc.view(), nullptr),
               "RopeQkv: k \\[1, 5, 1, 6\\] and q \\[1, 5, 8, 8\\] disagree on D \\(6 vs 8\\)");
  // v has two kv heads, k one.
  HostTensor v2 = Full({1, 5, 2, 8}, 1.0f), vc2 = Full({1, 5, 2, 8}, 0.0f);
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v2.view(), pos.view(), 1e4f, q, kc.view(), vc2.view(), nullptr),
               "RopeQkv: v \\[1, 5, 2, 8\\] and k \\[1, 5, 1, 8\\] disagree on Hkv \\(2 vs 1\\)");
  // The K cache slice has the wrong token count.
  HostTensor kc4 = Full({1, 4, 1, 8}, 0.0f);
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 1e4f, q, kc4.view(), vc.view(), nullptr),
               "RopeQkv: k \\[1, 5, 1, 8\\] and k_out \\[1, 4, 1, 8\\] must have the same shape");
  // positions for another sequence length, or not I32.
  HostTensor pos4(DType::kI32, {1, 4});
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos4.view(), 1e4f, q, kc.view(), vc.view(), nullptr),
               "RopeQkv: q \\[1, 5, 8, 8\\] and positions \\[1, 4\\] disagree on S \\(5 vs 4\\)");
  HostTensor posf(DType::kF32, {1, 5});
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, posf.view(), 1e4f, q, kc.view(), vc.view(), nullptr),
               "RopeQkv: positions \\[1, 5\\] has dtype F32, expected I32");
  // Odd head dim, bad theta.
  HostTensor odd = Full({1, 5, 3, 7}, 1.0f), oq = Full({1, 5, 1, 7}, 0.0f),
             ok = Full({1, 5, 1, 7}, 0.0f), ov = Full({1, 5, 1, 7}, 0.0f);
  EXPECT_DEATH(Cpu().RopeQkv(odd.view().Slice(2, 0, 1), odd.view().Slice(2, 1, 2),
                             odd.view().Slice(2, 2, 3), pos.view(), 1e4f, oq.view(), ok.view(),
                             ov.view(), nullptr),
               "RopeQkv: head dim D of q \\[1, 5, 1, 7\\] must be even");
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 0.0f, q, kc.view(), vc.view(), nullptr),
               "RopeQkv: theta must be finite and > 0, got 0");
  // Aliasing: k_out onto q, v_out onto v, two outputs on one buffer, q_out a different view of q.
  HostTensor q_elsewhere = Full({1, 5, 8, 8}, 0.0f);
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 1e4f, q_elsewhere.view(), q.Slice(2, 0, 1),
                             vc.view(), nullptr),
               "RopeQkv: k_out \\[1, 5, 1, 8\\] aliases q \\[1, 5, 8, 8\\] \\(same start "
               "address\\)");
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 1e4f, q, kc.view(), v, nullptr),
               "RopeQkv: v_out \\[1, 5, 1, 8\\] aliases v \\[1, 5, 1, 8\\]");
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 1e4f, q, kc.view(), kc.view(), nullptr),
               "RopeQkv: outputs k_out \\[1, 5, 1, 8\\] and v_out \\[1, 5, 1, 8\\] share a start "
               "address");
  HostTensor other = Full({1, 5, 8, 8}, 0.0f);
  const Tensor q_other_strides = fused.view().Slice(2, 0, 8);
  Tensor q_alias = other.view();
  q_alias.data = q_other_strides.data;  // same start as q, contiguous strides: not q's view
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 1e4f, q_alias, kc.view(), vc.view(), nullptr),
               "RopeQkv: q_out \\[1, 5, 8, 8\\] and q \\[1, 5, 8, 8\\] share a start address but "
               "are different views");
  // Innermost dim not contiguous; dtype the CPU reference lacks; wrong device.
  HostTensor t = Full({1, 5, 8, 8}, 1.0f);
  EXPECT_DEATH(Cpu().RopeQkv(t.view().Transpose(2, 3), k, v, pos.view(), 1e4f, q, kc.view(),
                             vc.view(), nullptr),
               "RopeQkv: q \\[1, 5, 8, 8\\] must have a contiguous innermost dim");
  HostTensor bf(DType::kBF16, {1, 5, 1, 8});
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v, pos.view(), 1e4f, q, bf.view(), vc.view(), nullptr),
               "RopeQkv: k_out \\[1, 5, 1, 8\\] has dtype BF16, which the CPU reference backend "
               "does not support");
  Tensor v_gpu = v;
  v_gpu.device = Device::kCuda;
  EXPECT_DEATH(Cpu().RopeQkv(q, k, v_gpu, pos.view(), 1e4f, q, kc.view(), vc.view(), nullptr),
               "RopeQkv: v \\[1, 5, 1, 8\\] is on cuda, expected cpu");
}

}  // namespace
}  // namespace vlart::testing
