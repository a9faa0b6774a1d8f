// SPDX-License-Identifier: Apache-2.0
//
// pi0_loading_test.cc: pi0 / pi0.5 config inference, checkpoint layouts and loading.
//
// Covered: variant detection from the weight keys (and its explicit override), the
// released architectures inferred from shapes alone with openpi's five-key config.json
// (777 / 812 tensors, the spec's parameter counts), LIBERO defaults and overrides,
// clear errors for missing / mis-shaped tensors and non-conventional head dims,
// LeRobot's "model." prefix with the embed_tokens alias, bf16 files, and the synthetic
// checkpoint writer's config.json / norm stats reading back.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "backends/cpu/cpu_backend.h"
#include "core/float_convert.h"
#include "io/norm_stats.h"
#include "io/safetensors_writer.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/pi0/pi0_transforms.h"
#include "models/pi0/pi0_weights.h"
#include "pi0_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::LoadPi0Tiny;
using testing::Pi0Tiny;

// Shapes without data: enough for config inference and the weight check.
class ShapeOnlySource : public WeightSource {
 public:
  explicit ShapeOnlySource(const std::vector<std::pair<std::string, Shape>>& list) {
    for (const auto& [n, s] : list) shapes_[n] = s;
  }
  void Erase(const std::string& n) { shapes_.erase(n); }
  void Set(const std::string& n, Shape s) { shapes_[n] = s; }
  std::optional<Shape> ShapeOf(const std::string& n) const override {
    auto it = shapes_.find(n);
    if (it == shapes_.end()) return std::nullopt;
    return it->second;
  }
  Result<HostTensor> LoadF32(const std::string& n) const override {
    return Unimplemented("shape-only source: no data for '{}'", n);
  }
  std::string Origin(const std::string&) const override { return "shapes"; }
  std::vector<std::string> Names() const override {
    std::vector<std::string> v;
    for (const auto& [n, s] : shapes_) v.push_back(n);
    return v;
  }

 private:
  std::map<std::string, Shape> shapes_;
};

JsonDocument OpenpiConfigJson(const pi0::Pi0Config& cfg) {
  auto j = ParseJsonDocument(pi0::Pi0ConfigToJson(cfg), "config.json");
  EXPECT_TRUE(j.ok());
  return *j;
}

TEST(Pi0Config, ReleasedArchitecturesFromShapesAndFiveKeys) {
  for (const bool pi05 : {false, true}) {
    const pi0::Pi0Config full = pi0::Pi0FullConfig(pi05);
    const auto list = pi0::SyntheticPi0TensorList(full);
    EXPECT_EQ(list.size(), pi05 ? 812u : 777u);
    int64_t values = 0;
    for (const auto& [n, s] : list) values += s.numel();
    EXPECT_EQ(values, pi05 ? 3616757520LL : 3501372176LL);

    const JsonDocument j = OpenpiConfigJson(full);
    EXPECT_FALSE(j.root.contains("vlart_tiny_arch")) << "a released architecture needs only openpi's keys";
    EXPECT_EQ(j.root.size(), 5u);
    const ShapeOnlySource src(list);
    auto cfg = pi0::InferPi0Config(&j, src);
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    EXPECT_EQ(cfg->pi05, pi05);
    EXPECT_EQ(cfg->vision.image_size, 224);
    EXPECT_EQ(cfg->vision.tokens(), 256);
    EXPECT_EQ(cfg->vision.depth, 27);
    EXPECT_EQ(cfg->vision.num_heads, 16);
    EXPECT_EQ(cfg->vision.mlp_dim, 4304);
    EXPECT_EQ(cfg->vlm.depth, 18);
    EXPECT_EQ(cfg->vlm.width, 2048);
    EXPECT_EQ(cfg->vlm.num_heads, 8);
    EXPECT_EQ(cfg->vlm.num_kv_heads, 1);
    EXPECT_EQ(cfg->vlm.mlp_dim, 16384);
    EXPECT_EQ(cfg->expert.width, 1024);
    EXPECT_EQ(cfg->expert.mlp_dim, 4096);
    EXPECT_EQ(cfg->vocab_size, 257152);
    EXPECT_EQ(cfg->action_horizon, pi05 ? 10 : 50);
    EXPECT_EQ(cfg->max_token_len, pi05 ? 200 : 48);
    EXPECT_EQ(cfg->full_prefix_len(), pi05 ? 968 : 816);

    // The whole table checks against these shapes (what Load does before uploading).
    pi0::Pi0Weights w;
    WeightTable table;
    pi0::DescribePi0Weights(*cfg, pi0::Pi0EmbeddingKey(src), &w, &table);
    EXPECT_TRUE(CheckWeightTable(table, src).ok());
    EXPECT_EQ(table.slots().size() + 2, list.size()) << "all but the VLM final norm and expert lm_head";
  }
}

