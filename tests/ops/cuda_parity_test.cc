// SPDX-License-Identifier: Apache-2.0
//
// cuda_parity_test.cc: the CUDA backend against the CPU reference for memory, data
// movement, elementwise (incl. GatedActivation, MulAdd and which elementwise path a view
// takes), normalisation (incl. AdaRmsNorm) and rotary ops, in every ParityMode.
//
// Every case: seeded inputs rounded through the device dtype, the CPU reference on host
// views, the CUDA op on device views (strided where named), a guarded output, and a
// per-element bound whose derivation sits next to it (helpers in cuda_parity_util.h). Data
// movement is exact (tolerance 0). A failure prints the seed; rerun one case with
//   VLART_TEST_SEED=<seed> ./ops_cuda_parity_test --gtest_filter='*LayerNorm*'

#include <gtest/gtest-spi.h>  // EXPECT_NONFATAL_FAILURE
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_backend_internal.h"
#include "core/float_convert.h"
#include "image/resample.h"
#include "image/resize_taps.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

HostTensor CpuOut(const Shape& shape) { return HostTensor(DType::kF32, shape); }

// ---- device presence ---------------------------------------------------------------------

TEST(CudaCanary, CudaDevicePresent) {
  const char* require = std::getenv("VLART_REQUIRE_GPU");
  const bool required = require != nullptr && std::string(require) == "1";
  if (SelfCheck()) GTEST_SKIP() << "VLART_PARITY_SELF_CHECK=1: no CUDA backend in use";
  if (!CudaPresent()) {
    if (required) FAIL() << "VLART_REQUIRE_GPU=1 but the CUDA runtime finds no device";
    GTEST_SKIP() << "no CUDA device (set VLART_REQUIRE_GPU=1 to make this a failure)";
  }
  Backend& cuda = CudaFor(ParityMode::kBF16);
  EXPECT_EQ(cuda.device(), Device::kCuda);
  EXPECT_EQ(cuda.compute_dtype(), DType::kBF16);
  EXPECT_EQ(std::string(cuda.name()), "cuda:0 BF16");
}

TEST(CudaCanary, BadOptionsAreErrorsNotCrashes) {
  VLART_REQUIRE_REAL_CUDA();
  CudaBackendOptions bad_device;
  bad_device.device = 4096;
  EXPECT_FALSE(CreateCudaBackend(bad_device).ok());
  CudaBackendOptions bad_dtype;
  bad_dtype.compute_dtype = DType::kI32;
  EXPECT_FALSE(CreateCudaBackend(bad_dtype).ok());
}

// A malformed VLART_LT_ALGOS (the GEMM tuner's cuBLASLt candidate count) is an error that names
// the variable, checked before any device is touched: it runs without a GPU too.
TEST(CudaCanary, BadLtAlgosEnvironmentIsAClearError) {
  for (const char* bad : {"abc", "0", "65", "8x", ""}) {
    SCOPED_TRACE(std::string("VLART_LT_ALGOS=\"") + bad + "\"");
    ::setenv("VLART_LT_ALGOS", bad, 1);
    Result<std::unique_ptr<Backend>> created = CreateCudaBackend(CudaBackendOptions{});
    ::unsetenv("VLART_LT_ALGOS");
    ASSERT_FALSE(created.ok());
    EXPECT_NE(created.status().ToString().find("VLART_LT_ALGOS: expected an integer 1..64"), std::string::npos)
        << created.status().ToString();
  }
}

// ---- the harness itself ------------------------------------------------------------------------

TEST(ParityHarness, ExpectCloseCatchesValueNanAndInfMismatches) {
  HostTensor want(DType::kF32, Shape{4});
  HostTensor got(DType::kF32, Shape{4});
  const float w[] = {1.0f, kNaN, kInf, 2.0f};
  std::memcpy(want.data<float>(), w, sizeof(w));
  std::memcpy(got.data<float>(), w, sizeof(w));
  ExpectClose(got, want, {0.0}, "identical");
  got.data<float>()[0] = 1.0f + 1e-3f;
  EXPECT_NONFATAL_FAILURE(ExpectClose(got, want, {1e-4}, "value"), "outside tolerance");
  ExpectClose(got, want, {2e-3}, "value within");
  got.data<float>()[0] = 1.0f;
  got.data<float>()[1] = 0.0f;
  EXPECT_NONFATAL_FAILURE(ExpectClose(got, want, {1.0}, "nan"), "outside tolerance");
  got.data<float>()[1] = kNaN;
  got.data<float>()[2] = -kInf;
  EXPECT_NONFATAL_FAILURE(ExpectClose(got, want, {1.0}, "inf sign"), "outside tolerance");
  got.data<float>()[2] = kInf;
  got.data<float>()[3] = kNaN;
  EXPECT_NONFATAL_FAILURE(ExpectClose(got, want, {1.0}, "unexpected nan"), "outside tolerance");
}

TEST(ParityHarness, ReadGuardedCatchesWritesOutsideTheView) {
  VLART_REQUIRE_CUDA();
  Backend& be = CudaFor(ParityMode::kF32);
  auto arena = be.NewArena();
  GuardedOutput out = MakeGuarded(be, *arena, Shape{3, 5}, DType::kF32, /*row_pad=*/2, /*guard=*/4);
  be.Fill(out.view, 1.0f);
  const HostTensor clean = ReadGuarded(be, out, "clean");
  EXPECT_EQ(clean.data<float>()[14], 1.0f);
  const Tensor row_gap = out.buffer.Slice(0, 4 + 5, 4 + 7);  // the pad after row 0
  be.Fill(row_gap, 2.0f);
  EXPECT_NONFATAL_FAILURE(ReadGuarded(be, out, "gap"), "outside the output view were overwritten");
}

// ---- memory --------------------------------------------------------------------------------

TEST(CudaMemory, ArenaAlignsEveryAllocationTo256Bytes) {
  VLART_REQUIRE_REAL_CUDA();
  Backend& cuda = CudaFor(ParityMode::kBF16);
  auto arena = cuda.NewArena();
  size_t expected = 0;
  for (int64_t n : {1, 7, 0, 19, 111, 1 << 20}) {
    const Tensor t = arena->Allocate(Shape{n}, DType::kBF16);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 256, 0u) << n;
    EXPECT_EQ(t.device, Device::kCuda);
    expected += (std::max<size_t>(n * 2, 1) + 255) / 256 * 256;
  }
  EXPECT_EQ(arena->bytes_allocated(), expected);
}

// Upload converts like torch's .to(dtype) (float_convert.h is bit-exact with it); Download
// widens exactly. Special values ride along: signed zeros, infinities, NaN, f16 overflow
// (70000 -> inf), ties, subnormals.
TEST(CudaMemory, UploadDownloadConvertExactly) {
  VLART_REQUIRE_CUDA();
  const uint64_t seed = TestSeed(1);
  SCOPED_TRACE(SeedNote(seed));
  Backend& cuda = CudaFor(ParityMode::kBF16);
  auto arena = cuda.NewArena();
  HostTensor src = Uniform(Shape{1000}, seed, -3.0f, 3.0f);
  const float specials[] = {0.0f, -0.0f, kInf, -kInf, kNaN, 70000.0f, -70000.0f, 1.00390625f,
                            1.01171875f, 1e-40f, -3e-8f, 65504.0f, 65520.0f, 3.4e38f};
  std::memcpy(src.data<float>(), specials, sizeof(specials));
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(std::string(DTypeName(dtype)));
    const Tensor dev = arena->Allocate(src.shape(), dtype);
    cuda.Upload(src.view(), dev);
    HostTensor back(DType::kF32, src.shape());
    cuda.Download(dev, back.view());
    for (int64_t i = 0; i < src.numel(); ++i) {
      const float x = src.data<float>()[i];
      float want = x;
      if (dtype == DType::kBF16) want = BF16BitsToF32(F32ToBF16Bits(x));
      if (dtype == DType::kF16) want = F16BitsToF32(F32ToF16Bits(x));
      const float got = back.data<float>()[i];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << i;
      } else {
        EXPECT_EQ(std::memcmp(&got, &want, 4), 0) << i << ": x " << x << " want " << want << " got " << got;
      }
    }
  }
}

// ---- data movement ---------------------------------------------------------------------------

VLART_PARITY_SUITE(CopyParity);

// Copy between any views and dtypes is exact: same dtype copies bits, conversions round to
// nearest even on both backends.
TEST_P(CopyParity, StridedViewsAndConversionsAreExact) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  uint64_t salt = 100;
  struct Case {
    Shape shape;
    std::vector<int> perm;  // applied to the source view
    int64_t row_pad = 3;    // 0: aligned rows, the 16-byte vector path for same-dtype copies
  };
  const std::vector<Case> cases = {
      {{1}, {0}},
      {{7, 19}, {1, 0}},
      {{19, 7, 3}, {2, 0, 1}},
      {{2, 3, 5, 7, 11}, {0, 2, 1, 4, 3}},
      {{2, 14, 14, 96}, {0, 1, 2, 3}},       // contiguous: the flat fast path
      {{2, 4, 12, 4, 12, 8}, {0, 1, 3, 2, 4, 5}},  // window partition of a 48x48x8 map
      {{2, 2, 12, 2, 12, 64}, {0, 1, 3, 2, 4, 5}, 0},  // ... DaViT-like, aligned: vectors
      {{3, 5, 16}, {1, 0, 2}, 0},
      {{2, 6, 24}, {1, 0, 2}, 0},  // rows of 3 bf16 / 6 f32 vectors
  };
  for (const Case& c : cases) {
    for (DType dst_dtype : {dt, DType::kF32}) {
      const uint64_t seed = TestSeed(++salt);
      SCOPED_TRACE(SeedNote(seed) + " shape " + c.shape.ToString() + " -> " + std::string(DTypeName(dst_dtype)));
      Twin src = RandomTwin(cuda, *arena, c.shape, dt, seed, -100.0f, 100.0f);
      Tensor hv = src.h();
      Tensor dv = src.dev;
      for (size_t i = 0; i < c.perm.size(); ++i) {  // the same permutation on both sides
        hv.shape[static_cast<int>(i)] = src.h().shape[c.perm[i]];
        hv.stride[i] = src.h().stride[c.perm[i]];
        dv.shape[static_cast<int>(i)] = src.dev.shape[c.perm[i]];
        dv.stride[i] = src.dev.stride[c.perm[i]];
      }
      HostTensor want = CpuOut(hv.shape);
      CpuRef().Copy(hv, want.view());
      RoundThrough(want, dst_dtype);
      GuardedOutput out = MakeGuarded(cuda, *arena, hv.shape, dst_dtype, c.row_pad);
      cuda.Copy(dv, out.view);
      ExpectClose(ReadGuarded(cuda, out, "Copy"), want, {0.0}, "Copy");
    }
  }
}

