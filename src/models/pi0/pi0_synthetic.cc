// SPDX-License-Identifier: Apache-2.0
//
// pi0_synthetic.cc: random pi0 / pi0.5 weights and norm stats (see the header).

#include "models/pi0/pi0_synthetic.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/rng.h"
#include "models/common/weights.h"
#include "models/pi0/pi0_weights.h"

namespace vlart::pi0 {
namespace {

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

}  // namespace

std::vector<std::pair<std::string, Shape>> SyntheticPi0TensorList(const Pi0Config& cfg) {
  Pi0Weights slots;
  WeightTable table;
  DescribePi0Weights(cfg, kEmbedLmHeadKey, &slots, &table);
  std::vector<std::pair<std::string, Shape>> out;
  for (const WeightSlot& s : table.slots()) out.emplace_back(s.name, s.shape);
  out.emplace_back(kVlmFinalNormKey, Shape{cfg.vlm.width});
  out.emplace_back(kExpertLmHeadKey, Shape{cfg.vocab_size, cfg.expert.width});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

HostTensor MakeSyntheticPi0Tensor(const std::string& name, const Shape& shape,
                                  const Pi0Config& cfg, uint64_t seed) {
  HostTensor t(DType::kF32, shape);
  int64_t fan_in = 1;
  for (int i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const bool vision = Contains(name, "vision_tower");
  const bool expert = Contains(name, "gemma_expert");
  const int depth = vision ? cfg.vision.depth : (expert ? cfg.expert.depth : cfg.vlm.depth);
  const float out_scale = 1.0f / std::sqrt(2.0f * static_cast<float>(std::max(depth, 1)));
  float mean = 0.0f, std = 0.02f;
  if (name == kExpertLmHeadKey) {
    std = 0.02f;
  } else if (name == kEmbedLmHeadKey || name == kEmbedTokensKey) {
    std = 1.0f / std::sqrt(static_cast<float>(shape[1]));
  } else if (EndsWith(name, "position_embedding.weight")) {
    std = 0.02f;
  } else if (Contains(name, ".dense.")) {  // adaRMS modulation Dense(cond -> 3W)
    std = EndsWith(name, ".weight") ? 2.0f / std::sqrt(static_cast<float>(fan_in)) : 0.2f;
  } else if (vision && (Contains(name, "layer_norm") || Contains(name, "post_layernorm"))) {
    if (EndsWith(name, ".weight")) mean = 1.0f, std = 0.05f;
  } else if (Contains(name, "layernorm") || EndsWith(name, "norm.weight")) {
    std = 0.05f;  // Gemma RMSNorm offsets: y = x_hat * (1 + w)
  } else if (EndsWith(name, ".bias")) {
    std = 0.02f;
  } else {
    std = 1.0f / std::sqrt(static_cast<float>(fan_in));
    if (Contains(name, "out_proj.weight") || Contains(name, "fc2.weight") ||
        Contains(name, "o_proj.weight") || Contains(name, "down_proj.weight")) {
      std *= out_scale;
    }
  }
  Rng rng(seed ^ Fnv1a64(name));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = mean + std * rng.Normal();
  return t;
}

std::vector<std::pair<std::string, HostTensor>> MakeSyntheticPi0Weights(const Pi0Config& cfg,
                                                                        uint64_t seed) {
  std::vector<std::pair<std::string, HostTensor>> out;
  for (const auto& [name, shape] : SyntheticPi0TensorList(cfg)) {
    out.emplace_back(name, MakeSyntheticPi0Tensor(name, shape, cfg, seed));
  }
  return out;
}

std::string SyntheticPi0NormStatsJson() {
  // LIBERO-shaped statistics: state = eef pos (3), axis-angle (3), gripper (2); actions
  // = delta pos (3), delta rot (3), gripper (1). q01/q99 are the pi05_libero quantiles
  // quoted in specs/pi0.md 1.2; mean/std plausible values (the tiny goldens' numbers).
  nlohmann::ordered_json j;
  nlohmann::ordered_json& s = j["norm_stats"]["state"];
  s["mean"] = {-0.0462, 0.0311, 0.7815, 2.9713, -0.0942, -0.1137, 0.0263, -0.0265};
  s["std"] = {0.1035, 0.1486, 0.3021, 0.3512, 1.0123, 0.3311, 0.0142, 0.0139};
  s["q01"] = {-0.35245, -0.26825, 0.04084, 1.53177, -2.71523, -1.07654, 0.00172, -0.04004};
  s["q99"] = {0.13891, 0.3252, 1.2569, 3.26277, 2.44372, 0.56385, 0.04031, -0.00171};
  nlohmann::ordered_json& a = j["norm_stats"]["actions"];
  a["mean"] = {0.0631, 0.0868, -0.0999, 0.0051, 0.0013, -0.0048, -0.0912};
  a["std"] = {0.3315, 0.3725, 0.4529, 0.0392, 0.0634, 0.0769, 0.9951};
  a["q01"] = {-0.747375, -0.796125, -0.9375, -0.1158, -0.16943, -0.1945, -1.0};
  a["q99"] = {0.937125, 0.8595, 0.937125, 0.14023, 0.18104, 0.31155, 0.9996};
  return j.dump(2) + "\n";
}

}  // namespace vlart::pi0