TEST(Pi0Config, VariantFromWeightKeysAndOverride) {
  const pi0::Pi0Config full = pi0::Pi0FullConfig(false);
  ShapeOnlySource src(pi0::SyntheticPi0TensorList(full));
  ASSERT_FALSE(pi0::InferPi0Config(nullptr, src)->pi05);
  // pi0.5 keys as well: ambiguous.
  src.Set("time_mlp_in.weight", {1024, 1024});
  auto both = pi0::InferPi0Config(nullptr, src);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("got both"), std::string::npos) << both.status().message();
  EXPECT_NE(both.status().message().find("hint"), std::string::npos);
  pi0::Pi0ConfigOverrides o;
  o.pi05 = false;
  auto forced = pi0::InferPi0Config(nullptr, src, o);
  ASSERT_TRUE(forced.ok()) << forced.status().message();
  EXPECT_FALSE(forced->pi05);
  // Neither.
  src.Erase("time_mlp_in.weight");
  src.Erase("state_proj.weight");
  auto neither = pi0::InferPi0Config(nullptr, src);
  ASSERT_FALSE(neither.ok());
  EXPECT_NE(neither.status().message().find("got neither"), std::string::npos);
}

TEST(Pi0Config, ConfigHintMustAgreeWithWeights) {
  const pi0::Pi0Config full = pi0::Pi0FullConfig(false);
  const ShapeOnlySource src(pi0::SyntheticPi0TensorList(full));
  auto j = ParseJsonDocument(R"({"action_dim": 32, "pi05": true})", "config.json");
  ASSERT_TRUE(j.ok());
  auto cfg = pi0::InferPi0Config(&*j, src);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("config.json says pi0.5"), std::string::npos)
      << cfg.status().message();
  auto bad_dim = ParseJsonDocument(R"({"action_dim": 7})", "config.json");
  auto cfg2 = pi0::InferPi0Config(&*bad_dim, src);
  ASSERT_FALSE(cfg2.ok());
  EXPECT_NE(cfg2.status().message().find("action_dim"), std::string::npos);
}

TEST(Pi0Config, OverridesAndDefaults) {
  const ShapeOnlySource src(pi0::SyntheticPi0TensorList(pi0::Pi0FullConfig(true)));
  auto j = ParseJsonDocument(R"({"action_horizon": 16, "precision": "bfloat16"})", "config.json");
  auto cfg = pi0::InferPi0Config(&*j, src);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->action_horizon, 16) << "config.json's action_horizon wins over the LIBERO default";
  pi0::Pi0ConfigOverrides o;
  o.action_horizon = 20;
  o.max_token_len = 64;
  o.num_steps = 5;
  o.num_views = 2;
  o.norm = pi0::NormMode::kZScore;
  o.delta_action_dims = 3;
  cfg = pi0::InferPi0Config(&*j, src, o);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->action_horizon, 20);
  EXPECT_EQ(cfg->max_token_len, 64);
  EXPECT_EQ(cfg->num_steps, 5);
  EXPECT_EQ(cfg->num_views, 2);
  EXPECT_EQ(cfg->transforms.norm, pi0::NormMode::kZScore);
  EXPECT_EQ(cfg->transforms.delta_action_dims, 3);
  o.action_horizon = 0;
  EXPECT_FALSE(pi0::InferPi0Config(&*j, src, o).ok());
  o.action_horizon = 10;
  o.output_action_dim = 33;
  EXPECT_FALSE(pi0::InferPi0Config(&*j, src, o).ok());
  auto bad_precision = ParseJsonDocument(R"({"precision": "int8"})", "config.json");
  EXPECT_FALSE(pi0::InferPi0Config(&*bad_precision, src).ok());
}

TEST(Pi0Config, UnconventionalHeadDimNeedsTheConfigBlock) {
  // The tiny architecture (head_dim 32) without its vlart_tiny_arch block.
  const pi0::Pi0Config tiny = pi0::Pi0TinyConfig(false, 300);
  const ShapeOnlySource src(pi0::SyntheticPi0TensorList(tiny));
  auto cfg = pi0::InferPi0Config(nullptr, src);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("head_dim"), std::string::npos) << cfg.status().message();
  EXPECT_NE(cfg.status().message().find("hint"), std::string::npos);
  // With the block (what Pi0ConfigToJson writes for non-released sizes) it round-trips.
  const JsonDocument j = OpenpiConfigJson(tiny);
  auto back = pi0::InferPi0Config(&j, src);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->vlm.head_dim, 32);
  EXPECT_EQ(back->vision.num_heads, tiny.vision.num_heads);
  EXPECT_EQ(back->vision.image_size, 224);
  EXPECT_EQ(back->vlm.rms_norm_eps, 1e-6f);
}