// The vector path runs where it should (bf16 window partition, aligned) and not elsewhere.
TEST_P(CopyParity, StridedCopyPaths) {
  VLART_REQUIRE_REAL_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  const Tensor src = arena->Allocate(Shape{2, 24, 24, 64}, dt);
  cuda.Fill(src, 1.0f);
  const Tensor dst = arena->Allocate(Shape{2, 2, 2, 12, 12, 64}, dt);
  // [B, 2, 12, 2, 12, C] -> [B, 2, 2, 12, 12, C]
  Tensor view = src.Reshape(Shape{2, 2, 12, 2, 12, 64}).Permute({0, 1, 3, 2, 4, 5});
  cuda::ResetStats(cuda);
  cuda.Copy(view, dst);
  cuda.Copy(view.Slice(5, 0, 62), arena->Allocate(Shape{2, 2, 2, 12, 12, 62}, dt));  // 62: no vectors
  cuda.Synchronize();
  EXPECT_EQ(cuda::StatsOf(cuda).copy_vec, 1);
}

TEST_P(CopyParity, FillAndEmbeddingAreExact) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(200);
  SCOPED_TRACE(SeedNote(seed));
  for (float value : {0.1f, -3.0f, kInf}) {
    GuardedOutput out = MakeGuarded(cuda, *arena, Shape{7, 19}, dt, 5);
    cuda.Fill(out.view, value);
    HostTensor want = CpuOut(Shape{7, 19});
    CpuRef().Fill(want.view(), value);
    RoundThrough(want, dt);
    ExpectClose(ReadGuarded(cuda, out, "Fill"), want, {0.0}, "Fill");
  }
  for (auto [vocab, width, n] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {19, 7, 111}, {1000, 1024, 50}}) {
    Twin table = RandomTwin(cuda, *arena, Shape{vocab, width}, dt, seed + vocab);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + seed) % vocab);
    Twin id = IntTwin(cuda, *arena, ids, Shape{n});
    HostTensor want = CpuOut(Shape{n, width});
    CpuRef().Embedding(id.h(), table.h(), want.view());
    GuardedOutput out = MakeGuarded(cuda, *arena, Shape{n, width}, dt, 2);
    cuda.Embedding(id.dev, table.dev, out.view);
    ExpectClose(ReadGuarded(cuda, out, "Embedding"), want, {0.0}, "Embedding");
  }
}

// A lookup and one rounding to the mode's dtype: exact. Packed bytes (pi0) and planar ones
// (X-VLA). Shapes: two 224x224 views and a 3-view batch (vector paths), H*W not a multiple of
// 8 and one channel (per-element path; planar vectors take any C); guard 3 leaves the output
// 2- or 4-byte aligned only, which must also take the per-element path (the vector paths
// store 16 bytes).
TEST_P(CopyParity, NormalizePixelsIsExact) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(210);
  SCOPED_TRACE(SeedNote(seed));
  struct Case {
    Shape shape;  // [N, H, W, C]
    int64_t guard;
  };
  for (const bool planar : {false, true}) {
    for (const Case& c : {Case{{2, 224, 224, 3}, 64}, Case{{3, 4, 6, 3}, 64},
                          Case{{1, 5, 7, 3}, 64}, Case{{2, 3, 8, 1}, 64}, Case{{1, 4, 8, 3}, 3}}) {
      SCOPED_TRACE(std::string(planar ? "planar " : "packed ") + c.shape.ToString() + " guard " +
                   std::to_string(c.guard));
      const int64_t n = c.shape[0], h = c.shape[1], w = c.shape[2], ch = c.shape[3];
      const Shape stored = planar ? Shape{n, ch, h, w} : c.shape;
      HostTensor pixels(DType::kU8, stored);
      uint64_t state = seed + static_cast<uint64_t>(pixels.numel());
      for (int64_t i = 0; i < pixels.numel(); ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        pixels.data<uint8_t>()[i] = static_cast<uint8_t>(state >> 56);
      }
      Tensor dev_pixels = arena->Allocate(stored, DType::kU8);
      cuda.Upload(pixels.view(), dev_pixels);
      const auto as_nhwc = [&](const Tensor& t) { return planar ? t.Permute({0, 2, 3, 1}) : t; };
      Twin table = RandomTwin(cuda, *arena, Shape{ch, 256}, DType::kF32, seed + ch, -2.0f, 2.0f);
      HostTensor want = CpuOut(Shape{n, ch, h, w});
      CpuRef().NormalizePixels(as_nhwc(pixels.view()), table.h(), want.view());
      RoundThrough(want, dt);
      GuardedOutput out = MakeGuarded(cuda, *arena, Shape{n, ch, h, w}, dt, 0, c.guard);
      cuda.NormalizePixels(as_nhwc(dev_pixels), table.dev, out.view);
      ExpectClose(ReadGuarded(cuda, out, "NormalizePixels"), want, {0.0}, "NormalizePixels");
    }
  }
}

// Pillow's separable resize: integer sums, exact. Shapes: X-VLA's LIBERO views (2 x 256 ->
// 224 bicubic), a 480x640 camera (wider taps, taller bands), an upscale, one axis unchanged
// (identity taps), a fractional box (vertical taps not starting at row 0), and a row 27 KB
// wide, whose band does not fit shared memory (the rows outside it come from global memory).
// The output sits between poisoned guard bytes. Then taps outside the input: a device cannot
// check them, so it must clamp: no read or write out of bounds (the guards), no crash.
TEST_P(CopyParity, ResizePixelsIsExact) {
  VLART_REQUIRE_CUDA();
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(230);
  SCOPED_TRACE(SeedNote(seed));
  constexpr int64_t kGuard = 61;
  constexpr uint8_t kPoison = 0xa5;
  struct Case {
    int n, h, w, ho, wo;
    ResampleFilter filter;
    std::optional<ResampleBox> box;
  };
  const auto random_bytes = [](HostTensor& t, uint64_t state) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      t.data<uint8_t>()[i] = static_cast<uint8_t>(state >> 56);
    }
  };
  // Runs the op into a guarded buffer; returns the output bytes (guards checked).
  const auto run = [&](const HostTensor& pixels, const HostTensor& tx, const HostTensor& ty,
                       const Shape& out_shape) {
    Tensor dev_pixels = arena->Allocate(pixels.shape(), DType::kU8);
    cuda.Upload(pixels.view(), dev_pixels);
    Tensor dev_x = arena->Allocate(tx.shape(), DType::kI32);
    Tensor dev_y = arena->Allocate(ty.shape(), DType::kI32);
    cuda.Upload(tx.view(), dev_x);
    cuda.Upload(ty.view(), dev_y);
    const int64_t numel = out_shape.numel();
    HostTensor raw(DType::kU8, {numel + 2 * kGuard});
    std::memset(raw.data<uint8_t>(), kPoison, static_cast<size_t>(raw.numel()));
    Tensor buffer = arena->Allocate(raw.shape(), DType::kU8);
    cuda.Upload(raw.view(), buffer);
    cuda.ResizePixels(dev_pixels, dev_x, dev_y, buffer.Slice(0, kGuard, kGuard + numel).Reshape(out_shape));
    cuda.Download(buffer, raw.view());
    cuda.Synchronize();
    int64_t touched = 0;
    for (int64_t i = 0; i < kGuard; ++i) {
      touched += raw.data<uint8_t>()[i] != kPoison;
      touched += raw.data<uint8_t>()[kGuard + numel + i] != kPoison;
    }
    EXPECT_EQ(touched, 0) << "guard bytes around the output were overwritten";
    HostTensor out(DType::kU8, out_shape);
    std::memcpy(out.data<uint8_t>(), raw.data<uint8_t>() + kGuard, static_cast<size_t>(numel));
    return out;
  };
  for (const Case& c : {Case{2, 256, 256, 224, 224, ResampleFilter::kBicubic, std::nullopt},
                        Case{1, 480, 640, 224, 224, ResampleFilter::kBicubic, std::nullopt},
                        Case{3, 17, 13, 40, 29, ResampleFilter::kLanczos, std::nullopt},
                        Case{1, 48, 32, 20, 32, ResampleFilter::kBilinear, std::nullopt},
                        Case{2, 40, 50, 16, 21, ResampleFilter::kHamming,
                             ResampleBox{3.5f, 2.0f, 44.25f, 37.0f}},
                        Case{1, 9, 5000, 6, 9000, ResampleFilter::kBicubic, std::nullopt}}) {
    const std::string what = fmt::format("{} x {}x{} -> {}x{} {}{}", c.n, c.h, c.w, c.ho, c.wo,
                                         ResampleFilterName(c.filter), c.box ? " box" : "");
    SCOPED_TRACE(what);
    auto plan = Resampler::Create(c.h, c.w, c.ho, c.wo, c.filter, c.box);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    const std::optional<ResizeTaps> taps = SeparableResizeTaps(*plan);
    ASSERT_TRUE(taps.has_value());
    HostTensor pixels(DType::kU8, {c.n, c.h, c.w, 3});
    random_bytes(pixels, seed + static_cast<uint64_t>(c.h * 131 + c.wo));
    HostTensor want(DType::kU8, {c.n, 3, c.ho, c.wo});
    CpuRef().ResizePixels(pixels.view(), taps->x.view(), taps->y.view(), want.view());
    const HostTensor got = run(pixels, taps->x, taps->y, want.shape());
    int64_t wrong = 0, first = -1;
    for (int64_t i = 0; i < want.numel(); ++i) {
      if (got.data<uint8_t>()[i] != want.data<uint8_t>()[i]) {
        if (first < 0) first = i;
        ++wrong;
      }
    }
    EXPECT_EQ(wrong, 0) << wrong << " of " << want.numel() << " bytes differ, first at flat index "
                        << first << " ([N, C, Ho, Wo])";
  }
  if (!SelfCheck()) {  // the CPU reference refuses such taps (CpuResizePixels)
    HostTensor pixels(DType::kU8, {1, 8, 8, 3});
    random_bytes(pixels, seed);
    HostTensor tx(DType::kI32, {4, 4});
    HostTensor ty(DType::kI32, {4, 4});
    for (int i = 0; i < 4; ++i) {
      const int32_t row[4] = {i == 1 ? -100000 : 1000000 * i, i == 2 ? 99 : 2, 1 << 22, -7};
      std::memcpy(tx.data<int32_t>() + 4 * i, row, sizeof(row));
      std::memcpy(ty.data<int32_t>() + 4 * i, row, sizeof(row));
    }
    run(pixels, tx, ty, Shape{1, 3, 4, 4});
  }
}

