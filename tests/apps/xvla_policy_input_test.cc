// SPDX-License-Identifier: Apache-2.0
//
// xvla_policy_input_test.cc: bad observations through the public Policy API and the
// X-VLA processor, for what the CLI cannot express (a fourth view, empty pictures,
// batches, negative ids from code) and for the tokenizer edge cases behind `--prompt`.
//
// Each test writes a tiny random-weight checkpoint (WriteSyntheticCheckpoint, the code
// behind `vlart make-synthetic --arch xvla --size tiny`: 3 view slots, 30 domains,
// 20-dim proprio, 50 text tokens, the embedded BART-style tokenizer <s>=0 <pad>=1
// </s>=2) into a scratch folder and loads it on the CPU backend.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "models/xvla/xvla_config.h"
#include "models/xvla/xvla_processor.h"
#include "runtime/synthetic_checkpoint.h"
#include "support/test_paths.h"
#include "text/bpe_tokenizer.h"
#include "vlart/policy.h"

namespace vlart {
namespace {

constexpr int kTextTokens = 50;  // the official processor's max_length
constexpr int32_t kBos = 0, kPad = 1, kEos = 2;

Image Gray(int h, int w, uint8_t value = 128) {
  Image img = Image::Zeros(h, w);
  for (uint8_t& b : img.rgb) b = value;
  return img;
}

Observation GoodObservation() {
  Observation o;
  o.images = {Gray(256, 256, 90), Gray(256, 256, 160)};
  o.prompt = "put the black bowl on the plate";
  o.state.assign(20, 0.1);
  o.domain_id = 3;
  return o;
}

std::string LongPrompt() {
  std::string p;
  for (int i = 0; i < 40; ++i) p += "pick up the black bowl and place it on the plate ";
  return p;
}

class XvlaPolicyInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchDir() / "ckpt";
    const Status s = WriteSyntheticCheckpoint({"xvla", "tiny", 0}, dir_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto p = Policy::Load(dir_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    policy_ = std::move(p).value();
  }

  // `obs` must fail with kInvalidArgument and a message holding every one of `parts`.
  void ExpectRejected(const Observation& obs, std::initializer_list<std::string> parts,
                      const ActOptions& options = {}) {
    Result<ActionChunk> r = policy_->Act(obs, options);
    ASSERT_FALSE(r.ok()) << "accepted a bad observation";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    for (const std::string& p : parts) {
      EXPECT_NE(r.status().message().find(p), std::string::npos)
          << "message lacks '" << p << "': " << r.status().message();
    }
  }

  Result<xvla::XvlaProcessor> Processor() {
    VLART_ASSIGN_OR_RETURN(const xvla::XvlaConfig cfg, xvla::ParseXvlaConfig(dir_ / "config.json"));
    return xvla::XvlaProcessor::Load(dir_, cfg);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Policy> policy_;
};

TEST_F(XvlaPolicyInput, GoodObservationActs) {
  ActOptions o;
  o.steps = 2;
  Result<ActionChunk> r = policy_->Act(GoodObservation(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->actions.shape(), (Shape{30, 20}));
}

TEST_F(XvlaPolicyInput, FourViewsAreTooMany) {
  Observation o = GoodObservation();
  o.images = {Gray(256, 256), Gray(256, 256), Gray(256, 256), Gray(256, 256)};
  ExpectRejected(o, {"images", "expected 1 to 3 views", "got 4"});
}

TEST_F(XvlaPolicyInput, NoViews) {
  Observation o = GoodObservation();
  o.images.clear();
  ExpectRejected(o, {"images", "expected 1 to 3 views", "got 0"});
}

TEST_F(XvlaPolicyInput, EmptyOrInconsistentPicture) {
  Observation o = GoodObservation();
  o.images[1] = Image{};
  ExpectRejected(o, {"image1", "expected an RGB image", "got 0x0"});
  o.images[1] = Gray(4, 5);
  o.images[1].rgb.resize(10);  // fewer bytes than 4 x 5 x 3
  ExpectRejected(o, {"image1", "got 4x5 with 10 bytes"});
}

TEST_F(XvlaPolicyInput, DomainId) {
  Observation o = GoodObservation();
  o.domain_id = 99;
  ExpectRejected(o, {"domain_id", "expected 0..29", "got 99"});
  o.domain_id = -1;
  ExpectRejected(o, {"domain_id", "expected 0..29", "got -1"});
  o.domain_id = std::numeric_limits<int>::min();
  ExpectRejected(o, {"domain_id", "got -2147483648"});
  o.domain_id.reset();
  ExpectRejected(o, {"domain_id", "got none"});
}

TEST_F(XvlaPolicyInput, Proprio) {
  Observation o = GoodObservation();
  o.state.assign(19, 0.0);
  ExpectRejected(o, {"proprio", "expected 20 values", "got 19"});
  o.state.assign(20, 0.0);
  o.state[4] = std::nan("");
  ExpectRejected(o, {"proprio[4]", "expected a finite number", "got nan"});
  o.state[4] = -std::numeric_limits<double>::infinity();
  ExpectRejected(o, {"proprio[4]", "got -inf"});
}

TEST_F(XvlaPolicyInput, Noise) {
  HostTensor wrong(DType::kF32, {1, 30, 19});
  ActOptions opt;
  opt.noise = &wrong;
  ExpectRejected(GoodObservation(), {"noise", "expected F32[1, 30, 20]", "got F32[1, 30, 19]"}, opt);
  HostTensor f16(DType::kF16, {1, 30, 20});
  opt.noise = &f16;
  ExpectRejected(GoodObservation(), {"noise", "expected F32[1, 30, 20]", "got F16[1, 30, 20]"}, opt);
  HostTensor nan_noise(DType::kF32, {1, 30, 20});
  for (int64_t i = 0; i < nan_noise.numel(); ++i) nan_noise.data<float>()[i] = 0.0f;
  nan_noise.data<float>()[7] = std::numeric_limits<float>::infinity();
  opt.noise = &nan_noise;
  ExpectRejected(GoodObservation(), {"noise", "expected finite values", "flat index 7"}, opt);
}

TEST_F(XvlaPolicyInput, Steps) {
  ActOptions opt;
  opt.steps = 1001;
  ExpectRejected(GoodObservation(), {"steps", "expected 1..1000", "got 1001"}, opt);
}

TEST_F(XvlaPolicyInput, BatchNamesTheBadObservation) {
  std::vector<Observation> batch = {GoodObservation(), GoodObservation()};
  batch[1].domain_id = 30;
  Result<std::vector<ActionChunk>> r = policy_->ActBatch(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("request 1: domain_id"), std::string::npos) << r.status().message();
}

// A rejected call must leave the policy as it was: the next good call gives exactly
// what a fresh policy gives.
TEST_F(XvlaPolicyInput, RejectedCallsLeaveThePolicyUsable) {
  ActOptions opt;
  opt.steps = 2;
  opt.seed = 11;
  Observation bad = GoodObservation();
  bad.images.push_back(Gray(8, 8));
  bad.images.push_back(Gray(8, 8));
  ASSERT_FALSE(policy_->Act(bad, opt).ok());
  Result<ActionChunk> after = policy_->Act(GoodObservation(), opt);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  auto fresh = Policy::Load(dir_);
  ASSERT_TRUE(fresh.ok());
  Result<ActionChunk> ref = (*fresh)->Act(GoodObservation(), opt);
  ASSERT_TRUE(ref.ok());
  ASSERT_EQ(after->actions.numel(), ref->actions.numel());
  for (int64_t i = 0; i < ref->actions.numel(); ++i) {
    ASSERT_EQ(after->actions.data<float>()[i], ref->actions.data<float>()[i]) << "element " << i;
  }
}

// The image forms the policy can hand its model (the camera's bytes, resized on the backend;
// bytes resized on the host; normalised planes: VLART_DEVICE_RESIZE=0 / VLART_DEVICE_PIXELS=0
// at load) give the same actions bit for bit, through the runtime's recorded forward, for
// one camera size (the camera-bytes form) and for views of two sizes (resized bytes).
TEST_F(XvlaPolicyInput, ImageFormsGiveTheSameActions) {
  const auto textured = [](int h, int w, int salt) {
    Image img = Image::Zeros(h, w);
    for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 37 + salt) % 251);
    return img;
  };
  Observation one_size = GoodObservation();
  one_size.images = {textured(256, 256, 1), textured(256, 256, 2)};
  Observation two_sizes = one_size;
  two_sizes.images[1] = textured(180, 320, 3);
  ActOptions opt;
  opt.steps = 2;
  opt.seed = 5;
  const auto act = [&](const char* env, const Observation& obs) -> Result<ActionChunk> {
    if (env != nullptr) setenv(env, "0", 1);
    auto policy = Policy::Load(dir_);
    if (env != nullptr) unsetenv(env);
    if (!policy.ok()) return policy.status();
    return (*policy)->Act(obs, opt);
  };
  for (const Observation* obs : {&one_size, &two_sizes}) {
    Result<ActionChunk> camera = act(nullptr, *obs);
    ASSERT_TRUE(camera.ok()) << camera.status().ToString();
    for (const char* env : {"VLART_DEVICE_RESIZE", "VLART_DEVICE_PIXELS"}) {
      Result<ActionChunk> host = act(env, *obs);
      ASSERT_TRUE(host.ok()) << env << ": " << host.status().ToString();
      ASSERT_EQ(host->actions.numel(), camera->actions.numel());
      EXPECT_EQ(0, std::memcmp(host->actions.data<float>(), camera->actions.data<float>(),
                               camera->actions.nbytes()))
          << env << "=0 against the default, " << (obs == &one_size ? "one size" : "two sizes");
    }
  }
}

// tokenizer([""], padding="max_length", max_length=50, truncation=True) with the
// reference (transformers' PreTrainedTokenizerFast on this tokenizer.json) gives
// [0, 2, 1, 1, ...]: the RobertaProcessing template <s> </s> around no tokens, then
// padding. Checked with /work/pyref (transformers 5.5.4) when this test was written.
TEST_F(XvlaPolicyInput, EmptyPromptIsBosEosThenPadding) {
  auto proc = Processor();
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  bool truncated = true;
  auto ids = proc->Tokenize("", &truncated);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  std::vector<int32_t> want(kTextTokens, kPad);
  want[0] = kBos;
  want[1] = kEos;
  EXPECT_EQ(*ids, want);
  EXPECT_FALSE(truncated);
  Observation o = GoodObservation();
  o.prompt.clear();
  std::vector<std::string> notices;
  ActOptions opt;
  opt.steps = 2;
  opt.notices = &notices;
  Result<ActionChunk> r = policy_->Act(o, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(notices.empty());
}

// truncation=True keeps <s>, the first 48 content ids and </s> (no padding).
TEST_F(XvlaPolicyInput, OverLongPromptIsTruncatedWithANotice) {
  auto proc = Processor();
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  auto tok = BpeTokenizer::FromFile(dir_ / "tokenizer.json");
  ASSERT_TRUE(tok.ok());
  auto full = tok->EncodeIds(LongPrompt(), /*add_special_tokens=*/true);
  ASSERT_TRUE(full.ok());
  ASSERT_GT(full->size(), static_cast<size_t>(kTextTokens)) << "the prompt is not long enough";
  bool truncated = false;
  auto ids = proc->Tokenize(LongPrompt(), &truncated);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_TRUE(truncated);
  std::vector<int32_t> want(full->begin(), full->begin() + kTextTokens - 1);
  want.push_back(kEos);
  EXPECT_EQ(*ids, want);

  Observation o = GoodObservation();
  o.prompt = LongPrompt();
  std::vector<std::string> notices;
  ActOptions opt;
  opt.steps = 2;
  opt.notices = &notices;
  Result<ActionChunk> r = policy_->Act(o, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("truncated"), std::string::npos) << notices[0];
}

// DefaultTuningCache (the CLI's --tuning-cache default): VLART_CACHE_DIR, then
// XDG_CACHE_HOME/vlart, then HOME/.cache/vlart; empty variables count as unset.
TEST(DefaultTuningCache, FollowsVlartCacheDirThenXdgThenHome) {
  struct Saved {
    const char* name;
    std::string value;
    bool set;
  };
  std::vector<Saved> saved;
  for (const char* name : {"VLART_CACHE_DIR", "XDG_CACHE_HOME", "HOME"}) {
    const char* v = std::getenv(name);
    saved.push_back({name, v != nullptr ? v : "", v != nullptr});
  }
  ::setenv("VLART_CACHE_DIR", "/v", 1);
  ::setenv("XDG_CACHE_HOME", "/x", 1);
  ::setenv("HOME", "/h", 1);
  EXPECT_EQ(DefaultTuningCache(), "/v/tuning.txt");
  ::setenv("VLART_CACHE_DIR", "", 1);
  EXPECT_EQ(DefaultTuningCache(), "/x/vlart/tuning.txt");
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(DefaultTuningCache(), "/h/.cache/vlart/tuning.txt");
  ::unsetenv("HOME");
  EXPECT_EQ(DefaultTuningCache(), "");
  for (const Saved& s : saved) {
    if (s.set) {
      ::setenv(s.name, s.value.c_str(), 1);
    } else {
      ::unsetenv(s.name);
    }
  }
}

}  // namespace
}  // namespace vlart