TEST(Pi0Loading, MissingAndMisShapedTensorsAreNamed) {
  Pi0Tiny t = LoadPi0Tiny("pi0_tiny");
  MapWeightSource src;
  for (const std::string& n : t.source->Names()) {
    if (n == "paligemma_with_expert.gemma_expert.model.layers.1.mlp.up_proj.weight") continue;
    auto v = t.source->LoadF32(n);
    ASSERT_TRUE(v.ok());
    if (n == "action_out_proj.bias") {
      src.Put(n, HostTensor(DType::kF32, {31}));
    } else {
      src.Put(n, std::move(v).value());
    }
  }
  auto be = CreateCpuBackend();
  auto m = pi0::Pi0Model::Load(t.cfg, src, *be);
  ASSERT_FALSE(m.ok());
  const std::string& msg = m.status().message();
  EXPECT_NE(msg.find("2 problems"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor 'paligemma_with_expert.gemma_expert.model.layers.1.mlp.up_proj.weight': "
                     "expected [96, 48], got nothing (missing)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("tensor 'action_out_proj.bias': expected [32], got [31]"), std::string::npos) << msg;
  // Not an openpi checkpoint at all.
  MapWeightSource empty;
  pi0::Pi0ConfigOverrides pi0_variant;
  pi0_variant.pi05 = false;
  auto cfg = pi0::InferPi0Config(nullptr, empty, pi0_variant);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("is this an openpi pi0"), std::string::npos)
      << cfg.status().message();
}

// Writes `tensors` (f32) to dir/model.safetensors under `prefix` + name, optionally as bf16
// and renaming the lm_head embedding key to embed_tokens.
void WriteCheckpoint(const std::filesystem::path& dir,
                     const std::vector<std::pair<std::string, HostTensor>>& tensors,
                     const std::string& prefix, bool bf16, bool embed_tokens_alias) {
  std::vector<HostTensor> owned;
  std::vector<std::pair<std::string, Tensor>> views;
  for (const auto& [n, t] : tensors) {
    std::string name = n;
    if (embed_tokens_alias && name == pi0::kEmbedLmHeadKey) name = pi0::kEmbedTokensKey;
    if (bf16) {
      HostTensor b(DType::kBF16, t.shape());
      for (int64_t i = 0; i < t.numel(); ++i) b.data<uint16_t>()[i] = F32ToBF16Bits(t.data<float>()[i]);
      owned.push_back(std::move(b));
      views.emplace_back(prefix + name, owned.back().view());
    } else {
      views.emplace_back(prefix + name, t.view());
    }
  }
  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", views).ok());
}

std::vector<std::pair<std::string, HostTensor>> AllTensors(const CheckpointSource& src) {
  std::vector<std::pair<std::string, HostTensor>> out;
  for (const std::string& n : src.Names()) out.emplace_back(n, std::move(src.LoadF32(n)).value());
  return out;
}

HostTensor RunTinyX0(const std::filesystem::path& dir, const pi0::Pi0Inputs& in) {
  auto src = pi0::OpenPi0Checkpoint(dir);
  EXPECT_TRUE(src.ok()) << src.status().message();
  auto cfg = pi0::LoadPi0Config(dir, **src);
  EXPECT_TRUE(cfg.ok()) << cfg.status().message();
  auto be = CreateCpuBackend();
  auto m = pi0::Pi0Model::Load(*cfg, **src, *be);
  EXPECT_TRUE(m.ok()) << m.status().message();
  auto out = (*m)->Run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return std::move(out->x0);
}

TEST(Pi0Loading, LeRobotPrefixAndEmbedTokensAliasLoadTheSameModel) {
  Pi0Tiny t = LoadPi0Tiny("pi05_tiny");
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  const auto dir = testing::ScratchDir();
  WriteCheckpoint(dir, AllTensors(*t.source), "model.", /*bf16=*/false, /*alias=*/true);
  std::filesystem::copy_file(testing::TestDataPath("golden/pi0/pi05_tiny/config.json"), dir / "config.json");
  const HostTensor x0 = RunTinyX0(dir, in);
  const HostTensor want = RunTinyX0(testing::TestDataPath("golden/pi0/pi05_tiny"), in);
  EXPECT_TRUE(testing::BitEqual(x0, want));
  // `vlart inspect`'s view: the specs name the stored keys, and the file satisfies them.
  auto specs = pi0::Pi0WeightSpecs(dir);
  ASSERT_TRUE(specs.ok()) << specs.status().message();
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok());
  const WeightReport report = CheckWeights(**ckpt, *specs);
  EXPECT_TRUE(report.usable()) << report.ToStatus().message();
  EXPECT_EQ(report.num_matched, report.num_specs);
  EXPECT_EQ(report.unexpected.size(), 2u) << "the VLM final norm and the expert lm_head";
}

