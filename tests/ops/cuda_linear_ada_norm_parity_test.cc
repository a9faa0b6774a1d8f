// SPDX-License-Identifier: Apache-2.0
//
// cuda_linear_ada_norm_parity_test.cc: CUDA LinearMulAddAdaRmsNorm (pi0.5's o_proj / down,
// the gated residual and the next adaRMS norm; fused: the few-row GEMM with the norm as its
// tail, gemm_skinny.cu) against the same backend's two ops, Linear then MulAddAdaRmsNorm, with
// the same GEMM configuration forced on both: y, the updated x and out must be the same bits
// (the fused form is built to be exactly those two ops). Those two ops are themselves checked
// against the CPU reference (LinearParity, NormParity), and the op's CPU default is checked
// against them bit for bit (cpu_norm_test.cc).
// Cases: pi0.5's expert shapes at batch 1 (10 rows; o_proj K 2048, down K 4096) and batch 4 (40
// rows as [4, 10, 1024] with one modulation row per sample), every few-row split count
// (clusters of 1, 2, 8), the tuner's pick, and a width the fused form does not take (N 512).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/cuda/cuda_backend_internal.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

struct AdaCase {
  const char* name;
  int64_t batch, seq, k, n;
  bool fusable;  // the fused form applies when a few-row configuration runs
};

constexpr int kSkinnyTile16 = 8;  // kernels.h kSkinnyTileBase + row tile 0 (16 rows)
constexpr int kSkinnyTile64 = 9;  // ... row tile 1 (64 rows)

// Per-sample modulation rows [B, N] seen over [B, S, N] (stride 0 over S), as the model's.
Tensor PerToken(const Tensor& rows, int64_t b, int64_t s, int64_t n) {
  return rows.Unsqueeze(1).Broadcast({b, s, n});
}

VLART_PARITY_SUITE(LinearAdaNormParity);

TEST_P(LinearAdaNormParity, FusedGivesTheTwoOpsBits) {
  VLART_REQUIRE_REAL_CUDA();  // forces configurations and reads which form ran
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  const bool sixteen = (dt == DType::kBF16 || dt == DType::kF16) && mode != ParityMode::kBF16Fallback;
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const std::vector<AdaCase> cases = {
      {"pi0.5 o_proj 10x2048 -> 1024", 1, 10, 2048, 1024, true},
      {"pi0.5 down 10x4096 -> 1024", 1, 10, 4096, 1024, true},
      {"pi0.5 batch 4 o_proj 4x10x2048 -> 1024", 4, 10, 2048, 1024, true},
      {"N 512 takes the two ops", 1, 10, 1024, 512, false},
  };
  const float eps = 1e-6f;
  uint64_t salt = 1500;
  for (const AdaCase& c : cases) {
    const uint64_t seed = TestSeed(++salt);
    const int64_t m = c.batch * c.seq;
    const Twin a = RandomTwin(cuda, *arena, Shape{m, c.k}, dt, seed, -1.0f, 1.0f);
    const Twin w = RandomTwin(cuda, *arena, Shape{c.n, c.k}, dt, seed + 1, -0.05f, 0.05f);
    const Twin x0 = RandomTwin(cuda, *arena, Shape{c.batch, c.seq, c.n}, dt, seed + 2, -2.0f, 2.0f);
    const Twin mods = RandomTwin(cuda, *arena, Shape{3 * c.batch, c.n}, dt, seed + 3, -0.5f, 0.5f);
    const Tensor gate = PerToken(mods.dev.Slice(0, 0, c.batch), c.batch, c.seq, c.n);
    const Tensor scale = PerToken(mods.dev.Slice(0, c.batch, 2 * c.batch), c.batch, c.seq, c.n);
    const Tensor shift = PerToken(mods.dev.Slice(0, 2 * c.batch, 3 * c.batch), c.batch, c.seq, c.n);
    const int tile = m <= 16 ? kSkinnyTile16 : kSkinnyTile64;
    for (const int splits : {-1, 1, 2, 8}) {
      SCOPED_TRACE(SeedNote(seed) + " " + c.name + " splits " + std::to_string(splits));
      if (splits > 0) {
        cuda::ForceGemmConfig(cuda, tile, splits);
      } else {
        cuda::ForceGemmConfig(cuda, -1, 0);  // the tuner's pick, for both forms
      }
      const Tensor x1 = arena->Allocate(x0.dev.shape, dt), x2 = arena->Allocate(x0.dev.shape, dt);
      const Tensor y1 = arena->Allocate(Shape{m, c.n}, dt), y2 = arena->Allocate(Shape{m, c.n}, dt);
      GuardedOutput out1 = MakeGuarded(cuda, *arena, x0.dev.shape, dt);
      const Tensor out2 = arena->Allocate(x0.dev.shape, dt);
      cuda.Copy(x0.dev, x1);
      cuda.Copy(x0.dev, x2);
      cuda::ResetStats(cuda);
      cuda.LinearMulAddAdaRmsNorm(a.dev, w.dev, x1, gate, scale, shift, eps, y1, out1.view);
      const int64_t fused = cuda::StatsOf(cuda).linear_ada_norm_fused;
      if (splits > 0) {
        EXPECT_EQ(fused, sixteen && c.fusable ? 1 : 0) << "form that ran";
      }
      cuda.Linear(a.dev, w.dev, nullptr, Activation::kNone, nullptr, y2);
      cuda.MulAddAdaRmsNorm(x2, y2.Reshape(x0.dev.shape), gate, scale, shift, eps, out2);
      HostTensor want_y(DType::kF32, Shape{m, c.n}), want_x(DType::kF32, x0.dev.shape);
      HostTensor want_out(DType::kF32, x0.dev.shape), got_y(DType::kF32, Shape{m, c.n});
      HostTensor got_x(DType::kF32, x0.dev.shape);
      cuda.Download(y2, want_y.view());
      cuda.Download(x2, want_x.view());
      cuda.Download(out2, want_out.view());
      cuda.Download(y1, got_y.view());
      cuda.Download(x1, got_x.view());
      ExpectClose(got_y, want_y, {0.0}, "y against Linear's");
      ExpectClose(got_x, want_x, {0.0}, "x against MulAddAdaRmsNorm's");
      ExpectClose(ReadGuarded(cuda, out1, "out"), want_out, {0.0}, "out against MulAddAdaRmsNorm's");
    }
    cuda::ForceGemmConfig(cuda, -1, 0);
  }
}

