// SPDX-License-Identifier: Apache-2.0
//
// xvla_golden_test.cc: X-VLA on the CPU reference against the reference implementation,
// stage by stage, on the tiny random-weight checkpoint (tests/golden/xvla_tiny).
//
// The golden comes from LeRobot 0.6.1's X-VLA (cross-checked against the official code
// to 2.2e-6 relative; tests/golden/README.md). Stages are compared in execution order
// and the table printed on failure marks the first one that diverged. Tolerances:
// golden_file.h. Also proven here: hoisting the step-invariant policy context gives
// bit-identical actions to recomputing it every step as the reference does; Upload takes
// the present views straight from the caller's tensor (the device gets them packed in
// (b, v) order, the golden's mask [[1, 1, 0], [1, 0, 1]] makes three runs) and calls
// through one model with changing pixels, prompts, domains, proprio and noise give the
// actions of fresh models.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "backends/cpu/cpu_backend.h"
#include "capture_tracer.h"
#include "golden_file.h"
#include "models/common/checkpoint_source.h"
#include "models/xvla/xvla_model.h"
#include "runtime/profiling_backend.h"
#include "support/test_paths.h"
#include "xvla_test_util.h"

namespace vlart {
namespace {

using testing::CaptureTracer;
using testing::CompareStage;
using testing::GoldenFile;
using testing::StageResult;

struct Loaded {
  xvla::XvlaConfig cfg;
  std::unique_ptr<CheckpointSource> source;
};

Loaded LoadTiny() {
  const auto dir = vlart::testing::TestDataPath("golden/xvla_tiny");
  Loaded l;
  auto cfg = xvla::ParseXvlaConfig(dir / "config.json");
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  l.cfg = *cfg;
  auto ckpt = Checkpoint::Open(dir);
  EXPECT_TRUE(ckpt.ok()) << ckpt.status().message();
  l.source = std::make_unique<CheckpointSource>(std::move(ckpt).value());
  return l;
}

xvla::XvlaInputs GoldenInputs(const GoldenFile& g) {
  xvla::XvlaInputs in;
  in.input_ids = g.I32("inputs.input_ids");
  in.images = g.F32("inputs.image_input");
  in.image_mask = g.U8("inputs.image_mask");
  in.domain_id = g.I32("inputs.domain_id");
  in.proprio = g.F32("inputs.proprio");
  in.noise = g.F32("inputs.noise");
  in.steps = std::stoi(g.Meta("steps"));
  return in;
}

TEST(XvlaGolden, ConfigMatchesTheTinyArchitecture) {
  const Loaded l = LoadTiny();
  EXPECT_EQ(l.cfg.vision.dim_embed, (std::array<int, 4>{32, 64, 96, 128}));
  EXPECT_EQ(l.cfg.vision.depths, (std::array<int, 4>{1, 1, 2, 1}));
  EXPECT_EQ(l.cfg.text.d_model, 64);
  EXPECT_EQ(l.cfg.policy.hidden_size, 96);
  EXPECT_EQ(l.cfg.policy.len_soft_prompts, 8);
  EXPECT_EQ(l.cfg.policy_tokens(), 238);
}

TEST(XvlaGolden, CpuReferenceMatchesStageByStage) {
  Loaded l = LoadTiny();
  auto be = CreateCpuBackend();
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, *be);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  const xvla::XvlaInputs in = GoldenInputs(g);

  CaptureTracer capture(*be);
  (*model)->tracer().Set(capture.Fn());
  auto out = (*model)->Run(in);
  ASSERT_TRUE(out.ok()) << out.status().message();

