// SPDX-License-Identifier: Apache-2.0
//
// pi0_policy_test.cc: pi0 / pi0.5 through the public Policy API on the CPU, on tiny
// synthetic checkpoints written by WriteSyntheticCheckpoint (what `vlart make-synthetic
// --arch pi0|pi05 --size tiny` writes): detection (openpi and LeRobot layouts), loading,
// determinism, explicit noise, batching, timings, profiling, and the exact error texts for
// bad inputs and folders.
//
// Batch tolerance: a batch of two runs the same math as two single calls, with the
// shorter prompt padded by masked prefix rows (exact: weight exp(-2.38e38 - max) = +0).
// What differs is the CPU reference's OpenBLAS sgemm, which rounds a row differently
// depending on the call's row count (docs/models/pi0.md, Shortcuts). So the chunks agree
// to rounding, judged with the golden rule (pi0_test_util.h): 8 x 4 f32 ulps of the
// largest magnitude of the single-call actions.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "image/decode.h"
#include "image/resize_with_pad.h"
#include "io/checkpoint.h"
#include "io/json_config.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "models/pi0/pi0_transforms.h"
#include "runtime/model_detect.h"
#include "runtime/pi0_policy.h"
#include "runtime/synthetic_checkpoint.h"
#include "support/test_paths.h"
#include "text/embedded_assets.h"
#include "vlart/policy.h"

namespace vlart {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

// The model tolerance rule of the golden tests: kNoiseMultiple (8) x 4 f32 ulps.
constexpr double kRoundingUlps = 8.0 * 4.0;

Image DemoImage(const char* name, int size) {
  auto img = DecodeImageBytes(EmbeddedAsset(name), name);
  EXPECT_TRUE(img.ok()) << img.status().message();
  if (size <= 0) return std::move(img).value();
  auto resized = ResizeWithPad(img->view(), size, size);
  EXPECT_TRUE(resized.ok());
  return std::move(resized).value();
}

Observation LiberoObservation(const std::string& prompt = "put the black bowl on the plate") {
  Observation o;
  o.images = {DemoImage("demo/agentview.png", 224), DemoImage("demo/wrist.png", 224)};
  o.prompt = prompt;
  o.state = {0.05, -0.02, 1.10, 3.0, 0.1, -0.1, 0.03, -0.03};
  return o;
}

// One generated tiny checkpoint per variant, shared by the tests of this binary.
class Pi0PolicyTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(ScratchDir());
    // FindPi0Tokenizer falls back to openpi's cache: point it at nothing.
    setenv("OPENPI_DATA_HOME", (*root_ / "no-openpi-cache").c_str(), 1);
    for (const char* arch : {"pi0", "pi05"}) {
      const Status s = WriteSyntheticCheckpoint({arch, "tiny", 7}, *root_ / arch);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }
  void SetUp() override { scratch_ = ScratchDir(); }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static fs::path Dir(const std::string& arch) { return *root_ / arch; }
  fs::path dir() const { return Dir(GetParam()); }
  bool pi05() const { return GetParam() == "pi05"; }
  int64_t horizon() const { return pi05() ? 10 : 50; }

  std::unique_ptr<Policy> Load(PolicyOptions options = {}) {
    auto p = Policy::Load(dir(), options);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(p).value() : nullptr;
  }
  // A copy of the checkpoint folder without `what` (relative path).
  fs::path CopyWithout(const std::string& what) {
    const fs::path out = scratch_ / ("without_" + fs::path(what).filename().string());
    fs::copy(dir(), out, fs::copy_options::recursive);
    fs::remove_all(out / what);
    return out;
  }

  static fs::path* root_;
  fs::path scratch_;  // this test's scratch folder (ScratchDir() empties it on each call)
};
fs::path* Pi0PolicyTest::root_ = nullptr;

std::string Message(const Result<ActionChunk>& r) { return r.ok() ? "ok" : r.status().message(); }

TEST_P(Pi0PolicyTest, DetectsTheVariantByItsWeights) {
  auto m = DetectModelType(dir());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->type, GetParam());
  EXPECT_EQ(m->how, "weight keys");
  auto p = Load();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->model_type(), GetParam());
  EXPECT_NE(p->description().find(pi05() ? "pi0.5:" : "pi0:"), std::string::npos) << p->description();
  auto* pi0 = dynamic_cast<Pi0Policy*>(p.get());
  ASSERT_NE(pi0, nullptr);
  EXPECT_EQ(pi0->tokenizer_path(), dir() / "tokenizer.model");
  EXPECT_EQ(pi0->norm_stats_path(), dir() / "assets/physical-intelligence/libero/norm_stats.json");
}

