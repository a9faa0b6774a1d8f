// SPDX-License-Identifier: Apache-2.0
//
// pi0_config.cc: config.json + weight shapes -> Pi0Config (see the header for the rules).

#include "models/pi0/pi0_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace vlart::pi0 {
namespace {

constexpr int kSiglipHeadDim = 72;   // So400m/14: 1152 = 16 x 72
constexpr int kGemmaHeadDim = 256;   // gemma_2b and gemma_300m
constexpr const char* kTinyBlock = "vlart_tiny_arch";

// The stored shape of `name`, or a NotFound naming the tensor and what it is for.
Result<Shape> Need(const WeightSource& w, const std::string& name, const char* what) {
  std::optional<Shape> s = w.ShapeOf(name);
  if (!s) {
    return NotFound(
        "pi0 config: tensor '{}' ({}): expected in the checkpoint, got nothing; hint: is this an "
        "openpi pi0 / pi0.5 checkpoint (keys 'paligemma_with_expert.*', or 'model.*' for LeRobot)?",
        name, what);
  }
  return *s;
}

Status RequireRank(const std::string& name, const Shape& s, int rank) {
  if (s.size() == rank) return Status::Ok();
  return InvalidArgument("pi0 config: tensor '{}': expected rank {}, got shape {}", name, rank,
                         s.ToString());
}

// Number of consecutive i with `prefix{i}suffix` present.
int CountLayers(const WeightSource& w, const std::string& prefix, const std::string& suffix) {
  int n = 0;
  while (w.ShapeOf(fmt::format("{}{}{}", prefix, n, suffix))) ++n;
  return n;
}

// An integer field of an optional JSON object (the tiny-arch block).
Status ReadBlockInt(const nlohmann::json* block, const char* key, const std::string& where,
                    int* out) {
  if (block == nullptr || !block->contains(key) || (*block)[key].is_null()) return Status::Ok();
  const nlohmann::json& v = (*block)[key];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 30)) {
    return InvalidArgument("pi0 config: field '{}.{}': expected a positive integer, got {}", where,
                           key, v.dump());
  }
  *out = v.get<int>();
  return Status::Ok();
}

Status ReadBlockFloat(const nlohmann::json* block, const char* key, const std::string& where,
                      float* out) {
  if (block == nullptr || !block->contains(key) || (*block)[key].is_null()) return Status::Ok();
  const nlohmann::json& v = (*block)[key];
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0.0) {
    return InvalidArgument("pi0 config: field '{}.{}': expected a positive number, got {}", where,
                           key, v.dump());
  }
  *out = static_cast<float>(v.get<double>());
  return Status::Ok();
}

Status CheckActivation(const nlohmann::json* block, const char* key, const std::string& where) {
  if (block == nullptr || !block->contains(key) || (*block)[key].is_null()) return Status::Ok();
  const nlohmann::json& v = (*block)[key];
  if (v.is_string() && v.get<std::string>() == "gelu_pytorch_tanh") return Status::Ok();
  return Unimplemented("pi0 config: field '{}.{}': expected 'gelu_pytorch_tanh', got {}", where,
                       key, v.dump());
}

// A sub-object of the tiny-arch block, or nullptr.
Result<const nlohmann::json*> SubBlock(const nlohmann::json* block, const char* key) {
  if (block == nullptr || !block->contains(key) || (*block)[key].is_null()) {
    return static_cast<const nlohmann::json*>(nullptr);
  }
  if (!(*block)[key].is_object()) {
    return InvalidArgument("pi0 config: field '{}.{}': expected an object, got {}", kTinyBlock, key,
                           (*block)[key].type_name());
  }
  return &(*block)[key];
}

