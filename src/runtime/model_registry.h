// SPDX-License-Identifier: Apache-2.0
//
// model_registry.h: which model types vlart knows, by config.json's `model_type`.
//
// For now it maps a model type to the provider of its weight specs (the tensors the
// model reads, with shapes derived from the folder's config), which `vlart inspect`
// uses to check a checkpoint. Model code registers its provider once at start-up;
// registering a type twice is a bug (checked).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "io/weight_spec.h"

namespace vlart {

// Reads what it needs from the checkpoint folder `dir` (config.json, ...) and lists
// every tensor the model reads. Errors (a bad config) are returned, not thrown.
using WeightSpecProvider =
    std::function<Result<std::vector<WeightSpec>>(const std::filesystem::path& dir)>;

void RegisterWeightSpecProvider(std::string model_type, WeightSpecProvider provider);
// nullptr when no provider is registered for `model_type`. The pointer stays valid.
const WeightSpecProvider* FindWeightSpecProvider(std::string_view model_type);
// Every registered model type, sorted (for "known types are ..." messages).
std::vector<std::string> RegisteredModelTypes();

}  // namespace vlart
