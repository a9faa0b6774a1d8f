// SPDX-License-Identifier: Apache-2.0
//
// profile_report.h: turning per-op timings (ProfilingBackend) into a readable table:
// totals per op kind, then the most expensive (op, shape) pairs with their call counts.
#pragma once

#include <string>
#include <vector>

#include "runtime/profiling_backend.h"

namespace vlart {

std::string FormatProfile(const std::vector<OpTiming>& ops, int top = 25);

}  // namespace vlart
