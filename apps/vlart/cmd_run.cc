// SPDX-License-Identifier: Apache-2.0
//
// cmd_run.cc: `vlart run`: one observation in, one action chunk out.
//
//   vlart run --model DIR --image0 a.png [--image1 b.png] [--image2 c.png]
//             --prompt "open the drawer" --proprio v1,...,v20 --domain-id 3   (X-VLA)
//   vlart run --model DIR --image0 base.png --image1 wrist.png
//             --prompt "put the bowl on the plate" --state v1,...,v8          (pi0, pi0.5)
//             [--tokenizer tokenizer.model]
//   common:   [--steps 10] [--seed S | --noise x1.npy] [--device cpu|cuda] [--json]
//
// Prints the chunk (X-VLA: 30 x 20 after the sigmoid on the grippers; pi0: 50 x 7 and
// pi0.5: 10 x 7 LIBERO actions after openpi's output transforms) and where the time
// went. The same seed gives the same actions. Notices (e.g. openpi's prompt-truncation
// warning) go to stderr and, with --json, into "notices".

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_util.h"
#include "commands.h"
#include "image/decode.h"
#include "io/npy.h"
#include "vlart/policy.h"

namespace vlart::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string image0, image1, image2;
  std::string prompt;
  std::string proprio;
  std::string state;
  int domain_id = 0;
  bool domain_id_given = false;  // any value, negative ones included, goes to the model
  int steps = 10;
  uint64_t seed = 0;
  std::string noise;
  std::string device = "cpu";
  std::string precision;
  std::string tokenizer;
  bool no_graphs = false;
  bool json = false;
  std::string tuning_cache;
};

int Run(const RunArgs& a) {
  Observation obs;
  for (const std::string* path : {&a.image0, &a.image1, &a.image2}) {
    if (path->empty()) continue;
    auto img = DecodeImageFile(*path);
    if (!img.ok()) return Fail("run", img.status());
    obs.images.push_back(std::move(img).value());
  }
  if (obs.images.empty()) {
    return Fail("run", InvalidArgument("--image0: expected at least one image file, got none"));
  }
  if (!a.image2.empty() && a.image1.empty()) {
    return Fail("run", InvalidArgument("--image2 given without --image1: views fill slots in order"));
  }
  obs.prompt = a.prompt;
  if (!a.proprio.empty() && !a.state.empty()) {
    return Fail("run", InvalidArgument("--proprio and --state: give one (X-VLA: --proprio, pi0: --state)"));
  }
  const std::string& state_text = a.proprio.empty() ? a.state : a.proprio;
  if (!state_text.empty()) {
    auto v = ParseNumberList(state_text, a.proprio.empty() ? "--state" : "--proprio");
    if (!v.ok()) return Fail("run", v.status());
    obs.state = std::move(v).value();
  }
  if (a.domain_id_given) obs.domain_id = a.domain_id;

  std::optional<HostTensor> noise;
  if (!a.noise.empty()) {
    auto n = ReadNpyF32(a.noise);
    if (!n.ok()) return Fail("run", n.status());
    HostTensor t = std::move(n).value();
    if (t.shape().size() == 2) t = HostTensor::CopyOf(t.view().Unsqueeze(0));
    noise = std::move(t);
  }

  PolicyOptions po;
  po.device = a.device;
  po.precision = a.precision;
  po.cuda_graphs = !a.no_graphs;
  po.tuning_cache = TuningCachePath(a.tuning_cache);
  po.tokenizer = a.tokenizer;
  auto policy = Policy::Load(a.model, po);
  if (!policy.ok()) return Fail("run", policy.status());

  CallTimings timings;
  std::vector<std::string> notices;
  ActOptions ao;
  ao.steps = a.steps;
  ao.seed = a.seed;
  ao.noise = noise ? &*noise : nullptr;
  ao.timings = &timings;
  ao.notices = &notices;
  auto chunk = (*policy)->Act(obs, ao);
  if (!chunk.ok()) return Fail("run", chunk.status());
  for (const std::string& n : notices) std::fprintf(stderr, "vlart run: notice: %s\n", n.c_str());

  const HostTensor& act = chunk->actions;
  if (a.json) {
    const std::string notes = nlohmann::json(notices).dump();
    std::printf("{\n  \"model\": \"%s\",\n  \"shape\": [%lld, %lld],\n  \"actions\": %s,\n"
                "  \"timings\": %s,\n  \"notices\": %s\n}\n",
                (*policy)->model_type().c_str(), static_cast<long long>(act.shape()[0]),
                static_cast<long long>(act.shape()[1]), ActionsJson(act).c_str(),
                TimingsJson(timings).c_str(), notes.c_str());
    return 0;
  }
  std::printf("%s\n", (*policy)->description().c_str());
  std::printf("actions %s (rows = future steps):\n", act.shape().ToString().c_str());
  const int64_t rows = act.shape()[0], cols = act.shape()[1];
  for (int64_t i = 0; i < rows; ++i) {
    std::string line = fmt::format("{:3d}:", i);
    for (int64_t j = 0; j < cols; ++j) line += fmt::format(" {:8.4f}", act.data<float>()[i * cols + j]);
    std::printf("%s\n", line.c_str());
  }
  std::printf("time: %s\n", TimingsLine(timings).c_str());
  return 0;
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand("run", "Run a policy on one observation and print the action chunk");
  sub->add_option("--model", args->model, "Checkpoint folder (config.json, model.safetensors, ...)")->required();
  sub->add_option("--image0", args->image0, "First view (X-VLA: main view, goes through the encoder; pi0: base camera)");
  sub->add_option("--image1", args->image1, "Second view (X-VLA: e.g. the wrist camera; pi0: wrist camera)");
  sub->add_option("--image2", args->image2, "Third view");
  sub->add_option("--prompt", args->prompt, "The language instruction");
  sub->add_option("--proprio", args->proprio, "X-VLA proprio, comma-separated (ee6d: 20 values)");
  sub->add_option("--state", args->state, "pi0/pi0.5 raw robot state, comma-separated (LIBERO: 8 values)");
  sub->add_option("--tokenizer", args->tokenizer,
                  "pi0/pi0.5: the PaliGemma tokenizer.model (default: DIR/tokenizer.model, then "
                  "openpi's download cache)");
  CLI::Option* domain_id =
      sub->add_option("--domain-id", args->domain_id, "X-VLA embodiment id (LIBERO: 3)");
  sub->add_option("--steps", args->steps, "Denoising steps")->check(CLI::Range(1, 1000));
  sub->add_option("--seed", args->seed, "Seed of the initial noise (vlart's generator)");
  sub->add_option("--noise", args->noise,
                  "Initial noise as .npy [A, D] or [1, A, D] (overrides --seed; pi0: [H, 32])");
  sub->add_option("--device", args->device, "cpu, cuda or cuda:N");
  sub->add_option("--precision", args->precision, "f32, bf16 or f16 (default: f32 on cpu, bf16 on cuda)");
  sub->add_flag("--no-graphs", args->no_graphs, "Do not replay the call as a CUDA graph");
  AddTuningCacheOption(sub, &args->tuning_cache);
  sub->add_flag("--json", args->json, "Print JSON ({\"actions\": [[...]], \"timings\": {...}})");
  sub->callback([args, exit_code, domain_id] {
    args->domain_id_given = domain_id->count() > 0;
    *exit_code = Run(*args);
  });
}

}  // namespace vlart::cli
