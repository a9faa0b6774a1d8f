// SPDX-License-Identifier: Apache-2.0
//
// cpu_memory_test.cc: identity, arenas, Upload/Download/Synchronize, Copy, Fill, Embedding
// and NormalizePixels of the CPU reference backend. All of these are exact (copies, lookups
// and round-to-nearest-even conversions), so every comparison is bitwise.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/float_convert.h"
#include "cpu_test_util.h"

namespace vlart::testing {
namespace {

TEST(CpuBackendIdentity, NameDeviceAndComputeDtype) {
  EXPECT_EQ(Cpu().name(), "cpu-ref");
  EXPECT_EQ(Cpu().device(), Device::kCpu);
  EXPECT_EQ(Cpu().compute_dtype(), DType::kF32);
  EXPECT_EQ(Cpu().bytes_in_use(), 0u);  // host memory is not device memory
}

TEST(CpuRecording, ReplayRunsTheRecordedOpsAgainOnCurrentInputs) {
  HostTensor a = Full({3}, 1.0f);
  HostTensor out(DType::kF32, {3});
  auto rec = Cpu().Record([&] { Cpu().Add(a.view(), a.view(), out.view()); });
  ASSERT_TRUE(rec.ok());
  ExpectExact(out.view(), {2.0, 2.0, 2.0}, "the CPU executes while recording");
  for (int64_t i = 0; i < 3; ++i) a.data<float>()[i] = 5.0f;
  (*rec)->Replay();
  ExpectExact(out.view(), {10.0, 10.0, 10.0}, "replay sees the new inputs");
}

TEST(CpuStageClock, MarksAreOrderedAndChecked) {
  auto clock = Cpu().NewStageClock(3);
  EXPECT_EQ(clock->num_marks(), 3);
  clock->Mark(0);
  clock->Mark(1);
  clock->Mark(2);
  EXPECT_GE(clock->ElapsedMs(0, 1), 0.0);
  EXPECT_GE(clock->ElapsedMs(0, 2), clock->ElapsedMs(0, 1));
  EXPECT_DEATH(clock->Mark(3), "StageClock");
}

TEST(CpuArena, AlignedDistinctCountedAndPoisoned) {
  std::unique_ptr<Arena> arena = Cpu().NewArena();
  EXPECT_EQ(arena->bytes_allocated(), 0u);
  std::vector<Tensor> tensors;
  size_t expected = 0;
  for (const auto& [shape, dtype] : std::vector<std::pair<Shape, DType>>{
           {{7}, DType::kF32}, {{3, 5}, DType::kBF16}, {{1}, DType::kI32},
           {{0, 4}, DType::kF32}, {{5 << 20}, DType::kF32}, {{33}, DType::kF16}}) {
    const Tensor t = arena->Allocate(shape, dtype);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 256, 0u) << shape.ToString();
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.shape, shape);
    EXPECT_EQ(t.dtype, dtype);
    EXPECT_EQ(t.device, Device::kCpu);
    expected += (std::max<size_t>(DTypeBytes(dtype, shape.numel()), 1) + 255) / 256 * 256;
    tensors.push_back(t);
  }
  EXPECT_EQ(arena->bytes_allocated(), expected);
  // Fresh memory reads as NaN (0xFF bytes) and every tensor is writable without
  // overlapping the others.
  EXPECT_TRUE(std::isnan(tensors[0].data_as<float>()[0]));
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].numel() > 0) std::memset(tensors[i].data, static_cast<int>(i), tensors[i].nbytes());
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].numel() == 0) continue;
    const auto* bytes = static_cast<const unsigned char*>(tensors[i].data);
    EXPECT_EQ(bytes[0], i);
    EXPECT_EQ(bytes[tensors[i].nbytes() - 1], i);
  }
}

