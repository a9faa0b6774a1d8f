// SPDX-License-Identifier: Apache-2.0
//
// pi0_inputs_test.cc: bad inputs to the pi0 / pi0.5 model and its transforms give clear
// errors (never a crash), and the transforms' edge cases behave as openpi's: prompt
// truncation with openpi's notice, resize of off-size images, strict norm stats.
//
// Also Upload's reuse (Pi0UploadReuse): a plan keeps its host buffers and rebuilds the
// positions and masks only when the prefix rows' pad pattern changed (the token ids only
// when they changed). Proven on sequences of calls through one plan that change the
// prompts' lengths (with batch padding), the token ids, the image mask (reference layout,
// where masked views stay in the prefix), pixels, state and noise, go back and forth, and
// visit a second plan: after every Upload the plan's device inputs are openpi's for that
// call (positions, masks, ids rebuilt here independently from openpi's definitions over
// its full slot layout; images, state, noise from the inputs), x0 is bit-identical to a
// fresh model's, and the rebuild counters move exactly when (and for the samples whose)
// pattern, or the ids, changed. A refused call uploads nothing and leaves the counters
// alone.
//
// Also the images as bytes (Pi0Pixels): the model normalises Pi0Inputs::pixels on the device
// (Backend::NormalizePixels) into the bits of openpi's own image inputs (the goldens'
// inputs.image*, made by openpi from the same raw bytes), so x0 is bit-identical to the
// planes' run; the transforms' kPixels form hands over exactly the (resized) bytes.

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

using testing::Gather;
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
  ExpectError(model_->Upload(**plan, other), "5 steps / images into a plan for 2 / 10 / images");
}

// ---- Upload reuse ---------------------------------------------------------------------

// What the device's input buffers of `plan` hold.
struct PlanInputs {
  HostTensor images, ids, positions, prefix_mask, suffix_positions, suffix_mask, state, noise;
};

PlanInputs DownloadPlanInputs(Backend& be, const pi0::Pi0Model::Plan& p) {
  auto get = [&](const Tensor& t) {
    HostTensor h(t.dtype, t.shape);
    be.Download(t, h.view());
    return h;
  };
  PlanInputs d;
  d.images = get(p.images);
  d.ids = get(p.ids);
  d.positions = get(p.positions);
  d.prefix_mask = get(p.prefix_mask);
  d.suffix_positions = get(p.suffix_positions);
  d.suffix_mask = get(p.suffix_mask);
  d.state = get(p.state);
  d.noise = get(p.noise);
  be.Synchronize();
  return d;
}

