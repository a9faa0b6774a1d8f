// SPDX-License-Identifier: Apache-2.0
//
// xvla_fullsize_test.cc: X-VLA at full size (0.9B, random weights) on the CPU reference
// against LeRobot's X-VLA, stage by stage. Label `slow`: about a minute on 2 quiet cores,
// 9.4 GB peak resident (the mapped 3.5 GB file, the f32 weights, every traced stage).
//
// Skipped unless VLART_XVLA_FULL_DIR names a folder holding an official-format
// checkpoint (config.json, model.safetensors, tokenizer.json, preprocessor_config.json)
// and xvla_fullsize_reference.safetensors made from it by
// tests/golden/make_xvla_fullsize_reference.py (its header has the commands). Neither is
// committed: the checkpoint is 3.5 GB.
//
// The reference file holds one official-style request (2 views + the empty slot, a LIBERO
// instruction, proprio, domain 3, 10 steps, injected x1) and the same stage tensors as the
// tiny goldens (tests/golden/README.md). Tolerance: golden_file.h (8x the reference's own
// fp32-vs-fp64 noise, stored per tensor, or 4 ulp of max|ref| if larger). The table of
// max|diff|, tolerance and relative error (max|diff| / max|ref|) of every stage is printed
// on every run, as the record for docs/PERFORMANCE.md.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "backends/cpu/cpu_backend.h"
#include "capture_tracer.h"
#include "golden_file.h"
#include "models/common/checkpoint_source.h"
#include "models/xvla/xvla_model.h"
#include "models/xvla/xvla_processor.h"

