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

#include <cmath>
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

}  // namespace
}  // namespace vlart::testing
