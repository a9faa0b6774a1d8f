// SPDX-License-Identifier: Apache-2.0
//
// policy.cc: Policy::Load dispatches on config.json's model type.

#include "vlart/policy.h"

#include "io/json_config.h"
#include "runtime/xvla_policy.h"

namespace vlart {

Result<std::unique_ptr<Policy>> Policy::Load(const std::filesystem::path& dir,
                                             const PolicyOptions& options) {
  if (!std::filesystem::is_directory(dir)) {
    return NotFound("policy: '{}' is not a folder; hint: pass the checkpoint folder that holds "
                    "config.json and model.safetensors", dir.string());
  }
  VLART_ASSIGN_OR_RETURN(const JsonDocument config, ReadJsonFile(dir / "config.json"));
  VLART_ASSIGN_OR_RETURN(const std::string model_type, GetString(config, "model_type", ""));
  if (model_type == "xvla") return XvlaPolicy::Load(dir, options);
  return Unimplemented(
      "policy: {}: model_type '{}' is not one vlart serves; expected xvla (pi0/pi0.5 support is "
      "being added)", (dir / "config.json").string(), model_type);
}

Result<ActionChunk> Policy::Act(const Observation& obs, const ActOptions& options) {
  VLART_ASSIGN_OR_RETURN(std::vector<ActionChunk> chunks,
                         ActBatch(std::span<const Observation>(&obs, 1), options));
  return std::move(chunks.front());
}

}  // namespace vlart