// ---- elementwise -------------------------------------------------------------------------------

VLART_PARITY_SUITE(ElementwiseParity);

// Bound: one f32 evaluation per element on each side (Axpby may fuse into an FMA on the
// device: <= 2 u32 (|αa| + |βb|)), then one rounding into the output dtype (u_out |want|).
std::vector<double> BinaryTol(const HostTensor& a, const HostTensor& b, float alpha, float beta,
                              const HostTensor& want, DType out) {
  std::vector<double> tol(static_cast<size_t>(want.numel()));
  const std::vector<double> va = Values(a.view()), vb = Values(b.view());
  for (size_t i = 0; i < tol.size(); ++i) {
    const double terms = std::fabs(alpha * va[i]) + std::fabs(beta * vb[i]);
    tol[i] = UnitRoundoff(out) * std::fabs(want.data<float>()[i]) + 4 * kUnitF32 * terms + AbsFloor(out);
  }
  return tol;
}

TEST_P(ElementwiseParity, AddMulAxpbyOnStridedBroadcastAndInPlaceViews) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  uint64_t salt = 300;
  for (const Shape& shape : {Shape{1}, Shape{7}, Shape{19, 111}, Shape{2, 7, 19}, Shape{262, 1024}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " shape " + shape.ToString());
    HostTensor av = Uniform(shape, seed, -4.0f, 4.0f);
    if (av.numel() >= 7) {  // NaN and infinity positions must agree
      av.data<float>()[3] = kNaN;
      av.data<float>()[5] = kInf;
      av.data<float>()[6] = -kInf;
    }
    Twin a = MakeTwin(cuda, *arena, std::move(av), dt);
    // b broadcasts its last row over the leading dims (stride 0).
    Shape row_shape{shape[-1]};
    Twin b_row = RandomTwin(cuda, *arena, row_shape, dt, seed + 1, -4.0f, 4.0f);
    const Tensor b_h = b_row.h().Broadcast(shape);
    const Tensor b_d = b_row.dev.Broadcast(shape);
    HostTensor b_dense = HostTensor::CopyOf(b_h);
    struct Op {
      const char* name;
      float alpha, beta;
    };
    for (const Op& op : {Op{"Add", 1.0f, 1.0f}, Op{"Mul", 1.0f, 1.0f}, Op{"Axpby", 0.37f, -1.5f}}) {
      SCOPED_TRACE(op.name);
      HostTensor want = CpuOut(shape);
      const std::string name = op.name;
      const auto run = [&](Backend& be, const Tensor& x, const Tensor& y, const Tensor& out) {
        if (name == "Add") be.Add(x, y, out);
        if (name == "Mul") be.Mul(x, y, out);
        if (name == "Axpby") be.Axpby(op.alpha, x, op.beta, y, out);
      };
      run(CpuRef(), a.h(), b_h, want.view());
      std::vector<double> tol;
      if (name == "Mul") {
        // One rounded f32 product on both sides: identical before the output rounding.
        tol.resize(static_cast<size_t>(want.numel()));
        for (size_t i = 0; i < tol.size(); ++i) tol[i] = UnitRoundoff(dt) * std::fabs(want.data<float>()[i]) + AbsFloor(dt);
      } else {
        tol = BinaryTol(a.host, b_dense, op.alpha, op.beta, want, dt);
      }
      GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, 4);
      run(cuda, a.dev, b_d, out.view);
      ExpectClose(ReadGuarded(cuda, out, name), want, tol, name);
      // In place: out aliases a.
      GuardedOutput inplace = MakeGuarded(cuda, *arena, shape, dt, 1);
      cuda.Copy(a.dev, inplace.view);
      run(cuda, inplace.view, b_d, inplace.view);
      ExpectClose(ReadGuarded(cuda, inplace, name + " in place"), want, tol, name + " in place");
    }
  }
}

TEST_P(ElementwiseParity, EveryActivation) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  for (const Shape& shape : {Shape{1}, Shape{7, 19}, Shape{111, 111}, Shape{262, 4096}}) {
    const uint64_t seed = TestSeed(400 + shape.numel());
    SCOPED_TRACE(SeedNote(seed) + " shape " + shape.ToString());
    HostTensor xv = Uniform(shape, seed, -8.0f, 8.0f);
    if (xv.numel() >= 3) xv.data<float>()[2] = kNaN;
    Twin x = MakeTwin(cuda, *arena, std::move(xv), dt);
    for (Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                           Activation::kSilu, Activation::kSigmoid}) {
      SCOPED_TRACE(ActivationName(act));
      HostTensor want = CpuOut(shape);
      CpuRef().Activate(act, x.h(), want.view());
      // One function evaluation on each side (<= kFunctionUlps u32 of the magnitudes; the GELU
      // forms cancel in 1 + erf / 1 + tanh for x << 0, so the bound scales with |x|), then the
      // output rounding.
      std::vector<double> tol(static_cast<size_t>(want.numel()));
      for (size_t i = 0; i < tol.size(); ++i) {
        const double w = std::fabs(want.data<float>()[i]);
        tol[i] = UnitRoundoff(dt) * w + kFunctionUlps * kUnitF32 * (std::fabs(x.host.data<float>()[i]) + w) + AbsFloor(dt);
      }
      GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, 3);
      cuda.Activate(act, x.dev, out.view);
      ExpectClose(ReadGuarded(cuda, out, "Activate"), want, tol, ActivationName(act));
    }
  }
}

// ---- elementwise paths (elementwise.cu) and GatedActivation ----------------------------------

// The path an elementwise call must take on the device: the strided kernel for the fallback mode
// (force_fallback_kernels), mixed dtypes or a strided innermost dim; otherwise rows of 16-byte
// vectors when every row start is aligned and rows are whole vectors, else plain rows.
enum class Path { kVec, kRows, kStrided };
const char* PathName(Path p) { return p == Path::kVec ? "rows-vec" : p == Path::kRows ? "rows" : "strided"; }

Path ExpectedPath(ParityMode mode, bool same_dtype, bool inner_contiguous, bool aligned) {
  if (mode == ParityMode::kBF16Fallback || !same_dtype || !inner_contiguous) return Path::kStrided;
  return aligned ? Path::kVec : Path::kRows;
}

// Expects exactly one elementwise call since the last ResetStats, on path `want` (real CUDA only).
void ExpectPath(Backend& cuda, Path want, const std::string& what) {
  if (SelfCheck()) return;
  const cuda::Stats s = cuda::StatsOf(cuda);
  EXPECT_EQ(s.elementwise_vec, want == Path::kVec ? 1 : 0) << what << ": expected the " << PathName(want) << " path";
  EXPECT_EQ(s.elementwise_rows, want == Path::kRows ? 1 : 0) << what << ": expected the " << PathName(want) << " path";
  EXPECT_EQ(s.elementwise_strided, want == Path::kStrided ? 1 : 0) << what << ": expected the " << PathName(want) << " path";
}

void ResetPathStats(Backend& cuda) {
  if (!SelfCheck()) cuda::ResetStats(cuda);
}

// Activate's bound (EveryActivation): one function evaluation on each side, then the output
// rounding.
std::vector<double> ActivateTol(const std::vector<double>& x, const HostTensor& want, DType out) {
  std::vector<double> tol(x.size());
  for (size_t i = 0; i < tol.size(); ++i) {
    const double w = std::fabs(want.data<float>()[i]);
    tol[i] = UnitRoundoff(out) * w + kFunctionUlps * kUnitF32 * (std::fabs(x[i]) + w) + AbsFloor(out);
  }
  return tol;
}

// Add / Mul / Axpby / Activate on column slices of wider buffers (rows with a row stride, the
// GeGLU layout) and on a broadcast bias row: the rows paths, with the bounds of the cases above.
TEST_P(ElementwiseParity, RowStridedViewsTakeTheRowsPaths) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    int64_t rows, cols, pitch, x0, y0;  // x, y: columns [x0, x0 + cols), [y0, y0 + cols) of [rows, pitch]
    int64_t out_pad, out_guard;
    bool aligned;  // every operand's row starts 16-byte aligned, rows of whole 16-byte vectors
  };
  const std::vector<Case> cases = {
      {50, 4096, 8192, 0, 4096, 8, 64, true},  // pi0 expert widths
      {3, 17, 40, 0, 20, 3, 64, false},        // rows of 17: not whole vectors
      {9, 64, 136, 1, 66, 8, 64, false},       // x starts one element in: misaligned
      {9, 64, 128, 0, 64, 8, 1, false},        // misaligned output
  };
  uint64_t salt = 450;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + fmt::format(" [{}, {}] of [{}, {}] at {} / {}", c.rows, c.cols, c.rows, c.pitch, c.x0, c.y0));
    Twin buf = RandomTwin(cuda, *arena, Shape{c.rows, c.pitch}, dt, seed, -4.0f, 4.0f);
    Twin bias = RandomTwin(cuda, *arena, Shape{c.cols}, dt, seed + 1, -4.0f, 4.0f);
    const Tensor xh = buf.h().Slice(1, c.x0, c.x0 + c.cols), xd = buf.dev.Slice(1, c.x0, c.x0 + c.cols);
    const Tensor yh = buf.h().Slice(1, c.y0, c.y0 + c.cols), yd = buf.dev.Slice(1, c.y0, c.y0 + c.cols);
    const Shape shape{c.rows, c.cols};
    const HostTensor x_dense = HostTensor::CopyOf(xh), y_dense = HostTensor::CopyOf(yh);
    const std::vector<double> xv = Values(xh);
    const Path want_path = ExpectedPath(mode, true, true, c.aligned);
    for (const char* op : {"Add", "Mul", "Axpby", "Activate", "Add bias row"}) {
      SCOPED_TRACE(op);
      const std::string name = op;
      const bool bias_row = name == "Add bias row";
      const Tensor bh = bias_row ? bias.h().Broadcast(shape) : yh;
      const Tensor bd = bias_row ? bias.dev.Broadcast(shape) : yd;
      const auto run = [&](Backend& be, const Tensor& a, const Tensor& b, const Tensor& out) {
        if (name == "Add" || bias_row) be.Add(a, b, out);
        if (name == "Mul") be.Mul(a, b, out);
        if (name == "Axpby") be.Axpby(0.37f, a, -1.5f, b, out);
        if (name == "Activate") be.Activate(Activation::kGeluTanh, a, out);
      };
      HostTensor want = CpuOut(shape);
      run(CpuRef(), xh, bh, want.view());
      std::vector<double> tol;
      if (name == "Activate") {
        tol = ActivateTol(xv, want, dt);
      } else if (name == "Mul") {
        tol.resize(static_cast<size_t>(want.numel()));
        for (size_t i = 0; i < tol.size(); ++i) tol[i] = UnitRoundoff(dt) * std::fabs(want.data<float>()[i]) + AbsFloor(dt);
      } else {
        const HostTensor b_dense = HostTensor::CopyOf(bh);
        tol = BinaryTol(x_dense, b_dense, name == "Axpby" ? 0.37f : 1.0f, name == "Axpby" ? -1.5f : 1.0f, want, dt);
      }
      GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, c.out_pad, c.out_guard);
      ResetPathStats(cuda);
      run(cuda, xd, bd, out.view);
      ExpectPath(cuda, want_path, name);
      ExpectClose(ReadGuarded(cuda, out, name), want, tol, name);
    }
  }
}

