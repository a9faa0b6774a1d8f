// SPDX-License-Identifier: Apache-2.0
//
// pi0_inputs_test.cc: bad inputs to the pi0 / pi0.5 model and its transforms give clear
// errors (never a crash), and the transforms' edge cases behave as openpi's: prompt
// truncation with openpi's notice, resize of off-size images, strict norm stats.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "backends/cpu/cpu_backend.h"
#include "image/normalize.h"
#include "image/resize_with_pad.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/pi0/pi0_transforms.h"
#include "pi0_test_util.h"
#include "support/test_paths.h"
#include "text/embedded_assets.h"

namespace vlart {
namespace {

using testing::LoadPi0Tiny;
using testing::Pi0Tiny;

void ExpectError(const Status& s, const std::string& needle) {
  ASSERT_FALSE(s.ok()) << "expected an error mentioning '" << needle << "'";
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}
template <typename T>
void ExpectError(const Result<T>& r, const std::string& needle) {
  ExpectError(r.ok() ? Status::Ok() : r.status(), needle);
}

class Pi0BadModelInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = LoadPi0Tiny("pi0_tiny");
    be_ = CreateCpuBackend();
    auto m = pi0::Pi0Model::Load(t_.cfg, *t_.source, *be_);
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = std::move(m).value();
  }
  pi0::Pi0Inputs Good() const { return testing::GoldenModelInputs(t_); }
  Pi0Tiny t_;
  std::unique_ptr<Backend> be_;
  std::unique_ptr<pi0::Pi0Model> model_;
};

TEST_F(Pi0BadModelInputs, GoodInputsRun) { EXPECT_TRUE(model_->Run(Good()).ok()); }

TEST_F(Pi0BadModelInputs, WrongStateWidth) {
  pi0::Pi0Inputs in = Good();
  in.state = HostTensor(DType::kF64, {2, 8});  // raw LIBERO width instead of the padded 32
  ExpectError(model_->Run(in), "pi0 input 'state': expected F64[2, 32], got F64[2, 8]");
  in.state = HostTensor(DType::kF32, {2, 32});
  ExpectError(model_->Run(in), "expected F64[2, 32], got F32[2, 32]");
}

TEST_F(Pi0BadModelInputs, NonFiniteStateAndNoise) {
  pi0::Pi0Inputs in = Good();
  in.state.data<double>()[32 + 5] = std::numeric_limits<double>::quiet_NaN();
  ExpectError(model_->Run(in), "pi0 input 'state[1][5]': expected a finite value");
  in = Good();
  in.state.data<double>()[3] = std::numeric_limits<double>::infinity();
  ExpectError(model_->Run(in), "state[0][3]");
  in = Good();
  in.noise.data<float>()[17] = -std::numeric_limits<float>::infinity();
  ExpectError(model_->Run(in), "pi0 input 'noise': expected finite values");
}

TEST_F(Pi0BadModelInputs, WrongImageShapesAndValues) {
  pi0::Pi0Inputs in = Good();
  in.images = HostTensor(DType::kF32, {2, 3, 3, 224, 224});
  ExpectError(model_->Run(in), "pi0 input 'images': expected F32[2, 3, 3, 56, 56], got F32[2, 3, 3, 224, 224]");
  in = Good();
  in.images = HostTensor(DType::kF32, {2, 2, 3, 56, 56});
  ExpectError(model_->Run(in), "'images'");
  in = Good();
  in.image_mask = HostTensor(DType::kU8, {2, 2});
  ExpectError(model_->Run(in), "pi0 input 'image_mask': expected U8[B, 3]");
  in = Good();
  in.images.data<float>()[3 * 56 * 56 + 10] = std::numeric_limits<float>::quiet_NaN();  // sample 0, view 1
  ExpectError(model_->Run(in), "pi0 input 'images[0][1]': expected finite values");
}

TEST_F(Pi0BadModelInputs, TokensStepsAndEmptySamples) {
  pi0::Pi0Inputs in = Good();
  in.tokens.data<int32_t>()[48 + 2] = 300;  // vocab is 300
  ExpectError(model_->Run(in), "pi0 input 'tokens[1][2]': expected a token id in [0, 300), got 300");
  in = Good();
  in.tokens = HostTensor(DType::kI32, {2, 47});
  ExpectError(model_->Run(in), "'tokens'");
  in = Good();
  in.steps = 0;
  ExpectError(model_->Run(in), "pi0 input 'steps': expected 1..1000, got 0");
  in = Good();
  for (int j = 0; j < 3; ++j) in.image_mask.data<uint8_t>()[3 + j] = 0;
  std::memset(in.token_mask.data<uint8_t>() + 48, 0, 48);
  ExpectError(model_->Run(in), "pi0 input sample 1: expected at least one present image or prompt token");
}