TEST_P(Pi0PolicyTest, SameSeedSameActionsAndLiberoShape) {
  auto p = Load();
  ASSERT_TRUE(p);
  const Observation obs = LiberoObservation();
  CallTimings t;
  ActOptions ao;
  ao.seed = 3;
  ao.timings = &t;
  auto a = p->Act(obs, ao);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->actions.dtype(), DType::kF32);
  EXPECT_EQ(a->actions.shape(), (Shape{horizon(), 7}));
  for (int64_t i = 0; i < a->actions.numel(); ++i) {
    ASSERT_TRUE(std::isfinite(a->actions.data<float>()[i])) << i;
  }
  ASSERT_EQ(t.stages.size(), 4u);
  EXPECT_EQ(t.stages[0].first, "vision");
  EXPECT_EQ(t.stages[1].first, "prefix");
  EXPECT_EQ(t.stages[2].first, "denoise");
  EXPECT_EQ(t.stages[3].first, "post");
  EXPECT_GT(t.total_ms, 0.0);

  auto b = p->Act(obs, ao);  // the same plan again
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::memcmp(a->actions.view().data, b->actions.view().data, a->actions.nbytes()), 0);
  auto fresh = Load();  // and a fresh load
  auto c = fresh->Act(obs, ao);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(std::memcmp(a->actions.view().data, c->actions.view().data, a->actions.nbytes()), 0);
  ao.seed = 4;
  auto d = p->Act(obs, ao);
  ASSERT_TRUE(d.ok());
  EXPECT_NE(std::memcmp(a->actions.view().data, d->actions.view().data, a->actions.nbytes()), 0);
}

TEST_P(Pi0PolicyTest, ExplicitNoiseIsTheSeedsNoise) {
  auto p = Load();
  ASSERT_TRUE(p);
  const auto& cfg = dynamic_cast<Pi0Policy&>(*p).model().config();
  const Observation obs = LiberoObservation();
  ActOptions by_seed;
  by_seed.seed = 11;
  auto a = p->Act(obs, by_seed);
  const HostTensor noise = pi0::MakeNoise(cfg, 1, 11);
  ActOptions by_noise;
  by_noise.seed = 999;  // ignored when noise is given
  by_noise.noise = &noise;
  auto b = p->Act(obs, by_noise);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(std::memcmp(a->actions.view().data, b->actions.view().data, a->actions.nbytes()), 0);
}

TEST_P(Pi0PolicyTest, BatchOfTwoIsTwoSingleCallsToRounding) {
  auto p = Load();
  ASSERT_TRUE(p);
  const auto& cfg = dynamic_cast<Pi0Policy&>(*p).model().config();
  // Different prompts (so different lengths: the shorter one is padded in the batch),
  // states and images.
  std::vector<Observation> obs = {LiberoObservation(),
                                  LiberoObservation("open the top drawer and put the bowl inside")};
  obs[1].state[0] = -0.2;
  obs[1].state[7] = -0.01;
  std::swap(obs[1].images[0], obs[1].images[1]);
  const HostTensor n0 = pi0::MakeNoise(cfg, 1, 21);
  const HostTensor n1 = pi0::MakeNoise(cfg, 1, 22);
  HostTensor both(DType::kF32, {2, cfg.action_horizon, cfg.action_dim});
  std::memcpy(both.data<float>(), n0.data<float>(), n0.nbytes());
  std::memcpy(both.data<float>() + n0.numel(), n1.data<float>(), n1.nbytes());
  ActOptions ao;
  ao.noise = &both;
  auto batch = p->ActBatch(obs, ao);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->size(), 2u);
  for (int i = 0; i < 2; ++i) {
    ActOptions one;
    one.noise = i == 0 ? &n0 : &n1;
    auto single = p->Act(obs[i], one);
    ASSERT_TRUE(single.ok()) << single.status().message();
    const HostTensor& got = (*batch)[i].actions;
    const HostTensor& want = single->actions;
    ASSERT_EQ(got.shape(), want.shape());
    double max_ref = 0, max_diff = 0;
    for (int64_t k = 0; k < want.numel(); ++k) {
      max_ref = std::max(max_ref, std::fabs(double{want.data<float>()[k]}));
      max_diff = std::max(max_diff, std::fabs(double{got.data<float>()[k]} - want.data<float>()[k]));
    }
    const double tol = kRoundingUlps * std::numeric_limits<float>::epsilon() * max_ref;
    std::printf("batch sample %d: max diff %.3g, tol %.3g\n", i, max_diff, tol);
    EXPECT_LE(max_diff, tol) << "sample " << i << " (max |actions| " << max_ref << ")";
  }
}