  std::vector<StageResult> results;
  auto stage = [&](const std::string& golden_name, const std::string& ours, const Tensor& t) {
    results.push_back(CompareStage(g, golden_name, ours, t));
  };
  auto traced = [&](const std::string& ours) -> const Tensor& {
    EXPECT_TRUE(capture.Has(ours)) << "not traced: " << ours;
    return capture.Get(ours).view();
  };
  // Valid views in (b, v) order, as the model encodes them.
  const std::vector<std::pair<int, int>> views = {{0, 0}, {0, 1}, {1, 0}, {1, 2}};
  for (int s = 0; s < 4; ++s) {
    const std::string gpre = fmt::format("vision.b0.view0.stage{}.", s);
    stage(gpre + "conv", fmt::format("vision.stage{}.embed[view 0]", s),
          traced(fmt::format("vision.stage{}.embed", s)).Select(0, 0));
    for (int j = 0; j < l.cfg.vision.depths[s]; ++j) {
      for (const char* kind : {"spatial", "channel"}) {
        const std::string ours = fmt::format("vision.stage{}.block{}.{}", s, j, kind);
        stage(gpre + fmt::format("block{}.{}", j, kind), ours + "[view 0]", traced(ours).Select(0, 0));
      }
    }
  }
  for (size_t k = 0; k < views.size(); ++k) {
    const auto [b, v] = views[k];
    const std::string gv = fmt::format("b{}.view{}", b, v);
    stage("vision." + gv + ".features", "vision.features", traced("vision.features").Select(0, k));
    stage("proj." + gv + ".tokens", "vision.tokens", traced("vision.tokens").Select(0, k));
    stage("proj." + gv + ".out", "vision.projected", traced("vision.projected").Select(0, k));
  }
  stage("encoder.inputs_embeds", "encoder.input", traced("encoder.input"));
  stage("encoder.embed_sum", "encoder.embed_sum", traced("encoder.embed_sum"));
  stage("encoder.embed_ln", "encoder.embed", traced("encoder.embed"));
  for (int i = 0; i < l.cfg.text.encoder_layers; ++i) {
    const std::string name = fmt::format("encoder.layer{}", i);
    stage(name, name, traced(name));
  }
  stage("vlm.vlm_features", "encoder.output", traced("encoder.output"));
  stage("vlm.aux_visual_inputs", "policy.aux", traced("policy.aux"));
  stage("policy.step0.seq_in", "policy.step0.input", traced("policy.step0.input"));
  for (int i = 0; i < l.cfg.policy.depth; ++i) {
    const std::string name = fmt::format("policy.step0.block{}", i);
    stage(name, name, traced(name));
  }
  for (int k = 0; k < in.steps; ++k) {
    stage(fmt::format("policy.step{}.x_t", k), fmt::format("policy.step{}.x_t", k),
          traced(fmt::format("policy.step{}.x_t", k)));
    stage(fmt::format("policy.step{}.x0", k), fmt::format("policy.step{}.x0", k),
          traced(fmt::format("policy.step{}.x0", k)));
  }
  stage("output.actions", "actions (returned)", out->actions.view());

  bool all_ok = true;
  for (const StageResult& r : results) all_ok = all_ok && r.ok;
  EXPECT_TRUE(all_ok) << "\n" << testing::FormatStages(results);
  if (std::getenv("VLART_TEST_VERBOSE")) std::printf("%s", testing::FormatStages(results).c_str());
}

TEST(XvlaGolden, HoistingTheStepInvariantContextIsExact) {
  // The reference recomputes vlm_proj(vlm), aux_visual_proj(aux), + pos_emb and the
  // soft prompts at every step; we build them once. Same ops, same inputs: the actions
  // must be bit-identical, not merely close.
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  const xvla::XvlaInputs in = GoldenInputs(g);
  Loaded l = LoadTiny();
  auto be = CreateCpuBackend();
  auto hoisted = xvla::XvlaModel::Load(l.cfg, *l.source, *be, {.hoist_step_invariant = true});
  auto plain = xvla::XvlaModel::Load(l.cfg, *l.source, *be, {.hoist_step_invariant = false});
  ASSERT_TRUE(hoisted.ok() && plain.ok());
  auto a = (*hoisted)->Run(in);
  auto b = (*plain)->Run(in);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->actions.numel(), b->actions.numel());
  EXPECT_EQ(0, std::memcmp(a->actions.view().data, b->actions.view().data, a->actions.nbytes()));
}