// Inside a recorded graph, launch after launch (the tail's ticket counter is reused by every
// launch and every replay), the fused form repeats the eager bits: 18 layers of o_proj-like
// and down-like steps on one stream, replayed three times.
TEST_P(LinearAdaNormParity, GraphReplaysRepeatTheEagerBits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  if (dt != DType::kBF16 && dt != DType::kF16) GTEST_SKIP() << "the fused form is 16-bit only";
  if (mode == ParityMode::kBF16Fallback) GTEST_SKIP() << "the fallback mode never fuses";
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(1550);
  const int64_t s = 10, k = 2048, n = 1024;
  const Twin a = RandomTwin(cuda, *arena, Shape{s, k}, dt, seed, -1.0f, 1.0f);
  const Twin w = RandomTwin(cuda, *arena, Shape{n, k}, dt, seed + 1, -0.05f, 0.05f);
  const Twin x0 = RandomTwin(cuda, *arena, Shape{1, s, n}, dt, seed + 2, -2.0f, 2.0f);
  const Twin mods = RandomTwin(cuda, *arena, Shape{3, n}, dt, seed + 3, -0.5f, 0.5f);
  arena->Seal();
  auto work = cuda.NewArena();
  const Tensor x = work->Allocate(Shape{1, s, n}, dt), y = work->Allocate(Shape{s, n}, dt);
  const Tensor out = work->Allocate(Shape{1, s, n}, dt);
  const Tensor gate = PerToken(mods.dev.Slice(0, 0, 1), 1, s, n);
  const Tensor scale = PerToken(mods.dev.Slice(0, 1, 2), 1, s, n);
  const Tensor shift = PerToken(mods.dev.Slice(0, 2, 3), 1, s, n);
  constexpr int kLayers = 18;
  const auto enqueue = [&]() {
    for (int l = 0; l < kLayers; ++l) {
      cuda.LinearMulAddAdaRmsNorm(a.dev, w.dev, x, gate, scale, shift, 1e-6f, y, out);
    }
  };
  cuda::ForceGemmConfig(cuda, kSkinnyTile16, 8);
  cuda.Copy(x0.dev, x);
  cuda::ResetStats(cuda);
  enqueue();
  EXPECT_EQ(cuda::StatsOf(cuda).linear_ada_norm_fused, kLayers);
  HostTensor eager_x(DType::kF32, Shape{1, s, n}), eager_out(DType::kF32, Shape{1, s, n});
  cuda.Download(x, eager_x.view());
  cuda.Download(out, eager_out.view());
  auto rec = cuda.Record(enqueue);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  for (int r = 0; r < 3; ++r) {
    SCOPED_TRACE(SeedNote(seed) + " replay " + std::to_string(r));
    cuda.Copy(x0.dev, x);
    (*rec)->Replay();
    HostTensor got_x(DType::kF32, Shape{1, s, n}), got_out(DType::kF32, Shape{1, s, n});
    cuda.Download(x, got_x.view());
    cuda.Download(out, got_out.view());
    ExpectClose(got_x, eager_x, {0.0}, "x after 18 fused steps, replayed");
    ExpectClose(got_out, eager_out, {0.0}, "out after 18 fused steps, replayed");
  }
  cuda::ForceGemmConfig(cuda, -1, 0);
}

}  // namespace
}  // namespace vlart::testing
