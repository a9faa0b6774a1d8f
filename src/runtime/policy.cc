// SPDX-License-Identifier: Apache-2.0
//
// policy.cc: Policy::Load dispatches on the model type of the folder (model_detect.h):
// config.json's model_type for X-VLA, the weight keys for openpi / LeRobot pi0 and pi0.5;
// DefaultTuningCache, where the CLI keeps the kernel tuners' picks.

#include "vlart/policy.h"

#include <cstdlib>

#include "runtime/model_detect.h"
#include "runtime/pi0_policy.h"
#include "runtime/xvla_policy.h"

namespace vlart {

Result<std::unique_ptr<Policy>> Policy::Load(const std::filesystem::path& dir,
                                             const PolicyOptions& options) {
  VLART_ASSIGN_OR_RETURN(const DetectedModel model, DetectModelType(dir));
  if (model.type == "xvla") return XvlaPolicy::Load(dir, options);
  if (model.type == "pi0" || model.type == "pi05") return Pi0Policy::Load(dir, options);
  return Unimplemented(
      "policy: {}: model_type '{}' is not one vlart serves; expected xvla, or an openpi / LeRobot "
      "pi0 or pi0.5 checkpoint (recognised by its weights)",
      (dir / "config.json").string(), model.type);
}

std::string DefaultTuningCache() {
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && v[0] != '\0' ? std::filesystem::path(v) : std::filesystem::path();
  };
  if (const auto dir = env("VLART_CACHE_DIR"); !dir.empty()) return (dir / "tuning.txt").string();
  if (const auto dir = env("XDG_CACHE_HOME"); !dir.empty()) return (dir / "vlart" / "tuning.txt").string();
  if (const auto home = env("HOME"); !home.empty()) return (home / ".cache" / "vlart" / "tuning.txt").string();
  return "";
}

Result<ActionChunk> Policy::Act(const Observation& obs, const ActOptions& options) {
  VLART_ASSIGN_OR_RETURN(std::vector<ActionChunk> chunks,
                         ActBatch(std::span<const Observation>(&obs, 1), options));
  return std::move(chunks.front());
}

}  // namespace vlart