TEST_P(Pi0PolicyTest, ChangingPromptsAndViewsThroughOnePolicyAreFreshCalls) {
  // A robot loop: the same instruction most calls, now and then another one (with batch
  // padding: sample 0's prompt is the longest, so sample 1's can change inside one plan),
  // new pictures. The model re-uploads positions and masks only when the pad pattern
  // changed and token ids only when they changed (pi0_inputs_test.cc); every call must
  // still give exactly what a freshly loaded policy gives for it.
  auto p = Load();
  ASSERT_TRUE(p);
  const std::string task = "pick up the black bowl between the plate and the ramekin and place it on the plate";
  std::vector<Observation> a = {LiberoObservation(task), LiberoObservation("open the drawer")};
  std::vector<Observation> other_prompt = {LiberoObservation(task),
                                           LiberoObservation("close the top drawer of the cabinet")};
  std::vector<Observation> other_words = {LiberoObservation(task), LiberoObservation("open the window")};
  std::vector<Observation> other_views = a;
  std::swap(other_views[0].images[0], other_views[0].images[1]);
  other_views[1].state[2] = 0.4;
  const std::vector<Observation>* sequence[] = {&a, &a, &other_prompt, &other_prompt, &other_words,
                                                &a, &other_views, &a};
  uint64_t seed = 40;
  for (const std::vector<Observation>* obs : sequence) {
    SCOPED_TRACE(fmt::format("call with seed {}", seed));
    ActOptions ao;
    ao.seed = seed++;
    auto got = p->ActBatch(*obs, ao);
    ASSERT_TRUE(got.ok()) << got.status().message();
    auto fresh = Load();
    ASSERT_TRUE(fresh);
    auto want = fresh->ActBatch(*obs, ao);
    ASSERT_TRUE(want.ok()) << want.status().message();
    ASSERT_EQ(got->size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const HostTensor& g = (*got)[i].actions;
      const HostTensor& w = (*want)[i].actions;
      ASSERT_EQ(g.shape(), w.shape());
      EXPECT_EQ(std::memcmp(g.view().data, w.view().data, g.nbytes()), 0) << "sample " << i;
    }
  }
}

TEST_P(Pi0PolicyTest, ProfilesOpsWhenAsked) {
  PolicyOptions po;
  po.profile_ops = 100000;
  auto p = Load(po);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->Act(LiberoObservation()).ok());
  auto report = p->ProfileReport();
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_NE(report->find("Linear"), std::string::npos) << *report;
  EXPECT_NE(report->find("Attention"), std::string::npos) << *report;
  EXPECT_NE(report->find("RopeQkv"), std::string::npos) << *report;  // one op, forwarded as one
  auto plain = Load();
  EXPECT_FALSE(plain->ProfileReport().ok());
}

TEST_P(Pi0PolicyTest, TruncatesOverLongPromptsWithOpenpisNotice) {
  auto p = Load();
  ASSERT_TRUE(p);
  std::string prompt;
  for (int i = 0; i < 120; ++i) prompt += "pick up the bowl ";
  std::vector<std::string> notices;
  ActOptions ao;
  ao.notices = &notices;
  auto a = p->Act(LiberoObservation(prompt), ao);
  ASSERT_TRUE(a.ok()) << Message(a);
  ASSERT_EQ(notices.size(), 1u);
  const int max_len = pi05() ? 200 : 48;
  EXPECT_NE(notices[0].find(fmt::format("exceeds max length ({}), truncating", max_len)),
            std::string::npos)
      << notices[0];
  EXPECT_EQ(notices[0].rfind("sample 0: Token length (", 0), 0u) << notices[0];
}