// openpi's inputs for `in`, laid out on `plan`'s rows (plan.prefix_slots), built from
// openpi's definitions over its full prefix [V views x T tokens ; Lt prompt slots] + the
// suffix: pad masks, ar masks, positions cumsum(pad) - 1 (suffix: sum(prefix pad) +
// arange(S)), make_att_2d_masks (key j visible to query i iff cumsum(ar)[j] <=
// cumsum(ar)[i] and both pads); batch-padding rows are invalid with any position, which
// our layout fixes at (valid count - 1), and id 0.
PlanInputs ExpectedPlanInputs(const pi0::Pi0Config& cfg, const pi0::Pi0Inputs& in,
                              const pi0::Pi0Model::Plan& plan) {
  const int64_t b = plan.key.batch;
  const int64_t l = plan.key.prefix_len;
  const int64_t nv = cfg.num_views;
  const int64_t t = cfg.vision.tokens();
  const int64_t lt = cfg.max_token_len;
  const int64_t sfx = cfg.suffix_len();
  const int64_t np = nv * t + lt;  // openpi's prefix slots
  const int64_t s = cfg.vision.image_size;
  PlanInputs e;
  e.ids = HostTensor(DType::kI32, {b * l});
  e.positions = HostTensor(DType::kI32, {b, l});
  e.prefix_mask = HostTensor(DType::kF32, {b, l, l});
  e.suffix_positions = HostTensor(DType::kI32, {b, sfx});
  e.suffix_mask = HostTensor(DType::kF32, {b, sfx, l + sfx});
  for (int64_t i = 0; i < b; ++i) {
    std::vector<int> pad(np + sfx), ar(np + sfx, 0), id(np, 0);
    for (int64_t k = 0; k < np; ++k) {
      pad[k] = k < nv * t ? in.image_mask.data<uint8_t>()[i * nv + k / t] != 0
                          : in.token_mask.data<uint8_t>()[i * lt + (k - nv * t)] != 0;
      if (k >= nv * t) id[k] = in.tokens.data<int32_t>()[i * lt + (k - nv * t)];
    }
    for (int64_t q = 0; q < sfx; ++q) {
      pad[np + q] = 1;
      ar[np + q] = cfg.pi05 ? q == 0 : q <= 1;
    }
    std::vector<int> cum_pad(np + sfx), cum_ar(np + sfx);
    for (int64_t k = 0; k < np + sfx; ++k) {
      cum_pad[k] = (k ? cum_pad[k - 1] : 0) + pad[k];
      cum_ar[k] = (k ? cum_ar[k - 1] : 0) + ar[k];
    }
    const int n_valid = cum_pad[np - 1];
    auto sees = [&](int64_t q, int64_t k) {  // openpi slots (or -1: batch padding)
      return q >= 0 && k >= 0 && pad[q] && pad[k] && cum_ar[k] <= cum_ar[q];
    };
    const std::vector<int>& slots = plan.prefix_slots[i];
    for (int64_t r = 0; r < l; ++r) {
      const int sr = slots[r];
      e.ids.data<int32_t>()[i * l + r] = sr >= 0 ? id[sr] : 0;
      e.positions.data<int32_t>()[i * l + r] = sr >= 0 ? cum_pad[sr] - 1 : n_valid - 1;
      for (int64_t c = 0; c < l; ++c) {
        e.prefix_mask.data<float>()[(i * l + r) * l + c] =
            sees(sr, slots[c]) ? 0.0f : pi0::kMaskNegative;
      }
    }
    for (int64_t q = 0; q < sfx; ++q) {
      e.suffix_positions.data<int32_t>()[i * sfx + q] = n_valid + static_cast<int32_t>(q);
      float* row = e.suffix_mask.data<float>() + (i * sfx + q) * (l + sfx);
      for (int64_t c = 0; c < l; ++c) row[c] = sees(np + q, slots[c]) ? 0.0f : pi0::kMaskNegative;
      for (int64_t j = 0; j < sfx; ++j) {
        row[l + j] = sees(np + q, np + j) ? 0.0f : pi0::kMaskNegative;
      }
    }
  }
  e.images = HostTensor(DType::kF32, plan.images.shape);
  for (size_t k = 0; k < plan.encoded_views.size(); ++k) {
    const auto [bi, vi] = plan.encoded_views[k];
    std::memcpy(e.images.data<float>() + k * 3 * s * s,
                in.images.data<float>() + (bi * nv + vi) * 3 * s * s, 3 * s * s * sizeof(float));
  }
  e.state = HostTensor(DType::kF32, in.state.shape());
  for (int64_t k = 0; k < in.state.numel(); ++k) {
    e.state.data<float>()[k] = static_cast<float>(in.state.data<double>()[k]);
  }
  e.noise = HostTensor::CopyOf(in.noise.view());
  return e;
}

pi0::Pi0Inputs CopyInputs(const pi0::Pi0Inputs& in) {
  pi0::Pi0Inputs c;
  c.images = HostTensor::CopyOf(in.images.view());
  c.image_mask = HostTensor::CopyOf(in.image_mask.view());
  c.tokens = HostTensor::CopyOf(in.tokens.view());
  c.token_mask = HostTensor::CopyOf(in.token_mask.view());
  c.state = HostTensor::CopyOf(in.state.view());
  c.noise = HostTensor::CopyOf(in.noise.view());
  c.steps = in.steps;
  return c;
}

