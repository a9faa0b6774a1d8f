// SPDX-License-Identifier: Apache-2.0
//
// pi0_cuda_test.cc: pi0 and pi0.5 on the CUDA backend against openpi's goldens (the tiny
// checkpoints of tests/golden/pi0), stage by stage (label gpu; skips without a device).
//
// f32: the CUDA backend runs true FP32 GEMMs (no TF32), so both layouts (every shortcut
// off, and the default with every shortcut on) must pass the CPU golden test's own
// comparison and tolerance rule (pi0_golden_compare.h: 8 x 4 f32 ulps of each stage's
// largest magnitude; t, time embeddings, positions and masks exact).
//
// bf16: judged by relative L2 per stage against the f32 goldens. The budget comes from the
// reference's own bf16 behaviour on these same checkpoints: openpi's PI0Pytorch loaded as
// create_trained_policy loads it for inference (bf16 weights and activations except the
// patch / position embeddings, the norms and the f32 action path), run on the golden
// inputs by tests/golden/measure_pi0_bf16.py, lands this far from its own f32 goldens:
//
//   stage                     pi0_tiny   pi05_tiny
//   vision.img{0,1}.projector 8.1e-3     7.1e-3
//   prefix.embs               5.3e-3     3.7e-3
//   vlm.layer0                7.2e-3     6.2e-3
//   kv.layer1.k / .v          9.7e-3     7.3e-3     (largest of k and v)
//   step0.expert.layer1       8.1e-3     6.7e-3
//   step0.v_t                 8.4e-3     6.3e-3
//   step9.v_t                 1.05e-2    5.8e-3
//   step9.x_t                 3.5e-3     2.0e-3
//   x0                        3.7e-3     2.0e-3     (cf. ~3e-3 on the full pi0, performance.md 0b)
//
// A correct bf16 engine lands at the reference's level; ours rounds at somewhat different
// points (every op output, SigLIP's patch / position embeddings and the norm weights too,
// bf16 K/V in the cache), so each stage gets kBf16Margin = 3 x the reference's value: the
// factor the X-VLA CUDA test uses (3e-2 against the reference's 1e-2). NaN never passes.
// The suffix embeddings of step 0 come from the f32 action path in both engines, so they
// must meet the f32 golden rule even in bf16 mode.
//
// Graphs: replaying the recorded whole call must give bit-identical x0 to the eager call
// (both modes, both variants), and Pi0Policy with graphs must give bit-identical actions
// to Pi0Policy without them (the eager first call, then replay).
//
// Runtime on an H100: about 10-20 s for the whole binary (mostly CUDA context creation and
// the trace downloads; the models are tiny).

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

#include "backends/cuda/cuda_backend.h"
#include "capture_tracer.h"
#include "image/decode.h"
#include "image/resize_with_pad.h"
#include "models/pi0/pi0_model.h"
#include "pi0_golden_compare.h"
#include "pi0_test_util.h"
#include "runtime/synthetic_checkpoint.h"
#include "support/test_paths.h"
#include "text/embedded_assets.h"
#include "vlart/policy.h"

