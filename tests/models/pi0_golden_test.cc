// SPDX-License-Identifier: Apache-2.0
//
// pi0_golden_test.cc: pi0 and pi0.5 on the CPU reference against openpi's PyTorch
// implementation, stage by stage, on the tiny random-weight checkpoints
// (tests/golden/pi0/{pi0_tiny,pi05_tiny}, produced by tests/golden/make_pi0_goldens.py).
//
// Each model runs twice: with every shortcut off (openpi's layout as executed: all three
// image slots, padded prompt, so every golden row is comparable, padded ones included)
// and with every shortcut on (the default; only the rows that still exist, i.e. valid
// prefix tokens and the action rows, are compared). Stages are compared in execution
// order; the table printed on failure marks the first one that diverged (set
// VLART_TEST_VERBOSE=1 to print it always). Float stages use the tolerance of
// pi0_test_util.h; t, the time embeddings, positions and masks must be exact. The run and
// the comparison live in pi0_golden_compare.h, shared with the CUDA test.
// The input transforms (raw request -> model inputs) and output transforms
// (x0 -> actions) are checked against the goldens bit for bit.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>

#include "backends/cpu/cpu_backend.h"
#include "models/pi0/pi0_transforms.h"
#include "pi0_golden_compare.h"
#include "pi0_test_util.h"
#include "support/test_paths.h"
#include "text/paligemma_prompt.h"