TEST_F(Pi0BadModelInputs, UploadIntoAPlanThatDoesNotFit) {
  pi0::Pi0Inputs in = Good();
  auto plan = model_->GetPlan(model_->MakePlanKey(in));
  ASSERT_TRUE(plan.ok());
  pi0::Pi0Inputs other = Good();
  other.image_mask.data<uint8_t>()[2] = 1;  // the third view of sample 0 now present
  ExpectError(model_->Upload(**plan, other), "sample 0 view 2 is present but the plan does not encode it");
  other = Good();
  other.steps = 5;
  ExpectError(model_->Upload(**plan, other), "steps into a plan for");
}

// ---- transforms ----------------------------------------------------------------------

struct TransformFixture {
  Pi0Tiny t;
  NormStats stats;
  HostTensor image, wrist;  // U8 [B, 56, 56, 3]
  std::vector<pi0::LiberoObservation> obs;
};

TransformFixture MakeFixture(const std::string& name) {
  TransformFixture f;
  f.t = LoadPi0Tiny(name);
  auto stats = NormStats::Load(testing::TestDataPath("golden/pi0/" + name +
                                                     "/assets/physical-intelligence/libero/norm_stats.json"));
  EXPECT_TRUE(stats.ok());
  f.stats = *stats;
  f.image = testing::GoldenRaw(f.t, "raw.image");
  f.wrist = testing::GoldenRaw(f.t, "raw.wrist_image");
  const HostTensor state = testing::GoldenRaw(f.t, "raw.state");
  f.obs.resize(2);
  for (int i = 0; i < 2; ++i) {
    f.obs[i].image = ImageView{f.image.data<uint8_t>() + i * 56 * 56 * 3, 56, 56, 3};
    f.obs[i].wrist_image = ImageView{f.wrist.data<uint8_t>() + i * 56 * 56 * 3, 56, 56, 3};
    f.obs[i].state.assign(state.data<double>() + i * 8, state.data<double>() + i * 8 + 8);
    f.obs[i].prompt = "pick up the bowl";
  }
  return f;
}

// A stand-in tokenizer: BOS, one id per byte (mod 250 + 3), no padding logic of its own.
pi0::PromptTokenizer ByteTokenizer() {
  return [](std::string_view prompt, std::span<const double>, int max_len) -> Result<PaligemmaPromptTokens> {
    PaligemmaPromptTokens t;
    t.ids.assign(max_len, 0);
    t.mask.assign(max_len, 0);
    t.ids[0] = 2;
    t.mask[0] = 1;
    for (size_t i = 0; i < prompt.size() && i + 1 < static_cast<size_t>(max_len); ++i) {
      t.ids[i + 1] = 3 + static_cast<unsigned char>(prompt[i]) % 250;
      t.mask[i + 1] = 1;
    }
    return t;
  };
}

TEST(Pi0Transforms, StateMustMatchTheNormStatsAndBeFinite) {
  TransformFixture f = MakeFixture("pi0_tiny");
  auto tf = pi0::Pi0Transforms::Create(f.t.cfg, f.stats);
  ASSERT_TRUE(tf.ok());
  f.obs[1].state.resize(7);
  ExpectError(tf->Prepare(f.obs, ByteTokenizer()),
              "pi0 request 'observation/state': expected 8 values (the norm stats' state size), got 7");
  f.obs[1].state.resize(8, 0.0);
  f.obs[1].state[2] = std::numeric_limits<double>::quiet_NaN();
  ExpectError(tf->Prepare(f.obs, ByteTokenizer()), "sample 1: pi0 request 'observation/state[2]': expected a finite value");
  f.obs[1].state[2] = -std::numeric_limits<double>::infinity();
  ExpectError(tf->Prepare(f.obs, ByteTokenizer()), "observation/state[2]");
  EXPECT_FALSE(tf->Prepare({}, ByteTokenizer()).ok());
}

TEST(Pi0Transforms, BadImagesAreRefusedAndOffSizeImagesResized) {
  TransformFixture f = MakeFixture("pi05_tiny");
  auto tf = pi0::Pi0Transforms::Create(f.t.cfg, f.stats);
  ASSERT_TRUE(tf.ok());
  std::vector<pi0::LiberoObservation> obs = f.obs;
  obs[0].wrist_image.channels = 4;
  ExpectError(tf->Prepare(obs, ByteTokenizer()), "pi0 request 0 'observation/wrist_image': expected a uint8 RGB image");
  obs = f.obs;
  obs[1].image.data = nullptr;
  ExpectError(tf->Prepare(obs, ByteTokenizer()), "without data");
  obs = f.obs;
  obs[1].image.height = 0;
  ExpectError(tf->Prepare(obs, ByteTokenizer()), "'observation/image'");
  // 28 x 56 -> resize_with_pad to 56 x 56 (openpi's client algorithm), then normalised.
  obs = f.obs;
  obs[0].image.height = 28;
  auto p = tf->Prepare(obs, ByteTokenizer());
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto resized = ResizeWithPad(obs[0].image, 56, 56);
  ASSERT_TRUE(resized.ok());
  auto want = NormalizeOpenpi(resized->view(), ChannelLayout::kCHW);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(0, std::memcmp(p->inputs.images.data<float>(), want->data<float>(), want->nbytes()));
  // Padding rows of the resized picture are black: -1.0 after normalisation.
  EXPECT_EQ(p->inputs.images.data<float>()[0], -1.0f);
}

