// SPDX-License-Identifier: Apache-2.0
//
// action_space.cc: the registry of X-VLA action spaces (official models/action_hub.py).

#include "models/xvla/action_space.h"

#include <algorithm>
#include <cctype>

namespace vlart::xvla {

Result<ActionSpace> MakeActionSpace(const std::string& action_mode, int max_action_dim,
                                    int real_action_dim) {
  std::string mode = action_mode;
  std::transform(mode.begin(), mode.end(), mode.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  ActionSpace s;
  s.name = mode;
  if (mode == "ee6d") {
    s.dim_action = 20;
    s.zeroed_channels = {9, 19};
    s.sigmoid_channels = {9, 19};
    s.output_dim = 20;
  } else if (mode == "joint") {
    s.dim_action = 14;
    s.zeroed_channels = {6, 13};
    s.sigmoid_channels = {6, 13};
    s.output_dim = 14;
  } else if (mode == "agibot_ee6d") {
    s.dim_action = 20;
    s.zeroed_channels = {};
    s.sigmoid_channels = {};
    s.output_dim = 20;
  } else if (mode == "auto") {
    if (max_action_dim <= 0 || real_action_dim <= 0 || real_action_dim > max_action_dim) {
      return InvalidArgument(
          "config.json: action_mode 'auto': expected 0 < real_action_dim <= max_action_dim, got "
          "real_action_dim {} and max_action_dim {}",
          real_action_dim, max_action_dim);
    }
    s.dim_action = max_action_dim;
    s.zeroed_channels = {};
    s.sigmoid_channels = {};
    s.output_dim = real_action_dim;
  } else {
    return InvalidArgument(
        "config.json: field 'action_mode': expected one of ee6d, joint, agibot_ee6d, auto, got '{}'",
        action_mode);
  }
  return s;
}

}  // namespace vlart::xvla