namespace vlart {
namespace {

using testing::CompareAll;
using testing::GoldenModelInputs;
using testing::GoldenRaw;
using testing::LoadPi0Tiny;
using testing::Pi0Tiny;
using testing::StageResult;

class Pi0Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Pi0Golden, ConfigIsInferredFromTheCheckpoint) {
  const Pi0Tiny t = LoadPi0Tiny(GetParam());
  const bool pi05 = GetParam() == "pi05_tiny";
  EXPECT_EQ(t.cfg.pi05, pi05);
  EXPECT_EQ(t.cfg.vision.image_size, 56);
  EXPECT_EQ(t.cfg.vision.tokens(), 16);
  EXPECT_EQ(t.cfg.vision.width, 48);
  EXPECT_EQ(t.cfg.vision.num_heads, 4);
  EXPECT_EQ(t.cfg.vlm.width, 64);
  EXPECT_EQ(t.cfg.vlm.num_heads, 2);
  EXPECT_EQ(t.cfg.vlm.num_kv_heads, 1);
  EXPECT_EQ(t.cfg.vlm.head_dim, 32);
  EXPECT_EQ(t.cfg.expert.width, 48);
  EXPECT_EQ(t.cfg.expert.mlp_dim, 96);
  EXPECT_EQ(t.cfg.vocab_size, 300);
  EXPECT_EQ(t.cfg.action_horizon, pi05 ? 10 : 50);
  EXPECT_EQ(t.cfg.max_token_len, pi05 ? 200 : 48);
  EXPECT_EQ(t.cfg.transforms.norm, pi05 ? pi0::NormMode::kQuantile : pi0::NormMode::kZScore);
  EXPECT_EQ(t.cfg.transforms.delta_action_dims, pi05 ? 0 : 6);
}

TEST_P(Pi0Golden, ReferenceLayoutMatchesEveryStage) {
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto be = CreateCpuBackend();
  testing::ExpectAllPi0StagesMatch(
      testing::RunPi0AndCompare(t, *be, pi0::Pi0ModelOptions::Reference()),
      GetParam() + " (all shortcuts off)");
}

TEST_P(Pi0Golden, DefaultShortcutsMatchEveryStage) {
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto be = CreateCpuBackend();
  testing::ExpectAllPi0StagesMatch(testing::RunPi0AndCompare(t, *be, pi0::Pi0ModelOptions{}),
                                   GetParam() + " (all shortcuts on)");
}

// ---- transforms --------------------------------------------------------------------

Result<NormStats> TinyNormStats(const std::string& name) {
  return NormStats::Load(vlart::testing::TestDataPath("golden/pi0/" + name +
                                                      "/assets/physical-intelligence/libero/norm_stats.json"));
}

uint32_t Crc32(const std::string& s) {  // zlib's crc32 (reflected 0xEDB88320)
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// The goldens' toy SentencePiece stand-in (tests/golden/pi0/README.md): pieces =
// re.findall(r"\n|[^\s]+"), BOS 2, "\n" -> 108, other p -> 3 + crc32(p) % 297. Records
// what it was asked to encode.
struct ToyEncoder {
  std::vector<std::string> calls;
  std::vector<int32_t> Encode(const std::string& text, bool add_bos) {
    calls.push_back(text);
    std::vector<int32_t> ids;
    if (add_bos) ids.push_back(2);
    static const std::regex piece(R"(\n|[^\s]+)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), piece); it != std::sregex_iterator(); ++it) {
      const std::string p = it->str();
      ids.push_back(p == "\n" ? 108 : static_cast<int32_t>(3 + Crc32(p) % 297));
    }
    return ids;
  }
};

// openpi's pi0 prompt format over the toy encoder (CleanPaligemmaPrompt is the library's).
pi0::PromptTokenizer ToyPromptTokenizer(ToyEncoder* enc) {
  return [enc](std::string_view prompt, std::span<const double>, int max_len) -> Result<PaligemmaPromptTokens> {
    VLART_ASSIGN_OR_RETURN(const std::string cleaned, CleanPaligemmaPrompt(prompt));
    std::vector<int32_t> ids = enc->Encode(cleaned, true);
    for (int32_t id : enc->Encode("\n", false)) ids.push_back(id);
    PaligemmaPromptTokens t;
    t.num_tokens = static_cast<int>(ids.size());
    t.mask.assign(std::min<size_t>(ids.size(), max_len), 1);
    t.mask.resize(max_len, 0);
    ids.resize(max_len, 0);
    t.ids = std::move(ids);
    return t;
  };
}

std::vector<pi0::LiberoObservation> RawRequests(const Pi0Tiny& t, HostTensor* image, HostTensor* wrist) {
  *image = GoldenRaw(t, "raw.image");        // U8 [B, 56, 56, 3]
  *wrist = GoldenRaw(t, "raw.wrist_image");
  const HostTensor state = GoldenRaw(t, "raw.state");  // F64 [B, 8]
  const int64_t b = image->shape()[0];
  const int hh = static_cast<int>(image->shape()[1]);
  std::vector<pi0::LiberoObservation> obs(b);
  for (int64_t i = 0; i < b; ++i) {
    obs[i].image = ImageView{image->data<uint8_t>() + i * hh * hh * 3, hh, hh, 3};
    obs[i].wrist_image = ImageView{wrist->data<uint8_t>() + i * hh * hh * 3, hh, hh, 3};
    obs[i].state.assign(state.data<double>() + i * 8, state.data<double>() + (i + 1) * 8);
    obs[i].prompt = t.golden->Meta(fmt::format("raw.prompt.{}", i));
  }
  return obs;
}

TEST_P(Pi0Golden, InputTransformsReproduceTheModelInputs) {
  const Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto stats = TinyNormStats(GetParam());
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  auto tf = pi0::Pi0Transforms::Create(t.cfg, *stats);
  ASSERT_TRUE(tf.ok()) << tf.status().message();
  HostTensor image, wrist;
  const std::vector<pi0::LiberoObservation> obs = RawRequests(t, &image, &wrist);
  ToyEncoder enc;
  auto prepared = tf->Prepare(obs, ToyPromptTokenizer(&enc));
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  EXPECT_TRUE(prepared->notices.empty());
  const pi0::Pi0Inputs want = GoldenModelInputs(t);
  const pi0::Pi0Inputs& got = prepared->inputs;
  EXPECT_TRUE(testing::BitEqual(got.images, want.images)) << "images";
  EXPECT_TRUE(testing::BitEqual(got.image_mask, want.image_mask)) << "image_mask";
  EXPECT_TRUE(testing::BitEqual(got.tokens, want.tokens)) << "tokens";
  EXPECT_TRUE(testing::BitEqual(got.token_mask, want.token_mask)) << "token_mask";
  EXPECT_TRUE(testing::BitEqual(got.state, want.state)) << "state (float64 normalisation + padding)";
  // The strings openpi handed to SentencePiece, in order.
  std::vector<std::string> expected_calls;
  for (int i = 0; i < 2; ++i) {
    for (const auto& s : nlohmann::json::parse(t.golden->Meta(fmt::format("tokenizer_calls.{}", i)))) {
      expected_calls.push_back(s.get<std::string>());
    }
  }
  EXPECT_EQ(enc.calls, expected_calls);
  if (t.cfg.pi05) {
    // pi0.5's discrete-state text (unused by pi05_libero) from our normalized state.
    const HostTensor norm = GoldenRaw(t, "tf.state_normalized");
    for (int i = 0; i < 2; ++i) {
      std::vector<double> st(got.state.data<double>() + i * 32, got.state.data<double>() + i * 32 + 8);
      EXPECT_EQ(0, std::memcmp(st.data(), norm.data<double>() + i * 8, 8 * sizeof(double)));
      auto text = Pi05PromptText(obs[i].prompt, st);
      ASSERT_TRUE(text.ok());
      EXPECT_EQ(*text, t.golden->Meta(fmt::format("discrete_state_prompt.{}", i)));
    }
  }
}

TEST_P(Pi0Golden, OutputTransformsAreBitExact) {
  const Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto stats = TinyNormStats(GetParam());
  ASSERT_TRUE(stats.ok());
  auto tf = pi0::Pi0Transforms::Create(t.cfg, *stats);
  ASSERT_TRUE(tf.ok()) << tf.status().message();
  auto out = tf->Finish(t.golden->F32("x0"), GoldenRaw(t, "inputs.state"));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(testing::BitEqual(out->actions_unnormalized, GoldenRaw(t, "out.actions_unnormalized")));
  EXPECT_TRUE(testing::BitEqual(out->state_unnormalized, GoldenRaw(t, "out.state_unnormalized")));
  if (!t.cfg.pi05) {
    EXPECT_TRUE(testing::BitEqual(out->actions_absolute, GoldenRaw(t, "out.actions_absolute")));
  }
  EXPECT_TRUE(testing::BitEqual(out->actions, GoldenRaw(t, "out.actions")));
}

TEST_P(Pi0Golden, EndToEndActionsFromRawRequests) {
  // Raw LIBERO requests -> our transforms -> model (default shortcuts) -> output
  // transforms, against openpi's returned actions. The output transform is affine with
  // per-dim gain g (std + 1e-6, or (q99 - q01 + 1e-6) / 2), so the x0 tolerance scales
  // by max g; float64 rounding of the transform is far below it.
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto stats = TinyNormStats(GetParam());
  ASSERT_TRUE(stats.ok());
  auto tf = pi0::Pi0Transforms::Create(t.cfg, *stats);
  ASSERT_TRUE(tf.ok());
  HostTensor image, wrist;
  ToyEncoder enc;
  auto prepared = tf->Prepare(RawRequests(t, &image, &wrist), ToyPromptTokenizer(&enc));
  ASSERT_TRUE(prepared.ok());
  prepared->inputs.noise = t.golden->F32("noise");
  auto be = CreateCpuBackend();
  auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be);
  ASSERT_TRUE(model.ok());
  auto x0 = (*model)->Run(prepared->inputs);
  ASSERT_TRUE(x0.ok()) << x0.status().message();
  auto out = tf->Finish(x0->x0, prepared->inputs.state);
  ASSERT_TRUE(out.ok());
  const HostTensor want = GoldenRaw(t, "out.actions");
  const StageResult x0_stage = CompareAll("x0", "x0", x0->x0, t.golden->F32("x0"));
  EXPECT_TRUE(x0_stage.ok) << x0_stage.max_abs_diff << " > " << x0_stage.tolerance;
  double gain = 0.0;
  const NormStatsEntry* a = stats->Find("actions");
  for (size_t j = 0; j < a->mean.size(); ++j) {
    gain = std::max(gain, t.cfg.pi05 ? ((*a->q99)[j] - (*a->q01)[j] + 1e-6) / 2.0 : a->std[j] + 1e-6);
  }
  double worst = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    worst = std::max(worst, std::fabs(out->actions.data<double>()[i] - want.data<double>()[i]));
  }
  EXPECT_LE(worst, x0_stage.tolerance * gain) << "actions vs openpi's returned actions";
}

INSTANTIATE_TEST_SUITE_P(Tiny, Pi0Golden, ::testing::Values("pi0_tiny", "pi05_tiny"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace vlart
