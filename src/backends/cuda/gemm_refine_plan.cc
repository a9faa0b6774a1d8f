// SPDX-License-Identifier: Apache-2.0
//
// gemm_refine_plan.cc: see gemm_refine_plan.h.

#include "backends/cuda/gemm_refine_plan.h"

#include <algorithm>

namespace vlart::cuda {

std::vector<GemmMmaConfig> GemmRefineTrials(const std::vector<GemmRefineCandidate>& others,
                                            float cost_us, const GemmRefinePolicy& policy) {
  std::vector<GemmMmaConfig> trials;
  if (cost_us < policy.min_us) return trials;
  const bool heavy = cost_us >= policy.heavy_us;
  const float window = heavy ? std::max(policy.near_tie, policy.heavy_window) : policy.near_tie;
  const int max_trials = heavy ? std::max(policy.max_near_ties, policy.max_heavy) : policy.max_near_ties;
  for (const GemmRefineCandidate& c : others) {
    if (static_cast<int>(trials.size()) >= max_trials) break;
    if (c.ratio > 1.0f + window) continue;  // `others` is sorted; continue keeps it robust if not
    if (std::find(trials.begin(), trials.end(), c.config) != trials.end()) continue;
    trials.push_back(c.config);
  }
  return trials;
}

}  // namespace vlart::cuda
