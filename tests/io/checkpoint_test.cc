// SPDX-License-Identifier: Apache-2.0
//
// checkpoint_test.cc: Checkpoint over single files and sharded folders, and Load's
// dtype conversions against torch's own casts (tests/io/data/casts.safetensors, made
// by tools/make_io_fixtures.py: edge values, exact ties, random bit patterns; no NaN,
// whose bits torch itself does not pin down).

#include "io/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/float_convert.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::FillFixture;
using testing::ScratchDir;
using testing::TestDataPath;

// Compares raw bits and reports the first differing element.
void ExpectSameBits(const HostTensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype) << what;
  ASSERT_EQ(got.shape(), want.shape) << what;
  const size_t es = static_cast<size_t>(DTypeBits(want.dtype) / 8);
  const auto* g = static_cast<const unsigned char*>(got.view().data);
  const auto* w = static_cast<const unsigned char*>(want.data);
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::memcmp(g + i * es, w + i * es, es) != 0) {
      uint32_t gb = 0, wb = 0;
      std::memcpy(&gb, g + i * es, es);
      std::memcpy(&wb, w + i * es, es);
      ADD_FAILURE() << what << ": element " << i << ": got bits 0x" << std::hex << gb
                    << ", torch 0x" << wb;
      return;
    }
  }
}

TEST(Checkpoint, LoadMatchesTorchCastsBitForBit) {
  auto ckpt = Checkpoint::Open(TestDataPath("io/data/casts.safetensors"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  struct Case {
    const char* src;
    DType to;
    const char* want;
  };
  for (const Case& k : std::vector<Case>{{"src_f32", DType::kBF16, "f32_to_bf16"},
                                         {"src_f32", DType::kF16, "f32_to_f16"},
                                         {"src_bf16", DType::kF16, "bf16_to_f16"},
                                         {"src_bf16", DType::kF32, "bf16_to_f32"},
                                         {"src_f16", DType::kBF16, "f16_to_bf16"},
                                         {"src_f16", DType::kF32, "f16_to_f32"},
                                         {"src_f32", DType::kF32, "src_f32"},
                                         {"src_bf16", DType::kBF16, "src_bf16"}}) {
    auto got = c.Load(k.src, k.to);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto want = c.View(k.want);
    ASSERT_TRUE(want.ok());
    ExpectSameBits(*got, *want, std::string(k.src) + " -> " + std::string(DTypeName(k.to)));
  }
}

TEST(Checkpoint, SingleFileFolder) {
  const std::filesystem::path dir = ScratchDir();
  HostTensor w = FillFixture(DType::kBF16, {2, 3});
  HostTensor idx = FillFixture(DType::kI64, {4});
  ASSERT_TRUE(
      WriteSafetensors(dir / "model.safetensors", {{"w", w.view()}, {"idx", idx.view()}}).ok());
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  EXPECT_FALSE(c.sharded());
  EXPECT_EQ(c.Names(), (std::vector<std::string>{"idx", "w"}));
  EXPECT_EQ(c.FileNameOf("w"), "model.safetensors");
  EXPECT_EQ(c.FileNameOf("nope"), "");
  EXPECT_EQ(c.Find("nope"), nullptr);
  EXPECT_EQ(c.FileOf("nope"), nullptr);

  auto f32 = c.Load("w", DType::kF32);
  ASSERT_TRUE(f32.ok());
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(f32->data<float>()[i], (i - 7) * 0.25f);
  auto same = c.Load("idx", DType::kI64);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->data<int64_t>()[3], -4);

  auto bad = c.Load("idx", DType::kF32);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.status().message().find("loading tensor 'idx' (model.safetensors): dtype: expected F32"),
      std::string::npos)
      << bad.status().ToString();
  auto missing = c.Load("nope", DType::kF32);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("tensor 'nope'"), std::string::npos);
  auto view = c.View("w");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->dtype, DType::kBF16);
  EXPECT_EQ(std::memcmp(view->data, w.view().data, w.nbytes()), 0);
}

TEST(Checkpoint, ZeroSizeAndScalarTensors) {
  auto ckpt = Checkpoint::Open(TestDataPath("io/data/python_written.safetensors"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  EXPECT_EQ((*ckpt)->dir(), TestDataPath("io/data"));
  auto empty = (*ckpt)->Load("empty", DType::kBF16);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->shape(), Shape({0, 4}));
  auto scalar = (*ckpt)->Load("scalar", DType::kF16);
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(scalar->shape().size(), 0);
  EXPECT_EQ(scalar->data<uint16_t>()[0], F32ToF16Bits(-1.75f));
}

TEST(Checkpoint, ShardedFolder) {
  auto ckpt = Checkpoint::Open(TestDataPath("io/data/sharded"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  EXPECT_TRUE(c.sharded());
  EXPECT_EQ(c.files().size(), 2u);
  EXPECT_EQ(c.Names(), (std::vector<std::string>{"head.weight", "layers.0.bias", "layers.0.weight",
                                                 "layers.1.weight"}));
  EXPECT_EQ(c.FileNameOf("layers.0.weight"), "model-00001-of-00002.safetensors");
  EXPECT_EQ(c.FileNameOf("head.weight"), "model-00002-of-00002.safetensors");
  EXPECT_EQ(c.Find("head.weight")->shape, Shape({1, 4}));
  auto head = c.Load("head.weight", DType::kF32);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->data<float>()[3], -1.0f);
}

TEST(Checkpoint, SingleFilePreferredOverIndex) {
  const std::filesystem::path dir = ScratchDir();
  HostTensor w = FillFixture(DType::kF32, {2});
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", {{"w", w.view()}}).ok());
  testing::WriteFileBytes(dir / "model.safetensors.index.json", "not even json");
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  EXPECT_FALSE((*ckpt)->sharded());
}

TEST(Checkpoint, MissingPathAndEmptyFolder) {
  auto none = Checkpoint::Open(ScratchDir() / "nothing-here");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  auto empty = Checkpoint::Open(ScratchDir());
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find(
                "expected model.safetensors or model.safetensors.index.json, found neither"),
            std::string::npos)
      << empty.status().ToString();
}

// Big enough for CastFloats to split the work over threads (> 4 M elements).
TEST(Checkpoint, LargeConversionMatchesScalarConversion) {
  constexpr int64_t kN = (int64_t{5} << 20) + 3;
  HostTensor src(DType::kF32, {kN});
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t i = 0; i < kN; ++i) src.data<float>()[i] = normal(rng);
  const std::filesystem::path dir = ScratchDir();
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", {{"big", src.view()}}).ok());
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok());
  auto bf16 = (*ckpt)->Load("big", DType::kBF16);
  auto f16 = (*ckpt)->Load("big", DType::kF16);
  auto f32 = (*ckpt)->Load("big", DType::kF32);
  ASSERT_TRUE(bf16.ok() && f16.ok() && f32.ok());
  int64_t bad = 0;
  for (int64_t i = 0; i < kN; ++i) {
    const float v = src.data<float>()[i];
    bad += bf16->data<uint16_t>()[i] != F32ToBF16Bits(v);
    bad += f16->data<uint16_t>()[i] != F32ToF16Bits(v);
    bad += std::memcmp(&f32->data<float>()[i], &v, 4) != 0;
  }
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace vlart