// Bound: the device's act(g) is within Activate's bound kFunctionUlps u32 (|g| + |act(g)|) of the
// CPU's; the product carries that times |u|; each side rounds its f32 product once
// (2 u32 |act(g) u|); then the output rounding (u_out |want| + AbsFloor). act_g is the CPU's
// Activate of the same gate values.
std::vector<double> GatedTol(const std::vector<double>& g, const std::vector<double>& act_g,
                             const std::vector<double>& u, const HostTensor& want, DType out) {
  std::vector<double> tol(g.size());
  for (size_t i = 0; i < tol.size(); ++i) {
    const double a = std::fabs(act_g[i]), au = std::fabs(u[i]);
    tol[i] = UnitRoundoff(out) * std::fabs(want.data<float>()[i]) +
             (kFunctionUlps * kUnitF32 * (std::fabs(g[i]) + a) + 2 * kUnitF32 * a) * au + AbsFloor(out);
  }
  return tol;
}

// GatedActivation (pi0's GeGLU: gate and up are the column halves of one Linear output, the result
// written over the gate half) at the model shapes, awkward and misaligned slices (rows path), a
// transposed gate and mixed dtypes (strided path), into a separate guarded output and in place.
TEST_P(ElementwiseParity, GatedActivationSlicesInPlaceAndPaths) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    const char* name;
    int64_t rows, cols, pitch, g0, u0;  // gate, up: columns [g0, g0 + cols), [u0, u0 + cols) of [rows, pitch]
    bool transposed_gate;  // gate instead from its own [cols, rows] buffer, transposed
    bool aligned;          // 16-byte row starts and whole 16-byte vectors in every mode
    bool model;            // a pi0 shape: gelu_tanh only (the other activations run on the small ones)
  };
  const std::vector<Case> cases = {
      {"pi0 prefix GeGLU", 526, 16384, 32768, 0, 16384, false, true, true},
      {"pi0 expert GeGLU", 50, 4096, 8192, 0, 4096, false, true, true},
      {"awkward 3x17 of 3x40", 3, 17, 40, 0, 20, false, false, false},
      {"one element", 1, 1, 2, 0, 1, false, false, false},
      {"gate one element in", 50, 4096, 8200, 1, 4100, false, false, false},
      {"odd pitch", 7, 64, 129, 0, 64, false, false, false},
      {"aligned small", 5, 96, 192, 0, 96, false, true, false},
      {"transposed gate", 37, 64, 128, 0, 64, true, false, false},
  };
  const Activation all_acts[] = {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                                 Activation::kSilu, Activation::kSigmoid};
  uint64_t salt = 500;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + c.name);
    const Shape shape{c.rows, c.cols};
    // Inputs: gate in [-8, 8) (the activations' interesting range), up in [-4, 4); NaN in the
    // gate and ±inf in up (times act(1), act(2) > 0) must come out as NaN and ±inf.
    HostTensor hv = Uniform(Shape{c.rows, c.pitch}, seed, -4.0f, 4.0f);
    HostTensor gv = c.transposed_gate ? Uniform(Shape{c.cols, c.rows}, seed + 1, -8.0f, 8.0f)
                                      : Uniform(Shape{1}, seed + 1);  // unused
    const auto gate_of = [&](const Tensor& hid, const Tensor& own) {
      return c.transposed_gate ? own.Transpose(0, 1) : hid.Slice(1, c.g0, c.g0 + c.cols);
    };
    {
      const Tensor g = gate_of(hv.view(), gv.view());
      if (!c.transposed_gate) {
        const HostTensor wide = Uniform(shape, seed + 2, -8.0f, 8.0f);
        CpuRef().Copy(wide.view(), g);
      }
      if (c.cols >= 7) {
        const Tensor u = hv.view().Slice(1, c.u0, c.u0 + c.cols);
        *static_cast<float*>(g.ElementPtr({0, 2})) = kNaN;
        *static_cast<float*>(g.ElementPtr({0, 5})) = 1.0f;
        *static_cast<float*>(u.ElementPtr({0, 5})) = kInf;
        *static_cast<float*>(g.ElementPtr({0, 6})) = 2.0f;
        *static_cast<float*>(u.ElementPtr({0, 6})) = -kInf;
      }
    }
    Twin hid = MakeTwin(cuda, *arena, std::move(hv), dt);
    Twin own = MakeTwin(cuda, *arena, std::move(gv), dt);
    const Tensor gh = gate_of(hid.h(), own.h()), gd = gate_of(hid.dev, own.dev);
    const Tensor uh = hid.h().Slice(1, c.u0, c.u0 + c.cols), ud = hid.dev.Slice(1, c.u0, c.u0 + c.cols);
    const std::vector<double> g = Values(gh), u = Values(uh);
    std::vector<Activation> acts(std::begin(all_acts), std::end(all_acts));
    if (c.model) acts = {Activation::kGeluTanh};
    for (Activation act : acts) {
      SCOPED_TRACE(ActivationName(act));
      HostTensor want = CpuOut(shape), act_g = CpuOut(shape);
      CpuRef().GatedActivation(act, gh, uh, want.view(), nullptr);
      CpuRef().Activate(act, gh, act_g.view());
      const std::vector<double> tol = GatedTol(g, Values(act_g.view()), u, want, dt);

      // Into a separate guarded output (row-strided; misaligned when the inputs are).
      GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, c.aligned ? 8 : 3, c.aligned ? 64 : 1);
      ResetPathStats(cuda);
      cuda.GatedActivation(act, gd, ud, out.view, nullptr);
      ExpectPath(cuda, ExpectedPath(mode, true, !c.transposed_gate, c.aligned), "separate output");
      ExpectClose(ReadGuarded(cuda, out, "GatedActivation"), want, tol, "GatedActivation");

      // In place, as pi0 calls it: over the gate half (over up for the transposed gate, whose
      // innermost stride an output may not have). The other columns must be untouched.
      const int64_t o0 = c.transposed_gate ? c.u0 : c.g0;
      GuardedOutput whole = MakeGuarded(cuda, *arena, Shape{c.rows, c.pitch}, dt);
      cuda.Copy(hid.dev, whole.view);
      const Tensor target = whole.view.Slice(1, o0, o0 + c.cols);
      const Tensor g_in = c.transposed_gate ? gd : target;
      const Tensor u_in = c.transposed_gate ? target : whole.view.Slice(1, c.u0, c.u0 + c.cols);
      ResetPathStats(cuda);
      cuda.GatedActivation(act, g_in, u_in, target, nullptr);
      ExpectPath(cuda, ExpectedPath(mode, true, !c.transposed_gate, c.aligned), "in place");
      HostTensor got_whole = ReadGuarded(cuda, whole, "GatedActivation in place");
      const HostTensor got = HostTensor::CopyOf(got_whole.view().Slice(1, o0, o0 + c.cols));
      ExpectClose(got, want, tol, "GatedActivation in place");
      HostTensor rest = HostTensor::CopyOf(hid.h());  // every other column exactly as uploaded
      CpuRef().Copy(got.view(), rest.view().Slice(1, o0, o0 + c.cols));
      ExpectClose(got_whole, rest, {0.0}, "GatedActivation in place: other columns");

      // Mixed dtypes (f32 output of 16-bit inputs): the strided kernel, one rounding to f32.
      if (!c.model && dt != DType::kF32) {
        GuardedOutput out32 = MakeGuarded(cuda, *arena, shape, DType::kF32, 2);
        ResetPathStats(cuda);
        cuda.GatedActivation(act, gd, ud, out32.view, nullptr);
        ExpectPath(cuda, Path::kStrided, "f32 output");
        ExpectClose(ReadGuarded(cuda, out32, "GatedActivation f32 out"), want,
                    GatedTol(g, Values(act_g.view()), u, want, DType::kF32), "GatedActivation f32 out");
      }
    }
  }
}

// RmsNorm's statistic of row r of x (host, double), the value RowRmsScale stands for.
std::vector<double> HostRowInvRms(const Tensor& x, float eps) {
  const std::vector<double> v = Values(x);
  const int64_t rows = x.shape[0], c = x.shape[1];
  std::vector<double> s(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double sq = 0.0;
    for (int64_t j = 0; j < c; ++j) sq += v[static_cast<size_t>(r * c + j)] * v[static_cast<size_t>(r * c + j)];
    s[static_cast<size_t>(r)] = 1.0 / std::sqrt(sq / static_cast<double>(c) + eps);
  }
  return s;
}

// How far the device's statistic may sit from the CPU's, in f32 ulps of s: the CPU sums x² in
// double and rounds once; the block sums in f32, each thread ~C / threads terms in sequence,
// then a 5-level warp tree and a second one over <= 8 warps: <= C/256 + 10 roundings of the
// running sum, each <= u32 relative (the terms are positive), then the mean, + eps, sqrt and the
// reciprocal (4 more). C <= 2048 here: <= 22 u32 on mean(x²), half of it through the square
// root, + 2 roundings: 16 is a bound with room.
constexpr double kRowStatUlps = 16.0;