// Cuts sample i's prompt to its first n tokens (the rest padding: id 0, mask 0).
void CutPrompt(pi0::Pi0Inputs& in, int64_t i, int64_t n, int64_t lt) {
  for (int64_t j = n; j < lt; ++j) {
    in.tokens.data<int32_t>()[i * lt + j] = 0;
    in.token_mask.data<uint8_t>()[i * lt + j] = 0;
  }
}

class Pi0UploadReuse : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = LoadPi0Tiny(GetParam());
    be_ = CreateCpuBackend();
  }
  pi0::Pi0Inputs Good() const { return testing::GoldenModelInputs(t_); }
  std::unique_ptr<pi0::Pi0Model> NewModel(const pi0::Pi0ModelOptions& o) {
    auto m = pi0::Pi0Model::Load(t_.cfg, *t_.source, *be_, o);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  // One call through `model`'s plan for `in` (which must be `plan`): its device inputs
  // must be openpi's for `in`, its x0 a fresh model's; the counters must read `builds`
  // and `ids_uploads` afterwards.
  void Step(const std::string& what, pi0::Pi0Model& model, pi0::Pi0Model::Plan* plan,
            const pi0::Pi0Inputs& in, int64_t builds, int64_t ids_uploads) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(model.Validate(in).ok());
    auto p = model.GetPlan(model.MakePlanKey(in));
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(*p, plan) << "the sequence must stay in one plan";
    const Status up = model.Upload(*plan, in);
    ASSERT_TRUE(up.ok()) << up.message();
    EXPECT_EQ(plan->mask_builds, builds);
    EXPECT_EQ(plan->ids_uploads, ids_uploads);
    const PlanInputs got = DownloadPlanInputs(*be_, *plan);
    const PlanInputs want = ExpectedPlanInputs(t_.cfg, in, *plan);
    EXPECT_TRUE(testing::BitEqual(got.ids, want.ids));
    EXPECT_TRUE(testing::BitEqual(got.positions, want.positions));
    EXPECT_TRUE(testing::BitEqual(got.prefix_mask, want.prefix_mask));
    EXPECT_TRUE(testing::BitEqual(got.suffix_positions, want.suffix_positions));
    EXPECT_TRUE(testing::BitEqual(got.suffix_mask, want.suffix_mask));
    EXPECT_TRUE(testing::BitEqual(got.images, want.images));
    EXPECT_TRUE(testing::BitEqual(got.state, want.state));
    EXPECT_TRUE(testing::BitEqual(got.noise, want.noise));
    model.Forward(*plan);
    pi0::Pi0Outputs out;
    ASSERT_TRUE(model.Download(*plan, &out).ok());
    auto fresh = NewModel(model.options());
    ASSERT_TRUE(fresh);
    auto want_x0 = fresh->Run(in);
    ASSERT_TRUE(want_x0.ok()) << want_x0.status().message();
    EXPECT_TRUE(testing::BitEqual(out.x0, want_x0->x0))
        << "max |diff| " << testing::MaxAbsDiff(out.x0, want_x0->x0);
  }
  Pi0Tiny t_;
  std::unique_ptr<Backend> be_;
};

