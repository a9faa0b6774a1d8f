// SPDX-License-Identifier: Apache-2.0
//
// policy.h: vlart's public API: load a policy from its checkpoint folder and act.
//
//   auto policy = vlart::Policy::Load("X-VLA-Libero", {.device = "cuda"});
//   vlart::Observation obs{.images = {agentview, wrist}, .prompt = "open the drawer",
//                          .state = proprio, .domain_id = 3};
//   auto chunk = (*policy)->Act(obs);            // chunk->actions: F32 [A, D]
//
// Act never throws and never aborts on bad input: every problem with an observation is
// a Status naming the field. Batches (several robots) go through ActBatch as one forward.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/host_tensor.h"
#include "core/status.h"
#include "image/image.h"

namespace vlart {

class Backend;

struct PolicyOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  std::string precision;       // "f32" | "bf16" | "f16"; empty: the device's default
  bool cuda_graphs = true;     // replay each input shape's whole call as one CUDA graph
  int profile_ops = 0;         // > 0: time every op of the call (up to this many) in place
  std::string tokenizer;       // pi0/pi0.5: the PaliGemma SentencePiece model; empty: looked
                               // up (DIR/tokenizer.model, then openpi's download cache)
  // CUDA: a file of the kernel tuners' settled picks (GEMM algorithms, fused-op forms). Read
  // at load when it was written on the same GPU by the same build, so the process skips the
  // tuning (seconds) and runs the same kernels as the one that wrote it; written (created,
  // with its folder) after each recording. Empty: tune afresh in every process. The vlart
  // CLI defaults to DefaultTuningCache(); VLART_GEMM_TUNING_FILE overrides either.
  std::string tuning_cache;
};

// $VLART_CACHE_DIR/tuning.txt, else $XDG_CACHE_HOME/vlart/tuning.txt, else
// $HOME/.cache/vlart/tuning.txt; empty when none of them is set.
std::string DefaultTuningCache();

// One robot's observation. Which fields a model reads: X-VLA uses images (1..3 views,
// slot order image0, image1, image2), prompt, state (proprio, 20 for ee6d) and
// domain_id; pi0/pi0.5 use images (exactly 2: base, wrist), prompt and state (the raw
// LIBERO robot state, 8 values) and ignore domain_id.
struct Observation {
  std::vector<Image> images;
  std::string prompt;
  std::vector<double> state;
  std::optional<int> domain_id;
};

// Where the time of one call went. Stage times come from timestamps on the backend's
// stream (device time on CUDA, host time on the CPU); total_ms is host wall clock from
// entering Act to having the actions on the host: what a robot sees.
struct CallTimings {
  double preprocess_ms = 0;  // host: image resize/normalise, tokenisation, noise
  double upload_ms = 0;      // host -> device copies of the inputs
  std::vector<std::pair<std::string, double>> stages;  // e.g. vision, encoder, policy, post
  double download_ms = 0;    // device -> host (waits for the device to finish)
  double total_ms = 0;
};

struct ActOptions {
  int steps = 0;                      // denoising steps; 0: the model's default (10)
  uint64_t seed = 0;                  // initial noise from vlart's generator
  const HostTensor* noise = nullptr;  // or exactly this noise, F32 [B, A, D_model]
  CallTimings* timings = nullptr;     // filled when given
  std::vector<std::string>* notices = nullptr;  // e.g. "the prompt was truncated"
};

struct ActionChunk {
  HostTensor actions;  // F32 [A, D]: the model's chunk after its output transforms
};

class Policy {
 public:
  virtual ~Policy() = default;

  // Reads config.json to find the model type and loads it onto the requested device.
  static Result<std::unique_ptr<Policy>> Load(const std::filesystem::path& dir,
                                              const PolicyOptions& options = {});

  virtual std::string model_type() const = 0;     // "xvla", "pi0", "pi05"
  virtual std::string description() const = 0;   // one line: architecture, device, dtype
  virtual Backend& backend() = 0;

  virtual Result<std::vector<ActionChunk>> ActBatch(std::span<const Observation> batch,
                                                    const ActOptions& options = {}) = 0;
  // With PolicyOptions::profile_ops: a table of where the last call's time went, per op
  // kind and per op shape (markdown). An error when profiling is off.
  virtual Result<std::string> ProfileReport() const = 0;
  Result<ActionChunk> Act(const Observation& obs, const ActOptions& options = {});
};

}  // namespace vlart