// GatedActivation with a row scale (the folded GemmaRMSNorm, RowRmsScale): act(s g) * (s u) at
// pi0's expert and prefix shapes (gate / up the column halves of the gate_up output, written in
// place over the gate half as the model does), awkward and misaligned rows, a transposed gate
// (strided path) and an f32 x under 16-bit operands, against the CPU chain (scaled f32 copies,
// then the op). Tolerance: GatedTol on the scaled inputs, plus what a statistic kRowStatUlps off
// moves the result: |d/ds act(s g) (s u)| <= (|act'| |g s| + |act(g s)|) |u s| / s per unit of
// relative error, |act'| <= 1.13 for gelu_tanh.
TEST_P(ElementwiseParity, GatedActivationWithRowScale) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    const char* name;
    int64_t rows, cols, pitch, g0, u0, width;  // gate, up columns of [rows, pitch]; x [rows, width]
    bool transposed_gate, aligned, x_f32;
  };
  const std::vector<Case> cases = {
      {"pi0 expert", 51, 4096, 8192, 0, 4096, 1024, false, true, false},
      {"pi0 prefix", 560, 16384, 32768, 0, 16384, 2048, false, true, false},
      {"awkward 3x17 of 3x40, x width 100", 3, 17, 40, 0, 20, 100, false, false, false},
      {"gate one element in, f32 x", 50, 4096, 8200, 1, 4100, 1024, false, false, true},
      {"transposed gate", 37, 64, 128, 0, 64, 33, true, false, false},
      {"one row", 1, 96, 192, 0, 96, 7, false, true, false},
  };
  constexpr float kEps = 1e-6f;  // Gemma's rms_norm_eps
  uint64_t salt = 560;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + c.name);
    const Shape shape{c.rows, c.cols};
    HostTensor hv = Uniform(Shape{c.rows, c.pitch}, seed, -4.0f, 4.0f);
    HostTensor gv = c.transposed_gate ? Uniform(Shape{c.cols, c.rows}, seed + 1, -8.0f, 8.0f)
                                      : Uniform(Shape{1}, seed + 1);
    const auto gate_of = [&](const Tensor& hid, const Tensor& own) {
      return c.transposed_gate ? own.Transpose(0, 1) : hid.Slice(1, c.g0, c.g0 + c.cols);
    };
    if (!c.transposed_gate) CpuRef().Copy(Uniform(shape, seed + 2, -8.0f, 8.0f).view(), gate_of(hv.view(), gv.view()));
    Twin hid = MakeTwin(cuda, *arena, std::move(hv), dt);
    Twin own = MakeTwin(cuda, *arena, std::move(gv), dt);
    // x: the residual stream, rows of different scale (s ~0.17, 1.7, 17: the products stay
    // inside f16's range, |act(s g) s u| <= 8 * 17 * 4 * 17 ~ 9e3).
    HostTensor xv = Uniform(Shape{c.rows, c.width}, seed + 3, -1.0f, 1.0f);
    for (int64_t r = 0; r < c.rows; ++r) {
      const float scale = std::pow(10.0f, static_cast<float>(r % 3) - 1.0f);
      for (int64_t j = 0; j < c.width; ++j) xv.data<float>()[r * c.width + j] *= scale;
    }
    Twin x = MakeTwin(cuda, *arena, std::move(xv), c.x_f32 ? DType::kF32 : dt);
    const Tensor gh = gate_of(hid.h(), own.h()), gd = gate_of(hid.dev, own.dev);
    const Tensor uh = hid.h().Slice(1, c.u0, c.u0 + c.cols), ud = hid.dev.Slice(1, c.u0, c.u0 + c.cols);
    const RowRmsScale rs_host{x.h(), kEps}, rs_dev{x.dev, kEps};
    const Activation act = Activation::kGeluTanh;

    HostTensor want = CpuOut(shape);
    CpuRef().GatedActivation(act, gh, uh, want.view(), &rs_host);
    // The bound, on the scaled inputs.
    const std::vector<double> s = HostRowInvRms(x.h(), kEps);
    std::vector<double> g = Values(gh), u = Values(uh);
    HostTensor gs_host = CpuOut(shape), act_gs = CpuOut(shape);
    for (size_t i = 0; i < g.size(); ++i) {
      const double si = s[i / static_cast<size_t>(c.cols)];
      g[i] *= si;
      u[i] *= si;
      gs_host.data<float>()[i] = static_cast<float>(g[i]);
    }
    CpuRef().Activate(act, gs_host.view(), act_gs.view());
    const std::vector<double> ag = Values(act_gs.view());
    std::vector<double> tol = GatedTol(g, ag, u, want, dt);
    for (size_t i = 0; i < tol.size(); ++i) {
      tol[i] += kRowStatUlps * kUnitF32 * (1.13 * std::fabs(g[i]) + std::fabs(ag[i])) * std::fabs(u[i]);
    }

    GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, c.aligned ? 8 : 3, c.aligned ? 64 : 1);
    ResetPathStats(cuda);
    cuda.GatedActivation(act, gd, ud, out.view, &rs_dev);
    ExpectPath(cuda, ExpectedPath(mode, true, !c.transposed_gate, c.aligned), "separate output");
    ExpectClose(ReadGuarded(cuda, out, "GatedActivation row scale"), want, tol, "GatedActivation row scale");

    // In place over the gate half, as the model calls it; the up half and the guards untouched.
    if (!c.transposed_gate) {
      GuardedOutput whole = MakeGuarded(cuda, *arena, Shape{c.rows, c.pitch}, dt);
      cuda.Copy(hid.dev, whole.view);
      const Tensor target = whole.view.Slice(1, c.g0, c.g0 + c.cols);
      cuda.GatedActivation(act, target, whole.view.Slice(1, c.u0, c.u0 + c.cols), target, &rs_dev);
      HostTensor got_whole = ReadGuarded(cuda, whole, "GatedActivation row scale in place");
      const HostTensor got = HostTensor::CopyOf(got_whole.view().Slice(1, c.g0, c.g0 + c.cols));
      ExpectClose(got, want, tol, "GatedActivation row scale in place");
      HostTensor rest = HostTensor::CopyOf(hid.h());
      CpuRef().Copy(got.view(), rest.view().Slice(1, c.g0, c.g0 + c.cols));
      ExpectClose(got_whole, rest, {0.0}, "GatedActivation row scale in place: other columns");
    }
  }
}

// The rows kernels (16-byte vectors and one element per thread) and the strided kernel evaluate
// the same expressions, so a result must not depend on the path: bf16 operands on the rows paths
// (the bf16 backend) against the strided kernel (the fallback backend), bit for bit, with NaN and
// infinities among the inputs. This is also what keeps Add/Mul/Axpby/Activate numerically as they
// were before the rows paths existed (their old kernels evaluated these expressions too).
TEST(ElementwisePaths, RowsAndStridedKernelsAgreeBitForBit) {
  VLART_REQUIRE_REAL_CUDA();
  Backend& fast = CudaFor(ParityMode::kBF16);
  Backend& slow = CudaFor(ParityMode::kBF16Fallback);
  auto fast_arena = fast.NewArena();
  auto slow_arena = slow.NewArena();
  const uint64_t seed = TestSeed(590);
  SCOPED_TRACE(SeedNote(seed));
  struct Case {
    int64_t rows, cols, pitch, x0;  // x, y: columns [x0, x0 + cols), [x0 + cols, x0 + 2 cols) of [rows, pitch]
  };
  for (const Case& c : {Case{50, 4096, 8192, 0}, Case{7, 61, 130, 1}}) {
    const int64_t rows = c.rows, cols = c.cols, pitch = c.pitch, x0 = c.x0;
    SCOPED_TRACE(fmt::format("[{}, {}] of [{}, {}] at {}", rows, cols, rows, pitch, x0));
    HostTensor values = Uniform(Shape{rows, pitch}, seed + static_cast<uint64_t>(cols), -8.0f, 8.0f);
    values.data<float>()[x0 + 2] = kNaN;
    values.data<float>()[x0 + 3] = kInf;
    values.data<float>()[x0 + cols + 4] = -kInf;
    const Twin f = MakeTwin(fast, *fast_arena, HostTensor::CopyOf(values.view()), DType::kBF16);
    const Twin s = MakeTwin(slow, *slow_arena, std::move(values), DType::kBF16);
    const auto x_of = [&](const Twin& t) { return t.dev.Slice(1, x0, x0 + cols); };
    const auto y_of = [&](const Twin& t) { return t.dev.Slice(1, x0 + cols, x0 + 2 * cols); };
    const Shape shape{rows, cols};
    struct Op {
      std::string name;
      std::function<void(Backend&, const Tensor&, const Tensor&, const Tensor&)> run;
    };
    std::vector<Op> ops = {
        {"Add", [](Backend& be, const Tensor& a, const Tensor& b, const Tensor& o) { be.Add(a, b, o); }},
        {"Mul", [](Backend& be, const Tensor& a, const Tensor& b, const Tensor& o) { be.Mul(a, b, o); }},
        {"Axpby", [](Backend& be, const Tensor& a, const Tensor& b, const Tensor& o) { be.Axpby(0.37f, a, -1.5f, b, o); }},
    };
    for (Activation act : {Activation::kNone, Activation::kGeluErf, Activation::kGeluTanh,
                           Activation::kSilu, Activation::kSigmoid}) {
      ops.push_back({fmt::format("Activate {}", ActivationName(act)),
                     [act](Backend& be, const Tensor& a, const Tensor&, const Tensor& o) { be.Activate(act, a, o); }});
      ops.push_back({fmt::format("GatedActivation {}", ActivationName(act)),
                     [act](Backend& be, const Tensor& a, const Tensor& b, const Tensor& o) {
                       be.GatedActivation(act, a, b, o, nullptr);
                     }});
    }
    for (const Op& op : ops) {
      SCOPED_TRACE(op.name);
      GuardedOutput fo = MakeGuarded(fast, *fast_arena, shape, DType::kBF16, 8);
      GuardedOutput so = MakeGuarded(slow, *slow_arena, shape, DType::kBF16, 8);
      cuda::ResetStats(fast);
      cuda::ResetStats(slow);
      op.run(fast, x_of(f), y_of(f), fo.view);
      op.run(slow, x_of(s), y_of(s), so.view);
      const cuda::Stats fs = cuda::StatsOf(fast), ss = cuda::StatsOf(slow);
      EXPECT_EQ(fs.elementwise_vec + fs.elementwise_rows, 1) << "bf16 backend: not a rows path";
      EXPECT_EQ(fs.elementwise_vec, x0 == 0 ? 1 : 0) << "aligned views: the vector path";
      EXPECT_EQ(ss.elementwise_strided, 1) << "fallback backend: not the strided kernel";
      ExpectClose(ReadGuarded(fast, fo, op.name), ReadGuarded(slow, so, op.name), {0.0}, op.name);
    }
  }
}