namespace vlart {
namespace {

using testing::CaptureTracer;
using testing::LoadPi0Tiny;
using testing::Pi0Tiny;
using testing::RowPairs;

constexpr double kBf16Margin = 3.0;

// openpi bf16 vs its f32 goldens (tests/golden/measure_pi0_bf16.py), per stage.
const std::map<std::string, double>& ReferenceBf16RelL2(const std::string& model) {
  static const std::map<std::string, std::map<std::string, double>> kRef = {
      {"pi0_tiny",
       {{"vision.projector", 8.137e-3}, {"prefix.embs", 5.336e-3}, {"vlm.layer0", 7.227e-3},
        {"kv.layer1", 9.701e-3}, {"step0.expert.layer1", 8.059e-3}, {"step0.v_t", 8.432e-3},
        {"step9.v_t", 1.052e-2}, {"step9.x_t", 3.503e-3}, {"x0", 3.730e-3}}},
      {"pi05_tiny",
       {{"vision.projector", 7.123e-3}, {"prefix.embs", 3.704e-3}, {"vlm.layer0", 6.183e-3},
        {"kv.layer1", 7.334e-3}, {"step0.expert.layer1", 6.674e-3}, {"step0.v_t", 6.340e-3},
        {"step9.v_t", 5.839e-3}, {"step9.x_t", 1.975e-3}, {"x0", 2.031e-3}}},
  };
  return kRef.at(model);
}

std::unique_ptr<Backend> Cuda(DType dtype) {
  CudaBackendOptions o;
  o.compute_dtype = dtype;
  auto be = CreateCudaBackend(o);
  EXPECT_TRUE(be.ok()) << be.status().message();
  return be.ok() ? std::move(be).value() : nullptr;
}

// Accumulates ||ours - golden||^2 and ||golden||^2 over mapped rows.
struct RelL2 {
  double num = 0, den = 0;
  bool nan = false;
  void Add(const HostTensor& ours, const HostTensor& golden, const RowPairs& pairs) {
    const HostTensor a = HostTensor::ToF32(ours.view());
    const HostTensor g = HostTensor::ToF32(golden.view());
    const int64_t b = static_cast<int64_t>(pairs.size());
    const int64_t ra = a.shape()[1], rg = g.shape()[1];
    const int64_t inner = a.numel() / (a.shape()[0] * ra);
    ASSERT_EQ(g.numel() / (g.shape()[0] * rg), inner) << a.shape().ToString() << " vs " << g.shape().ToString();
    for (int64_t i = 0; i < b; ++i) {
      for (const auto& [ro, rgo] : pairs[i]) {
        const float* pa = a.data<float>() + (i * ra + ro) * inner;
        const float* pg = g.data<float>() + (i * rg + rgo) * inner;
        for (int64_t j = 0; j < inner; ++j) {
          if (!std::isfinite(pa[j])) nan = true;
          const double d = static_cast<double>(pa[j]) - pg[j];
          num += d * d;
          den += static_cast<double>(pg[j]) * pg[j];
        }
      }
    }
  }
  double value() const {
    return nan ? std::numeric_limits<double>::infinity() : std::sqrt(num / std::max(den, 1e-300));
  }
};

// Every row of a [B, R, ...] pair of equal shapes.
RowPairs AllRows(const HostTensor& t) {
  return testing::RangePairs(t.shape()[0], 0, 0, t.shape()[1]);
}

class Pi0Cuda : public ::testing::TestWithParam<std::string> {};

TEST_P(Pi0Cuda, F32MatchesTheGoldensStageByStage) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto be = Cuda(DType::kF32);
  ASSERT_TRUE(be);
  testing::ExpectAllPi0StagesMatch(
      testing::RunPi0AndCompare(t, *be, pi0::Pi0ModelOptions::Reference()),
      GetParam() + " cuda f32 (all shortcuts off)");
  testing::ExpectAllPi0StagesMatch(testing::RunPi0AndCompare(t, *be, pi0::Pi0ModelOptions{}),
                                   GetParam() + " cuda f32 (all shortcuts on)");
}

TEST_P(Pi0Cuda, Bf16StaysWithinTheBf16BudgetOfTheReference) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto be = Cuda(DType::kBF16);
  ASSERT_TRUE(be);
  auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be);
  ASSERT_TRUE(model.ok()) << model.status().message();
  pi0::Pi0Model& m = **model;
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  ASSERT_TRUE(m.Validate(in).ok());
  auto plan = m.GetPlan(m.MakePlanKey(in));
  ASSERT_TRUE(plan.ok());
  CaptureTracer capture(*be);
  m.tracer().Set(capture.Fn());
  ASSERT_TRUE(m.Upload(**plan, in).ok());
  m.Forward(**plan);
  pi0::Pi0Outputs out;
  ASSERT_TRUE(m.Download(**plan, &out).ok());
  const pi0::Pi0Model::Plan& p = **plan;
  const testing::GoldenFile& g = *t.golden;
  const pi0::Pi0Config& cfg = t.cfg;
  const int64_t b = p.key.batch;
  const int64_t sfx = cfg.suffix_len();
  const int64_t s_run = cfg.pi05 ? sfx : cfg.action_horizon;  // the state token is cached (pi0)
  const RowPairs prefix_rows = testing::PrefixRowPairs(p, t, /*all=*/false);
  const RowPairs expert_rows = testing::RangePairs(b, 0, sfx - s_run, s_run);
  auto traced = [&](const std::string& name) -> HostTensor {
    if (!capture.Has(name)) {
      ADD_FAILURE() << "not traced: " << name;
      return HostTensor(DType::kF32, {1, 1, 1});
    }
    return HostTensor::CopyOf(capture.Get(name).view());
  };

  std::map<std::string, RelL2> stages;
  // Vision: ours [N, T, W] over the encoded (b, v) views; golden per slot [B, T, W].
  for (size_t e = 0; e < p.encoded_views.size(); ++e) {
    const auto [bi, vi] = p.encoded_views[e];
    const HostTensor ours = traced("vision.projector");
    const HostTensor gold = g.F32(fmt::format("vision.img{}.projector", vi));
    RowPairs one(1);
    one[0].emplace_back(static_cast<int64_t>(e), bi);
    stages["vision.projector"].Add(
        HostTensor::CopyOf(ours.view().Reshape({1, ours.shape()[0], -1})),
        HostTensor::CopyOf(gold.view().Reshape({1, gold.shape()[0], -1})), one);
  }
  stages["prefix.embs"].Add(traced("prefix.embs"), g.F32("prefix.embs"), prefix_rows);
  stages["vlm.layer0"].Add(traced("vlm.layer0"), g.F32("vlm.layer0"), prefix_rows);
  const int last = cfg.vlm.depth - 1;
  for (const char* kv : {"k", "v"}) {
    const Tensor& cache = kv[0] == 'k' ? p.kv.k[last] : p.kv.v[last];
    const HostTensor ours =
        testing::DownloadToHost(*be, cache.Reshape({b, cache.dim(1), -1}), DType::kF32);
    const HostTensor gold = g.F32(fmt::format("kv.layer{}.{}", last, kv));
    RelL2 r;
    r.Add(ours, HostTensor::CopyOf(gold.view().Reshape({b, gold.shape()[2], -1})), prefix_rows);
    // The reference table keeps the larger of k and v.
    RelL2& slot = stages[fmt::format("kv.layer{}", last)];
    if (r.value() > slot.value() || slot.den == 0) slot = r;
  }
  stages["step0.expert.layer1"].Add(traced("step0.expert.layer1"), g.F32("step0.expert.layer1"),
                                    expert_rows);
  const int k_last = in.steps - 1;
  for (const std::string& s : {std::string("step0.v_t"), fmt::format("step{}.v_t", k_last),
                               fmt::format("step{}.x_t", k_last)}) {
    stages[s].Add(traced(s), g.F32(s), AllRows(g.F32(s)));
  }
  stages["x0"].Add(out.x0, g.F32("x0"), AllRows(out.x0));

  const std::map<std::string, double>& ref = ReferenceBf16RelL2(GetParam());
  for (const auto& [name, reference] : ref) {
    const std::string key = name == "step9.v_t" ? fmt::format("step{}.v_t", k_last)
                            : name == "step9.x_t" ? fmt::format("step{}.x_t", k_last)
                                                  : name;
    ASSERT_TRUE(stages.count(key)) << key;
    const double e = stages[key].value();
    const double budget = kBf16Margin * reference;
    std::printf("%s bf16 %-22s rel L2 %.3e (reference %.3e, budget %.3e)\n", GetParam().c_str(),
                key.c_str(), e, reference, budget);
    EXPECT_LE(e, budget) << GetParam() << " " << key;
  }
  // The f32 action path stays f32 in bf16 mode: step 0's suffix embeddings meet the f32 rule.
  const testing::StageResult suffix = testing::CompareAll(
      "step0.suffix_embs", "step0.suffix_embs", traced("step0.suffix_embs"), g.F32("step0.suffix_embs"));
  EXPECT_TRUE(suffix.ok) << "step0.suffix_embs max |diff| " << suffix.max_abs_diff << " > "
                         << suffix.tolerance;
}