TEST(Pi0Loading, Bf16FileLoadsAsItsValues) {
  // A bf16 file must give exactly what an f32 file holding the bf16-rounded values gives.
  Pi0Tiny t = LoadPi0Tiny("pi0_tiny");
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  auto tensors = AllTensors(*t.source);
  const auto bf16_dir = testing::ScratchDir() / "bf16";
  const auto f32_dir = bf16_dir.parent_path() / "rounded_f32";
  std::filesystem::create_directories(bf16_dir);
  std::filesystem::create_directories(f32_dir);
  WriteCheckpoint(bf16_dir, tensors, "", /*bf16=*/true, false);
  for (auto& [n, v] : tensors) {
    for (int64_t i = 0; i < v.numel(); ++i) {
      v.data<float>()[i] = BF16BitsToF32(F32ToBF16Bits(v.data<float>()[i]));
    }
  }
  WriteCheckpoint(f32_dir, tensors, "", /*bf16=*/false, false);
  for (const auto& d : {bf16_dir, f32_dir}) {
    std::filesystem::copy_file(testing::TestDataPath("golden/pi0/pi0_tiny/config.json"), d / "config.json");
  }
  const HostTensor a = RunTinyX0(bf16_dir, in);
  const HostTensor b = RunTinyX0(f32_dir, in);
  EXPECT_TRUE(testing::BitEqual(a, b));
  EXPECT_GT(testing::MaxAbsDiff(a, t.golden->F32("x0")), 0.0) << "bf16 rounding should show";
}

TEST(Pi0Synthetic, TinyCheckpointRoundTripsAndRuns) {
  for (const bool pi05 : {false, true}) {
    const pi0::Pi0Config cfg = pi0::Pi0TinyConfig(pi05, pi0::kTinyTokenizerVocab);
    const auto dir = testing::ScratchDir() / (pi05 ? "pi05" : "pi0");
    std::filesystem::create_directories(dir / "assets/physical-intelligence/libero");
    const auto weights = pi0::MakeSyntheticPi0Weights(cfg, 7);
    // Deterministic per tensor, whatever the order of generation.
    const auto& [name0, t0] = weights.back();
    EXPECT_TRUE(testing::BitEqual(pi0::MakeSyntheticPi0Tensor(name0, t0.shape(), cfg, 7), t0));
    WriteCheckpoint(dir, weights, "", /*bf16=*/true, false);
    std::ofstream(dir / "config.json") << pi0::Pi0ConfigToJson(cfg);
    std::ofstream(dir / pi0::kLiberoNormStatsPath) << pi0::SyntheticPi0NormStatsJson();

    auto src = pi0::OpenPi0Checkpoint(dir);
    ASSERT_TRUE(src.ok());
    auto back = pi0::LoadPi0Config(dir, **src);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->pi05, pi05);
    EXPECT_EQ(back->vocab_size, pi0::kTinyTokenizerVocab);
    EXPECT_EQ(back->vision.tokens(), 256);
    auto stats = NormStats::Load(dir / pi0::kLiberoNormStatsPath);
    ASSERT_TRUE(stats.ok()) << stats.status().message();
    EXPECT_EQ(stats->Find("state")->mean.size(), 8u);
    EXPECT_EQ(stats->Find("actions")->q99->size(), 7u);

    auto be = CreateCpuBackend();
    auto m = pi0::Pi0Model::Load(*back, **src, *be);
    ASSERT_TRUE(m.ok()) << m.status().message();
    pi0::Pi0Inputs in;
    const int64_t s = back->vision.image_size, lt = back->max_token_len, a = back->action_dim;
    in.images = HostTensor(DType::kF32, {1, 3, 3, s, s});
    in.image_mask = HostTensor(DType::kU8, {1, 3});
    in.image_mask.data<uint8_t>()[0] = in.image_mask.data<uint8_t>()[1] = 1;
    in.tokens = HostTensor(DType::kI32, {1, lt});
    in.token_mask = HostTensor(DType::kU8, {1, lt});
    for (int j = 0; j < 5; ++j) in.tokens.data<int32_t>()[j] = 2 + j, in.token_mask.data<uint8_t>()[j] = 1;
    in.state = HostTensor(DType::kF64, {1, a});
    in.noise = pi0::MakeNoise(*back, 1, 3);
    auto out = (*m)->Run(in);
    ASSERT_TRUE(out.ok()) << out.status().message();
    double norm = 0.0;
    for (int64_t i = 0; i < out->x0.numel(); ++i) {
      ASSERT_TRUE(std::isfinite(out->x0.data<float>()[i]));
      norm += std::fabs(out->x0.data<float>()[i] - in.noise.data<float>()[i]);
    }
    EXPECT_GT(norm, 0.0) << "the model moved x";
  }
}

}  // namespace
}  // namespace vlart