TEST_P(Pi0PolicyTest, BadObservationsGiveExactErrors) {
  auto p = Load();
  ASSERT_TRUE(p);
  const std::string name = pi05() ? "pi0.5" : "pi0";
  const auto act = [&](const Observation& o) { return Message(p->Act(o)); };

  Observation o = LiberoObservation();
  o.state.pop_back();
  EXPECT_EQ(act(o),
            "sample 0: pi0 request 'observation/state': expected 8 values (the norm stats' state "
            "size), got 7");
  o = LiberoObservation();
  o.state[2] = std::nan("");
  EXPECT_EQ(act(o), "sample 0: pi0 request 'observation/state[2]': expected a finite value, got nan");
  o = LiberoObservation();
  o.state[5] = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(act(o), "sample 0: pi0 request 'observation/state[5]': expected a finite value, got -inf");

  o = LiberoObservation();
  o.images.pop_back();
  EXPECT_EQ(act(o), name + " observation: images: expected 2 views (LIBERO: base camera, wrist "
                           "camera; the third image slot is masked as openpi does), got 1");
  o = LiberoObservation();
  o.images.push_back(o.images[0]);
  EXPECT_EQ(act(o), name + " observation: images: expected 2 views (LIBERO: base camera, wrist "
                           "camera; the third image slot is masked as openpi does), got 3");
  o = LiberoObservation();
  o.images[1] = Image{};
  EXPECT_EQ(act(o),
            "pi0 request 0 'observation/wrist_image': expected a uint8 RGB image [H, W, 3], got "
            "[0, 0, 3] without data");

  // Off-size images are resized (openpi's client resize_with_pad), not refused.
  o = LiberoObservation();
  o.images[0] = DemoImage("demo/agentview.png", 0);  // 256 x 256
  EXPECT_EQ(act(o), "ok");

  const HostTensor wrong(DType::kF32, {1, horizon() + 1, 32});
  ActOptions ao;
  ao.noise = &wrong;
  EXPECT_EQ(Message(p->Act(LiberoObservation(), ao)),
            fmt::format("{} noise: expected F32[1, {}, 32], got F32[1, {}, 32]", name, horizon(),
                        horizon() + 1));
  HostTensor nan_noise(DType::kF32, {1, horizon(), 32});
  std::memset(nan_noise.data<float>(), 0, nan_noise.nbytes());
  nan_noise.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  ao.noise = &nan_noise;
  EXPECT_EQ(Message(p->Act(LiberoObservation(), ao)),
            "pi0 input 'noise': expected finite values, got nan at flat index 5");

  auto empty = p->ActBatch({}, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), name + " observations: expected at least one, got none");
  // A failed call leaves the policy usable.
  EXPECT_EQ(act(LiberoObservation()), "ok");
}

TEST_P(Pi0PolicyTest, BadFoldersGiveExactErrors) {
  const fs::path no_stats = CopyWithout("assets");
  auto a = Policy::Load(no_stats);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(),
            fmt::format("pi0 policy: norm stats: expected {} (openpi's assets layout), got no "
                        "norm_stats.json under '{}'; hint: openpi checkpoints carry "
                        "assets/<asset_id>/norm_stats.json next to model.safetensors",
                        (no_stats / "assets/physical-intelligence/libero/norm_stats.json").string(),
                        (no_stats / "assets").string()));

  const fs::path no_tok = CopyWithout("tokenizer.model");
  auto b = Policy::Load(no_tok);
  ASSERT_FALSE(b.ok());
  const fs::path cache = fs::path(std::getenv("OPENPI_DATA_HOME"));
  EXPECT_EQ(b.status().message(),
            fmt::format("pi0 policy: tokenizer: expected the PaliGemma SentencePiece model at one "
                        "of {}, {}, got none; hint: openpi checkpoints do not carry it: copy "
                        "paligemma_tokenizer.model (gs://big_vision/paligemma_tokenizer.model) "
                        "into the folder as tokenizer.model, or pass its path (--tokenizer)",
                        (no_tok / "tokenizer.model").string(),
                        (cache / "big_vision/paligemma_tokenizer.model").string()));
  // An explicit tokenizer path is used (and must exist).
  PolicyOptions po;
  po.tokenizer = (dir() / "tokenizer.model").string();
  EXPECT_TRUE(Policy::Load(no_tok, po).ok());
  po.tokenizer = (no_tok / "nope.model").string();
  auto c = Policy::Load(no_tok, po);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            fmt::format("pi0 policy: tokenizer: expected a SentencePiece model at '{}' "
                        "(--tokenizer), got no such file",
                        po.tokenizer));
  // openpi's download cache is the last place looked.
  fs::create_directories(cache / "big_vision");
  fs::copy_file(dir() / "tokenizer.model", cache / "big_vision/paligemma_tokenizer.model");
  auto d = Policy::Load(no_tok);
  fs::remove_all(cache);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(dynamic_cast<Pi0Policy&>(**d).tokenizer_path(),
            cache / "big_vision/paligemma_tokenizer.model");

  const fs::path no_weights = CopyWithout("model.safetensors");
  auto e = Policy::Load(no_weights);
  EXPECT_FALSE(e.ok());
}

