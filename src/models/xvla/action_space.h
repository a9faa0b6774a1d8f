// SPDX-License-Identifier: Apache-2.0
//
// action_space.h: X-VLA's action spaces (official models/action_hub.py).
//
// An action space fixes the action width, which channels are zeroed before the
// policy sees them (grippers, in both the noisy actions and the proprio), which
// channels get a sigmoid after the last step, and how many leading channels are
// returned. The policy itself never changes with the space.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace vlart::xvla {

struct ActionSpace {
  std::string name = "ee6d";
  int dim_action = 20;                      // model-facing width
  std::vector<int> zeroed_channels{9, 19};  // preprocess: set to 0 in x_t and proprio
  std::vector<int> sigmoid_channels{9, 19}; // postprocess: sigmoid
  int output_dim = 20;                      // postprocess: keep [:output_dim]
};

// "ee6d" (20, grippers 9/19), "joint" (14, grippers 6/13), "agibot_ee6d" (20, no
// pre/post), "auto" (max_action_dim wide, nothing zeroed, output trimmed to
// real_action_dim). Unknown names are an error.
Result<ActionSpace> MakeActionSpace(const std::string& action_mode, int max_action_dim,
                                    int real_action_dim);

}  // namespace vlart::xvla
