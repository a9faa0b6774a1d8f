// SPDX-License-Identifier: Apache-2.0
//
// inspect_test.cc: `vlart inspect` through its CLI11 command (apps/vlart/cmd_inspect.cc
// is compiled into this test), with a toy weight-spec provider registered, so the
// provider paths (usable, unusable, provider error, unknown model type) are exercised.

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "io/json_config.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "runtime/model_registry.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::FillFixture;
using testing::WriteFileBytes;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunInspect(std::vector<std::string> args) {
  CLI::App app{"vlart"};
  int exit_code = -1;
  cli::AddInspectCommand(app, &exit_code);
  args.insert(args.begin(), "inspect");
  std::reverse(args.begin(), args.end());  // CLI11's vector parse takes arguments in reverse
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  app.parse(args);
  RunResult r;
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  r.exit_code = exit_code;
  return r;
}

// A folder with config.json {"model_type": type, "width": width} and two tensors.
std::filesystem::path MakeFolder(const std::string& type, int width) {
  const std::filesystem::path dir = testing::ScratchDir();
  HostTensor w = FillFixture(DType::kF32, {4, 8});
  HostTensor b = FillFixture(DType::kF32, {4});
  EXPECT_TRUE(WriteSafetensors(dir / "model.safetensors", {{"w", w.view()}, {"b", b.view()}}).ok());
  WriteFileBytes(dir / "config.json",
                 fmt::format(R"({{"model_type": "{}", "width": {}}})", type, width));
  return dir;
}

// The toy model reads w [4, width] (from config.json) and an optional b [4].
void RegisterToyOnce() {
  static const bool registered = [] {
    RegisterWeightSpecProvider(
        "toy_inspect", [](const std::filesystem::path& dir) -> Result<std::vector<WeightSpec>> {
          VLART_ASSIGN_OR_RETURN(JsonDocument config, ReadJsonFile(dir / "config.json"));
          VLART_ASSIGN_OR_RETURN(int64_t width, GetInt(config, "width"));
          return std::vector<WeightSpec>{{"w", {4, width}, true}, {"b", {4}, false}};
        });
    return true;
  }();
  (void)registered;
}

TEST(Inspect, UsableWithProvider) {
  RegisterToyOnce();
  ASSERT_NE(FindWeightSpecProvider("toy_inspect"), nullptr);
  const RunResult r = RunInspect({MakeFolder("toy_inspect", 8).string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("config.json: model_type 'toy_inspect'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("weights: 2 of 2 expected tensors match"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("weights: usable"), std::string::npos) << r.out;
}

TEST(Inspect, MismatchExitsOne) {
  RegisterToyOnce();
  const std::filesystem::path dir = MakeFolder("toy_inspect", 9);
  const RunResult r = RunInspect({dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("tensor 'w': expected [4, 9], got [4, 8] (model.safetensors)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("vlart inspect: checkpoint weights do not match the model"),
            std::string::npos)
      << r.err;
  const RunResult j = RunInspect({"--json", dir.string()});
  EXPECT_EQ(j.exit_code, 1);
  const nlohmann::json out = nlohmann::json::parse(j.out);
  EXPECT_FALSE(out["ok"].get<bool>());
  EXPECT_EQ(out["weights"]["shape_mismatches"][0]["got"], nlohmann::json({4, 8}));
  EXPECT_EQ(out["tensor_count"], 2);
}

TEST(Inspect, ProviderErrorExitsOne) {
  RegisterToyOnce();
  const std::filesystem::path dir = MakeFolder("toy_inspect", 8);
  WriteFileBytes(dir / "config.json", R"({"model_type": "toy_inspect"})");  // no width
  const RunResult r = RunInspect({dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("field 'width': expected integer, got nothing"), std::string::npos) << r.err;
}

TEST(Inspect, UnknownModelTypeIsFine) {
  const RunResult r = RunInspect({MakeFolder("mystery", 8).string(), "--no-table"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no model spec is known for model_type 'mystery'"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("tensors:\n"), std::string::npos) << r.out;
}

TEST(Inspect, BadConfigExitsOne) {
  const std::filesystem::path dir = MakeFolder("mystery", 8);
  WriteFileBytes(dir / "config.json", R"({"model_type": 3})");
  const RunResult r = RunInspect({dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config.json: field 'model_type': expected string, got integer"),
            std::string::npos)
      << r.err;
}

TEST(Inspect, CorruptFileExitsOneWithJsonError) {
  const RunResult r =
      RunInspect({"--json", testing::TestDataPath("io/corrupt/trailing_bytes").string()});
  EXPECT_EQ(r.exit_code, 1);
  const nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_FALSE(out["ok"].get<bool>());
  EXPECT_NE(out["error"].get<std::string>().find("data section"), std::string::npos);
}

}  // namespace
}  // namespace vlart