// ---- MulAdd: pi0.5's gated residual x + y * gate --------------------------------------------------

// A modulation [R, W] (rows of an adaRMS table) broadcast over the tokens of `shape` [B, S, W]:
// one row for the whole batch, or one row per sample (as models/pi0/gemma_block.cc passes it).
Tensor PerToken(const Tensor& m, const Shape& shape) {
  return m.dim(0) == 1 ? m.Select(0, 0).Broadcast(shape) : m.Unsqueeze(1).Broadcast(shape);
}

// Bound: the CPU rounds the product to f32 and then the sum (u32 |ab| + u32 |c + ab|), the
// device rounds its FMA once (u32 |c + ab|): <= 3 u32 (|ab| + |c|), taken as 4; then the output
// rounding (u_out |want| + AbsFloor).
std::vector<double> MulAddTol(const std::vector<double>& a, const std::vector<double>& b,
                              const std::vector<double>& c, const HostTensor& want, DType out) {
  std::vector<double> tol(a.size());
  for (size_t i = 0; i < tol.size(); ++i) {
    const double terms = std::fabs(a[i] * b[i]) + std::fabs(c[i]);
    tol[i] = UnitRoundoff(out) * std::fabs(want.data<float>()[i]) + 4 * kUnitF32 * (std::isfinite(terms) ? terms : 0.0) + AbsFloor(out);
  }
  return tol;
}

// MulAdd at pi0.5's action-expert shapes: y [B, S, W] (the o_proj / down_proj output), the gate a
// slice of a [R, 3W] modulation table broadcast over the tokens (R = 1 or B), x the residual
// stream, updated in place as the model calls it, and into a separate guarded output. Odd widths
// and a misaligned table slice take the unaligned rows path, a transposed y the strided kernel.
TEST_P(ElementwiseParity, MulAddGatedResidualAtModelShapes) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    const char* name;
    int64_t b, s, w;
    bool per_sample;      // one gate row per sample (else one row for the batch)
    int64_t table_shift;  // the gate starts this many elements after 2W in its table row
    bool transposed_y;    // y a transposed [W, S] buffer (innermost stride S)
    bool aligned;         // every operand's rows start 16-byte aligned and are whole vectors
  };
  const std::vector<Case> cases = {
      {"pi0.5 expert 1x50x1024 shared gate", 1, 50, 1024, false, 0, false, true},
      {"pi0.5 final rows 1x10x1024 shared gate", 1, 10, 1024, false, 0, false, true},
      {"batch 3x10x1024 per-sample gates", 3, 10, 1024, true, 0, false, true},
      {"batch 3x50x1024 shared gate", 3, 50, 1024, false, 0, false, true},
      {"odd width 2x7x1001 per sample", 2, 7, 1001, true, 0, false, false},
      {"gate one element in 1x50x1024", 1, 50, 1024, false, 1, false, false},
      {"transposed y 1x37x64", 1, 37, 64, false, 0, true, false},
  };
  uint64_t salt = 610;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + c.name);
    const Shape shape{c.b, c.s, c.w};
    const int64_t r = c.per_sample ? c.b : 1;
    const int64_t pitch = 3 * c.w + c.table_shift;
    HostTensor yv = c.transposed_y ? Uniform(Shape{c.b, c.w, c.s}, seed, -4.0f, 4.0f) : Uniform(shape, seed, -4.0f, 4.0f);
    if (yv.numel() >= 7) {  // NaN and infinities must come out as NaN and (the same) infinities
      yv.data<float>()[3] = kNaN;
      yv.data<float>()[5] = kInf;
      yv.data<float>()[6] = -kInf;
    }
    Twin y = MakeTwin(cuda, *arena, std::move(yv), dt);
    Twin table = RandomTwin(cuda, *arena, Shape{r, pitch}, dt, seed + 1, 0.25f, 1.0f);  // gate > 0: finite inf * gate
    Twin x = RandomTwin(cuda, *arena, shape, dt, seed + 2, -4.0f, 4.0f);
    const auto y_of = [&](const Tensor& t) { return c.transposed_y ? t.Transpose(1, 2) : t; };
    const auto gate_of = [&](const Tensor& t) {
      return PerToken(t.Slice(1, 2 * c.w + c.table_shift, 3 * c.w + c.table_shift), shape);
    };
    const Tensor yh = y_of(y.h()), yd = y_of(y.dev), gh = gate_of(table.h()), gd = gate_of(table.dev);
    HostTensor want = CpuOut(shape);
    CpuRef().MulAdd(yh, gh, x.h(), want.view());
    const std::vector<double> tol = MulAddTol(Values(yh), Values(gh), Values(x.h()), want, dt);
    const Path want_path = ExpectedPath(mode, true, !c.transposed_y, c.aligned);

    // Into a separate guarded output (row pad 8 keeps 16-byte rows; 3 would misalign them).
    GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, 8);
    ResetPathStats(cuda);
    cuda.MulAdd(yd, gd, x.dev, out.view);
    ExpectPath(cuda, want_path, "separate output");
    ExpectClose(ReadGuarded(cuda, out, "MulAdd"), want, tol, "MulAdd");

    // In place over x, the model's call: MulAdd(y, gate, x, x).
    GuardedOutput stream = MakeGuarded(cuda, *arena, shape, dt);
    cuda.Copy(x.dev, stream.view);
    ResetPathStats(cuda);
    cuda.MulAdd(yd, gd, stream.view, stream.view);
    ExpectPath(cuda, want_path, "in place over c");
    ExpectClose(ReadGuarded(cuda, stream, "MulAdd in place"), want, tol, "MulAdd in place over c");

    // In place over y (a), where y is a plain tensor.
    if (!c.transposed_y) {
      GuardedOutput over_a = MakeGuarded(cuda, *arena, shape, dt);
      cuda.Copy(y.dev, over_a.view);
      cuda.MulAdd(over_a.view, gd, x.dev, over_a.view);
      ExpectClose(ReadGuarded(cuda, over_a, "MulAdd in place over a"), want, tol, "MulAdd in place over a");
    }

    // Mixed dtypes (f32 output of 16-bit inputs): the strided kernel, one rounding to f32.
    if (dt != DType::kF32 && c.w < 1024) {
      GuardedOutput out32 = MakeGuarded(cuda, *arena, shape, DType::kF32, 2);
      ResetPathStats(cuda);
      cuda.MulAdd(yd, gd, x.dev, out32.view);
      ExpectPath(cuda, Path::kStrided, "f32 output");
      ExpectClose(ReadGuarded(cuda, out32, "MulAdd f32 out"), want,
                  MulAddTol(Values(yh), Values(gh), Values(x.h()), want, DType::kF32), "MulAdd f32 out");
    }
  }
}

// The rows kernels and the strided kernel evaluate MulAdd with the same explicit FMA, so the
// result must not depend on the path (as RowsAndStridedKernelsAgreeBitForBit for the other ops).
TEST(ElementwisePaths, MulAddRowsAndStridedKernelsAgreeBitForBit) {
  VLART_REQUIRE_REAL_CUDA();
  Backend& fast = CudaFor(ParityMode::kBF16);
  Backend& slow = CudaFor(ParityMode::kBF16Fallback);
  auto fast_arena = fast.NewArena();
  auto slow_arena = slow.NewArena();
  const uint64_t seed = TestSeed(690);
  SCOPED_TRACE(SeedNote(seed));
  for (const Shape& shape : {Shape{1, 50, 1024}, Shape{3, 10, 1001}}) {
    SCOPED_TRACE(shape.ToString());
    HostTensor yv = Uniform(shape, seed, -8.0f, 8.0f);
    yv.data<float>()[2] = kNaN;
    yv.data<float>()[3] = kInf;
    const HostTensor tv = Uniform(Shape{shape[0], 3 * shape[2]}, seed + 1, -2.0f, 2.0f);
    const HostTensor xv = Uniform(shape, seed + 2, -8.0f, 8.0f);
    const Twin fy = MakeTwin(fast, *fast_arena, HostTensor::CopyOf(yv.view()), DType::kBF16);
    const Twin sy = MakeTwin(slow, *slow_arena, std::move(yv), DType::kBF16);
    const Twin ft = MakeTwin(fast, *fast_arena, HostTensor::CopyOf(tv.view()), DType::kBF16);
    const Twin st = MakeTwin(slow, *slow_arena, HostTensor::CopyOf(tv.view()), DType::kBF16);
    const Twin fx = MakeTwin(fast, *fast_arena, HostTensor::CopyOf(xv.view()), DType::kBF16);
    const Twin sx = MakeTwin(slow, *slow_arena, HostTensor::CopyOf(xv.view()), DType::kBF16);
    const auto gate = [&](const Twin& t) { return PerToken(t.dev.Slice(1, 2 * shape[2], 3 * shape[2]), shape); };
    GuardedOutput fo = MakeGuarded(fast, *fast_arena, shape, DType::kBF16, 8);
    GuardedOutput so = MakeGuarded(slow, *slow_arena, shape, DType::kBF16, 8);
    cuda::ResetStats(fast);
    cuda::ResetStats(slow);
    fast.MulAdd(fy.dev, gate(ft), fx.dev, fo.view);
    slow.MulAdd(sy.dev, gate(st), sx.dev, so.view);
    const cuda::Stats fs = cuda::StatsOf(fast), ss = cuda::StatsOf(slow);
    EXPECT_EQ(fs.elementwise_vec + fs.elementwise_rows, 1) << "bf16 backend: not a rows path";
    EXPECT_EQ(ss.elementwise_strided, 1) << "fallback backend: not the strided kernel";
    ExpectClose(ReadGuarded(fast, fo, "MulAdd"), ReadGuarded(slow, so, "MulAdd"), {0.0}, "MulAdd");
  }
}

// ---- normalisation -------------------------------------------------------------------------------

VLART_PARITY_SUITE(NormParity);

struct RowStats {
  std::vector<double> mean, rstd, mean_abs;  // per row
};