TEST_P(Pi0Cuda, GraphReplayIsBitIdenticalToEager) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  for (DType dt : {DType::kF32, DType::kBF16}) {
    auto be = Cuda(dt);
    ASSERT_TRUE(be);
    auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be);
    ASSERT_TRUE(model.ok()) << model.status().message();
    auto eager = (*model)->Run(in);  // also tunes the GEMMs of this shape
    ASSERT_TRUE(eager.ok()) << eager.status().message();
    auto plan = (*model)->GetPlan((*model)->MakePlanKey(in));
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE((*model)->Upload(**plan, in).ok());
    auto graph = be->Record([&] { (*model)->Forward(**plan); });
    ASSERT_TRUE(graph.ok()) << graph.status().message();
    for (int rep = 0; rep < 3; ++rep) {
      (*graph)->Replay();
      pi0::Pi0Outputs out;
      ASSERT_TRUE((*model)->Download(**plan, &out).ok());
      ASSERT_EQ(0, std::memcmp(out.x0.view().data, eager->x0.view().data, eager->x0.nbytes()))
          << GetParam() << " " << DTypeName(dt) << " replay " << rep;
    }
  }
}

// Images as bytes (Pi0Inputs::pixels) are normalised by the first op on the device into the
// planes the host would upload, bit for bit, so x0 is bit-identical to the planes' run (both
// modes; the host path rounds its F32 planes to bf16 in Upload, the device after the lookup).
TEST_P(Pi0Cuda, PixelBytesGiveThePlanesActionsBits) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs planes = testing::GoldenModelInputs(t);
  const pi0::Pi0Inputs bytes = testing::GoldenPixelInputs(t);
  for (DType dt : {DType::kF32, DType::kBF16}) {
    auto be = Cuda(dt);
    ASSERT_TRUE(be);
    auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be);
    ASSERT_TRUE(model.ok()) << model.status().message();
    auto from_planes = (*model)->Run(planes);
    auto from_bytes = (*model)->Run(bytes);
    ASSERT_TRUE(from_planes.ok()) << from_planes.status().message();
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().message();
    EXPECT_TRUE(testing::BitEqual(from_planes->x0, from_bytes->x0))
        << GetParam() << " " << DTypeName(dt) << ": max |diff| "
        << testing::MaxAbsDiff(from_planes->x0, from_bytes->x0);
  }
}

