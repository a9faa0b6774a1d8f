// SPDX-License-Identifier: Apache-2.0
//
// model_registry.cc: the registry, a mutex-guarded map (std::map: pointers stay valid).

#include "runtime/model_registry.h"

#include <map>
#include <mutex>
#include <utility>

#include "core/check.h"

namespace vlart {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, WeightSpecProvider, std::less<>> providers;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: safe at exit
  return *registry;
}

}  // namespace

void RegisterWeightSpecProvider(std::string model_type, WeightSpecProvider provider) {
  VLART_CHECK(static_cast<bool>(provider), "RegisterWeightSpecProvider('{}'): empty provider",
              model_type);
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  const bool inserted = r.providers.emplace(model_type, std::move(provider)).second;
  VLART_CHECK(inserted, "RegisterWeightSpecProvider: model type '{}' registered twice", model_type);
}

const WeightSpecProvider* FindWeightSpecProvider(std::string_view model_type) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  const auto it = r.providers.find(model_type);
  return it == r.providers.end() ? nullptr : &it->second;
}

std::vector<std::string> RegisteredModelTypes() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> types;
  for (const auto& [type, unused] : r.providers) types.push_back(type);
  return types;
}

}  // namespace vlart
