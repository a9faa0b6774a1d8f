// SPDX-License-Identifier: Apache-2.0
//
// staged_forward.cc: StagedForward (see staged_forward.h).

#include "runtime/staged_forward.h"

#include "runtime/profiling_backend.h"

namespace vlart {

Result<std::unique_ptr<StagedForward>> StagedForward::Create(Backend& backend, ProfilingBackend* profiler,
                                                             bool cuda_graphs,
                                                             std::span<const char* const> stages,
                                                             SetStageHook set_hook,
                                                             std::function<void()> forward) {
  std::unique_ptr<StagedForward> f(new StagedForward());
  f->stages_ = stages;
  f->set_hook_ = std::move(set_hook);
  f->forward_ = std::move(forward);
  f->profiler_ = profiler;
  f->clock_ = backend.NewStageClock(static_cast<int>(stages.size()));
  f->HookClock();
  if (cuda_graphs && backend.device() == Device::kCuda) {
    f->forward_();  // the eager call that tunes, outside the capture
    backend.Synchronize();
    if (profiler != nullptr) profiler->ResetOps();  // marks restart with this graph
    VLART_ASSIGN_OR_RETURN(f->graph_, backend.Record(f->forward_));
  }
  return f;
}

void StagedForward::HookClock() {
  set_hook_([clock = clock_.get(), stages = stages_](std::string_view stage) {
    for (size_t i = 0; i < stages.size(); ++i) {
      if (stage == stages[i]) {
        clock->Mark(static_cast<int>(i));
        return;
      }
    }
  });
}

void StagedForward::Run() {
  if (graph_ != nullptr) {
    graph_->Replay();  // the marks were recorded into the graph
    return;
  }
  HookClock();  // another plan's forward may have hooked its own clock since
  if (profiler_ != nullptr) profiler_->ResetOps();
  forward_();
}

std::vector<std::pair<std::string, double>> StagedForward::StageTimes() const {
  std::vector<std::pair<std::string, double>> times;
  for (size_t i = 0; i + 1 < stages_.size(); ++i) {
    times.emplace_back(stages_[i], clock_->ElapsedMs(static_cast<int>(i), static_cast<int>(i) + 1));
  }
  return times;
}

}  // namespace vlart