Status InferSiglip(const WeightSource& w, const nlohmann::json* block, SiglipConfig* v) {
  const std::string p = kVisionPrefix;
  const std::string where = std::string(kTinyBlock) + ".vision";
  const std::string patch_name = p + "embeddings.patch_embedding.weight";
  VLART_ASSIGN_OR_RETURN(const Shape patch, Need(w, patch_name, "SigLIP patch embedding"));
  VLART_TRY(RequireRank(patch_name, patch, 4));
  if (patch[1] != 3 || patch[2] != patch[3]) {
    return InvalidArgument("pi0 config: tensor '{}': expected [C, 3, p, p], got {}", patch_name,
                           patch.ToString());
  }
  v->width = static_cast<int>(patch[0]);
  v->patch_size = static_cast<int>(patch[2]);
  const std::string pos_name = p + "embeddings.position_embedding.weight";
  VLART_ASSIGN_OR_RETURN(const Shape pos, Need(w, pos_name, "SigLIP position embedding"));
  VLART_TRY(RequireRank(pos_name, pos, 2));
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pos[0]))));
  if (grid * grid != pos[0]) {
    return InvalidArgument(
        "pi0 config: tensor '{}': expected a square number of patches (16 x 16 = 256), got {}",
        pos_name, pos[0]);
  }
  v->image_size = static_cast<int>(grid) * v->patch_size;
  v->depth = CountLayers(w, p + "encoder.layers.", ".layer_norm1.weight");
  const std::string fc1 = p + "encoder.layers.0.mlp.fc1.weight";
  if (v->depth > 0) {
    VLART_ASSIGN_OR_RETURN(const Shape s, Need(w, fc1, "SigLIP MLP"));
    VLART_TRY(RequireRank(fc1, s, 2));
    v->mlp_dim = static_cast<int>(s[0]);
  }
  v->num_heads = v->width % kSiglipHeadDim == 0 ? v->width / kSiglipHeadDim : 0;
  VLART_TRY(ReadBlockInt(block, "num_attention_heads", where, &v->num_heads));
  if (v->num_heads == 0) {
    return InvalidArgument(
        "pi0 config: SigLIP heads: expected width {} to be a multiple of SigLIP's head_dim {}; hint: "
        "give {}.num_attention_heads in config.json",
        v->width, kSiglipHeadDim, where);
  }
  int block_image = v->image_size;
  VLART_TRY(ReadBlockInt(block, "image_size", where, &block_image));
  if (block_image != v->image_size) {
    return InvalidArgument(
        "pi0 config: field '{}.image_size': expected {} ({} x {} patches of {}), got {}", where,
        v->image_size, grid, grid, v->patch_size, block_image);
  }
  VLART_TRY(ReadBlockFloat(block, "layer_norm_eps", where, &v->layer_norm_eps));
  VLART_TRY(CheckActivation(block, "hidden_act", where));
  return Status::Ok();
}

Status InferGemma(const WeightSource& w, const std::string& prefix, const nlohmann::json* block,
                  const std::string& where, const char* what, GemmaConfig* g) {
  const std::string q_name = prefix + "layers.0.self_attn.q_proj.weight";
  const std::string k_name = prefix + "layers.0.self_attn.k_proj.weight";
  const std::string gate_name = prefix + "layers.0.mlp.gate_proj.weight";
  VLART_ASSIGN_OR_RETURN(const Shape q, Need(w, q_name, what));
  VLART_ASSIGN_OR_RETURN(const Shape k, Need(w, k_name, what));
  VLART_ASSIGN_OR_RETURN(const Shape gate, Need(w, gate_name, what));
  VLART_TRY(RequireRank(q_name, q, 2));
  VLART_TRY(RequireRank(k_name, k, 2));
  VLART_TRY(RequireRank(gate_name, gate, 2));
  g->width = static_cast<int>(q[1]);
  g->mlp_dim = static_cast<int>(gate[0]);
  g->depth = CountLayers(w, prefix + "layers.", ".self_attn.q_proj.weight");
  g->head_dim = kGemmaHeadDim;
  VLART_TRY(ReadBlockInt(block, "head_dim", where, &g->head_dim));
  if (q[0] % g->head_dim != 0 || k[0] % g->head_dim != 0) {
    return InvalidArgument(
        "pi0 config: {} heads: expected q_proj rows {} and k_proj rows {} to be multiples of "
        "head_dim {}; hint: give {}.head_dim in config.json",
        what, q[0], k[0], g->head_dim, where);
  }
  g->num_heads = static_cast<int>(q[0] / g->head_dim);
  g->num_kv_heads = static_cast<int>(k[0] / g->head_dim);
  // The block's numbers must agree with the shapes (they are redundant there).
  int heads = g->num_heads, kv_heads = g->num_kv_heads, width = g->width, mlp = g->mlp_dim,
      depth = g->depth;
  VLART_TRY(ReadBlockInt(block, "num_heads", where, &heads));
  VLART_TRY(ReadBlockInt(block, "num_kv_heads", where, &kv_heads));
  VLART_TRY(ReadBlockInt(block, "width", where, &width));
  VLART_TRY(ReadBlockInt(block, "mlp_dim", where, &mlp));
  VLART_TRY(ReadBlockInt(block, "depth", where, &depth));
  if (heads != g->num_heads || kv_heads != g->num_kv_heads || width != g->width ||
      mlp != g->mlp_dim || depth != g->depth) {
    return InvalidArgument(
        "pi0 config: {}: config.json says width {} depth {} mlp {} heads {}/{}, the weights have "
        "width {} depth {} mlp {} heads {}/{}",
        where, width, depth, mlp, heads, kv_heads, g->width, g->depth, g->mlp_dim, g->num_heads,
        g->num_kv_heads);
  }
  VLART_TRY(ReadBlockFloat(block, "rms_norm_eps", where, &g->rms_norm_eps));
  VLART_TRY(ReadBlockFloat(block, "rope_theta", where, &g->rope_theta));
  VLART_TRY(CheckActivation(block, "hidden_activation", where));
  return Status::Ok();
}

