// SPDX-License-Identifier: Apache-2.0
//
// model_detect.cc: see the header.

#include "runtime/model_detect.h"

#include <mutex>

#include "io/checkpoint.h"
#include "io/json_config.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_weights.h"
#include "runtime/model_registry.h"

namespace vlart {
namespace {

namespace fs = std::filesystem;

// "pi0" / "pi05" when the checkpoint has pi0's tensors (bare or under "model."), else "".
std::string Pi0VariantByKeys(const Checkpoint& ckpt) {
  for (const char* prefix : {"", "model."}) {
    const std::string p = prefix;
    if (ckpt.Find(p + "action_in_proj.weight") == nullptr) continue;
    if (ckpt.Find(p + pi0::kVisionPrefix + "embeddings.patch_embedding.weight") == nullptr) continue;
    return ckpt.Find(p + "time_mlp_in.weight") != nullptr ? "pi05" : "pi0";
  }
  return "";
}

}  // namespace

Result<DetectedModel> DetectModelType(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound("policy: '{}' is not a folder; hint: pass the checkpoint folder that holds "
                    "config.json and model.safetensors", dir.string());
  }
  const fs::path config_path = dir / "config.json";
  std::string lerobot_type;
  if (fs::exists(config_path, ec)) {
    VLART_ASSIGN_OR_RETURN(const JsonDocument config, ReadJsonFile(config_path));
    VLART_ASSIGN_OR_RETURN(const std::string model_type, GetString(config, "model_type", ""));
    if (!model_type.empty()) return DetectedModel{model_type, "config.json model_type"};
    VLART_ASSIGN_OR_RETURN(lerobot_type, GetString(config, "type", ""));
  }
  VLART_ASSIGN_OR_RETURN(const std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(dir));
  const std::string variant = Pi0VariantByKeys(*ckpt);
  if (!variant.empty()) {
    if ((lerobot_type == "pi0" || lerobot_type == "pi05") && lerobot_type != variant) {
      return InvalidArgument(
          "policy: {}: field 'type': expected '{}' (the weights have {}), got '{}'",
          config_path.string(), variant,
          variant == "pi05" ? "time_mlp_in.weight" : "state_proj.weight", lerobot_type);
    }
    return DetectedModel{variant, "weight keys"};
  }
  return NotFound(
      "policy: '{}': model type: expected config.json with a model_type (X-VLA) or pi0/pi0.5 "
      "weights (action_in_proj.weight and the PaliGemma vision tower), got neither",
      dir.string());
}

void RegisterBuiltinWeightSpecProviders() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const char* type : {"pi0", "pi05"}) RegisterWeightSpecProvider(type, pi0::Pi0WeightSpecs);
  });
}

}  // namespace vlart
