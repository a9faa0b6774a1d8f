// SPDX-License-Identifier: Apache-2.0
//
// staged_forward.h: one model plan's forward as a policy runs it, shared by XvlaPolicy and
// Pi0Policy. A stage clock whose marks the model's stage hook sets (the model calls the hook
// with stage names; names not in `stages` are ignored), and on CUDA with graphs the whole
// forward recorded once and replayed on every call. Recording follows one eager call, so
// kernels that tune themselves per shape (the GEMM) tune outside the capture and the graph
// holds their choices; the marks are events recorded into the graph, so replays keep timing
// the stages. Stage times read the clock: call StageTimes() after the backend synchronised.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ops/backend.h"

namespace vlart {

class ProfilingBackend;

class StagedForward {
 public:
  using StageHook = std::function<void(std::string_view)>;
  // Installs a hook on the model (XvlaModel / Pi0Model::SetStageHook).
  using SetStageHook = std::function<void(StageHook)>;

  // stages: mark names in order; the last one only ends the stage before it (e.g. "end").
  // forward enqueues the plan's forward on `backend`. profiler (may be null) is `backend`
  // itself when ops are profiled: its op list restarts with every eager run and the graph.
  static Result<std::unique_ptr<StagedForward>> Create(Backend& backend, ProfilingBackend* profiler,
                                                       bool cuda_graphs,
                                                       std::span<const char* const> stages,
                                                       SetStageHook set_hook,
                                                       std::function<void()> forward);

  // Enqueues one forward: the graph's replay, or the hooked eager forward.
  void Run();
  bool recorded() const { return graph_ != nullptr; }
  // {stage, ms} of the last Run, one per stage (all names but the last).
  std::vector<std::pair<std::string, double>> StageTimes() const;

 private:
  StagedForward() = default;
  void HookClock();

  std::span<const char* const> stages_;
  SetStageHook set_hook_;
  std::function<void()> forward_;
  ProfilingBackend* profiler_ = nullptr;
  std::unique_ptr<StageClock> clock_;
  std::unique_ptr<RecordedWork> graph_;
};

}  // namespace vlart