// pi0 vs pi0.5 from the weights, the config's hint and the override.
Result<bool> DetectVariant(const WeightSource& w, std::optional<bool> hint,
                           std::optional<bool> override_pi05) {
  if (override_pi05) return *override_pi05;
  const bool has_time = w.ShapeOf("time_mlp_in.weight").has_value();
  const bool has_state = w.ShapeOf("state_proj.weight").has_value();
  if (has_time != has_state) {
    const bool pi05 = has_time;
    if (hint && *hint != pi05) {
      return InvalidArgument(
          "pi0 config: variant: config.json says {}, the weights are {} ('{}' present); hint: pass "
          "the variant explicitly if the file is right",
          *hint ? "pi0.5" : "pi0", pi05 ? "pi0.5" : "pi0",
          pi05 ? "time_mlp_in.weight" : "state_proj.weight");
    }
    return pi05;
  }
  if (hint) return *hint;
  return InvalidArgument(
      "pi0 config: variant: expected exactly one of 'state_proj.weight' (pi0) and "
      "'time_mlp_in.weight' (pi0.5), got {}; hint: pass the variant explicitly (pi05 = true/false)",
      has_time ? "both" : "neither");
}

// The double whose shortest decimal is the float's (1e-6f -> 1e-06, not 9.99999997e-07).
double ShortestDouble(float v) { return std::stod(fmt::format("{}", v)); }

Status Positive(const char* what, int v) {
  if (v > 0) return Status::Ok();
  return InvalidArgument("pi0 config: {}: expected > 0, got {}", what, v);
}

}  // namespace

const char* NormModeName(NormMode mode) {
  return mode == NormMode::kQuantile ? "quantile" : "z-score";
}