namespace vlart {
namespace {

namespace fs = std::filesystem;
using testing::CaptureTracer;
using testing::CompareStage;
using testing::GoldenFile;
using testing::StageResult;

constexpr const char* kReferenceFile = "xvla_fullsize_reference.safetensors";

// The folder named by VLART_XVLA_FULL_DIR, or empty when the test must be skipped.
fs::path FullDir() {
  const char* dir = std::getenv("VLART_XVLA_FULL_DIR");
  if (dir == nullptr || *dir == '\0') return {};
  const fs::path p(dir);
  if (!fs::exists(p / "model.safetensors") || !fs::exists(p / kReferenceFile)) return {};
  return p;
}

#define SKIP_WITHOUT_FULL_DIR(dir)                                                            \
  const fs::path dir = FullDir();                                                             \
  if (dir.empty()) {                                                                          \
    GTEST_SKIP() << "set VLART_XVLA_FULL_DIR to a folder with the full-size checkpoint and " \
                 << kReferenceFile << " (tests/golden/make_xvla_fullsize_reference.py)";      \
  }

xvla::XvlaInputs ReferenceInputs(const GoldenFile& g) {
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

// "stage  max|diff|  tolerance  max|ref|  rel" with rel = max|diff| / max|ref|.
std::string FormatWithRelative(const std::vector<StageResult>& results) {
  std::string s = fmt::format("| {:<40} | {:>10} | {:>10} | {:>9} | {:>9} |\n|---|---:|---:|---:|---:|\n",
                              "stage (reference name)", "max|diff|", "tolerance", "max|ref|", "rel");
  for (const StageResult& r : results) {
    const double rel = r.max_abs_ref > 0 ? r.max_abs_diff / r.max_abs_ref : r.max_abs_diff;
    s += fmt::format("| {:<40} | {:>10.3e} | {:>10.3e} | {:>9.3g} | {:>9.2e} |{}\n", r.golden,
                     r.max_abs_diff, r.tolerance, r.max_abs_ref, rel, r.ok ? "" : " FAIL");
  }
  return s;
}

TEST(XvlaFullSize, ProcessorReproducesTheOfficialInputs) {
  SKIP_WITHOUT_FULL_DIR(dir);
  auto cfg = xvla::ParseXvlaConfig(dir / "config.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  auto proc = xvla::XvlaProcessor::Load(dir, *cfg);
  ASSERT_TRUE(proc.ok()) << proc.status().message();
  const GoldenFile g((dir / kReferenceFile).string());

  // Token ids: the checkpoint's tokenizer.json, padded to 50, as BartTokenizerFast does.
  bool truncated = true;
  auto ids = proc->Tokenize(g.Meta("instruction"), &truncated);
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  EXPECT_FALSE(truncated);
  const HostTensor want_ids = g.I32("inputs.input_ids");
  ASSERT_EQ(static_cast<int64_t>(ids->size()), want_ids.numel());
  for (int64_t i = 0; i < want_ids.numel(); ++i) {
    EXPECT_EQ((*ids)[i], want_ids.data<int32_t>()[i]) << "token " << i;
  }

  // Pixels: Pillow-exact bicubic resize, rescale and normalise of each 256x256 view.
  const HostTensor views = g.F32("inputs.views_u8");  // [n, 256, 256, 3] u8 values (U8() is 0/1)
  const HostTensor want = g.F32("inputs.image_input");  // [1, 3, 3, 224, 224]
  const int64_t n = views.shape()[0], h = views.shape()[1], w = views.shape()[2];
  for (int64_t v = 0; v < n; ++v) {
    Image img;
    img.height = static_cast<int>(h);
    img.width = static_cast<int>(w);
    const float* src = views.data<float>() + v * h * w * 3;
    img.rgb.resize(static_cast<size_t>(h * w * 3));
    for (int64_t i = 0; i < h * w * 3; ++i) img.rgb[i] = static_cast<uint8_t>(src[i]);
    HostTensor got(DType::kF32, {3, want.shape()[3], want.shape()[4]});
    ASSERT_TRUE(proc->PreprocessImage(img, got.view()).ok());
    const float* ref = want.data<float>() + v * got.numel();
    int64_t differing = 0;
    for (int64_t i = 0; i < got.numel(); ++i) differing += got.data<float>()[i] != ref[i];
    EXPECT_EQ(differing, 0) << "view " << v << ": pixels differ from the official preprocessing";
  }
}

TEST(XvlaFullSize, CpuReferenceMatchesStageByStage) {
  SKIP_WITHOUT_FULL_DIR(dir);
  auto cfg = xvla::ParseXvlaConfig(dir / "config.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().message();
  const CheckpointSource source(std::move(ckpt).value());
  auto be = CreateCpuBackend();
  const auto t_load = std::chrono::steady_clock::now();
  auto model = xvla::XvlaModel::Load(*cfg, source, *be);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  const GoldenFile g((dir / kReferenceFile).string());
  const xvla::XvlaInputs in = ReferenceInputs(g);

  CaptureTracer capture(*be);
  (*model)->tracer().Set(capture.Fn());
  const auto t_run = std::chrono::steady_clock::now();
  auto out = (*model)->Run(in);
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_run).count();
  ASSERT_TRUE(out.ok()) << out.status().message();

  std::vector<StageResult> results;
  auto stage = [&](const std::string& golden_name, const std::string& ours, const Tensor& t) {
    results.push_back(CompareStage(g, golden_name, ours, t));
  };
  auto traced = [&](const std::string& ours) -> const Tensor& {
    EXPECT_TRUE(capture.Has(ours)) << "not traced: " << ours;
    return capture.Get(ours).view();
  };
  // Valid views in (b, v) order, as both implementations encode them.
  std::vector<std::pair<int, int>> views;
  const HostTensor& mask = in.image_mask;
  for (int64_t b = 0; b < mask.shape()[0]; ++b) {
    for (int64_t v = 0; v < mask.shape()[1]; ++v) {
      if (mask.data<uint8_t>()[b * mask.shape()[1] + v]) views.emplace_back(b, v);
    }
  }
  ASSERT_FALSE(views.empty());
  for (int s = 0; s < 4; ++s) {  // every DaViT block of the first view
    const std::string gpre = fmt::format("vision.b{}.view{}.stage{}.", views[0].first, views[0].second, s);
    stage(gpre + "conv", fmt::format("vision.stage{}.embed[0]", s),
          traced(fmt::format("vision.stage{}.embed", s)).Select(0, 0));
    for (int j = 0; j < cfg->vision.depths[s]; ++j) {
      for (const char* kind : {"spatial", "channel"}) {
        const std::string ours = fmt::format("vision.stage{}.block{}.{}", s, j, kind);
        stage(gpre + fmt::format("block{}.{}", j, kind), ours + "[0]", traced(ours).Select(0, 0));
      }
    }
  }
  for (size_t k = 0; k < views.size(); ++k) {
    const std::string gv = fmt::format("b{}.view{}", views[k].first, views[k].second);
    if (k > 0) {
      const std::string last = fmt::format("stage2.block{}.channel", cfg->vision.depths[2] - 1);
      stage("vision." + gv + "." + last, "vision." + last, traced("vision." + last).Select(0, k));
    }
    stage("vision." + gv + ".features", "vision.features", traced("vision.features").Select(0, k));
    stage("proj." + gv + ".tokens", "vision.tokens", traced("vision.tokens").Select(0, k));
    stage("proj." + gv + ".out", "vision.projected", traced("vision.projected").Select(0, k));
  }
  stage("encoder.inputs_embeds", "encoder.input", traced("encoder.input"));
  stage("encoder.embed_sum", "encoder.embed_sum", traced("encoder.embed_sum"));
  stage("encoder.embed_ln", "encoder.embed", traced("encoder.embed"));
  for (int i = 0; i < cfg->text.encoder_layers; ++i) {
    const std::string name = fmt::format("encoder.layer{}", i);
    stage(name, name, traced(name));
  }
  stage("vlm.vlm_features", "encoder.output", traced("encoder.output"));
  stage("vlm.aux_visual_inputs", "policy.aux", traced("policy.aux"));
  stage("policy.step0.seq_in", "policy.step0.input", traced("policy.step0.input"));
  for (int i = 0; i < cfg->policy.depth; ++i) {
    const std::string name = fmt::format("policy.step0.block{}", i);
    stage(name, name, traced(name));
  }
  for (int k = 0; k < in.steps; ++k) {
    for (const char* what : {"x_t", "x0"}) {
      const std::string name = fmt::format("policy.step{}.{}", k, what);
      stage(name, name, traced(name));
    }
  }
  stage("output.actions", "actions (returned)", out->actions.view());

  bool all_ok = true;
  for (const StageResult& r : results) all_ok = all_ok && r.ok;
  const std::string table = FormatWithRelative(results);
  std::printf("%s", table.c_str());
  std::printf("vlart CPU reference: load %.1f s, traced Run %.1f s (tracing copies every stage to "
              "the host); reference (%s, %s threads): generate_actions %s s\n",
              load_s, run_s, g.Meta("reference").c_str(), g.Meta("threads").c_str(),
              g.Meta("generate_actions_seconds").c_str());
  EXPECT_TRUE(all_ok) << "\n" << testing::FormatStages(results);
}

}  // namespace
}  // namespace vlart