INSTANTIATE_TEST_SUITE_P(Tiny, Pi0Cuda, ::testing::Values("pi0_tiny", "pi05_tiny"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The runtime's rule (eager first call, then record and replay) through the public API, on
// a synthetic tiny checkpoint at the LIBERO size (224 px, two views, 8-d state, batch 2).
// Policies with and without graphs are separate backends, so GEMM autotuning is switched
// off here (VLART_GEMM_AUTOTUNE=0): both then pick the same kernels, and any difference
// is the graph path's.
TEST(Pi0CudaPolicy, GraphsGiveTheEagerActions) {
  if (!CudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device";
  const char* old_tune = std::getenv("VLART_GEMM_AUTOTUNE");
  const std::string saved = old_tune != nullptr ? old_tune : "";
  setenv("VLART_GEMM_AUTOTUNE", "0", 1);
  struct Restore {
    bool had;
    std::string value;
    ~Restore() {
      if (had) {
        setenv("VLART_GEMM_AUTOTUNE", value.c_str(), 1);
      } else {
        unsetenv("VLART_GEMM_AUTOTUNE");
      }
    }
  } restore{old_tune != nullptr, saved};
  const std::filesystem::path scratch = vlart::testing::ScratchDir();
  for (const char* arch : {"pi0", "pi05"}) {
    const std::filesystem::path dir = scratch / arch;
    ASSERT_TRUE(WriteSyntheticCheckpoint({arch, "tiny", 1}, dir).ok());
    Observation obs;
    for (const char* name : {"demo/agentview.png", "demo/wrist.png"}) {
      auto img = DecodeImageBytes(EmbeddedAsset(name), name);
      ASSERT_TRUE(img.ok());
      auto resized = ResizeWithPad(img->view(), 224, 224);
      ASSERT_TRUE(resized.ok());
      obs.images.push_back(std::move(resized).value());
    }
    obs.prompt = "put the black bowl on the plate";
    obs.state = {0.05, -0.02, 1.10, 3.0, 0.1, -0.1, 0.03, -0.03};
    const std::vector<Observation> batch(2, obs);
    std::vector<HostTensor> first;
    for (bool graphs : {false, true}) {
      for (const char* precision : {"f32", "bf16"}) {
        PolicyOptions po;
        po.device = "cuda";
        po.precision = precision;
        po.cuda_graphs = graphs;
        auto policy = Policy::Load(dir, po);
        ASSERT_TRUE(policy.ok()) << policy.status().message();
        ActOptions ao;
        ao.seed = 5;
        for (int call = 0; call < 3; ++call) {  // eager (+ record), then replays
          auto chunks = (*policy)->ActBatch(batch, ao);
          ASSERT_TRUE(chunks.ok()) << chunks.status().message();
          const HostTensor& a = (*chunks)[0].actions;
          for (int64_t i = 0; i < a.numel(); ++i) ASSERT_TRUE(std::isfinite(a.data<float>()[i]));
          const size_t slot = std::string(precision) == "f32" ? 0 : 1;
          if (first.size() <= slot) first.push_back(HostTensor::CopyOf(a.view()));
          ASSERT_EQ(0, std::memcmp(a.view().data, first[slot].view().data, a.nbytes()))
              << arch << " " << precision << " graphs " << graphs << " call " << call;
        }
      }
    }
  }
}

}  // namespace
}  // namespace vlart