xvla::XvlaInputs CopyInputs(const xvla::XvlaInputs& in) {
  xvla::XvlaInputs c;
  c.input_ids = HostTensor::CopyOf(in.input_ids.view());
  c.images = HostTensor::CopyOf(in.images.view());
  c.image_mask = HostTensor::CopyOf(in.image_mask.view());
  c.domain_id = HostTensor::CopyOf(in.domain_id.view());
  c.proprio = HostTensor::CopyOf(in.proprio.view());
  c.noise = HostTensor::CopyOf(in.noise.view());
  c.steps = in.steps;
  return c;
}

TEST(XvlaGolden, UploadPacksThePresentViewsAndRepeatedCallsAreExact) {
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  Loaded l = LoadTiny();
  auto be = CreateCpuBackend();
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, *be);
  ASSERT_TRUE(model.ok());
  const xvla::XvlaInputs a = GoldenInputs(g);
  xvla::XvlaInputs other = CopyInputs(a);  // other pixels, prompt, domain, proprio, noise
  for (int64_t k = 0; k < other.images.numel(); ++k) {
    other.images.data<float>()[k] = 0.5f * other.images.data<float>()[k] + 0.125f;
  }
  other.input_ids.data<int32_t>()[3] = 7;
  other.domain_id.data<int32_t>()[0] = 1;
  other.proprio.data<float>()[2] = 0.75f;
  other.noise.data<float>()[11] = -2.0f;
  const int64_t nv = l.cfg.num_views;
  const int64_t per_image = 3LL * l.cfg.vision.image_size * l.cfg.vision.image_size;
  const xvla::XvlaInputs* sequence[] = {&a, &other, &a, &a, &other};
  for (const xvla::XvlaInputs* in : sequence) {
    ASSERT_TRUE((*model)->Validate(*in).ok());
    auto plan = (*model)->GetPlan(xvla::XvlaModel::KeyFor(*in));
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE((*model)->Upload(**plan, *in).ok());
    // The device's images: the present views in (b, v) order, bytes as given.
    HostTensor got(DType::kF32, (*plan)->images_f32.shape);
    be->Download((*plan)->images_f32, got.view());
    be->Synchronize();
    ASSERT_EQ((*plan)->valid_views.size(), 4u);
    for (size_t k = 0; k < (*plan)->valid_views.size(); ++k) {
      const auto [bi, vi] = (*plan)->valid_views[k];
      EXPECT_EQ(0, std::memcmp(got.data<float>() + k * per_image,
                               in->images.data<float>() + (bi * nv + vi) * per_image,
                               per_image * sizeof(float)))
          << "view " << k;
    }
    (*model)->Forward(**plan);
    xvla::XvlaOutputs out;
    ASSERT_TRUE((*model)->Download(**plan, &out).ok());
    auto fresh = xvla::XvlaModel::Load(l.cfg, *l.source, *be);
    ASSERT_TRUE(fresh.ok());
    auto want = (*fresh)->Run(*in);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(out.actions.nbytes(), want->actions.nbytes());
    EXPECT_EQ(0, std::memcmp(out.actions.data<float>(), want->actions.data<float>(),
                             out.actions.nbytes()));
  }
  // Inputs whose views or batch the plan was not made for are refused, not packed wrong.
  auto plan = (*model)->GetPlan(xvla::XvlaModel::KeyFor(a));
  ASSERT_TRUE(plan.ok());
  xvla::XvlaInputs other_views = CopyInputs(a);
  other_views.image_mask.data<uint8_t>()[2] = 1;
  const Status s = (*model)->Upload(**plan, other_views);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("X-VLA upload: sample 0 view 2: the image mask says present, the plan absent"),
            std::string::npos)
      << s.message();
  xvla::XvlaInputs nan_pixel = CopyInputs(a);
  nan_pixel.images.data<float>()[5 * per_image + 9] = std::numeric_limits<float>::quiet_NaN();
  const Status n = (*model)->Upload(**plan, nan_pixel);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.message().find("X-VLA input 'images[1][2]': expected finite values, got nan"),
            std::string::npos)
      << n.message();
}

