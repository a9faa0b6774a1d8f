// SPDX-License-Identifier: Apache-2.0
//
// pi0_policy.h: the Policy for openpi / LeRobot pi0 and pi0.5 checkpoint folders:
// LIBERO input transforms + model + output transforms + replay.
//
// A folder holds model.safetensors (openpi's converted keys; LeRobot's "model." prefix
// is stripped), config.json (openpi's five keys, or none), the norm stats in openpi's
// assets layout and, ideally, the PaliGemma tokenizer (openpi checkpoints do not carry
// it; FindPi0Tokenizer says where vlart looks). An Observation is one LIBERO request:
// images = [base camera, wrist camera] (uint8 RGB, any size: resized with openpi's
// client resize_with_pad; the third image slot is masked as openpi does), state = the
// raw 8-d robot state, prompt = the task. Actions come back as F32 [H, 7] (pi0: 50 x 7,
// pi0.5: 10 x 7) after openpi's output transforms (computed in float64, then rounded).
//
// Each input shape (batch, present views, prompt length after trimming, steps) gets one
// plan in the model and, when the backend supports it, one recorded whole-call graph
// (vision, prefix, all denoising steps, post) replayed on every later call of that shape.
// The first call of a shape runs eagerly (per-shape GEMM tuning happens there), then the
// graph is recorded; stage timestamps (vision, prefix, denoise, post) are recorded
// inside it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "models/common/checkpoint_source.h"
#include "models/pi0/pi0_model.h"
#include "models/pi0/pi0_transforms.h"
#include "ops/backend.h"
#include "text/sentencepiece_tokenizer.h"
#include "runtime/staged_forward.h"
#include "vlart/policy.h"

namespace vlart {

// Where the norm stats of a pi0 folder are: openpi's
// assets/physical-intelligence/libero/norm_stats.json, else the only norm_stats.json
// under assets/. NotFound (with the paths looked at) when there is none; InvalidArgument
// when there are several and none is LIBERO's.
Result<std::filesystem::path> FindPi0NormStats(const std::filesystem::path& dir);

// Which SentencePiece model a pi0 folder is tokenised with, in this order:
//   1. `explicit_path` (PolicyOptions::tokenizer, `--tokenizer`) when not empty;
//   2. DIR/tokenizer.model;
//   3. openpi's download cache: $OPENPI_DATA_HOME/big_vision/paligemma_tokenizer.model,
//      with OPENPI_DATA_HOME defaulting to ~/.cache/openpi (where openpi's
//      PaligemmaTokenizer downloads gs://big_vision/paligemma_tokenizer.model).
// NotFound naming every place looked at when none exists.
Result<std::filesystem::path> FindPi0Tokenizer(const std::filesystem::path& dir,
                                               const std::string& explicit_path);

class Pi0Policy final : public Policy {
 public:
  static Result<std::unique_ptr<Policy>> Load(const std::filesystem::path& dir,
                                              const PolicyOptions& options);
  ~Pi0Policy() override;

  std::string model_type() const override;  // "pi0" or "pi05"
  std::string description() const override;
  Backend& backend() override { return *backend_; }
  Result<std::vector<ActionChunk>> ActBatch(std::span<const Observation> batch,
                                            const ActOptions& options) override;
  Result<std::string> ProfileReport() const override;

  pi0::Pi0Model& model() { return *model_; }
  const pi0::Pi0Transforms& transforms() const { return *transforms_; }
  const std::filesystem::path& tokenizer_path() const { return tokenizer_path_; }
  const std::filesystem::path& norm_stats_path() const { return norm_stats_path_; }

 private:
  Pi0Policy() = default;
  // The plan's forward with its stage clock (and graph), made on first use.
  Result<StagedForward*> ForwardFor(pi0::Pi0Model::Plan* plan);

  PolicyOptions options_;
  std::unique_ptr<Backend> backend_;
  class ProfilingBackend* profiler_ = nullptr;  // == backend_ when profiling
  std::unique_ptr<CheckpointSource> source_;
  std::unique_ptr<pi0::Pi0Model> model_;
  std::optional<pi0::Pi0Transforms> transforms_;
  pi0::Pi0Prepared prepared_;  // the last call's host inputs; their buffers are reused
  std::optional<SentencePieceTokenizer> tokenizer_;
  pi0::PromptTokenizer prompt_tokenizer_;
  std::filesystem::path tokenizer_path_;
  std::filesystem::path norm_stats_path_;
  std::map<const pi0::Pi0Model::Plan*, std::unique_ptr<StagedForward>> forwards_;
};

}  // namespace vlart