// Rows of a host f32 view [rows, C] (after flattening): mean, 1/sqrt(var + eps), mean |x|.
RowStats Stats(const HostTensor& x, int64_t c, double eps, bool rms) {
  RowStats s;
  const int64_t rows = c > 0 ? x.numel() / c : 0;
  const float* p = x.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0, abs_sum = 0;
    for (int64_t j = 0; j < c; ++j) {
      sum += p[r * c + j];
      abs_sum += std::fabs(p[r * c + j]);
    }
    const double mean = rms ? 0.0 : sum / c;
    double sq = 0;
    for (int64_t j = 0; j < c; ++j) sq += (p[r * c + j] - mean) * (p[r * c + j] - mean);
    s.mean.push_back(mean);
    s.rstd.push_back(1.0 / std::sqrt(sq / c + eps));
    s.mean_abs.push_back(abs_sum / c);
  }
  return s;
}

TEST_P(NormParity, LayerNormAndRmsNorm) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  struct Case {
    Shape shape;
    float offset;    // x = offset + U[-2, 2]: a large offset checks the two-pass variance
    int64_t x_pad;   // x rows are slices of rows C + x_pad long (padding poisoned with NaN)
    int64_t out_pad;
  };
  // Pads of 5 / 2 misalign rows (scalar kernels); 0 / 8 keep 16-byte rows (vector kernels when
  // C is a multiple of the vector width).
  const std::vector<Case> cases = {{{1, 1}, 0.0f, 5, 2},          {{7, 7}, 0.0f, 5, 2},
                                   {{19, 19}, 3.0f, 5, 2},        {{3, 7, 111}, 0.0f, 5, 2},
                                   {{262, 1024}, 0.0f, 8, 0},     {{2, 3136, 256}, 20.0f, 0, 8},
                                   {{5, 2048}, 0.0f, 5, 2},       {{4, 7, 64}, 0.0f, 8, 8},
                                   // SigLIP's width: 144 vectors on 160 threads, 16 of them
                                   // holding nothing, and a large mean.
                                   {{3, 1152}, 20.0f, 8, 0}};
  uint64_t salt = 500;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    const int64_t width = c.shape[-1];
    const int64_t pitch = width + c.x_pad;
    SCOPED_TRACE(SeedNote(seed) + " shape " + c.shape.ToString());
    Shape padded = c.shape;
    padded[-1] = pitch;
    HostTensor xv = Uniform(padded, seed, c.offset - 2.0f, c.offset + 2.0f);
    for (int64_t r = 0; r < xv.numel() / pitch; ++r) {
      for (int64_t j = width; j < pitch; ++j) xv.data<float>()[r * pitch + j] = kNaN;
    }
    Twin xbuf = MakeTwin(cuda, *arena, std::move(xv), dt);
    const Tensor xh = xbuf.h().Slice(-1, 0, width);
    const Tensor xd = xbuf.dev.Slice(-1, 0, width);
    const HostTensor x_dense = HostTensor::CopyOf(xh);
    Twin gamma = RandomTwin(cuda, *arena, Shape{width}, dt, seed + 1, 0.5f, 1.5f);
    Twin beta = RandomTwin(cuda, *arena, Shape{width}, dt, seed + 2, -0.5f, 0.5f);
    const float eps = 1e-5f;
    for (bool rms : {false, true}) {
      SCOPED_TRACE(rms ? "RmsNorm" : "LayerNorm");
      HostTensor want = CpuOut(c.shape);
      const float offset = 1.0f;  // Gemma's (1 + w)
      if (rms) {
        CpuRef().RmsNorm(xh, gamma.h(), eps, offset, want.view());
      } else {
        CpuRef().LayerNorm(xh, gamma.h(), beta.h(), eps, want.view());
      }
      // Bound: the row statistics are length-C reductions (ReductionTol relative to the
      // row's mean |x| for the mean, and to the variance's own terms, which perturbs rstd
      // relatively by the same order); an output element is (x - mean) rstd g + b, so its
      // error is rstd |g| (|x - mean| rel + mean-error) + a few roundings, then the output rounding.
      const RowStats st = Stats(x_dense, width, eps, rms);
      std::vector<double> tol(static_cast<size_t>(want.numel()));
      for (int64_t i = 0; i < want.numel(); ++i) {
        const int64_t r = i / width, j = i % width;
        const double g = std::fabs(gamma.host.data<float>()[j] + (rms ? offset : 0.0f));
        const double centred = std::fabs(x_dense.data<float>()[i] - st.mean[r]);
        const double rel = ReductionTol(width, 1.0) + 8 * kUnitF32;
        const double err = st.rstd[r] * g * (centred * 2 * rel + ReductionTol(width, st.mean_abs[r])) +
                           (rms ? 0.0 : 2 * kUnitF32 * std::fabs(beta.host.data<float>()[j]));
        tol[static_cast<size_t>(i)] = UnitRoundoff(dt) * std::fabs(want.data<float>()[i]) + err + AbsFloor(dt);
      }
      GuardedOutput out = MakeGuarded(cuda, *arena, c.shape, dt, c.out_pad);
      if (rms) {
        cuda.RmsNorm(xd, gamma.dev, eps, offset, out.view);
      } else {
        cuda.LayerNorm(xd, gamma.dev, beta.dev, eps, out.view);
      }
      ExpectClose(ReadGuarded(cuda, out, "norm"), want, tol, rms ? "RmsNorm" : "LayerNorm");
    }
  }
}

// AdaRmsNorm at pi0.5's action-expert shapes: x [B, S, W] the residual stream (or the action rows
// sliced out of it, for the final norm), scale and shift slices of a [R, 3W] modulation table
// broadcast over the tokens (R = 1 or B), into a guarded output and in place. Aligned model
// shapes take the 16-byte vector kernel (except in the fallback mode, which forces the scalar
// one); odd widths, a misaligned table slice or misaligned output rows take the scalar kernel.
TEST_P(NormParity, AdaRmsNormAtModelShapes) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    const char* name;
    int64_t b, s, w;
    bool per_sample;      // one scale/shift row per sample (else one for the batch)
    int64_t lead;         // x = tokens [lead, lead + s) of a [B, lead + s, W] stream
    int64_t table_shift;  // scale starts this many elements into its table row
    int64_t out_pad;      // output rows padded (an odd pad misaligns them)
    bool vec;             // the vector kernel applies (outside the fallback mode)
  };
  const std::vector<Case> cases = {
      {"pi0.5 expert 1x50x1024 shared", 1, 50, 1024, false, 0, 0, 0, true},
      {"pi0.5 final norm 1x10x1024 of 1x11 shared", 1, 10, 1024, false, 1, 0, 8, true},
      {"batch 3x10x1024 per sample", 3, 10, 1024, true, 1, 0, 0, true},
      {"batch 3x50x1024 shared", 3, 50, 1024, false, 0, 0, 8, true},
      {"odd width 2x7x1001 per sample", 2, 7, 1001, true, 0, 0, 0, false},
      {"scale one element in 1x50x1024", 1, 50, 1024, false, 0, 1, 0, false},
      {"misaligned output 3x5x64 per sample", 3, 5, 64, true, 0, 0, 3, false},
      {"one channel 2x3x1", 2, 3, 1, true, 0, 0, 0, false},
  };
  uint64_t salt = 560;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + c.name);
    const Shape shape{c.b, c.s, c.w};
    const int64_t r = c.per_sample ? c.b : 1;
    Twin stream = RandomTwin(cuda, *arena, Shape{c.b, c.lead + c.s, c.w}, dt, seed, -3.0f, 3.0f);
    Twin table = RandomTwin(cuda, *arena, Shape{r, 3 * c.w + c.table_shift}, dt, seed + 1, -1.0f, 1.0f);
    const auto x_of = [&](const Tensor& t) { return t.Slice(1, c.lead, c.lead + c.s); };
    const auto mod = [&](const Tensor& t, int k) {
      const int64_t o = c.table_shift + k * c.w;
      return PerToken(t.Slice(1, o, o + c.w), shape);
    };
    const Tensor xh = x_of(stream.h()), xd = x_of(stream.dev);
    const Tensor sh = mod(table.h(), 0), sd = mod(table.dev, 0), hh = mod(table.h(), 1), hd = mod(table.dev, 1);
    const float eps = 1e-6f;
    HostTensor want = CpuOut(shape);
    CpuRef().AdaRmsNorm(xh, sh, hh, eps, want.view());
    // Bound: n = x r (1 + scale) carries r's relative error (a length-W sum of squares:
    // ReductionTol relative, plus the few roundings after it: 8 u32, per side, as in
    // LayerNormAndRmsNorm) and the roundings of x r and the product (CPU) or of the FMA (device);
    // the CPU rounds n + shift once more: 2 u32 |want|. Then the output rounding.
    const HostTensor x_dense = HostTensor::CopyOf(xh);
    const std::vector<double> sv = Values(sh);
    const RowStats st = Stats(x_dense, c.w, eps, /*rms=*/true);
    const double rel = ReductionTol(c.w, 1.0) + 8 * kUnitF32;
    std::vector<double> tol(static_cast<size_t>(want.numel()));
    for (size_t i = 0; i < tol.size(); ++i) {
      const double n = std::fabs(x_dense.data<float>()[i]) * st.rstd[i / static_cast<size_t>(c.w)] * std::fabs(1.0 + sv[i]);
      const double w = std::fabs(want.data<float>()[i]);
      tol[i] = UnitRoundoff(dt) * w + 2 * rel * n + 2 * kUnitF32 * w + AbsFloor(dt);
    }
    const int64_t want_vec = c.vec && mode != ParityMode::kBF16Fallback ? 1 : 0;

    GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, c.out_pad);
    if (!SelfCheck()) cuda::ResetStats(cuda);
    cuda.AdaRmsNorm(xd, sd, hd, eps, out.view);
    if (!SelfCheck()) {
      EXPECT_EQ(cuda::StatsOf(cuda).ada_rms_norm_vec, want_vec) << "vector kernel";
    }
    ExpectClose(ReadGuarded(cuda, out, "AdaRmsNorm"), want, tol, "AdaRmsNorm");

    // In place over a copy of the stream (the tokens before x must stay untouched).
    GuardedOutput whole = MakeGuarded(cuda, *arena, Shape{c.b, c.lead + c.s, c.w}, dt);
    cuda.Copy(stream.dev, whole.view);
    const Tensor target = x_of(whole.view);
    cuda.AdaRmsNorm(target, sd, hd, eps, target);
    const HostTensor got_whole = ReadGuarded(cuda, whole, "AdaRmsNorm in place");
    ExpectClose(HostTensor::CopyOf(x_of(got_whole.view())), want, tol, "AdaRmsNorm in place");
    if (c.lead > 0) {
      ExpectClose(HostTensor::CopyOf(got_whole.view().Slice(1, 0, c.lead)),
                  HostTensor::CopyOf(stream.h().Slice(1, 0, c.lead)), {0.0}, "tokens before x");
    }
  }
}

