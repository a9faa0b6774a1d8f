// SPDX-License-Identifier: Apache-2.0
//
// cmd_demo.cc: `vlart demo`: the main job on the embedded default, no downloads.
//
// Writes a tiny random-weight checkpoint (make-synthetic --arch xvla|pi0|pi05 --size
// tiny) unless the folder already holds one, then runs the bundled LIBERO-style
// observation (an agent view and a wrist view of a table top, assets/demo/) through it
// with the official server's preprocessing, and prints the first rows of the chunk
// (X-VLA 30 x 20, pi0 50 x 7, pi0.5 10 x 7) and the stage times. The weights are random,
// so the actions are meaningless; the pipeline is the real one.

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli_util.h"
#include "commands.h"
#include "image/decode.h"
#include "runtime/synthetic_checkpoint.h"
#include "text/embedded_assets.h"
#include "vlart/policy.h"

namespace vlart::cli {
namespace {

struct DemoArgs {
  std::string arch = "xvla";
  std::string dir;  // default: build/demo-<arch>-tiny
  std::string device = "cpu";
  bool json = false;
  std::string tuning_cache;
};

Result<Image> EmbeddedImage(std::string_view name) {
  const std::span<const uint8_t> bytes = EmbeddedAsset(name);
  if (bytes.empty()) return Internal("demo: embedded image {} missing", name);
  return DecodeImageBytes(bytes, name);
}

int Demo(const DemoArgs& a) {
  const bool pi0 = a.arch == "pi0" || a.arch == "pi05";
  if (a.arch != "xvla" && !pi0) {
    return Fail("demo", InvalidArgument("--arch: expected xvla, pi0 or pi05, got '{}'", a.arch));
  }
  const std::filesystem::path dir = a.dir.empty() ? "build/demo-" + a.arch + "-tiny" : a.dir;
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    std::printf("demo: writing a tiny random-weight %s checkpoint to %s\n", a.arch.c_str(),
                dir.c_str());
    const Status s = WriteSyntheticCheckpoint({a.arch, "tiny", 0}, dir, {});
    if (!s.ok()) return Fail("demo", s);
  }
  PolicyOptions po;
  po.device = a.device;
  po.tuning_cache = TuningCachePath(a.tuning_cache);
  auto policy = Policy::Load(dir, po);
  if (!policy.ok()) return Fail("demo", policy.status());

  Observation obs;
  for (const char* name : {"demo/agentview.png", "demo/wrist.png"}) {
    auto img = EmbeddedImage(name);
    if (!img.ok()) return Fail("demo", img.status());
    obs.images.push_back(std::move(img).value());
  }
  obs.prompt = "put the black bowl on the plate";
  if (pi0) {
    // LIBERO's state: eef position, axis-angle, two gripper joints.
    obs.state = {0.05, -0.02, 1.10, 3.14, 0.0, 0.0, 0.04, -0.04};
  } else {
    // LIBERO's first query: [ee_pos, R[:, 0], R[:, 1], gripper 0, second arm zeros].
    obs.state = {0.05, -0.02, 1.10, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0,
                 0.0,  0.0,   0.0,  0.0, 0.0, 0.0, 0.0, 0.0,  0.0, 0.0};
    obs.domain_id = 3;
  }

  CallTimings timings;
  ActOptions ao;
  ao.steps = 10;
  ao.seed = 0;
  ao.timings = &timings;
  auto first = (*policy)->Act(obs, ao);  // first call: plans buffers (and records the graph)
  if (!first.ok()) return Fail("demo", first.status());
  auto chunk = (*policy)->Act(obs, ao);  // steady state
  if (!chunk.ok()) return Fail("demo", chunk.status());
  const HostTensor& act = chunk->actions;
  if (a.json) {
    std::printf("{\n  \"model\": \"%s\",\n  \"checkpoint\": \"%s\",\n  \"actions\": %s,\n  \"timings\": %s\n}\n",
                (*policy)->model_type().c_str(), dir.c_str(), ActionsJson(act).c_str(),
                TimingsJson(timings).c_str());
    return 0;
  }
  std::printf("%s\n", (*policy)->description().c_str());
  std::printf("observation: 2 views (agent view, wrist) 256x256 -> 224x224, \"%s\"%s\n",
              obs.prompt.c_str(), pi0 ? ", 8-d LIBERO state" : ", domain 3");
  std::printf("action chunk %s; first rows (%s):\n", act.shape().ToString().c_str(),
              pi0 ? "delta xyz, delta axis-angle, gripper" : "xyz, rot6d, gripper p");
  const int64_t cols = act.shape()[1];
  for (int64_t i = 0; i < 5; ++i) {
    std::string line = fmt::format("{:3d}:", i);
    for (int64_t j = 0; j < std::min<int64_t>(cols, 10); ++j) {
      line += fmt::format(" {:8.4f}", act.data<float>()[i * cols + j]);
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("time (second call): %s\n", TimingsLine(timings).c_str());
  std::printf("(random weights: the pipeline is real, the actions are not a trained policy)\n");
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* sub = app.add_subcommand(
      "demo", "Run a policy end to end on a generated tiny checkpoint and a bundled observation");
  sub->add_option("--arch", args->arch, "xvla, pi0 or pi05");
  sub->add_option("--dir", args->dir, "Where the generated checkpoint lives (default build/demo-<arch>-tiny)");
  sub->add_option("--device", args->device, "cpu, cuda or cuda:N");
  sub->add_flag("--json", args->json, "Print JSON");
  AddTuningCacheOption(sub, &args->tuning_cache);
  sub->callback([args, exit_code] { *exit_code = Demo(*args); });
}

}  // namespace vlart::cli