TEST_P(Pi0UploadReuse, PromptsIdsPixelsAndAnotherPlanWithTheShortcuts) {
  // Golden inputs: B = 2, prompts of 19 and 8 tokens, views [1, 1, 0]. Sample 0's prompt
  // sets the prefix length, so sample 1's prompt can change within the plan.
  auto model = NewModel({});
  ASSERT_TRUE(model);
  const int64_t lt = t_.cfg.max_token_len;
  const pi0::Pi0Inputs a = Good();
  auto plan = model->GetPlan(model->MakePlanKey(a));
  ASSERT_TRUE(plan.ok());
  pi0::Pi0Inputs shorter = CopyInputs(a);  // sample 1: 8 -> 5 tokens
  CutPrompt(shorter, 1, 5, lt);
  pi0::Pi0Inputs other_ids = CopyInputs(shorter);  // the same pattern, other words
  for (int64_t j = 1; j < 5; ++j) other_ids.tokens.data<int32_t>()[lt + j] = 10 + 7 * j;
  pi0::Pi0Inputs other_pixels = CopyInputs(other_ids);  // and other pixels, state, noise
  for (int64_t k = 0; k < other_pixels.images.numel(); ++k) {
    float& x = other_pixels.images.data<float>()[k];
    x = 0.5f * x - 0.25f;
  }
  other_pixels.state.data<double>()[3] += 0.5;
  other_pixels.noise.data<float>()[7] = -1.5f;

  Step("first call: both samples built", *model, *plan, a, 2, 1);
  Step("the same inputs again: nothing rebuilt", *model, *plan, a, 2, 1);
  Step("sample 1's prompt shorter: sample 1 rebuilt", *model, *plan, shorter, 3, 2);
  Step("same pad pattern, other token ids: ids only", *model, *plan, other_ids, 3, 3);
  Step("other pixels, state and noise: neither", *model, *plan, other_pixels, 3, 3);
  Step("back to the first prompts: sample 1 rebuilt", *model, *plan, a, 4, 4);

  // Another plan (sample 0's third view present) does not disturb this one's buffers.
  pi0::Pi0Inputs three_views = CopyInputs(a);
  three_views.image_mask.data<uint8_t>()[2] = 1;
  auto plan2 = model->GetPlan(model->MakePlanKey(three_views));
  ASSERT_TRUE(plan2.ok());
  ASSERT_NE(*plan2, *plan);
  Step("second plan", *model, *plan2, three_views, 2, 1);
  Step("first plan again, same inputs as its last call", *model, *plan, a, 4, 4);

  // A refused call (a non-finite pixel, after a prompt change) uploads nothing: the
  // device still holds the last call's inputs, and the counters say so.
  pi0::Pi0Inputs bad = CopyInputs(shorter);
  bad.images.data<float>()[5] = std::numeric_limits<float>::infinity();
  ExpectError(model->Upload(**plan, bad), "pi0 input 'images[0][0]': expected finite values, got inf");
  EXPECT_EQ((*plan)->mask_builds, 4);
  EXPECT_EQ((*plan)->ids_uploads, 4);
  Step("after the refused call, the inputs before it", *model, *plan, a, 4, 4);
  Step("after the refused call, its prompts", *model, *plan, shorter, 5, 5);
}

TEST_P(Pi0UploadReuse, OnlyTheChangedSamplesAreRebuilt) {
  // B = 3 from the golden samples (1, 0, 1): the middle one's 19-token prompt sets the
  // prefix length; the outer ones' prompts change, alone or together (two runs of
  // changed samples around an unchanged one).
  auto model = NewModel({});
  ASSERT_TRUE(model);
  const int64_t lt = t_.cfg.max_token_len;
  const pi0::Pi0Inputs a = Gather(Good(), {1, 0, 1});
  auto plan = model->GetPlan(model->MakePlanKey(a));
  ASSERT_TRUE(plan.ok());
  pi0::Pi0Inputs first_cut = CopyInputs(a);
  CutPrompt(first_cut, 0, 5, lt);
  pi0::Pi0Inputs outer_cut = CopyInputs(first_cut);
  CutPrompt(outer_cut, 2, 3, lt);
  Step("first call", *model, *plan, a, 3, 1);
  Step("sample 0 changed", *model, *plan, first_cut, 4, 2);
  Step("sample 2 changed", *model, *plan, outer_cut, 5, 3);
  Step("samples 0 and 2 back", *model, *plan, a, 7, 4);
  Step("samples 0 and 2 again", *model, *plan, outer_cut, 9, 5);
}