// MulAddAdaRmsNorm (pi0.5's gated residual + the next adaRMS norm) gives exactly the bits of
// MulAdd then AdaRmsNorm on this backend, in x (updated in place) and in out, whichever path it
// takes: the fused vector kernel at the aligned model shapes (16-bit and f32 modes), the two
// ops elsewhere (odd width, misaligned output, the fallback mode). Those two ops are checked
// against the CPU above, so this closes the chain.
TEST_P(NormParity, MulAddAdaRmsNormMatchesTheTwoOpsBits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  struct Case {
    const char* name;
    int64_t b, s, w;
    bool per_sample;
    int64_t out_pad;
    bool fused;  // the vector kernel applies (outside the fallback mode)
  };
  const std::vector<Case> cases = {
      {"pi0.5 expert 1x10x1024 shared", 1, 10, 1024, false, 0, true},
      {"pi0 expert-sized 1x50x1024 shared", 1, 50, 1024, false, 0, true},
      {"batch 3x10x1024 per sample", 3, 10, 1024, true, 8, true},
      {"odd width 2x7x1001 per sample", 2, 7, 1001, true, 0, false},
      {"misaligned output 3x5x64", 3, 5, 64, true, 3, false},
  };
  uint64_t salt = 580;
  for (const Case& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + c.name);
    const Shape shape{c.b, c.s, c.w};
    const int64_t r = c.per_sample ? c.b : 1;
    const Twin x0 = RandomTwin(cuda, *arena, shape, dt, seed, -3.0f, 3.0f);
    const Twin y = RandomTwin(cuda, *arena, shape, dt, seed + 1, -3.0f, 3.0f);
    const Twin table = RandomTwin(cuda, *arena, Shape{r, 4 * c.w}, dt, seed + 2, -1.0f, 1.0f);
    const auto mod = [&](int k) { return PerToken(table.dev.Slice(1, k * c.w, (k + 1) * c.w), shape); };
    const Tensor gate = mod(0), scale = mod(1), shift = mod(2);
    const float eps = 1e-6f;
    const auto run = [&](bool fused, HostTensor* x_bits, HostTensor* out_bits) {
      const Tensor x = arena->Allocate(shape, dt);
      cuda.Copy(x0.dev, x);
      GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, c.out_pad);
      cuda::ResetStats(cuda);
      if (fused) {
        cuda.MulAddAdaRmsNorm(x, y.dev, gate, scale, shift, eps, out.view);
        EXPECT_EQ(cuda::StatsOf(cuda).mul_add_ada_rms_norm_fused,
                  c.fused && mode != ParityMode::kBF16Fallback ? 1 : 0) << "fused kernel";
      } else {
        cuda.MulAdd(y.dev, gate, x, x);
        cuda.AdaRmsNorm(x, scale, shift, eps, out.view);
      }
      *out_bits = ReadGuarded(cuda, out, "MulAddAdaRmsNorm");
      *x_bits = HostTensor(DType::kF32, shape);  // bf16 / f16 widen exactly
      cuda.Download(x, x_bits->view());
    };
    HostTensor x_fused, out_fused, x_two, out_two;
    run(true, &x_fused, &out_fused);
    run(false, &x_two, &out_two);
    ExpectClose(out_fused, out_two, {0.0}, "out: fused vs MulAdd + AdaRmsNorm");
    ExpectClose(x_fused, x_two, {0.0}, "x: fused vs MulAdd");
  }
}

TEST_P(NormParity, SoftmaxWithMaskedEntries) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  uint64_t salt = 600;
  // Widths 262 and below misalign rows (scalar kernel); 1024 and 3136 give 16-byte rows.
  for (const Shape& shape : {Shape{1, 1}, Shape{7, 19}, Shape{19, 111}, Shape{16, 262}, Shape{3, 3136},
                             Shape{4, 1024}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " shape " + shape.ToString());
    const int64_t width = shape[-1];
    HostTensor xv = Uniform(shape, seed, -10.0f, 10.0f);
    const int64_t rows = shape.numel() / width;
    if (width >= 7) {
      for (int64_t r = 0; r < rows; ++r) xv.data<float>()[r * width + (r % width)] = -kInf;  // masked
    }
    if (rows >= 3) {
      for (int64_t j = 0; j < width; ++j) xv.data<float>()[2 * width + j] = -kInf;  // all masked: NaN
    }
    Twin x = MakeTwin(cuda, *arena, std::move(xv), dt);
    HostTensor want = CpuOut(shape);
    CpuRef().Softmax(x.h(), want.view());
    // Bound: p_j = exp(x_j - m) / Σ. The exponent difference rounds (u32 |x_j - m| absolute,
    // i.e. relative on p), each exp errs by <= kFunctionUlps u32 relative, the sum by
    // ReductionTol relative, plus the output rounding.
    std::vector<double> tol(static_cast<size_t>(want.numel()));
    for (int64_t r = 0; r < rows; ++r) {
      double m = -INFINITY;
      for (int64_t j = 0; j < width; ++j) m = std::max<double>(m, x.host.data<float>()[r * width + j]);
      for (int64_t j = 0; j < width; ++j) {
        const int64_t i = r * width + j;
        const double p = std::fabs(want.data<float>()[i]);
        const double d = std::isfinite(m) ? std::fabs(x.host.data<float>()[i] - m) : 0.0;
        const double rel = 2 * kUnitF32 * (std::isfinite(d) ? d : 0.0) + kFunctionUlps * kUnitF32 + ReductionTol(width, 1.0);
        tol[static_cast<size_t>(i)] = (UnitRoundoff(dt) + rel) * p + AbsFloor(dt);
      }
    }
    GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt);
    cuda.Softmax(x.dev, out.view);
    ExpectClose(ReadGuarded(cuda, out, "Softmax"), want, tol, "Softmax");
  }
}

TEST_P(NormParity, MeanOverTokens) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  uint64_t salt = 700;
  for (const Shape& shape : {Shape{1, 1, 1}, Shape{7, 19, 111}, Shape{2, 3136, 256}, Shape{3, 49, 2048}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " shape " + shape.ToString());
    Twin x = RandomTwin(cuda, *arena, shape, dt, seed, -1.0f, 3.0f);
    const Shape out_shape{shape[0], shape[2]};
    HostTensor want = CpuOut(out_shape);
    CpuRef().MeanOverTokens(x.h(), want.view());
    // Bound: a length-N reduction (relative to mean |x| after the division), then the output rounding.
    std::vector<double> tol(static_cast<size_t>(want.numel()));
    for (int64_t b = 0; b < shape[0]; ++b) {
      for (int64_t c = 0; c < shape[2]; ++c) {
        double abs_mean = 0;
        for (int64_t n = 0; n < shape[1]; ++n) abs_mean += std::fabs(x.host.data<float>()[(b * shape[1] + n) * shape[2] + c]);
        abs_mean /= static_cast<double>(shape[1]);
        const size_t i = static_cast<size_t>(b * shape[2] + c);
        tol[i] = UnitRoundoff(dt) * std::fabs(want.data<float>()[i]) + ReductionTol(shape[1], abs_mean) +
                 2 * kUnitF32 * abs_mean + AbsFloor(dt);
      }
    }
    GuardedOutput out = MakeGuarded(cuda, *arena, out_shape, dt, 3);
    cuda.MeanOverTokens(x.dev, out.view);
    ExpectClose(ReadGuarded(cuda, out, "MeanOverTokens"), want, tol, "MeanOverTokens");
  }
}

// ---- rotary embedding -------------------------------------------------------------------------

VLART_PARITY_SUITE(RopeParity);

TEST_P(RopeParity, PositionsUpToAThousandInPlaceAndNot) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  uint64_t salt = 800;
  for (const Shape& shape : {Shape{1, 1, 1, 2}, Shape{2, 7, 3, 32}, Shape{1, 19, 8, 256}, Shape{2, 262, 16, 64},
                             Shape{1, 532, 1, 256}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " shape " + shape.ToString());
    Twin x = RandomTwin(cuda, *arena, shape, dt, seed, -2.0f, 2.0f);
    std::vector<int32_t> pos(static_cast<size_t>(shape[0] * shape[1]));
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>((i * 389 + seed) % 1024);
    Twin positions = IntTwin(cuda, *arena, pos, Shape{shape[0], shape[1]});
    const float theta = 10000.0f;
    HostTensor want = CpuOut(shape);
    CpuRef().Rope(x.h(), positions.h(), theta, want.view());
    // Bound: both sides compute the same f32 angle (same inv_freq bits, one f32 product);
    // cos/sin differ by <= a few ulps (CUDA <= 2, libm <= 1); the rotation rounds twice; then
    // the output rounding.
    const int64_t d = shape[3], half = d / 2;
    std::vector<double> tol(static_cast<size_t>(want.numel()));
    for (int64_t i = 0; i < want.numel(); ++i) {
      const int64_t j = i % d;
      const int64_t base = i - j;
      const double mag = std::fabs(x.host.data<float>()[base + j % half]) + std::fabs(x.host.data<float>()[base + j % half + half]);
      tol[static_cast<size_t>(i)] = UnitRoundoff(dt) * std::fabs(want.data<float>()[i]) + kFunctionUlps * kUnitF32 * mag + AbsFloor(dt);
    }
    GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, 2);
    cuda.Rope(x.dev, positions.dev, theta, out.view);
    ExpectClose(ReadGuarded(cuda, out, "Rope"), want, tol, "Rope");
    GuardedOutput inplace = MakeGuarded(cuda, *arena, shape, dt);
    cuda.Copy(x.dev, inplace.view);
    cuda.Rope(inplace.view, positions.dev, theta, inplace.view);
    ExpectClose(ReadGuarded(cuda, inplace, "Rope in place"), want, tol, "Rope in place");
  }
}

}  // namespace
}  // namespace vlart::testing