// The golden inputs and the same with their views as random bytes standing for those planes.
struct ByteInputs {
  xvla::XvlaInputs bytes, planes;
};
ByteInputs GoldenByteInputs(const GoldenFile& g, uint64_t seed) {
  ByteInputs r{GoldenInputs(g), GoldenInputs(g)};
  vlart::testing::MakeByteInputs(r.planes, r.bytes, seed);
  return r;
}

// Bytes normalised by the model's first op give the planes' actions bit for bit, on a plan
// of their own, call after call (the table is uploaded once per plan, again when it changes).
TEST(XvlaGolden, BytesGiveThePlanesActionsBitForBit) {
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  Loaded l = LoadTiny();
  auto be = CreateCpuBackend();
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, *be);
  ASSERT_TRUE(model.ok());
  for (uint64_t seed : {11u, 12u, 11u}) {
    const ByteInputs in = GoldenByteInputs(g, seed);
    auto from_planes = (*model)->Run(in.planes);
    auto from_bytes = (*model)->Run(in.bytes);
    ASSERT_TRUE(from_planes.ok()) << from_planes.status().message();
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().message();
    ASSERT_EQ(from_planes->actions.nbytes(), from_bytes->actions.nbytes());
    EXPECT_EQ(0, std::memcmp(from_planes->actions.data<float>(), from_bytes->actions.data<float>(),
                             from_bytes->actions.nbytes()))
        << "seed " << seed;
  }
  // Bad byte inputs: clear errors.
  ByteInputs bad = GoldenByteInputs(g, 13);
  bad.bytes.images = CopyInputs(bad.planes).images;
  auto both = (*model)->Run(bad.bytes);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("X-VLA inputs: expected one of 'images' (F32 planes), "
                                         "'pixels' (U8 resized bytes) or 'source_pixels' (U8 "
                                         "camera bytes), got 2"),
            std::string::npos)
      << both.status().message();
  bad = GoldenByteInputs(g, 13);
  bad.bytes.pixel_table = HostTensor(DType::kF32, {3, 255});
  auto table = (*model)->Run(bad.bytes);
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("X-VLA input 'pixel_table': expected F32[3, 256], got F32[3, 255]"),
            std::string::npos)
      << table.status().message();
  bad = GoldenByteInputs(g, 13);
  bad.bytes.pixel_table.data<float>()[256 + 7] = std::numeric_limits<float>::infinity();
  auto inf = (*model)->Run(bad.bytes);
  ASSERT_FALSE(inf.ok());
  EXPECT_NE(inf.status().message().find("X-VLA input 'pixel_table[1][7]': expected a finite value, got inf"),
            std::string::npos)
      << inf.status().message();
}