TEST(CpuArena, SealedArenaKeepsItsTensorsAndRefusesNewOnes) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::unique_ptr<Arena> arena = Cpu().NewArena();
  const Tensor t = arena->Allocate({4}, DType::kF32);
  std::memset(t.data, 0, t.nbytes());
  EXPECT_FALSE(arena->sealed());
  arena->Seal();
  arena->Seal();  // idempotent
  EXPECT_TRUE(arena->sealed());
  EXPECT_EQ(t.data_as<float>()[3], 0.0f);
  EXPECT_DEATH(arena->Allocate({2, 3}, DType::kBF16),
               "Arena::Allocate: the arena is sealed \\(Arena::Seal\\), cannot allocate BF16 \\[2, 3\\]");
}

TEST(CpuUpload, ConvertsF32ToHalfAndBf16AndCopiesIds) {
  HostTensor src(DType::kF32, {2, 3});
  const float vals[] = {1.0f, -2.5f, 3.14159265f, 65504.0f, 1e-8f, 1.00390625f};  // 1 + 2^-8: a bf16 tie
  std::memcpy(src.data<float>(), vals, sizeof(vals));
  std::unique_ptr<Arena> arena = Cpu().NewArena();
  for (DType dt : {DType::kBF16, DType::kF16}) {
    const Tensor dst = arena->Allocate({2, 3}, dt);
    Cpu().Upload(src.view(), dst);
    for (int i = 0; i < 6; ++i) {
      const uint16_t want = dt == DType::kBF16 ? F32ToBF16Bits(vals[i]) : F32ToF16Bits(vals[i]);
      EXPECT_EQ(dst.data_as<uint16_t>()[i], want) << DTypeName(dt) << " element " << i;
    }
  }
  HostTensor ids(DType::kI32, {4});
  for (int i = 0; i < 4; ++i) ids.data<int32_t>()[i] = 1000 * i - 7;
  const Tensor dev_ids = arena->Allocate({4}, DType::kI32);
  Cpu().Upload(ids.view(), dev_ids);
  EXPECT_EQ(std::memcmp(dev_ids.data, ids.view().data, 16), 0);
}

TEST(CpuDownload, ConvertsBackExactly) {
  // Every bf16/f16 value widens to f32 exactly; a bf16 -> f32 -> bf16 trip is the identity.
  std::unique_ptr<Arena> arena = Cpu().NewArena();
  const Tensor dev = arena->Allocate({256}, DType::kBF16);
  for (int i = 0; i < 256; ++i) dev.data_as<uint16_t>()[i] = static_cast<uint16_t>(0x3f00 + i * 3);
  HostTensor host(DType::kF32, {256});
  Cpu().Download(dev, host.view());
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(host.data<float>()[i]),
              static_cast<uint32_t>(0x3f00 + i * 3) << 16);
  }
  HostTensor host_f16(DType::kF16, {256});
  Cpu().Download(dev, host_f16.view());  // bf16 -> f16: one rounding, through f32
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(host_f16.data<uint16_t>()[i],
              F32ToF16Bits(BF16BitsToF32(static_cast<uint16_t>(0x3f00 + i * 3))));
  }
}

TEST(CpuSynchronize, ResultsAreVisibleAfterwards) {
  const HostTensor a = Full({3}, 1.5f);
  HostTensor out(DType::kF32, {3});
  Cpu().Add(a.view(), a.view(), out.view());
  Cpu().Synchronize();
  ExpectExact(out.view(), {3.0, 3.0, 3.0}, "Add then Synchronize");
}

TEST(CpuCopy, SixDimPermute) {
  // src [2, 3, 4, 5, 6, 7] (values = linear index), dst = src.permute(5, 3, 0, 4, 2, 1)
  // materialised contiguously: dst[a, b, c, d, e, f] = src[c, f, e, b, d, a].
  HostTensor src(DType::kF32, {2, 3, 4, 5, 6, 7});
  for (int64_t i = 0; i < src.numel(); ++i) src.data<float>()[i] = static_cast<float>(i);
  const Tensor view = src.view().Permute({5, 3, 0, 4, 2, 1});
  HostTensor dst(DType::kF32, {7, 5, 2, 6, 4, 3});
  Cpu().Copy(view, dst.view());
  int64_t i = 0;
  for (int64_t a = 0; a < 7; ++a)
    for (int64_t b = 0; b < 5; ++b)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t d = 0; d < 6; ++d)
          for (int64_t e = 0; e < 4; ++e)
            for (int64_t f = 0; f < 3; ++f, ++i) {
              const int64_t want = ((((c * 3 + f) * 4 + e) * 5 + b) * 6 + d) * 7 + a;
              ASSERT_EQ(dst.data<float>()[i], static_cast<float>(want)) << "dst element " << i;
            }
}