Result<Pi0Config> InferPi0Config(const JsonDocument* j, const WeightSource& w,
                                 const Pi0ConfigOverrides& o) {
  const nlohmann::json* block = nullptr;
  std::optional<bool> pi05_hint;
  std::optional<int> horizon, tokens, action_dim;
  if (j != nullptr) {
    VLART_ASSIGN_OR_RETURN(const nlohmann::json* b, FindField(*j, kTinyBlock));
    if (b != nullptr && !b->is_null()) {
      if (!b->is_object()) return FieldTypeError(*j, kTinyBlock, "object", *b);
      block = b;
    }
    for (const char* key : {"pi05", "vlart_tiny_arch.pi05"}) {
      if (HasField(*j, key)) {
        VLART_ASSIGN_OR_RETURN(const bool v, GetBool(*j, key));
        pi05_hint = v;
      }
    }
    if (HasField(*j, "action_horizon")) {
      VLART_ASSIGN_OR_RETURN(const int64_t v, GetInt(*j, "action_horizon"));
      horizon = static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 20));
    }
    for (const char* key : {"vlart_tiny_arch.max_token_len", "max_token_len"}) {
      if (HasField(*j, key)) {
        VLART_ASSIGN_OR_RETURN(const int64_t v, GetInt(*j, key));
        tokens = static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 20));
      }
    }
    if (HasField(*j, "action_dim")) {
      VLART_ASSIGN_OR_RETURN(const int64_t v, GetInt(*j, "action_dim"));
      action_dim = static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 20));
    }
    if (HasField(*j, "precision")) {
      VLART_ASSIGN_OR_RETURN(const std::string p, GetString(*j, "precision"));
      if (p != "bfloat16" && p != "float32") {
        return InvalidArgument("{}: field 'precision': expected 'bfloat16' or 'float32', got '{}'",
                               j->label, p);
      }
    }
  }

  Pi0Config cfg;
  VLART_ASSIGN_OR_RETURN(cfg.pi05, DetectVariant(w, pi05_hint, o.pi05));
  VLART_ASSIGN_OR_RETURN(const nlohmann::json* vision_block, SubBlock(block, "vision"));
  VLART_ASSIGN_OR_RETURN(const nlohmann::json* vlm_block, SubBlock(block, "paligemma"));
  VLART_ASSIGN_OR_RETURN(const nlohmann::json* expert_block, SubBlock(block, "action_expert"));
  VLART_TRY(InferSiglip(w, vision_block, &cfg.vision));
  VLART_TRY(InferGemma(w, kVlmPrefix, vlm_block, std::string(kTinyBlock) + ".paligemma",
                       "PaliGemma language model", &cfg.vlm));
  VLART_TRY(InferGemma(w, kExpertPrefix, expert_block, std::string(kTinyBlock) + ".action_expert",
                       "action expert", &cfg.expert));

  std::string embed = kEmbedLmHeadKey;
  if (!w.ShapeOf(embed)) embed = kEmbedTokensKey;
  VLART_ASSIGN_OR_RETURN(const Shape emb, Need(w, embed, "token embedding (tied with lm_head)"));
  VLART_TRY(RequireRank(embed, emb, 2));
  cfg.vocab_size = static_cast<int>(emb[0]);
  int block_vocab = cfg.vocab_size;
  VLART_TRY(ReadBlockInt(block, "vocab_size", kTinyBlock, &block_vocab));
  if (block_vocab != cfg.vocab_size) {
    return InvalidArgument("pi0 config: field '{}.vocab_size': expected {} (the embedding's rows), got {}",
                           kTinyBlock, cfg.vocab_size, block_vocab);
  }

  VLART_ASSIGN_OR_RETURN(const Shape in_proj, Need(w, "action_in_proj.weight", "action input projection"));
  VLART_TRY(RequireRank("action_in_proj.weight", in_proj, 2));
  cfg.action_dim = static_cast<int>(in_proj[1]);
  if (action_dim && *action_dim != cfg.action_dim) {
    return InvalidArgument(
        "pi0 config: field 'action_dim': expected {} (action_in_proj.weight is {}), got {}",
        cfg.action_dim, in_proj.ToString(), *action_dim);
  }

  // LIBERO defaults (specs/pi0.md 1.1), then what the config says, then the overrides.
  cfg.action_horizon = cfg.pi05 ? 10 : 50;
  cfg.max_token_len = cfg.pi05 ? 200 : 48;
  cfg.transforms.norm = cfg.pi05 ? NormMode::kQuantile : NormMode::kZScore;
  cfg.transforms.delta_action_dims = cfg.pi05 ? 0 : 6;
  if (horizon) cfg.action_horizon = *horizon;
  if (tokens) cfg.max_token_len = *tokens;
  if (o.action_horizon) cfg.action_horizon = *o.action_horizon;
  if (o.max_token_len) cfg.max_token_len = *o.max_token_len;
  if (o.num_views) cfg.num_views = *o.num_views;
  if (o.num_steps) cfg.num_steps = *o.num_steps;
  if (o.norm) cfg.transforms.norm = *o.norm;
  if (o.delta_action_dims) cfg.transforms.delta_action_dims = *o.delta_action_dims;
  if (o.output_action_dim) cfg.transforms.output_action_dim = *o.output_action_dim;
  VLART_TRY(ValidatePi0Config(cfg));
  return cfg;
}

