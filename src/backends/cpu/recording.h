// SPDX-License-Identifier: Apache-2.0
//
// recording.h: Backend::Record and StageClock for the CPU reference.
//
// The CPU backend executes ops as they are issued, so "recording" keeps the function
// and Replay() runs it again; the stage clock reads the host's steady clock (the ops
// before a mark have finished when Mark returns).
#pragma once

#include <memory>

#include "ops/backend.h"

namespace vlart::cpu {

std::unique_ptr<RecordedWork> RecordFunction(const std::function<void()>& enqueue);
std::unique_ptr<StageClock> NewHostStageClock(int num_marks);

}  // namespace vlart::cpu