TEST(CpuCopy, AnyStridesOnBothSidesAndBroadcastSource) {
  // src: transpose (inner stride 9); dst: transpose of a padded buffer (inner stride != 1).
  const HostTensor src_buf = Random({7, 9}, 900);
  const Tensor src = src_buf.view().Transpose(0, 1);  // [9, 7], strides [1, 9]
  Padded dst_buf = PaddedF32({7, 9}, {2, 1});
  const Tensor dst = dst_buf.view.Transpose(0, 1);  // [9, 7], strides [1, 10]
  Cpu().Copy(src, dst);
  ExpectBitEqual(dst, src, "transpose to transpose");
  ExpectPaddingUntouched(dst_buf, "Copy dst padding");
  // A stride-0 source (a bias row broadcast over tokens) into a strided window.
  const HostTensor row = Random({5}, 901);
  Padded out = PaddedF32({4, 5}, {1, 2});
  Cpu().Copy(row.view().Broadcast({4, 5}), out.view);
  ExpectBitEqual(out.view, row.view().Broadcast({4, 5}), "broadcast source");
  ExpectPaddingUntouched(out, "broadcast dst padding");
}

TEST(CpuCopy, ConvertsBetweenFloatDtypesOnStridedViews) {
  const HostTensor src = Random({6, 5}, 910, -70000.0f, 70000.0f);  // includes f16 overflow
  HostTensor bf(DType::kBF16, {5, 6});
  Cpu().Copy(src.view().Transpose(0, 1), bf.view());
  HostTensor f16(DType::kF16, {5, 6});
  Cpu().Copy(src.view().Transpose(0, 1), f16.view());
  HostTensor back(DType::kF32, {5, 6});
  Cpu().Copy(bf.view(), back.view());
  for (int64_t r = 0; r < 5; ++r) {
    for (int64_t c = 0; c < 6; ++c) {
      const float v = src.data<float>()[c * 5 + r];
      EXPECT_EQ(bf.data<uint16_t>()[r * 6 + c], F32ToBF16Bits(v));
      EXPECT_EQ(f16.data<uint16_t>()[r * 6 + c], F32ToF16Bits(v));
      EXPECT_EQ(back.data<float>()[r * 6 + c], BF16BitsToF32(F32ToBF16Bits(v)));
    }
  }
  // Same-dtype copies move any dtype's bytes, e.g. I32 positions through a transpose.
  HostTensor ids(DType::kI32, {2, 3});
  for (int i = 0; i < 6; ++i) ids.data<int32_t>()[i] = -i * 100003;
  HostTensor ids_t(DType::kI32, {3, 2});
  Cpu().Copy(ids.view().Transpose(0, 1), ids_t.view());
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 2; ++c) EXPECT_EQ(ids_t.data<int32_t>()[r * 2 + c], -(c * 3 + r) * 100003);
  }
}

TEST(CpuFill, StridedViewOnly) {
  Padded p = PaddedF32({3, 4, 5}, {1, 2, 3});
  Cpu().Fill(p.view.Transpose(0, 2), -0.75f);  // innermost stride != 1
  ExpectExact(p.view, std::vector<double>(60, -0.75), "Fill");
  ExpectPaddingUntouched(p, "Fill padding");
}