// LeRobot's layout: every key under "model.", a config.json naming the policy under
// "type" (and none of openpi's keys). Same weights, so the same actions.
TEST_P(Pi0PolicyTest, LoadsLeRobotLayout) {
  const fs::path out = scratch_ / "lerobot";
  fs::create_directories(out);
  fs::copy(dir() / "assets", out / "assets", fs::copy_options::recursive);
  fs::copy_file(dir() / "tokenizer.model", out / "tokenizer.model");
  auto file = SafetensorsFile::Open(dir() / "model.safetensors");
  ASSERT_TRUE(file.ok());
  std::vector<std::pair<std::string, Tensor>> renamed;
  for (const std::string& n : (*file)->Names()) {
    renamed.emplace_back("model." + n, (*file)->View(*(*file)->Find(n)));
  }
  ASSERT_TRUE(WriteSafetensors(out / "model.safetensors", renamed).ok());
  // The tiny sizes still need vlart_tiny_arch (a released checkpoint infers them).
  auto config = ReadJsonFile(dir() / "config.json");
  ASSERT_TRUE(config.ok());
  nlohmann::json j = config->root;
  j["type"] = GetParam();
  const auto write_config = [&](const nlohmann::json& c) {
    std::ofstream(out / "config.json") << c.dump(2);
  };
  write_config(j);
  auto m = DetectModelType(out);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->type, GetParam());
  auto lerobot = Policy::Load(out);
  ASSERT_TRUE(lerobot.ok()) << lerobot.status().message();
  auto openpi = Load();
  ActOptions ao;
  ao.seed = 2;
  auto a = (*lerobot)->Act(LiberoObservation(), ao);
  auto b = openpi->Act(LiberoObservation(), ao);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(std::memcmp(a->actions.view().data, b->actions.view().data, a->actions.nbytes()), 0);

  j["type"] = pi05() ? "pi0" : "pi05";
  write_config(j);
  auto wrong = Policy::Load(out);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(),
            fmt::format("policy: {}: field 'type': expected '{}' (the weights have {}), got '{}'",
                        (out / "config.json").string(), GetParam(),
                        pi05() ? "time_mlp_in.weight" : "state_proj.weight",
                        pi05() ? "pi0" : "pi05"));
}

INSTANTIATE_TEST_SUITE_P(Variants, Pi0PolicyTest, ::testing::Values("pi0", "pi05"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(SyntheticPi0, DeterministicAndByteIdenticalAcrossRuns) {
  const fs::path scratch = ScratchDir();
  const fs::path a = scratch / "a";
  const fs::path b = scratch / "b";
  ASSERT_TRUE(WriteSyntheticCheckpoint({"pi05", "tiny", 5}, a).ok());
  ASSERT_TRUE(WriteSyntheticCheckpoint({"pi05", "tiny", 5}, b).ok());
  for (const char* f : {"model.safetensors", "config.json", "tokenizer.model",
                        "assets/physical-intelligence/libero/norm_stats.json"}) {
    const auto read = [](const fs::path& p) {
      std::ifstream in(p, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    EXPECT_EQ(read(a / f), read(b / f)) << f;
  }
  auto ckpt = Checkpoint::Open(a);
  ASSERT_TRUE(ckpt.ok());
  EXPECT_EQ((*ckpt)->Names().size(), 92u);  // 90 the model reads + VLM norm + expert lm_head
  for (const std::string& n : (*ckpt)->Names()) EXPECT_EQ((*ckpt)->Find(n)->dtype, DType::kBF16) << n;
  EXPECT_FALSE(WriteSyntheticCheckpoint({"pi0", "huge", 5}, a).ok());
}

TEST(DetectModel, XvlaByModelTypeAndErrors) {
  const fs::path scratch = ScratchDir();
  const fs::path x = scratch / "xvla";
  ASSERT_TRUE(WriteSyntheticCheckpoint({"xvla", "tiny", 0}, x).ok());
  auto m = DetectModelType(x);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->type, "xvla");
  EXPECT_EQ(m->how, "config.json model_type");
  auto none = DetectModelType(scratch / "missing");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("is not a folder"), std::string::npos);
}

}  // namespace
}  // namespace vlart
