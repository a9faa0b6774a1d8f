// SPDX-License-Identifier: Apache-2.0
//
// xvla_synthetic.cc: random X-VLA weights (see the header for the scales).

#include "models/xvla/xvla_synthetic.h"

#include <cmath>
#include <string_view>

#include "core/rng.h"
#include "models/common/weights.h"
#include "models/xvla/xvla_model.h"

namespace vlart::xvla {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool Contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

enum class Kind { kNormWeight, kNormBias, kBias, kEmbedding, kMatrix, kOutputMatrix, kDomainTable };

Kind Classify(std::string_view name, int rank) {
  const bool is_norm = Contains(name, "norm") || Contains(name, "layer_norm") ||
                       Contains(name, "layernorm");
  if (is_norm && EndsWith(name, ".weight") && rank == 1) return Kind::kNormWeight;
  if (is_norm && EndsWith(name, ".bias")) return Kind::kNormBias;
  if (Contains(name, "action_encoder.fc") || Contains(name, "action_decoder.fc") ||
      (Contains(name, "_proj.fc.weight"))) {
    return Kind::kDomainTable;
  }
  if (EndsWith(name, ".bias") || Contains(name, ".bias.weight")) return Kind::kBias;
  if (Contains(name, "embed") || Contains(name, "pos_emb") || Contains(name, "soft_prompt") ||
      EndsWith(name, "shared.weight")) {
    return Kind::kEmbedding;
  }
  if (Contains(name, ".proj.weight") || Contains(name, "fc2.weight") || Contains(name, "out_proj.weight")) {
    return Kind::kOutputMatrix;
  }
  return Kind::kMatrix;
}

}  // namespace

std::vector<std::pair<std::string, HostTensor>> MakeSyntheticXvlaWeights(const XvlaConfig& cfg,
                                                                          uint64_t seed) {
  XvlaWeights slots;
  WeightTable table;
  XvlaModel::DescribeWeights(cfg, "shared.weight", &slots, &table);
  const int total_layers =
      cfg.policy.depth + cfg.text.encoder_layers + cfg.vision.depths[0] + cfg.vision.depths[1] +
      cfg.vision.depths[2] + cfg.vision.depths[3];
  const float out_scale = 1.0f / std::sqrt(2.0f * static_cast<float>(std::max(total_layers, 1)));

  Rng rng(seed);
  std::vector<std::pair<std::string, HostTensor>> out;
  for (const WeightSlot& slot : table.slots()) {
    HostTensor t(DType::kF32, slot.shape);
    float* p = t.data<float>();
    const int64_t n = t.numel();
    if (EndsWith(slot.name, "visual_temporal_embed.pos_idx_to_embed")) {
      // The deterministic COSINE table of the official module: [pos, dim], sin on even
      // channels and cos on odd ones, frequency exp(-ln(10000) * 2i / dim).
      const int64_t dim = slot.shape[1];
      for (int64_t pos = 0; pos < slot.shape[0]; ++pos) {
        for (int64_t i = 0; i < dim / 2; ++i) {
          const float freq = std::exp(-std::log(10000.0f) * static_cast<float>(2 * i) / static_cast<float>(dim));
          p[pos * dim + 2 * i] = std::sin(static_cast<float>(pos) * freq);
          p[pos * dim + 2 * i + 1] = std::cos(static_cast<float>(pos) * freq);
        }
      }
      out.emplace_back(slot.name, std::move(t));
      continue;
    }
    const Kind kind = Classify(slot.name, slot.shape.size());
    // fan_in: the inner dims of a [out, in, (k, k)] weight; for [in, out] tables, `in`.
    int64_t fan_in = 1;
    for (int i = 1; i < slot.shape.size(); ++i) fan_in *= slot.shape[i];
    float mean = 0.0f, std = 0.02f;
    switch (kind) {
      case Kind::kNormWeight: mean = 1.0f; std = 0.05f; break;
      case Kind::kNormBias: std = 0.02f; break;
      case Kind::kBias: std = 0.02f; break;
      case Kind::kEmbedding: std = 0.02f; break;
      case Kind::kMatrix: std = 1.0f / std::sqrt(static_cast<float>(fan_in)); break;
      case Kind::kOutputMatrix:
        std = out_scale / std::sqrt(static_cast<float>(fan_in));
        break;
      case Kind::kDomainTable: {
        // [domains, in * out] with in the leading factor: in = numel / (domains * out).
        const bool encoder = Contains(slot.name, "action_encoder");
        const int64_t out_dim = encoder ? cfg.policy.hidden_size : cfg.action_space.dim_action;
        const int64_t in_dim = slot.shape[1] / out_dim;
        std = 1.0f / std::sqrt(static_cast<float>(in_dim));
        if (Contains(slot.name, "_proj.fc")) std = 1.0f / std::sqrt(static_cast<float>(cfg.projection_dim));
        break;
      }
    }
    if (EndsWith(slot.name, "vlm.image_projection")) std = 1.0f / std::sqrt(static_cast<float>(slot.shape[0]));
    for (int64_t i = 0; i < n; ++i) p[i] = mean + std * rng.Normal();
    out.emplace_back(slot.name, std::move(t));
  }
  // BART's final_logits_bias buffer: present in released files, unused by X-VLA.
  out.emplace_back("vlm.language_model.final_logits_bias",
                   HostTensor(DType::kF32, {1, cfg.text.vocab_size}));
  return out;
}

}  // namespace vlart::xvla