Result<Pi0Config> LoadPi0Config(const std::filesystem::path& dir, const WeightSource& weights,
                                const Pi0ConfigOverrides& overrides) {
  const std::filesystem::path path = dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return InferPi0Config(nullptr, weights, overrides);
  VLART_ASSIGN_OR_RETURN(const JsonDocument j, ReadJsonFile(path));
  return InferPi0Config(&j, weights, overrides);
}

Status ValidatePi0Config(const Pi0Config& c) {
  VLART_TRY(Positive("vision.patch_size", c.vision.patch_size));
  VLART_TRY(Positive("vision.image_size", c.vision.image_size));
  VLART_TRY(Positive("vision.width", c.vision.width));
  VLART_TRY(Positive("vision.num_heads", c.vision.num_heads));
  VLART_TRY(Positive("vision.mlp_dim", c.vision.mlp_dim));
  if (c.vision.image_size % c.vision.patch_size != 0 || c.vision.width % c.vision.num_heads != 0) {
    return InvalidArgument(
        "pi0 config: vision: expected image_size {} divisible by patch_size {} and width {} by "
        "num_heads {}",
        c.vision.image_size, c.vision.patch_size, c.vision.width, c.vision.num_heads);
  }
  for (const auto& [name, g] : {std::pair<const char*, const GemmaConfig*>{"paligemma", &c.vlm},
                                {"action_expert", &c.expert}}) {
    VLART_TRY(Positive(name, g->width));
    VLART_TRY(Positive(name, g->depth));
    VLART_TRY(Positive(name, g->mlp_dim));
    VLART_TRY(Positive(name, g->num_heads));
    VLART_TRY(Positive(name, g->num_kv_heads));
    VLART_TRY(Positive(name, g->head_dim));
    if (g->num_heads % g->num_kv_heads != 0 || g->head_dim % 2 != 0) {
      return InvalidArgument(
          "pi0 config: {}: expected num_heads {} to be a multiple of num_kv_heads {} and an even "
          "head_dim (RoPE), got head_dim {}",
          name, g->num_heads, g->num_kv_heads, g->head_dim);
    }
  }
  // The expert's layer l attends to the VLM's layer-l K/V: same depth, head_dim and kv heads.
  if (c.vlm.depth != c.expert.depth || c.vlm.head_dim != c.expert.head_dim ||
      c.vlm.num_kv_heads != c.expert.num_kv_heads) {
    return Unimplemented(
        "pi0 config: expert vs VLM: expected equal depth / head_dim / kv heads (the expert attends "
        "to the VLM's per-layer K/V), got {}/{}/{} vs {}/{}/{}",
        c.expert.depth, c.expert.head_dim, c.expert.num_kv_heads, c.vlm.depth, c.vlm.head_dim,
        c.vlm.num_kv_heads);
  }
  if (c.expert.width < 4 || c.expert.width % 2 != 0) {
    return InvalidArgument("pi0 config: action_expert.width: expected an even number >= 4 (sin-cos time "
                           "embedding), got {}",
                           c.expert.width);
  }
  VLART_TRY(Positive("vocab_size", c.vocab_size));
  VLART_TRY(Positive("action_dim", c.action_dim));
  if (c.action_horizon < 1 || c.action_horizon > 4096) {
    return InvalidArgument("pi0 config: action_horizon: expected 1..4096, got {}", c.action_horizon);
  }
  if (c.max_token_len < 1 || c.max_token_len > 65536) {
    return InvalidArgument("pi0 config: max_token_len: expected 1..65536, got {}", c.max_token_len);
  }
  if (c.num_views < 1 || c.num_views > 16) {
    return InvalidArgument("pi0 config: num_views: expected 1..16, got {}", c.num_views);
  }
  if (c.num_steps < 1 || c.num_steps > 1000) {
    return InvalidArgument("pi0 config: num_steps: expected 1..1000, got {}", c.num_steps);
  }
  const Pi0TransformConfig& t = c.transforms;
  if (t.delta_action_dims < 0 || t.delta_action_dims > c.action_dim) {
    return InvalidArgument("pi0 config: delta_action_dims: expected 0..{}, got {}", c.action_dim,
                           t.delta_action_dims);
  }
  if (t.output_action_dim < 1 || t.output_action_dim > c.action_dim) {
    return InvalidArgument("pi0 config: output_action_dim: expected 1..{}, got {}", c.action_dim,
                           t.output_action_dim);
  }
  return Status::Ok();
}

