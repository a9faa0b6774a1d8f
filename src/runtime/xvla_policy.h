// SPDX-License-Identifier: Apache-2.0
//
// xvla_policy.h: the Policy for X-VLA checkpoints: processor + model + replay.
//
// Each input shape (batch, present views, steps) gets one plan in the model and, when
// the backend supports it, one recorded whole-call graph (DaViT, BART, all denoising
// steps, postprocess) replayed on every later call of that shape. Stage timestamps are
// recorded inside the graph.
#pragma once

#include <filesystem>
#include <map>
#include <memory>

#include "models/common/checkpoint_source.h"
#include "models/xvla/xvla_model.h"
#include "models/xvla/xvla_processor.h"
#include "ops/backend.h"
#include "runtime/staged_forward.h"
#include "vlart/policy.h"

namespace vlart {

class XvlaPolicy final : public Policy {
 public:
  static Result<std::unique_ptr<Policy>> Load(const std::filesystem::path& dir,
                                              const PolicyOptions& options);
  ~XvlaPolicy() override;

  std::string model_type() const override { return "xvla"; }
  std::string description() const override;
  Backend& backend() override { return *backend_; }
  Result<std::vector<ActionChunk>> ActBatch(std::span<const Observation> batch,
                                            const ActOptions& options) override;

  Result<std::string> ProfileReport() const override;

  xvla::XvlaModel& model() { return *model_; }

 private:
  XvlaPolicy() = default;
  // The plan's forward with its stage clock (and graph), made on first use.
  Result<StagedForward*> ForwardFor(xvla::XvlaModel::Plan* plan);

  PolicyOptions options_;
  std::unique_ptr<Backend> backend_;
  class ProfilingBackend* profiler_ = nullptr;  // == backend_ when profiling
  std::unique_ptr<CheckpointSource> source_;
  std::unique_ptr<xvla::XvlaModel> model_;
  std::unique_ptr<xvla::XvlaProcessor> processor_;
  xvla::XvlaInputs inputs_;  // the last call's host inputs; their buffers are reused
  std::map<const xvla::XvlaModel::Plan*, std::unique_ptr<StagedForward>> forwards_;
};

}  // namespace vlart
