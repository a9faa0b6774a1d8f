// SPDX-License-Identifier: Apache-2.0
//
// tensor_test.cc: view arithmetic of Tensor (reshape, slice, select, permute, broadcast).

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/host_tensor.h"
#include "core/tensor.h"

namespace vlart {
namespace {

HostTensor Iota(const Shape& shape) {
  HostTensor t(DType::kF32, shape);
  std::iota(t.data<float>(), t.data<float>() + t.numel(), 0.0f);
  return t;
}

TEST(Shape, PrintsLikeTorch) {
  EXPECT_EQ(Shape({2, 3, 4}).ToString(), "[2, 3, 4]");
  EXPECT_EQ(Shape({}).ToString(), "[]");
  EXPECT_EQ(Shape({}).numel(), 1);
  EXPECT_EQ(Shape({2, 0}).numel(), 0);
}

TEST(Tensor, ContiguousStridesAreRowMajor) {
  const HostTensor t = Iota({2, 3, 4});
  EXPECT_EQ(t.view().stride[0], 12);
  EXPECT_EQ(t.view().stride[1], 4);
  EXPECT_EQ(t.view().stride[2], 1);
  EXPECT_TRUE(t.view().is_contiguous());
  EXPECT_EQ(t.nbytes(), 24u * 4u);
}

TEST(Tensor, SliceAndSelectAddressTheRightElements) {
  const HostTensor t = Iota({2, 3, 4});
  const Tensor s = t.view().Slice(1, 1, 3);  // [2, 2, 4], starts at element 4
  EXPECT_EQ(s.shape, Shape({2, 2, 4}));
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_EQ(*static_cast<float*>(s.ElementPtr({1, 1, 3})), 1 * 12 + 2 * 4 + 3);
  const Tensor row = t.view().Select(0, 1).Select(0, 2);  // [4] = 20..23
  EXPECT_EQ(row.shape, Shape({4}));
  EXPECT_TRUE(row.is_contiguous());
  EXPECT_EQ(row.data_as<float>()[0], 20.0f);
}

TEST(Tensor, PermuteAndCopyOfMaterialiseTransposes) {
  const HostTensor t = Iota({2, 3});
  const HostTensor tt = HostTensor::CopyOf(t.view().Transpose(0, 1));
  ASSERT_EQ(tt.shape(), Shape({3, 2}));
  const std::vector<float> want = {0, 3, 1, 4, 2, 5};
  EXPECT_EQ(std::vector<float>(tt.data<float>(), tt.data<float>() + 6), want);
  const Tensor p = t.view().Reshape({1, 2, 3}).Permute({2, 0, 1});
  EXPECT_EQ(p.shape, Shape({3, 1, 2}));
  EXPECT_EQ(*static_cast<float*>(p.ElementPtr({2, 0, 1})), 5.0f);
}

TEST(Tensor, ReshapeInfersOneDim) {
  const HostTensor t = Iota({2, 3, 4});
  EXPECT_EQ(t.view().Reshape({-1, 4}).shape, Shape({6, 4}));
  EXPECT_EQ(t.view().Reshape({2, -1}).shape, Shape({2, 12}));
}

TEST(Tensor, BroadcastUsesZeroStrides) {
  const HostTensor bias = Iota({4});
  const Tensor b = bias.view().Broadcast({3, 4});
  EXPECT_EQ(b.stride[0], 0);
  EXPECT_EQ(*static_cast<float*>(b.ElementPtr({2, 3})), 3.0f);
  const HostTensor col = Iota({3, 1});
  const Tensor c = col.view().Broadcast({3, 5});
  EXPECT_EQ(c.stride[1], 0);
  EXPECT_EQ(*static_cast<float*>(c.ElementPtr({2, 4})), 2.0f);
}

TEST(Tensor, UnsqueezeKeepsAddressing) {
  const HostTensor t = Iota({2, 3});
  const Tensor u = t.view().Unsqueeze(1);
  EXPECT_EQ(u.shape, Shape({2, 1, 3}));
  EXPECT_EQ(*static_cast<float*>(u.ElementPtr({1, 0, 2})), 5.0f);
  EXPECT_EQ(t.view().Unsqueeze(-1).shape, Shape({2, 3, 1}));
}

TEST(TensorDeathTest, MisuseAbortsWithAMessage) {
  const HostTensor t = Iota({2, 3});
  EXPECT_DEATH((void)t.view().Slice(1, 2, 5), "Slice");
  EXPECT_DEATH((void)t.view().Transpose(0, 1).Reshape({6}), "non-contiguous");
}

}  // namespace
}  // namespace vlart