Pi0Config Pi0FullConfig(bool pi05) {
  Pi0Config c;
  c.pi05 = pi05;
  if (pi05) {
    c.action_horizon = 10;
    c.max_token_len = 200;
    c.transforms.norm = NormMode::kQuantile;
    c.transforms.delta_action_dims = 0;
  }
  return c;
}

Pi0Config Pi0TinyConfig(bool pi05, int vocab_size) {
  Pi0Config c = Pi0FullConfig(pi05);
  c.vision = SiglipConfig{224, 14, 48, 2, 4, 96, 1e-6f};
  c.vlm = GemmaConfig{64, 2, 128, 2, 1, 32, 1e-6f, 10000.0f};
  c.expert = GemmaConfig{48, 2, 96, 2, 1, 32, 1e-6f, 10000.0f};
  c.vocab_size = vocab_size;
  return c;
}

std::string Pi0ConfigToJson(const Pi0Config& c, const std::string& precision) {
  const Pi0Config full = Pi0FullConfig(c.pi05);
  auto same_gemma = [](const GemmaConfig& a, const GemmaConfig& b) {
    return a.width == b.width && a.depth == b.depth && a.mlp_dim == b.mlp_dim &&
           a.num_heads == b.num_heads && a.num_kv_heads == b.num_kv_heads &&
           a.head_dim == b.head_dim;
  };
  const SiglipConfig& v = c.vision;
  const bool real_vision = v.image_size == full.vision.image_size &&
                           v.patch_size == full.vision.patch_size &&
                           v.width == full.vision.width && v.depth == full.vision.depth &&
                           v.num_heads == full.vision.num_heads && v.mlp_dim == full.vision.mlp_dim;
  const bool real = real_vision && same_gemma(c.vlm, full.vlm) &&
                    same_gemma(c.expert, full.expert) && c.vocab_size == full.vocab_size;
  nlohmann::ordered_json j;
  j["action_dim"] = c.action_dim;
  j["action_horizon"] = c.action_horizon;
  j["paligemma_variant"] = same_gemma(c.vlm, full.vlm) ? "gemma_2b" : "vlart_tiny_vlm";
  j["action_expert_variant"] = same_gemma(c.expert, full.expert) ? "gemma_300m" : "vlart_tiny_expert";
  j["precision"] = precision;
  if (!real) {
    auto gemma = [](const GemmaConfig& g) {
      nlohmann::ordered_json o;
      o["width"] = g.width;
      o["depth"] = g.depth;
      o["mlp_dim"] = g.mlp_dim;
      o["num_heads"] = g.num_heads;
      o["num_kv_heads"] = g.num_kv_heads;
      o["head_dim"] = g.head_dim;
      o["rms_norm_eps"] = ShortestDouble(g.rms_norm_eps);
      o["rope_theta"] = ShortestDouble(g.rope_theta);
      o["hidden_activation"] = "gelu_pytorch_tanh";
      return o;
    };
    nlohmann::ordered_json t;
    t["pi05"] = c.pi05;
    t["max_token_len"] = c.max_token_len;
    t["vocab_size"] = c.vocab_size;
    nlohmann::ordered_json vis;
    vis["hidden_size"] = v.width;
    vis["intermediate_size"] = v.mlp_dim;
    vis["num_hidden_layers"] = v.depth;
    vis["num_attention_heads"] = v.num_heads;
    vis["patch_size"] = v.patch_size;
    vis["image_size"] = v.image_size;
    vis["layer_norm_eps"] = ShortestDouble(v.layer_norm_eps);
    vis["hidden_act"] = "gelu_pytorch_tanh";
    vis["projection_dim"] = c.vlm.width;
    t["vision"] = vis;
    t["paligemma"] = gemma(c.vlm);
    t["action_expert"] = gemma(c.expert);
    j[kTinyBlock] = t;
  }
  return j.dump(2) + "\n";
}

}  // namespace vlart::pi0
