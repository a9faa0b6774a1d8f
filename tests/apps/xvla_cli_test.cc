// SPDX-License-Identifier: Apache-2.0
//
// xvla_cli_test.cc: `vlart run` on an X-VLA checkpoint with bad input, as a user runs it.
//
// Every test runs the real binary (VLART_BINARY, the built `vlart`) in a child
// process. Each writes its own tiny random-weight checkpoint with
// `vlart make-synthetic --arch xvla --size tiny` into a scratch folder (30 domains,
// 20-dim ee6d proprio, 30 x 20 actions, 50 text tokens), then breaks one thing: an
// image file, a flag value, a checkpoint file or tensor, the noise file. A bad input
// must end the process through exit(1) (not a signal, not 0) with one
// "vlart run: ..." line that names what failed and says what was expected and what
// was given. Usage errors caught by the flag parser itself exit 2. The images are the
// committed demo frames (assets/demo, 256 x 256 PNG).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

#include "core/host_tensor.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "run_binary.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::ProcessResult;

// The tiny synthetic X-VLA (XvlaTinyConfig): what the messages must quote.
constexpr int kNumDomains = 30;
constexpr int kProprio = 20;
constexpr int kActions = 30;
constexpr int kActionDim = 20;
// A policy tensor every forward reads; the tiny policy's hidden size is 96.
constexpr const char* kProbeTensor = "transformer.norm.weight";
constexpr int64_t kProbeWidth = 96;

std::string Proprio(int n, double value = 0.1) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ',';
    s += std::to_string(value);
  }
  return s;
}

void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

// A NumPy 1.0 .npy file: little-endian f32 ('<f4') or f64 ('<f8'), C order.
void WriteNpy(const std::filesystem::path& path, const std::vector<int64_t>& shape,
              const std::vector<double>& values, bool f64 = false) {
  std::string dims;  // as numpy writes it: "(30, 20)", "(30,)"
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = std::string("{'descr': '") + (f64 ? "<f8" : "<f4") +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;  // magic(6) + version(2) + len(2) + '\n'
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  const uint16_t len = static_cast<uint16_t>(header.size());
  bytes += static_cast<char>(len & 0xff);
  bytes += static_cast<char>(len >> 8);
  bytes += header;
  for (double v : values) {
    if (f64) {
      bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
    } else {
      const float x = static_cast<float>(v);
      bytes.append(reinterpret_cast<const char*>(&x), sizeof x);
    }
  }
  WriteText(path, bytes);
}

class XvlaRunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = testing::ScratchDir();
    ckpt_ = scratch_ / "ckpt";
    const ProcessResult made = Vlart({"make-synthetic", "--arch", "xvla", "--size", "tiny", "--seed",
                                      "0", "--out", ckpt_.string()});
    ASSERT_TRUE(made.exited && made.exit_code == 0) << made.Describe();
    image0_ = (testing::SourceDir() / "assets/demo/agentview.png").string();
    image1_ = (testing::SourceDir() / "assets/demo/wrist.png").string();
    ASSERT_TRUE(std::filesystem::exists(image0_)) << image0_;
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(scratch_);
  }

  ProcessResult Vlart(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {VLART_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProgram(argv, scratch_);
  }

  // `vlart run` on the good observation with `overrides` replacing or adding flags
  // ("--flag", "value" pairs; a value of "<drop>" removes the flag).
  ProcessResult Run(std::vector<std::pair<std::string, std::string>> overrides = {}) {
    std::vector<std::pair<std::string, std::string>> flags = {
        {"--model", ckpt_.string()}, {"--image0", image0_},         {"--image1", image1_},
        {"--prompt", "put the black bowl on the plate"},           {"--proprio", Proprio(kProprio)},
        {"--domain-id", "3"},        {"--steps", "2"}};
    for (const auto& [flag, value] : overrides) {
      bool replaced = false;
      for (auto& f : flags) {
        if (f.first == flag) {
          f.second = value;
          replaced = true;
        }
      }
      if (!replaced) flags.emplace_back(flag, value);
    }
    std::vector<std::string> args = {"run"};
    for (const auto& [flag, value] : flags) {
      if (value == "<drop>") continue;
      args.push_back(flag);
      if (value != "<flag>") args.push_back(value);
    }
    return Vlart(args);
  }

  // The process must have exited with status 1 and said, on stderr, each of `parts`
  // (the what / which / expected / got of the message).
  static void ExpectInputError(const ProcessResult& r, std::initializer_list<std::string> parts) {
    ASSERT_TRUE(r.exited) << "ended by a signal, not an error exit: " << r.Describe();
    ASSERT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_NE(r.err.find("vlart run: "), std::string::npos) << r.Describe();
    EXPECT_EQ(r.err.find("check failed"), std::string::npos) << "a VLART_CHECK fired: " << r.Describe();
    EXPECT_EQ(r.out.find("actions"), std::string::npos) << "printed actions anyway: " << r.Describe();
    for (const std::string& p : parts) {
      EXPECT_NE(r.err.find(p), std::string::npos) << "stderr lacks '" << p << "': " << r.Describe();
    }
  }

  // Rewrites model.safetensors through `edit`, which gets every (name, tensor) pair.
  void RewriteWeights(
      const std::function<void(std::vector<std::pair<std::string, Tensor>>*)>& edit) {
    const std::filesystem::path file = ckpt_ / "model.safetensors";
    std::vector<std::pair<std::string, HostTensor>> owned;
    {
      auto st = SafetensorsFile::Open(file);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      for (const TensorInfo& info : (*st)->tensors()) {
        owned.emplace_back(info.name, HostTensor::CopyOf((*st)->View(info)));
      }
    }
    std::vector<std::pair<std::string, Tensor>> views;
    for (const auto& [name, t] : owned) views.emplace_back(name, t.view());
    edit(&views);
    const Status s = WriteSafetensors(file, views, {{"format", "pt"}});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::vector<double>> ActionsOf(const ProcessResult& r) {
    EXPECT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON: " << r.out;
    if (j.is_discarded() || !j.contains("actions")) return {};
    auto a = j["actions"].get<std::vector<std::vector<double>>>();
    EXPECT_EQ(a.size(), static_cast<size_t>(kActions));
    for (const auto& row : a) EXPECT_EQ(row.size(), static_cast<size_t>(kActionDim));
    return a;
  }

  std::filesystem::path scratch_;
  std::filesystem::path ckpt_;
  std::string image0_, image1_;
};

// ---- the good run, so every failure below is the broken thing's ------------------

TEST_F(XvlaRunCli, GoodObservationRuns) {
  const ProcessResult r = Run();
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_NE(r.out.find("actions [30, 20]"), std::string::npos) << r.out;
}

TEST_F(XvlaRunCli, SameSeedSameActionsOtherSeedOtherActions) {
  const auto a = ActionsOf(Run({{"--seed", "7"}, {"--json", "<flag>"}}));
  const auto b = ActionsOf(Run({{"--seed", "7"}, {"--json", "<flag>"}}));
  const auto c = ActionsOf(Run({{"--seed", "8"}, {"--json", "<flag>"}}));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "one seed must give bit-identical actions (JSON prints 9 significant digits)";
  int differing = 0;
  for (int i = 0; i < kActions; ++i) {
    for (int j = 0; j < kActionDim; ++j) differing += a[i][j] != c[i][j];
  }
  // Every action depends on the noise through x_t; the gripper sigmoid does not saturate
  // with these weights (tests/golden/README.md), so a new seed changes nearly all values.
  EXPECT_GT(differing, kActions * kActionDim / 2) << "seed 8 gave nearly seed 7's actions";
}

TEST_F(XvlaRunCli, NoiseFileReplacesTheSeed) {
  std::vector<double> noise(kActions * kActionDim);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = 0.01 * static_cast<double>(i % 17) - 0.08;
  WriteNpy(scratch_ / "x1.npy", {kActions, kActionDim}, noise);
  WriteNpy(scratch_ / "x1_f64_batched.npy", {1, kActions, kActionDim}, noise, /*f64=*/true);
  const auto a = ActionsOf(Run({{"--noise", (scratch_ / "x1.npy").string()}, {"--json", "<flag>"}}));
  const auto b = ActionsOf(Run({{"--noise", (scratch_ / "x1.npy").string()}, {"--seed", "5"},
                                {"--json", "<flag>"}}));
  // [1, A, D] f64 holds the same f32 values (each was rounded from the same double).
  const auto c = ActionsOf(Run({{"--noise", (scratch_ / "x1_f64_batched.npy").string()},
                                {"--json", "<flag>"}}));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "--noise must override --seed";
  EXPECT_EQ(a, c);
}

// ---- images ------------------------------------------------------------------------

TEST_F(XvlaRunCli, MissingImageFile) {
  const std::string path = (scratch_ / "no_such_view.png").string();
  ExpectInputError(Run({{"--image0", path}}), {"no_such_view.png"});
}

TEST_F(XvlaRunCli, UndecodableImageFile) {
  const std::filesystem::path fake = scratch_ / "notes.png";
  WriteText(fake, "this is a text file, not a PNG\n");
  ExpectInputError(Run({{"--image1", fake.string()}}), {"notes.png"});
}

TEST_F(XvlaRunCli, EmptyImageFile) {
  const std::filesystem::path empty = scratch_ / "empty.png";
  WriteText(empty, "");
  ExpectInputError(Run({{"--image0", empty.string()}}), {"empty.png"});
}

TEST_F(XvlaRunCli, NoImage) {
  ExpectInputError(Run({{"--image0", "<drop>"}, {"--image1", "<drop>"}}),
                   {"--image0", "expected at least one image", "got none"});
}

TEST_F(XvlaRunCli, Image2WithoutImage1) {
  ExpectInputError(Run({{"--image1", "<drop>"}, {"--image2", image1_}}), {"--image2", "--image1"});
}

// ---- proprio -----------------------------------------------------------------------

TEST_F(XvlaRunCli, ProprioWrongLength) {
  ExpectInputError(Run({{"--proprio", Proprio(kProprio - 1)}}),
                   {"proprio", "expected 20 values", "got 19"});
  ExpectInputError(Run({{"--proprio", Proprio(kProprio + 1)}}),
                   {"proprio", "expected 20 values", "got 21"});
}

TEST_F(XvlaRunCli, ProprioMissing) {
  ExpectInputError(Run({{"--proprio", "<drop>"}}), {"proprio", "expected 20 values", "got 0"});
}

TEST_F(XvlaRunCli, ProprioNotFinite) {
  ExpectInputError(Run({{"--proprio", "nan," + Proprio(kProprio - 1)}}),
                   {"--proprio", "element 0", "expected a finite number", "'nan'"});
  ExpectInputError(Run({{"--proprio", Proprio(5) + ",inf," + Proprio(kProprio - 6)}}),
                   {"--proprio", "element 5", "expected a finite number", "'inf'"});
  ExpectInputError(Run({{"--proprio", Proprio(3) + ",-1e999," + Proprio(kProprio - 4)}}),
                   {"--proprio", "element 3", "'-1e999'"});
}

TEST_F(XvlaRunCli, ProprioGarbage) {
  ExpectInputError(Run({{"--proprio", "1,2,x"}}),
                   {"--proprio", "element 2", "expected a finite number", "'x'"});
  ExpectInputError(Run({{"--proprio", "1,,2"}}), {"--proprio", "element 1", "got ''"});
  ExpectInputError(Run({{"--proprio", "1,2,"}}), {"--proprio", "element 2", "got ''"});
  ExpectInputError(Run({{"--proprio", "0.5x,1"}}), {"--proprio", "element 0", "'0.5x'"});
}

// ---- domain id ---------------------------------------------------------------------

TEST_F(XvlaRunCli, DomainIdOutOfRange) {
  ExpectInputError(Run({{"--domain-id", "99"}}), {"domain_id", "expected 0..29", "30 domains", "got 99"});
  ExpectInputError(Run({{"--domain-id", std::to_string(kNumDomains)}}), {"domain_id", "got 30"});
}

TEST_F(XvlaRunCli, DomainIdNegative) {
  ExpectInputError(Run({{"--domain-id", "-1"}}), {"domain_id", "expected 0..29", "got -1"});
  ExpectInputError(Run({{"--domain-id", "-7"}}), {"domain_id", "expected 0..29", "got -7"});
}

TEST_F(XvlaRunCli, DomainIdMissing) {
  ExpectInputError(Run({{"--domain-id", "<drop>"}}), {"domain_id", "got none"});
}

// ---- prompt ------------------------------------------------------------------------

// The reference call tokenizer([""], padding="max_length", max_length=50,
// truncation=True) gives [0, 2, 1, 1, ...]: <s> </s> and padding, a valid input.
TEST_F(XvlaRunCli, EmptyPromptRuns) {
  const ProcessResult r = Run({{"--prompt", ""}});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_EQ(r.err.find("notice"), std::string::npos) << r.err;
  const ProcessResult absent = Run({{"--prompt", "<drop>"}});
  ASSERT_TRUE(absent.exited && absent.exit_code == 0) << absent.Describe();
}

TEST_F(XvlaRunCli, OverLongPromptIsTruncatedWithANotice) {
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "pick up the black bowl and place it on the plate ";
  const ProcessResult r = Run({{"--prompt", prompt}, {"--json", "<flag>"}});
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.Describe();
  EXPECT_NE(r.err.find("vlart run: notice: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("longer than 50 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_FALSE(ActionsOf(r).empty());
}

// ---- usage errors (CLI11's parse): exit 2, apps/vlart/commands.h --------------------

TEST_F(XvlaRunCli, UsageErrorsExitWithStatus2) {
  for (const auto& [flag, value, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--steps", "0", "--steps"},
           {"--domain-id", "three", "--domain-id"},
           {"--seed", "-3x", "--seed"},
           {"--no-such-flag", "1", "no-such-flag"}}) {
    const ProcessResult r = Run({{flag, value}});
    ASSERT_TRUE(r.exited) << r.Describe();
    EXPECT_EQ(r.exit_code, 2) << flag << " " << value << ": " << r.Describe();
    EXPECT_NE(r.err.find(says), std::string::npos) << r.Describe();
  }
  const ProcessResult twice = Vlart({"run", "--model", ckpt_.string(), "--image0", image0_,
                                     "--image0", image1_});
  ASSERT_TRUE(twice.exited) << twice.Describe();
  EXPECT_EQ(twice.exit_code, 2) << twice.Describe();
  const ProcessResult help = Vlart({"run", "--help"});
  ASSERT_TRUE(help.exited) << help.Describe();
  EXPECT_EQ(help.exit_code, 0) << help.Describe();
  EXPECT_NE(help.out.find("--tuning-cache"), std::string::npos) << help.Describe();
}

// The tuning cache is a CUDA matter: on the CPU any value (a path, none) runs the same and
// writes nothing.
TEST_F(XvlaRunCli, TuningCacheFlagIsHarmlessOnTheCpu) {
  const std::filesystem::path cache = scratch_ / "cache" / "tuning.txt";
  const auto a = ActionsOf(Run({{"--seed", "7"}, {"--json", "<flag>"}, {"--tuning-cache", cache.string()}}));
  const auto b = ActionsOf(Run({{"--seed", "7"}, {"--json", "<flag>"}, {"--tuning-cache", "none"}}));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(std::filesystem::exists(cache.parent_path())) << "the CPU backend has nothing to cache";
}

// ---- checkpoint folder -------------------------------------------------------------

TEST_F(XvlaRunCli, CheckpointFolderMissing) {
  ExpectInputError(Run({{"--model", (scratch_ / "nowhere").string()}}), {"nowhere", "not a folder"});
}

TEST_F(XvlaRunCli, MissingTensor) {
  RewriteWeights([](std::vector<std::pair<std::string, Tensor>>* v) {
    std::erase_if(*v, [](const auto& p) { return p.first == kProbeTensor; });
  });
  ExpectInputError(Run(), {kProbeTensor, "expected [96]", "missing"});
}

TEST_F(XvlaRunCli, MismatchedTensorShape) {
  RewriteWeights([](std::vector<std::pair<std::string, Tensor>>* v) {
    for (auto& [name, t] : *v) {
      if (name == kProbeTensor) t = t.Slice(0, 0, kProbeWidth - 1);
    }
  });
  ExpectInputError(Run(), {kProbeTensor, "expected [96]", "got [95]"});
}

TEST_F(XvlaRunCli, TruncatedSafetensors) {
  const std::filesystem::path file = ckpt_ / "model.safetensors";
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  ExpectInputError(Run(), {"model.safetensors"});
}

TEST_F(XvlaRunCli, MissingPreprocessorConfig) {
  std::filesystem::remove(ckpt_ / "preprocessor_config.json");
  ExpectInputError(Run(), {"preprocessor_config.json", "missing"});
}

TEST_F(XvlaRunCli, MissingTokenizer) {
  std::filesystem::remove(ckpt_ / "tokenizer.json");
  ExpectInputError(Run(), {"tokenizer.json"});
}

TEST_F(XvlaRunCli, CorruptConfigJson) {
  const std::filesystem::path cfg = ckpt_ / "config.json";
  std::ifstream in(cfg);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WriteText(cfg, text.substr(0, text.size() / 2));  // cut in the middle of the JSON
  ExpectInputError(Run(), {"config.json"});
}

TEST_F(XvlaRunCli, ConfigJsonWithWrongFieldType) {
  const std::filesystem::path cfg = ckpt_ / "config.json";
  std::ifstream in(cfg);
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(in);
  j["depth"] = "two";
  WriteText(cfg, j.dump(2));
  ExpectInputError(Run(), {"config.json", "depth", "expected", "string"});
}

TEST_F(XvlaRunCli, ConfigJsonMissing) {
  std::filesystem::remove(ckpt_ / "config.json");
  ExpectInputError(Run(), {"config.json"});
}

// ---- noise file --------------------------------------------------------------------

TEST_F(XvlaRunCli, NoiseWrongShape) {
  WriteNpy(scratch_ / "x1.npy", {kActions, kActionDim - 1},
           std::vector<double>(kActions * (kActionDim - 1), 0.0));
  ExpectInputError(Run({{"--noise", (scratch_ / "x1.npy").string()}}),
                   {"noise", "expected F32[1, 30, 20]", "got F32[1, 30, 19]"});
  WriteNpy(scratch_ / "x1_3d.npy", {2, kActions, kActionDim},
           std::vector<double>(2 * kActions * kActionDim, 0.0));
  ExpectInputError(Run({{"--noise", (scratch_ / "x1_3d.npy").string()}}),
                   {"noise", "expected F32[1, 30, 20]", "got F32[2, 30, 20]"});
}

TEST_F(XvlaRunCli, NoiseNotFinite) {
  std::vector<double> noise(kActions * kActionDim, 0.0);
  noise[41] = std::nan("");
  WriteNpy(scratch_ / "x1.npy", {kActions, kActionDim}, noise);
  ExpectInputError(Run({{"--noise", (scratch_ / "x1.npy").string()}}),
                   {"noise", "expected finite values", "index 41"});
}

TEST_F(XvlaRunCli, NoiseNotAnNpyFile) {
  WriteText(scratch_ / "x1.npy", "0.1, 0.2, 0.3\n");
  ExpectInputError(Run({{"--noise", (scratch_ / "x1.npy").string()}}), {"x1.npy"});
  ExpectInputError(Run({{"--noise", (scratch_ / "absent.npy").string()}}), {"absent.npy"});
}

}  // namespace
}  // namespace vlart