TEST(CpuPrefetch, AHintThatChecksItsArgumentsAndWritesNothing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const HostTensor w = Random({8, 16}, 921);
  HostTensor ids(DType::kI32, {4});
  for (int i = 0; i < 4; ++i) ids.data<int32_t>()[i] = 7 * i - 3;
  const HostTensor before = Random({8, 16}, 921);
  const Tensor both[] = {w.view(), ids.view()};
  Cpu().Prefetch(both);  // any dtype
  Cpu().Prefetch({});    // nothing to do
  ExpectBitEqual(w.view(), before.view(), "prefetched tensor");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ids.data<int32_t>()[i], 7 * i - 3);
  const Tensor strided[] = {w.view().Transpose(0, 1)};
  EXPECT_DEATH(Cpu().Prefetch(strided), "Prefetch: tensors\\[0\\] \\[16, 8\\] must be contiguous");
  const Tensor five[] = {w.view(), w.view(), w.view(), w.view(), w.view()};
  EXPECT_DEATH(Cpu().Prefetch(five), "Prefetch: at most 4 tensors per call, got 5");
  Tensor on_gpu = w.view();
  on_gpu.device = Device::kCuda;
  const Tensor gpu[] = {on_gpu};
  EXPECT_DEATH(Cpu().Prefetch(gpu), "Prefetch: tensors\\[0\\] \\[8, 16\\] is on cuda, expected cpu");
}

TEST(CpuEmbedding, GathersRows) {
  const HostTensor table = Random({11, 7}, 920);
  HostTensor ids(DType::kI32, {5});
  const int32_t picks[] = {3, 0, 10, 3, 7};
  std::memcpy(ids.data<int32_t>(), picks, sizeof(picks));
  Padded out = PaddedF32({5, 7}, {1, 4});
  Cpu().Embedding(ids.view(), table.view(), out.view);
  for (int i = 0; i < 5; ++i) {
    ExpectBitEqual(out.view.Select(0, i), table.view().Select(0, picks[i]),
                   fmt::format("row {} = table[{}]", i, picks[i]));
  }
  ExpectPaddingUntouched(out, "Embedding padding");
}

// Bytes [N, H, W, C] -> planes [N, C, H, W] through each channel's table, from packed bytes
// and from planar ones ([N, C, H, W] permuted): every output is exactly its byte's table
// entry (a table of random floats, so a wrong channel, a transposed index or an off-by-one
// byte cannot match by accident).
TEST(CpuNormalizePixels, LooksUpEachChannelsTable) {
  for (const bool planar : {false, true}) {
    for (const Shape& shape : {Shape{2, 5, 7, 3}, Shape{1, 4, 3, 1}, Shape{3, 2, 8, 4}}) {
      const int64_t n = shape[0], h = shape[1], w = shape[2], c = shape[3];
      HostTensor pixels(DType::kU8, planar ? Shape{n, c, h, w} : shape);
      const HostTensor bytes = RandomIntegers({pixels.numel()}, 931, 0, 255);
      for (int64_t i = 0; i < pixels.numel(); ++i) {
        pixels.data<uint8_t>()[i] = static_cast<uint8_t>(bytes.data<float>()[i]);
      }
      const Tensor in = planar ? pixels.view().Permute({0, 2, 3, 1}) : pixels.view();
      const HostTensor table = Random({c, 256}, 932, -3.0f, 3.0f);
      HostTensor out(DType::kF32, {n, c, h, w});
      Cpu().NormalizePixels(in, table.view(), out.view());
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t ch = 0; ch < c; ++ch) {
          for (int64_t p = 0; p < h * w; ++p) {
            const int64_t at = planar ? (i * c + ch) * h * w + p : (i * h * w + p) * c + ch;
            const uint8_t byte = pixels.data<uint8_t>()[at];
            const float want = table.data<float>()[ch * 256 + byte];
            const float got = out.data<float>()[(i * c + ch) * h * w + p];
            ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
                << (planar ? "planar" : "packed") << " shape " << shape.ToString() << " n " << i
                << " c " << ch << " pixel " << p;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace vlart::testing
