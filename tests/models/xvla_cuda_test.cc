// SPDX-License-Identifier: Apache-2.0
//
// xvla_cuda_test.cc: X-VLA on the CUDA backend against the golden fixtures and the CPU
// reference, stage by stage (label gpu; skips without a device).
//
// f32 mode runs true FP32 GEMMs (no TF32), so it must meet the same tolerance as the
// CPU reference (golden_file.h). bf16 mode is judged by relative L2 error per stage:
// the reference implementation's own bf16-vs-fp32 discrepancy on X-VLA is ~1e-2
// relative L2 (measured on an H100, shared/specs/performance.md §0b); a correct bf16
// engine lands at that level, so we allow kBf16RelL2 = 3e-2, and NaN never passes.
// Also: replaying the recorded CUDA graph must give bit-identical actions to eager.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "backends/cuda/cuda_backend.h"
#include "capture_tracer.h"
#include "golden_file.h"
#include "models/common/checkpoint_source.h"
#include "models/xvla/xvla_model.h"
#include "support/test_paths.h"
#include "xvla_test_util.h"

namespace vlart {
namespace {

using testing::CaptureTracer;
using testing::GoldenFile;

constexpr double kBf16RelL2 = 3e-2;

struct Fixture {
  xvla::XvlaConfig cfg;
  std::unique_ptr<CheckpointSource> source;
  GoldenFile golden{vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors")};
  xvla::XvlaInputs inputs;
};

std::unique_ptr<Fixture> Load() {
  auto f = std::make_unique<Fixture>();
  const auto dir = vlart::testing::TestDataPath("golden/xvla_tiny");
  f->cfg = *xvla::ParseXvlaConfig(dir / "config.json");
  f->source = std::make_unique<CheckpointSource>(std::move(Checkpoint::Open(dir)).value());
  const GoldenFile& g = f->golden;
  f->inputs.input_ids = g.I32("inputs.input_ids");
  f->inputs.images = g.F32("inputs.image_input");
  f->inputs.image_mask = g.U8("inputs.image_mask");
  f->inputs.domain_id = g.I32("inputs.domain_id");
  f->inputs.proprio = g.F32("inputs.proprio");
  f->inputs.noise = g.F32("inputs.noise");
  f->inputs.steps = std::stoi(g.Meta("steps"));
  return f;
}

double RelL2(const HostTensor& a, const HostTensor& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.data<float>()[i], y = b.data<float>()[i];
    if (std::isnan(x)) return std::numeric_limits<double>::infinity();
    num += (x - y) * (x - y);
    den += y * y;
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

std::unique_ptr<Backend> Cuda(DType dtype) {
  CudaBackendOptions o;
  o.compute_dtype = dtype;
  auto be = CreateCudaBackend(o);
  EXPECT_TRUE(be.ok()) << be.status().message();
  return be.ok() ? std::move(be).value() : nullptr;
}

TEST(XvlaCuda, F32MatchesTheGoldensStageByStage) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  auto f = Load();
  auto be = Cuda(DType::kF32);
  ASSERT_TRUE(be);
  auto model = xvla::XvlaModel::Load(f->cfg, *f->source, *be);
  ASSERT_TRUE(model.ok()) << model.status().message();
  CaptureTracer capture(*be);
  (*model)->tracer().Set(capture.Fn());
  auto out = (*model)->Run(f->inputs);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<testing::StageResult> r;
  for (int s = 0; s < 4; ++s) {
    r.push_back(testing::CompareStage(f->golden, fmt::format("vision.b0.view0.stage{}.conv", s),
                                      "embed", capture.Get(fmt::format("vision.stage{}.embed", s)).view().Select(0, 0)));
  }
  r.push_back(testing::CompareStage(f->golden, "vision.b1.view2.features", "vision.features",
                                    capture.Get("vision.features").view().Select(0, 3)));
  r.push_back(testing::CompareStage(f->golden, "vlm.vlm_features", "encoder.output",
                                    capture.Get("encoder.output").view()));
  r.push_back(testing::CompareStage(f->golden, "policy.step0.block1", "policy.step0.block1",
                                    capture.Get("policy.step0.block1").view()));
  r.push_back(testing::CompareStage(f->golden, "output.actions", "actions", out->actions.view()));
  bool ok = true;
  for (const auto& x : r) ok = ok && x.ok;
  EXPECT_TRUE(ok) << "\n" << testing::FormatStages(r);
  std::printf("%s", testing::FormatStages(r).c_str());
}

TEST(XvlaCuda, Bf16StaysWithinTheBf16BudgetOfTheReference) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  auto f = Load();
  auto be = Cuda(DType::kBF16);
  ASSERT_TRUE(be);
  auto model = xvla::XvlaModel::Load(f->cfg, *f->source, *be);
  ASSERT_TRUE(model.ok()) << model.status().message();
  CaptureTracer capture(*be);
  (*model)->tracer().Set(capture.Fn());
  auto out = (*model)->Run(f->inputs);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::vector<std::pair<std::string, std::string>> stages = {
      {"vision.features", "vision.b0.view0.features"},
      {"encoder.output", "vlm.vlm_features"},
      {"policy.step0.x0", "policy.step0.x0"},
      {"policy.step9.x0", "policy.step9.x0"},
  };
  for (const auto& [ours, gold] : stages) {
    HostTensor got = ours == "vision.features"
                         ? HostTensor::CopyOf(capture.Get(ours).view().Select(0, 0))
                         : HostTensor::CopyOf(capture.Get(ours).view());
    const double e = RelL2(got, f->golden.F32(gold));
    std::printf("bf16 %-22s rel L2 %.3e (budget %.1e)\n", ours.c_str(), e, kBf16RelL2);
    EXPECT_LE(e, kBf16RelL2) << ours;
  }
  const double e = RelL2(out->actions, f->golden.F32("output.actions"));
  std::printf("bf16 actions                rel L2 %.3e (budget %.1e)\n", e, kBf16RelL2);
  EXPECT_LE(e, kBf16RelL2);
}

TEST(XvlaCuda, GraphReplayIsBitIdenticalToEager) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  auto f = Load();
  for (DType dt : {DType::kF32, DType::kBF16}) {
    auto be = Cuda(dt);
    ASSERT_TRUE(be);
    auto model = xvla::XvlaModel::Load(f->cfg, *f->source, *be);
    ASSERT_TRUE(model.ok());
    auto eager = (*model)->Run(f->inputs);
    ASSERT_TRUE(eager.ok());
    auto plan = (*model)->GetPlan(xvla::XvlaModel::KeyFor(f->inputs));
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE((*model)->Upload(**plan, f->inputs).ok());
    auto graph = be->Record([&] { (*model)->Forward(**plan); });
    ASSERT_TRUE(graph.ok()) << graph.status().message();
    for (int rep = 0; rep < 3; ++rep) {
      (*graph)->Replay();
      xvla::XvlaOutputs out;
      ASSERT_TRUE((*model)->Download(**plan, &out).ok());
      ASSERT_EQ(0, std::memcmp(out.actions.view().data, eager->actions.view().data,
                               eager->actions.nbytes()))
          << DTypeName(dt) << " replay " << rep;
    }
  }
}

// Runs `planes` and `other` (the same observation in another image form) through f's model on
// the CUDA backend in f32 and bf16 and expects the same actions, bit for bit.
void ExpectSameActions(const Fixture& f, const xvla::XvlaInputs& planes,
                       const xvla::XvlaInputs& other) {
  for (DType dt : {DType::kF32, DType::kBF16}) {
    auto be = Cuda(dt);
    ASSERT_TRUE(be);
    auto model = xvla::XvlaModel::Load(f.cfg, *f.source, *be);
    ASSERT_TRUE(model.ok());
    auto from_planes = (*model)->Run(planes);
    auto from_other = (*model)->Run(other);
    ASSERT_TRUE(from_planes.ok()) << from_planes.status().message();
    ASSERT_TRUE(from_other.ok()) << from_other.status().message();
    EXPECT_EQ(0, std::memcmp(from_planes->actions.view().data, from_other->actions.view().data,
                             from_other->actions.nbytes()))
        << DTypeName(dt);
  }
}

// Bytes (XvlaInputs::pixels + pixel_table) normalised on the device give the actions of the
// planes they stand for, bit for bit (f32 and bf16: both paths round table[c][byte] once to
// the compute dtype). Random bytes and table over the golden inputs' present views.
TEST(XvlaCuda, BytesGiveThePlanesActionsBitForBit) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  auto f = Load();
  auto g = Load();  // its inputs become the bytes
  vlart::testing::MakeByteInputs(f->inputs, g->inputs, 2024);
  ExpectSameActions(*f, f->inputs, g->inputs);
}

// Camera bytes (XvlaInputs::source_pixels + Pillow's taps) resized and normalised on the
// device give the actions of the planes they stand for, bit for bit: the device resize is
// Pillow's integer arithmetic, exact. A LIBERO-like downscale of the golden views' size.
TEST(XvlaCuda, CameraBytesGiveThePlanesActionsBitForBit) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  auto f = Load();
  auto g = Load();  // the resized bytes
  auto h = Load();  // the camera bytes
  vlart::testing::MakeByteInputs(f->inputs, g->inputs, 2025);
  const int s = f->cfg.vision.image_size;
  vlart::testing::MakeSourceInputs(f->inputs, g->inputs, h->inputs, s + s / 7, s + s / 7, 2026);
  ExpectSameActions(*f, f->inputs, h->inputs);
}

}  // namespace
}  // namespace vlart