TEST_P(Pi0UploadReuse, ImageMaskAndPromptChangesInTheReferenceLayout) {
  // Reference layout: masked views and prompt padding stay in the prefix (fixed length
  // 3 T + Lt), so view masks and prompt lengths change inside one plan.
  auto model = NewModel(pi0::Pi0ModelOptions::Reference());
  ASSERT_TRUE(model);
  const int64_t lt = t_.cfg.max_token_len;
  const pi0::Pi0Inputs a = Good();
  auto plan = model->GetPlan(model->MakePlanKey(a));
  ASSERT_TRUE(plan.ok());
  pi0::Pi0Inputs third_view = CopyInputs(a);  // sample 0's zero image counts as present
  third_view.image_mask.data<uint8_t>()[2] = 1;
  pi0::Pi0Inputs no_wrist = CopyInputs(third_view);  // sample 1 without its wrist view
  no_wrist.image_mask.data<uint8_t>()[3 + 1] = 0;
  pi0::Pi0Inputs short_prompt = CopyInputs(no_wrist);
  CutPrompt(short_prompt, 0, 2, lt);

  Step("first call", *model, *plan, a, 2, 1);
  Step("third view of sample 0 present", *model, *plan, third_view, 3, 1);
  Step("wrist view of sample 1 masked", *model, *plan, no_wrist, 4, 1);
  Step("the same again", *model, *plan, no_wrist, 4, 1);
  Step("sample 0's prompt cut to 2 tokens", *model, *plan, short_prompt, 5, 2);
  Step("back to the first inputs: both samples", *model, *plan, a, 7, 3);
}

INSTANTIATE_TEST_SUITE_P(Tiny, Pi0UploadReuse, ::testing::Values("pi0_tiny", "pi05_tiny"),
                         [](const auto& p) { return p.param; });

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


// ---- images as bytes ----------------------------------------------------------------------

class Pi0Pixels : public ::testing::TestWithParam<const char*> {};
INSTANTIATE_TEST_SUITE_P(Tiny, Pi0Pixels, ::testing::Values("pi0_tiny", "pi05_tiny"));

// The op with openpi's per-byte table gives openpi's image inputs bit for bit, and the
// model run from bytes gives the planes' x0 bit for bit (the reference layout encodes the
// zero view too, so all three views' normalisation reaches x0).
TEST_P(Pi0Pixels, BytesGiveOpenpisImageInputsAndTheSameActions) {
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs planes = testing::GoldenModelInputs(t);
  const pi0::Pi0Inputs bytes = testing::GoldenPixelInputs(t);
  auto be = CreateCpuBackend();
  HostTensor table(DType::kF32, {3, 256});
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) table.data<float>()[c * 256 + v] = OpenpiPixelValue(static_cast<uint8_t>(v));
  }
  const int64_t b = planes.images.shape()[0], s = planes.images.shape()[3];
  for (int view = 0; view < 3; ++view) {
    const HostTensor golden = t.golden->F32("inputs.image" + std::to_string(view));  // [B, 3, S, S]
    for (int64_t i = 0; i < b; ++i) {
      HostTensor out(DType::kF32, {1, 3, s, s});
      be->NormalizePixels(bytes.pixels.view().Select(0, i).Select(0, view).Reshape({1, s, s, 3}),
                          table.view(), out.view());
      EXPECT_EQ(0, std::memcmp(out.data<float>(), golden.data<float>() + i * 3 * s * s, out.nbytes()))
          << "view " << view << " sample " << i;
    }
  }
  for (const pi0::Pi0ModelOptions& options : {pi0::Pi0ModelOptions{}, pi0::Pi0ModelOptions::Reference()}) {
    auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be, options);
    ASSERT_TRUE(model.ok()) << model.status().message();
    auto from_planes = (*model)->Run(planes);
    auto from_bytes = (*model)->Run(bytes);
    ASSERT_TRUE(from_planes.ok()) << from_planes.status().message();
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().message();
    EXPECT_TRUE(testing::BitEqual(from_planes->x0, from_bytes->x0))
        << "max |diff| " << testing::MaxAbsDiff(from_planes->x0, from_bytes->x0);
  }
}