// Camera bytes resized and normalised by the model's first ops (ResizePixels, NormalizePixels)
// give the planes' actions bit for bit: a downscale and an upscale of other aspect ratios,
// each call on its plan (the taps are uploaded when they change), then bad taps and forms.
TEST(XvlaGolden, CameraBytesGiveThePlanesActionsBitForBit) {
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  Loaded l = LoadTiny();
  auto be = CreateCpuBackend();
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, *be);
  ASSERT_TRUE(model.ok());
  const int s = l.cfg.vision.image_size;
  struct Camera {
    int h, w;
    uint64_t seed;
  };
  for (const Camera& cam : {Camera{s + 9, 2 * s - 3, 21}, Camera{s / 2 + 1, s - 5, 22},
                            Camera{s + 9, 2 * s - 3, 23}}) {
    SCOPED_TRACE(::testing::Message() << cam.h << "x" << cam.w << " seed " << cam.seed);
    ByteInputs in = GoldenByteInputs(g, cam.seed);
    xvla::XvlaInputs source = CopyInputs(in.planes);
    vlart::testing::MakeSourceInputs(in.planes, in.bytes, source, cam.h, cam.w, cam.seed);
    auto from_planes = (*model)->Run(in.planes);
    auto from_source = (*model)->Run(source);
    ASSERT_TRUE(from_planes.ok()) << from_planes.status().message();
    ASSERT_TRUE(from_source.ok()) << from_source.status().message();
    ASSERT_EQ(from_planes->actions.nbytes(), from_source->actions.nbytes());
    EXPECT_EQ(0, std::memcmp(from_planes->actions.data<float>(), from_source->actions.data<float>(),
                             from_source->actions.nbytes()));
  }
  const auto refused = [&](const xvla::XvlaInputs& bad, const std::string& want) {
    auto r = (*model)->Run(bad);
    ASSERT_FALSE(r.ok()) << want;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  };
  const auto fresh = [&] {
    ByteInputs in = GoldenByteInputs(g, 24);
    xvla::XvlaInputs source = CopyInputs(in.planes);
    vlart::testing::MakeSourceInputs(in.planes, in.bytes, source, s + 9, 2 * s - 3, 24);
    return source;
  };
  xvla::XvlaInputs bad = fresh();
  bad.resize_x.data<int32_t>()[5 * bad.resize_x.shape()[1]] = 2 * s;  // column 5 starts late
  refused(bad, fmt::format("X-VLA input 'resize_x[5]': expected taps inside the camera image (0 "
                           "<= first, 1 <= count <= {}, first + count <= {}), got first {}",
                           bad.resize_x.shape()[1] - 2, 2 * s - 3, 2 * s));
  bad = fresh();
  bad.resize_y = HostTensor(DType::kI32, {s, 2});
  refused(bad, fmt::format("X-VLA input 'resize_y': expected I32 [{}, 2 + K] with K >= 1, got "
                           "I32[{}, 2]", s, s));
  bad = fresh();
  bad.source_pixels = HostTensor(DType::kU8, {2, 3, 4, 5, 4});
  refused(bad, "X-VLA input 'source_pixels': expected U8 [2, 3, H, W, 3], got U8[2, 3, 4, 5, 4]");
  bad = fresh();
  bad.pixels = HostTensor(DType::kU8, {2, 3, 3, s, s});
  refused(bad, "X-VLA inputs: expected one of 'images' (F32 planes), 'pixels' (U8 resized bytes) "
               "or 'source_pixels' (U8 camera bytes), got 2");
  bad = fresh();
  bad.pixel_table = HostTensor();
  refused(bad, "X-VLA input 'pixel_table': expected F32[3, 256]");
}

// Sample `i` of `in` alone (batch 1): each per-sample tensor's slice [i, i + 1) of dim 0.
xvla::XvlaInputs SampleOf(const xvla::XvlaInputs& in, int64_t i) {
  auto one = [i](const HostTensor& t) { return HostTensor::CopyOf(t.view().Slice(0, i, i + 1)); };
  xvla::XvlaInputs r;
  r.input_ids = one(in.input_ids);
  r.images = one(in.images);
  r.image_mask = one(in.image_mask);
  r.domain_id = one(in.domain_id);
  r.proprio = one(in.proprio);
  r.noise = one(in.noise);
  r.steps = in.steps;
  return r;
}

