// SPDX-License-Identifier: Apache-2.0
//
// op_checks_test.cc: misuse of the op interface aborts with a message naming the op and
// the disagreeing arguments (ops/op_checks.h), checked through the CPU backend, plus
// the CPU backend's own f32-only rule. Legitimate edge uses (interleaved views of one
// buffer, documented in-place forms) must pass.

#include <gtest/gtest.h>

#include "core/host_tensor.h"
#include "cpu_test_util.h"
#include "ops/op_checks.h"

namespace vlart::testing {
namespace {

class OpChecks : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(OpChecks, LinearShapeMismatchNamesBothTensors) {
  const HostTensor x = Full({7, 64}, 1.0f), w = Full({32, 65}, 1.0f);
  HostTensor out(DType::kF32, {7, 32});
  EXPECT_DEATH(Cpu().Linear(x.view(), w.view(), nullptr, Activation::kNone, nullptr, out.view()),
               "Linear: x \\[7, 64\\] and w \\[32, 65\\] disagree on K \\(64 vs 65\\)");
  const HostTensor b = Full({31}, 0.0f);
  const HostTensor w2 = Full({32, 64}, 1.0f);
  EXPECT_DEATH(Cpu().Linear(x.view(), w2.view(), &b.view(), Activation::kNone, nullptr, out.view()),
               "Linear: bias must be \\[32\\]");
}

TEST_F(OpChecks, OutputAliasingAnInputIsRejectedUnlessAllowed) {
  HostTensor x = Full({4, 4}, 1.0f);
  const HostTensor w = Full({4, 4}, 1.0f);
  EXPECT_DEATH(Cpu().Linear(x.view(), w.view(), nullptr, Activation::kNone, nullptr, x.view()),
               "Linear: out \\[4, 4\\] aliases x \\[4, 4\\]");
  // Row-wise ops run in place on the identical view, but not on a differently strided one.
  Cpu().Softmax(x.view(), x.view());
  EXPECT_EQ(x.data<float>()[0], 0.25f);
  EXPECT_DEATH(Cpu().Softmax(x.view().Slice(0, 0, 2), x.view().Reshape({2, 2, 4}).Select(1, 0)),
               "Softmax: out \\[2, 4\\] and x \\[2, 4\\] share a start address");
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 1.0f;
  // In place allowed for elementwise ops, but only as the identical view.
  Cpu().Add(x.view(), x.view(), x.view());
  EXPECT_EQ(x.data<float>()[0], 2.0f);
  // a = rows 0, 1 and out = rows 0, 2: same start, same shape, different row stride.
  const Tensor a = x.view().Slice(0, 0, 2);
  const Tensor out = x.view().Reshape({2, 2, 4}).Select(1, 0);
  EXPECT_DEATH(Cpu().Add(a, a, out), "Add: out \\[2, 4\\] and a \\[2, 4\\] share a start address");
}

TEST_F(OpChecks, InterleavedViewsOfOneBufferAreAllowed) {
  // x = even rows, out = odd rows of one buffer: disjoint, so LayerNorm must accept it
  // and give what it gives into a separate buffer.
  HostTensor buf = Random({6, 8}, 1);
  const Tensor rows = buf.view().Reshape({3, 2, 8});
  const Tensor x = rows.Select(1, 0), out = rows.Select(1, 1);
  const HostTensor g = Full({8}, 1.0f), b = Full({8}, 0.0f);
  HostTensor separate(DType::kF32, {3, 8});
  Cpu().LayerNorm(x, g.view(), b.view(), 1e-5f, separate.view());
  Cpu().LayerNorm(x, g.view(), b.view(), 1e-5f, out);
  ExpectBitEqual(out, separate.view(), "LayerNorm into interleaved rows");
}

TEST_F(OpChecks, CpuBackendAcceptsF32Only) {
  HostTensor x(DType::kBF16, {2, 3});
  const HostTensor w = Full({4, 3}, 1.0f);
  HostTensor out(DType::kF32, {2, 4});
  EXPECT_DEATH(Cpu().Linear(x.view(), w.view(), nullptr, Activation::kNone, nullptr, out.view()),
               "Linear: x \\[2, 3\\] has dtype BF16, which the CPU reference backend does not "
               "support; expected F32");
  HostTensor i32(DType::kI32, {2, 3});
  EXPECT_DEATH(Cpu().Softmax(i32.view(), out.view()), "Softmax: x \\[2, 3\\] has dtype I32, expected F32, F16 or BF16");
}

TEST_F(OpChecks, AttentionHeadsAndMask) {
  const HostTensor q = Full({1, 3, 6, 8}, 0.0f), k = Full({1, 5, 4, 8}, 0.0f);
  const HostTensor v = Full({1, 5, 4, 8}, 0.0f);
  HostTensor out(DType::kF32, {1, 3, 6, 8});
  EXPECT_DEATH(Cpu().Attention(q.view(), k.view(), v.view(), nullptr, 1.0f, out.view()),
               "Attention: Hq = 6 .* must be a multiple of Hkv = 4");
  const HostTensor k2 = Full({1, 5, 3, 8}, 0.0f), v2 = Full({1, 5, 3, 8}, 0.0f);
  const HostTensor mask = Full({1, 3, 4}, 0.0f);
  EXPECT_DEATH(Cpu().Attention(q.view(), k2.view(), v2.view(), &mask.view(), 1.0f, out.view()),
               "Attention: mask \\[1, 3, 4\\] must be \\[B, Sq, Sk\\] = \\[1, 3, 5\\]");
}

TEST_F(OpChecks, Conv2dGeometry) {
  const HostTensor x = Full({1, 9, 9, 8}, 0.0f), w = Full({8, 8, 3, 3}, 0.0f);
  HostTensor out(DType::kF32, {1, 4, 4, 8});
  // (9 + 2*1 - 3) / 2 + 1 = 5, not 4.
  EXPECT_DEATH(Cpu().Conv2d(x.view(), w.view(), nullptr, Conv2dParams{2, 1, 1}, nullptr, out.view()),
               "Conv2d: out \\[1, 4, 4, 8\\] must be \\[B, Ho, Wo, Cout\\] = \\[1, 5, 5, 8\\]");
  EXPECT_DEATH(Cpu().Conv2d(x.view(), w.view(), nullptr, Conv2dParams{1, 0, 3}, nullptr, out.view()),
               "Conv2d: groups = 3 must divide Cin = 8");
  EXPECT_DEATH(Cpu().Conv2d(x.view(), w.view(), nullptr, Conv2dParams{2, 1, 2}, nullptr, out.view()),
               "Conv2d: x \\[1, 9, 9, 8\\] and w \\[8, 8, 3, 3\\] disagree on Cin/groups");
}

TEST_F(OpChecks, BroadcastOutputsAndShapeMismatch) {
  const HostTensor a = Full({3, 4}, 1.0f);
  HostTensor row(DType::kF32, {4});
  EXPECT_DEATH(Cpu().Add(a.view(), a.view(), row.view().Broadcast({3, 4})),
               "Add: output out \\[3, 4\\] has overlapping elements");
  HostTensor out(DType::kF32, {3, 5});
  EXPECT_DEATH(Cpu().Mul(a.view(), a.view(), out.view()),
               "Mul: a \\[3, 4\\], b \\[3, 4\\] and out \\[3, 5\\] must have the same shape; hint");
}

TEST_F(OpChecks, LayoutAndDeviceRules) {
  const HostTensor x = Full({4, 8}, 1.0f);
  const HostTensor g = Full({8}, 1.0f), b = Full({8}, 0.0f), g7 = Full({7}, 1.0f);
  HostTensor out(DType::kF32, {4, 8});
  EXPECT_DEATH(Cpu().LayerNorm(x.view(), g7.view(), b.view(), 1e-5f, out.view()),
               "LayerNorm: gamma must be \\[8\\] \\(the last dim of x\\), got \\[7\\]");
  const HostTensor xt_buf = Full({8, 4}, 1.0f);
  EXPECT_DEATH(Cpu().LayerNorm(xt_buf.view().Transpose(0, 1), g.view(), b.view(), 1e-5f, out.view()),
               "LayerNorm: x \\[4, 8\\] must have a contiguous innermost dim");
  Tensor on_gpu = x.view();
  on_gpu.device = Device::kCuda;
  EXPECT_DEATH(Cpu().LayerNorm(on_gpu, g.view(), b.view(), 1e-5f, out.view()),
               "LayerNorm: x \\[4, 8\\] is on cuda, expected cpu");
  EXPECT_DEATH(Cpu().Upload(xt_buf.view().Transpose(0, 1), out.view()),
               "Upload: host_src \\[4, 8\\] must be contiguous");
}

TEST_F(OpChecks, CopyRopeEmbeddingDomainLinear) {
  HostTensor ids(DType::kI32, {2, 3});
  HostTensor f(DType::kF32, {2, 3});
  EXPECT_DEATH(Cpu().Copy(ids.view(), f.view()), "Copy: cannot convert src \\[2, 3\\] I32");
  const HostTensor x = Full({1, 2, 1, 5}, 1.0f);
  HostTensor pos(DType::kI32, {1, 2});
  HostTensor rout(DType::kF32, {1, 2, 1, 5});
  EXPECT_DEATH(Cpu().Rope(x.view(), pos.view(), 10000.0f, rout.view()),
               "Rope: head dim D of x \\[1, 2, 1, 5\\] must be even");
  const HostTensor table = Full({4, 3}, 1.0f);
  HostTensor e_ids(DType::kI32, {1});
  e_ids.data<int32_t>()[0] = 4;
  HostTensor e_out(DType::kF32, {1, 3});
  EXPECT_DEATH(Cpu().Embedding(e_ids.view(), table.view(), e_out.view()),
               "Embedding: ids\\[0\\] = 4 is outside the table \\[4, 3\\]");
  const HostTensor dx = Full({2, 3, 4}, 1.0f), wt = Full({5, 4 * 6}, 1.0f), bt = Full({5, 7}, 0.0f);
  HostTensor d_ids(DType::kI32, {2});
  HostTensor d_out(DType::kF32, {2, 3, 7});
  EXPECT_DEATH(Cpu().DomainLinear(dx.view(), wt.view(), bt.view(), d_ids.view(), d_out.view()),
               "DomainLinear: weight_table \\[5, 24\\] does not hold K\\*N = 4\\*7 = 28");
}

TEST_F(OpChecks, NormalizePixels) {
  HostTensor pixels(DType::kU8, {1, 4, 5, 3});
  const HostTensor table = Full({3, 256}, 0.0f);
  HostTensor out(DType::kF32, {1, 3, 4, 5});
  const HostTensor f32_pixels = Full({1, 4, 5, 3}, 0.0f);
  EXPECT_DEATH(Cpu().NormalizePixels(f32_pixels.view(), table.view(), out.view()),
               "NormalizePixels: pixels \\[1, 4, 5, 3\\] has dtype F32, expected U8");
  const HostTensor short_table = Full({3, 255}, 0.0f);
  EXPECT_DEATH(Cpu().NormalizePixels(pixels.view(), short_table.view(), out.view()),
               "NormalizePixels: table \\[3, 255\\] must be \\[C, 256\\]");
  HostTensor hwc_out(DType::kF32, {1, 4, 5, 3});
  EXPECT_DEATH(Cpu().NormalizePixels(pixels.view(), table.view(), hwc_out.view()),
               "NormalizePixels: pixels \\[1, 4, 5, 3\\] and out \\[1, 4, 5, 3\\] disagree on H");
  EXPECT_DEATH(Cpu().NormalizePixels(pixels.view(), table.view(), out.view().Transpose(2, 3)),
               "NormalizePixels: out \\[1, 3, 5, 4\\] must be contiguous");
  HostTensor wide(DType::kU8, {1, 4, 6, 3});
  EXPECT_DEATH(Cpu().NormalizePixels(wide.view().Slice(2, 0, 5), table.view(), out.view()),
               "NormalizePixels: pixels \\[1, 4, 5, 3\\] must be packed \\(contiguous \\[N, H, W, C\\]\\) "
               "or planar");
}

TEST_F(OpChecks, ResizePixels) {
  HostTensor pixels(DType::kU8, {2, 8, 6, 3});
  HostTensor taps_x(DType::kI32, {4, 5});
  HostTensor taps_y(DType::kI32, {5, 5});
  HostTensor out(DType::kU8, {2, 3, 5, 4});
  HostTensor f32_out(DType::kF32, {2, 3, 5, 4});
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view(), taps_x.view(), taps_y.view(), f32_out.view()),
               "ResizePixels: out \\[2, 3, 5, 4\\] has dtype F32, expected U8");
  HostTensor f32_taps(DType::kF32, {4, 5});
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view(), f32_taps.view(), taps_y.view(), out.view()),
               "ResizePixels: taps_x \\[4, 5\\] has dtype F32, expected I32");
  HostTensor no_weights(DType::kI32, {4, 2});
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view(), no_weights.view(), taps_y.view(), out.view()),
               "ResizePixels: taps_x \\[4, 2\\] must be \\[Wo, 2 \\+ Kx\\] with Kx >= 1");
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view(), taps_y.view(), taps_y.view(), out.view()),
               "ResizePixels: taps_x \\[5, 5\\] and out \\[2, 3, 5, 4\\] disagree on Wo");
  HostTensor one_image(DType::kU8, {1, 3, 5, 4});
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view(), taps_x.view(), taps_y.view(), one_image.view()),
               "ResizePixels: pixels \\[2, 8, 6, 3\\] and out \\[1, 3, 5, 4\\] disagree on N");
  EXPECT_DEATH(Cpu().ResizePixels(pixels.view().Transpose(1, 2), taps_x.view(), taps_y.view(),
                                  out.view()),
               "ResizePixels: pixels \\[2, 6, 8, 3\\] must be contiguous");
  HostTensor empty(DType::kU8, {2, 0, 6, 3});
  EXPECT_DEATH(Cpu().ResizePixels(empty.view(), taps_x.view(), taps_y.view(), out.view()),
               "ResizePixels: pixels \\[2, 0, 6, 3\\]: expected H and W >= 1 for a non-empty out");
}

TEST(OpChecksHelpers, NonOverlappingOutputsAndConvSizes) {
  EXPECT_EQ(Conv2dOutputSize(224, 7, Conv2dParams{4, 3, 1}), 56);
  EXPECT_EQ(Conv2dOutputSize(56, 3, Conv2dParams{2, 1, 1}), 28);
  EXPECT_EQ(Conv2dOutputSize(2, 5, Conv2dParams{1, 1, 1}), 0);
  const HostTensor t = Full({2, 3}, 0.0f);
  EXPECT_TRUE(InnermostContiguous(t.view()));
  EXPECT_FALSE(InnermostContiguous(t.view().Transpose(0, 1)));
  EXPECT_TRUE(InnermostContiguous(t.view().Slice(1, 0, 1)));                  // [2, 1]: size-1 inner dim
  EXPECT_FALSE(InnermostContiguous(t.view().Slice(1, 0, 2).Transpose(0, 1)));  // [2, 2], inner stride 3
}

}  // namespace
}  // namespace vlart::testing