TEST_P(Pi0Pixels, BadByteInputsAreClearErrors) {
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  auto be = CreateCpuBackend();
  auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be);
  ASSERT_TRUE(model.ok()) << model.status().message();
  pi0::Pi0Inputs in = testing::GoldenPixelInputs(t);
  in.images = HostTensor(DType::kF32, {2, 3, 3, 56, 56});
  ExpectError((*model)->Run(in), "pi0 inputs: expected either 'images' (F32 planes) or 'pixels' (U8 bytes), got both");
  in = testing::GoldenPixelInputs(t);
  in.pixels = HostTensor(DType::kU8, {2, 3, 3, 56, 56});  // planar, not packed
  ExpectError((*model)->Run(in), "pi0 input 'pixels': expected U8[2, 3, 56, 56, 3], got U8[2, 3, 3, 56, 56]");
  in.pixels = HostTensor(DType::kF32, {2, 3, 56, 56, 3});
  ExpectError((*model)->Run(in), "pi0 input 'pixels': expected U8[2, 3, 56, 56, 3], got F32[2, 3, 56, 56, 3]");
  // A plan made for bytes refuses planes and the other way round.
  const pi0::Pi0Inputs bytes = testing::GoldenPixelInputs(t);
  auto plan = (*model)->GetPlan((*model)->MakePlanKey(bytes));
  ASSERT_TRUE(plan.ok());
  ExpectError((*model)->Upload(**plan, testing::GoldenModelInputs(t)),
              "steps / images into a plan for 2 / 10 / pixels");
  EXPECT_TRUE((*model)->Upload(**plan, bytes).ok());
}

// kPixels: the (resized) bytes of each view, zeros in the masked slot, no planes; normalised
// on the host they are kPlanes' planes bit for bit. A second call into the same buffers
// (reuse) with other pictures gives their bytes.
TEST_P(Pi0Pixels, TransformsHandOverTheBytes) {
  TransformFixture f = MakeFixture(GetParam());
  auto planes_tf = pi0::Pi0Transforms::Create(f.t.cfg, f.stats);
  auto bytes_tf = pi0::Pi0Transforms::Create(f.t.cfg, f.stats, -1, ImageForm::kPixels);
  ASSERT_TRUE(planes_tf.ok() && bytes_tf.ok());
  std::vector<pi0::LiberoObservation> obs = f.obs;
  obs[1].wrist_image.height = 28;  // off size: resize_with_pad first
  pi0::Pi0Prepared bytes;
  for (int call = 0; call < 2; ++call) {
    if (call == 1) std::swap(obs[0].image, obs[1].image);
    auto planes = planes_tf->Prepare(obs, ByteTokenizer());
    ASSERT_TRUE(planes.ok()) << planes.status().message();
    ASSERT_TRUE(bytes_tf->PrepareInto(obs, ByteTokenizer(), std::nullopt, &bytes).ok());
    const pi0::Pi0Inputs& in = bytes.inputs;
    EXPECT_EQ(in.images.data<void>(), nullptr);
    ASSERT_EQ(in.pixels.dtype(), DType::kU8);
    ASSERT_EQ(in.pixels.shape(), (Shape{2, 3, 56, 56, 3}));
    const int64_t per_image = 56 * 56 * 3;
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t v = 0; v < 3; ++v) {
        const uint8_t* got = in.pixels.data<uint8_t>() + (i * 3 + v) * per_image;
        std::vector<uint8_t> want(per_image, 0);
        if (v < 2) {
          const ImageView& view = v == 0 ? obs[i].image : obs[i].wrist_image;
          if (view.height == 56 && view.width == 56) {
            want.assign(view.data, view.data + per_image);
          } else {
            auto resized = ResizeWithPad(view, 56, 56);
            ASSERT_TRUE(resized.ok());
            want = resized->rgb;
          }
        }
        EXPECT_EQ(0, std::memcmp(got, want.data(), per_image)) << "call " << call << " sample " << i << " view " << v;
        auto normalised = NormalizeOpenpi(ImageView{got, 56, 56, 3}, ChannelLayout::kCHW);
        ASSERT_TRUE(normalised.ok());
        EXPECT_EQ(0, std::memcmp(normalised->data<float>(),
                                 planes->inputs.images.data<float>() + (i * 3 + v) * per_image,
                                 normalised->nbytes()))
            << "call " << call << " sample " << i << " view " << v;
      }
    }
    EXPECT_TRUE(testing::BitEqual(in.tokens, planes->inputs.tokens));
    EXPECT_TRUE(testing::BitEqual(in.state, planes->inputs.state));
  }
}

}  // namespace
}  // namespace vlart
