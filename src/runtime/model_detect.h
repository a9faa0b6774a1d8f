// SPDX-License-Identifier: Apache-2.0
//
// model_detect.h: which model a checkpoint folder holds, and the weight-spec providers
// of the built-in models (runtime/model_registry.h).
//
// config.json's `model_type` decides when it has one ("xvla"). openpi's converted pi0
// checkpoints have a config.json of five keys and no model type, and LeRobot's name the
// policy under "type" ("pi0", "pi05"); both are recognised by their weights instead:
// action_in_proj.weight (optionally under LeRobot's "model.") and the PaliGemma tower,
// with pi0.5 told apart by time_mlp_in.weight (as src/models/pi0/pi0_config.h does).
#pragma once

#include <filesystem>
#include <string>

#include "core/status.h"

namespace vlart {

struct DetectedModel {
  std::string type;  // "xvla", "pi0", "pi05", or another config.json model_type
  std::string how;   // "config.json model_type", "weight keys", ... (for messages)
};

// Reads `dir`/config.json (optional for pi0 folders) and, when it names no model type,
// the checkpoint's tensor names. NotFound when `dir` holds neither a model type nor a
// recognised set of weights.
Result<DetectedModel> DetectModelType(const std::filesystem::path& dir);

// Registers the weight-spec providers of the built-in models ("pi0", "pi05"). Safe to
// call any number of times, from any thread.
void RegisterBuiltinWeightSpecProviders();

}  // namespace vlart