// The policy streams its next GEMMs' weights (Backend::Prefetch) only for one sample: two
// hints per block and step at batch 1, none at the goldens' batch 2 (on the H100 the hints
// cost 0.76 ms at batch 4; docs/PERFORMANCE.md). Each golden sample run alone gives its row
// of the batch-2 actions exactly.
TEST(XvlaGolden, WeightHintsOnlyAtBatchOne) {
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  const xvla::XvlaInputs in = GoldenInputs(g);
  ASSERT_EQ(in.noise.shape()[0], 2) << "the goldens hold two samples";
  Loaded l = LoadTiny();
  ProfilingBackend be(CreateCpuBackend(), 1 << 16);
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, be, {});
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto hints = [&be] {
    int n = 0;
    for (const OpTiming& op : be.Timings()) n += op.op == "Prefetch" ? 1 : 0;
    return n;
  };
  be.ResetOps();
  auto both = (*model)->Run(in);
  ASSERT_TRUE(both.ok()) << both.status().message();
  EXPECT_EQ(hints(), 0) << "batch 2";
  const int64_t per_sample = both->actions.numel() / 2;
  const auto* b = static_cast<const float*>(both->actions.view().data);
  for (int64_t i = 0; i < 2; ++i) {
    be.ResetOps();
    auto one = (*model)->Run(SampleOf(in, i));
    ASSERT_TRUE(one.ok()) << one.status().message();
    EXPECT_EQ(hints(), 2 * l.cfg.policy.depth * in.steps) << "batch 1, sample " << i;
    ASSERT_EQ(one->actions.numel(), per_sample);
    const auto* a = static_cast<const float*>(one->actions.view().data);
    // Same ops on the same rows; the CPU reference computes each row alone, in a fixed
    // order, whatever the batch: bit for bit.
    for (int64_t j = 0; j < per_sample; ++j) {
      ASSERT_EQ(a[j], b[i * per_sample + j])
          << "sample " << i << ", action value " << j;
    }
  }
}

// Each block's residual projections carry the LayerNorm after them (one
// LinearResidualLayerNorm: proj then norm2, fc2 then the next block's norm1; the last fc2 is a
// plain Linear before the final norm), and the goldens above pass through that form.
TEST(XvlaGolden, ResidualProjectionsCarryTheNextNorm) {
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  const xvla::XvlaInputs in = GoldenInputs(g);
  Loaded l = LoadTiny();
  ProfilingBackend be(CreateCpuBackend(), 1 << 16);
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, be, {});
  ASSERT_TRUE(model.ok()) << model.status().message();
  be.ResetOps();
  auto out = (*model)->Run(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  int fused = 0;
  for (const OpTiming& op : be.Timings()) fused += op.op == "LinearResidualLayerNorm" ? 1 : 0;
  ASSERT_GE(l.cfg.policy.depth, 1);
  EXPECT_EQ(fused, (2 * l.cfg.policy.depth - 1) * in.steps);
}

TEST(XvlaGolden, RejectsBadInputsWithClearErrors) {
  Loaded l = LoadTiny();
  auto be = CreateCpuBackend();
  auto model = xvla::XvlaModel::Load(l.cfg, *l.source, *be);
  ASSERT_TRUE(model.ok());
  const GoldenFile g(vlart::testing::TestDataPath("golden/xvla_tiny/golden.safetensors"));
  {
    xvla::XvlaInputs in = GoldenInputs(g);
    in.domain_id.data<int32_t>()[1] = 99;
    auto r = (*model)->Run(in);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("domain_id[1]"), std::string::npos) << r.status().message();
  }
  {
    xvla::XvlaInputs in = GoldenInputs(g);
    in.proprio.data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
    auto r = (*model)->Run(in);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("proprio"), std::string::npos);
  }
  {
    xvla::XvlaInputs in = GoldenInputs(g);
    for (int v = 0; v < 3; ++v) in.image_mask.data<uint8_t>()[v] = 0;
    auto r = (*model)->Run(in);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("image_mask[0]"), std::string::npos);
  }
  {
    xvla::XvlaInputs in = GoldenInputs(g);
    in.input_ids.data<int32_t>()[5] = 100000;
    auto r = (*model)->Run(in);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("input_ids[0][5]"), std::string::npos);
  }
  {
    xvla::XvlaInputs in = GoldenInputs(g);
    in.steps = 0;
    EXPECT_FALSE((*model)->Run(in).ok());
  }
}

}  // namespace
}  // namespace vlart