TEST(Pi0Transforms, MissingNormStatsAreRefused) {
  TransformFixture f = MakeFixture("pi05_tiny");
  NormStats no_actions = f.stats;
  no_actions.entries.erase("actions");
  ExpectError(pi0::Pi0Transforms::Create(f.t.cfg, no_actions), "norm stats 'actions'");
  NormStats no_quantiles = f.stats;
  no_quantiles.entries["state"].q01.reset();
  ExpectError(pi0::Pi0Transforms::Create(f.t.cfg, no_quantiles), "expected q01 and q99");
  NormStats no_state = f.stats;
  no_state.entries.erase("state");
  ExpectError(pi0::Pi0Transforms::Create(f.t.cfg, no_state), "norm stats 'state'");
  NormStats too_wide = f.stats;
  too_wide.entries["actions"].q01->resize(40, 0.0);
  too_wide.entries["actions"].q99->resize(40, 1.0);
  ExpectError(pi0::Pi0Transforms::Create(f.t.cfg, too_wide), "expected 1..32 values (action_dim), got 40");
  // z-score needs only mean/std (pi0).
  TransformFixture g = MakeFixture("pi0_tiny");
  NormStats zscore_only = g.stats;
  for (auto& [k, e] : zscore_only.entries) e.q01.reset(), e.q99.reset();
  EXPECT_TRUE(pi0::Pi0Transforms::Create(g.t.cfg, zscore_only).ok());
}

TEST(Pi0Transforms, LongPromptsAreTruncatedWithOpenpisNotice) {
  // The real SentencePiece path (the embedded tiny PaliGemma tokenizer), max 48 tokens.
  const std::span<const uint8_t> bytes = EmbeddedAsset(pi0::kTinyTokenizerAsset);
  ASSERT_FALSE(bytes.empty());
  auto sp = SentencePieceTokenizer::FromBytes(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(sp.ok()) << sp.status().message();
  pi0::Pi0Config cfg = pi0::Pi0TinyConfig(false, sp->vocab_size());
  cfg.vision.image_size = 56;  // the fixture's pictures
  TransformFixture f = MakeFixture("pi0_tiny");
  auto tf = pi0::Pi0Transforms::Create(cfg, f.stats);
  ASSERT_TRUE(tf.ok());
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "pick up the black bowl and place it on the plate ";
  f.obs[0].prompt = prompt;
  auto p = tf->Prepare(f.obs, pi0::SentencePiecePromptTokenizer(*sp));
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->notices.size(), 1u);
  EXPECT_NE(p->notices[0].find("sample 0: Token length ("), std::string::npos) << p->notices[0];
  EXPECT_NE(p->notices[0].find("exceeds max length (48), truncating"), std::string::npos);
  for (int j = 0; j < 48; ++j) EXPECT_EQ(p->inputs.token_mask.data<uint8_t>()[j], 1);
  EXPECT_EQ(p->inputs.tokens.data<int32_t>()[0], 2) << "BOS first";
  auto want = TokenizePi0Prompt(*sp, prompt, 48);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(0, std::memcmp(p->inputs.tokens.data<int32_t>(), want->ids.data(), 48 * sizeof(int32_t)));
  // Sample 1's short prompt: padded, no notice.
  EXPECT_EQ(p->inputs.token_mask.data<uint8_t>()[48 + 47], 0);
}

TEST(Pi0Transforms, TokenizerOutsideTheVocabularyIsRefused) {
  // The tiny goldens' vocabulary is 300; the tiny SentencePiece model has 1200 pieces.
  const std::span<const uint8_t> bytes = EmbeddedAsset(pi0::kTinyTokenizerAsset);
  auto sp = SentencePieceTokenizer::FromBytes(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  ASSERT_TRUE(sp.ok());
  TransformFixture f = MakeFixture("pi0_tiny");
  auto tf = pi0::Pi0Transforms::Create(f.t.cfg, f.stats);
  ASSERT_TRUE(tf.ok());
  f.obs[0].prompt = "zebra xylophone quizzically juxtaposed";
  ExpectError(tf->Prepare(f.obs, pi0::SentencePiecePromptTokenizer(*sp)), "outside the model's vocabulary of 300");
}

TEST(Pi0Transforms, FinishChecksItsInputs) {
  TransformFixture f = MakeFixture("pi0_tiny");
  auto tf = pi0::Pi0Transforms::Create(f.t.cfg, f.stats);
  ASSERT_TRUE(tf.ok());
  ExpectError(tf->Finish(HostTensor(DType::kF32, {2, 10, 32}), HostTensor(DType::kF64, {2, 32})),
              "pi0 outputs 'x0': expected F32[B, 50, 32]");
  ExpectError(tf->Finish(HostTensor(DType::kF32, {2, 50, 32}), HostTensor(DType::kF64, {2, 8})),
              "pi0 outputs 'state': expected F64[2, 32]");
}

}  // namespace
}  // namespace vlart
