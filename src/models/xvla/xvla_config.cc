// SPDX-License-Identifier: Apache-2.0
//
// xvla_config.cc: config.json -> XvlaConfig, with the official defaults and checks.

#include "models/xvla/xvla_config.h"

#include <fmt/format.h>

#include <climits>
#include <fstream>
#include <optional>
#include <sstream>

#include "io/json_config.h"

namespace vlart::xvla {
namespace {

template <size_t N>
Status ReadIntArray(const JsonDocument& j, const std::string& path, std::array<int, N>* out) {
  if (!HasField(j, path)) return Status::Ok();
  VLART_ASSIGN_OR_RETURN(std::vector<int64_t> v, GetIntArray(j, path));
  if (v.size() != N) {
    return InvalidArgument("{}: field '{}': expected an array of {} integers, got {}", j.label,
                           path, N, v.size());
  }
  for (size_t i = 0; i < N; ++i) (*out)[i] = static_cast<int>(v[i]);
  return Status::Ok();
}

Status ReadInt(const JsonDocument& j, const std::string& path, int* out) {
  VLART_ASSIGN_OR_RETURN(const int64_t v, GetInt(j, path, *out));
  if (v < INT32_MIN || v > INT32_MAX) {
    return InvalidArgument("{}: field '{}': expected a 32-bit integer, got {}", j.label, path, v);
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

// An optional array of strings (absent or null: nullopt).
Result<std::optional<std::vector<std::string>>> OptStringArray(const JsonDocument& j,
                                                               const std::string& path) {
  VLART_ASSIGN_OR_RETURN(const nlohmann::json* f, FindField(j, path));
  if (f == nullptr || f->is_null()) return std::optional<std::vector<std::string>>();
  if (!f->is_array()) return FieldTypeError(j, path, "array of strings", *f);
  std::vector<std::string> out;
  for (const auto& e : *f) {
    if (!e.is_string()) return FieldTypeError(j, path, "array of strings", *f);
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Status ReadBoolArray4(const JsonDocument& j, const std::string& path, std::array<bool, 4>* out) {
  VLART_ASSIGN_OR_RETURN(const nlohmann::json* f, FindField(j, path));
  if (f == nullptr || f->is_null()) return Status::Ok();
  if (!f->is_array() || f->size() != 4) return FieldTypeError(j, path, "array of 4 booleans", *f);
  for (size_t i = 0; i < 4; ++i) {
    if (!(*f)[i].is_boolean()) return FieldTypeError(j, path, "array of 4 booleans", *f);
    (*out)[i] = (*f)[i].get<bool>();
  }
  return Status::Ok();
}

Status Positive(const JsonDocument& j, const std::string& field, int64_t v) {
  if (v > 0) return Status::Ok();
  return InvalidArgument("{}: field '{}': expected a positive integer, got {}", j.label, field, v);
}

Status ParseVision(const JsonDocument& j, DavitConfig* v) {
  const std::string p = "florence_config.vision_config.";
  VLART_TRY(ReadIntArray(j, p + "dim_embed", &v->dim_embed));
  VLART_TRY(ReadIntArray(j, p + "num_heads", &v->num_heads));
  VLART_TRY(ReadIntArray(j, p + "num_groups", &v->num_groups));
  VLART_TRY(ReadIntArray(j, p + "depths", &v->depths));
  VLART_TRY(ReadIntArray(j, p + "patch_size", &v->patch_size));
  VLART_TRY(ReadIntArray(j, p + "patch_stride", &v->patch_stride));
  VLART_TRY(ReadIntArray(j, p + "patch_padding", &v->patch_padding));
  VLART_TRY(ReadBoolArray4(j, p + "patch_prenorm", &v->patch_prenorm));
  VLART_TRY(ReadInt(j, p + "window_size", &v->window_size));
  VLART_ASSIGN_OR_RETURN(const std::string pos_type,
                         GetString(j, p + "image_pos_embed.type", "learned_abs_2d"));
  if (pos_type != "learned_abs_2d") {
    return Unimplemented("{}: field '{}image_pos_embed.type': expected 'learned_abs_2d', got '{}'",
                         j.label, p, pos_type);
  }
  VLART_TRY(ReadInt(j, p + "image_pos_embed.max_pos_embeddings", &v->max_pos_embeddings));
  VLART_ASSIGN_OR_RETURN(const std::string temporal_type,
                         GetString(j, p + "visual_temporal_embedding.type", "COSINE"));
  if (temporal_type != "COSINE") {
    return Unimplemented(
        "{}: field '{}visual_temporal_embedding.type': expected 'COSINE', got '{}'", j.label, p,
        temporal_type);
  }
  VLART_TRY(ReadInt(j, p + "visual_temporal_embedding.max_temporal_embeddings",
                    &v->max_temporal_embeddings));
  VLART_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> sources,
                         OptStringArray(j, p + "image_feature_source"));
  if (sources && (*sources != std::vector<std::string>{"spatial_avg_pool", "temporal_avg_pool"})) {
    return Unimplemented(
        "{}: field '{}image_feature_source': expected [spatial_avg_pool, temporal_avg_pool] (the "
        "only layout X-VLA ships), got {} entries",
        j.label, p, sources->size());
  }
  for (int s = 0; s < 4; ++s) {
    VLART_TRY(Positive(j, fmt::format("{}dim_embed[{}]", p, s), v->dim_embed[s]));
    VLART_TRY(Positive(j, fmt::format("{}num_heads[{}]", p, s), v->num_heads[s]));
    VLART_TRY(Positive(j, fmt::format("{}num_groups[{}]", p, s), v->num_groups[s]));
    VLART_TRY(Positive(j, fmt::format("{}patch_size[{}]", p, s), v->patch_size[s]));
    VLART_TRY(Positive(j, fmt::format("{}patch_stride[{}]", p, s), v->patch_stride[s]));
    if (v->depths[s] < 0 || v->patch_padding[s] < 0) {
      return InvalidArgument("{}: fields '{}depths' / 'patch_padding': expected >= 0 at stage {}",
                             j.label, p, s);
    }
    if (v->dim_embed[s] % v->num_heads[s] != 0 || v->dim_embed[s] % v->num_groups[s] != 0) {
      return InvalidArgument(
          "{}: stage {}: expected dim_embed {} divisible by num_heads {} and num_groups {}",
          j.label, s, v->dim_embed[s], v->num_heads[s], v->num_groups[s]);
    }
  }
  VLART_TRY(Positive(j, p + "window_size", v->window_size));
  VLART_TRY(Positive(j, p + "image_pos_embed.max_pos_embeddings", v->max_pos_embeddings));
  return Status::Ok();
}

Status ParseText(const JsonDocument& j, BartEncoderConfig* t) {
  const std::string p = "florence_config.text_config.";
  VLART_TRY(ReadInt(j, p + "vocab_size", &t->vocab_size));
  VLART_TRY(ReadInt(j, p + "d_model", &t->d_model));
  VLART_TRY(ReadInt(j, p + "encoder_layers", &t->encoder_layers));
  VLART_TRY(ReadInt(j, p + "encoder_attention_heads", &t->encoder_attention_heads));
  VLART_TRY(ReadInt(j, p + "encoder_ffn_dim", &t->encoder_ffn_dim));
  VLART_TRY(ReadInt(j, p + "max_position_embeddings", &t->max_position_embeddings));
  VLART_TRY(ReadInt(j, p + "pad_token_id", &t->pad_token_id));
  VLART_TRY(ReadInt(j, p + "bos_token_id", &t->bos_token_id));
  VLART_TRY(ReadInt(j, p + "eos_token_id", &t->eos_token_id));
  VLART_ASSIGN_OR_RETURN(t->scale_embedding, GetBool(j, p + "scale_embedding", t->scale_embedding));
  VLART_ASSIGN_OR_RETURN(const std::string act, GetString(j, p + "activation_function", "gelu"));
  if (act != "gelu") {
    return Unimplemented("{}: field '{}activation_function': expected 'gelu', got '{}'", j.label,
                         p, act);
  }
  VLART_TRY(Positive(j, p + "vocab_size", t->vocab_size));
  VLART_TRY(Positive(j, p + "d_model", t->d_model));
  VLART_TRY(Positive(j, p + "encoder_attention_heads", t->encoder_attention_heads));
  VLART_TRY(Positive(j, p + "encoder_ffn_dim", t->encoder_ffn_dim));
  VLART_TRY(Positive(j, p + "max_position_embeddings", t->max_position_embeddings));
  if (t->encoder_layers < 0) {
    return InvalidArgument("{}: field '{}encoder_layers': expected >= 0, got {}", j.label, p,
                           t->encoder_layers);
  }
  if (t->d_model % t->encoder_attention_heads != 0) {
    return InvalidArgument("{}: text_config: expected d_model {} divisible by {} heads", j.label,
                           t->d_model, t->encoder_attention_heads);
  }
  return Status::Ok();
}

Status ParsePolicy(const JsonDocument& j, PolicyConfig* p, ActionSpace* space) {
  VLART_TRY(ReadInt(j, "hidden_size", &p->hidden_size));
  VLART_TRY(ReadInt(j, "depth", &p->depth));
  VLART_TRY(ReadInt(j, "num_heads", &p->num_heads));
  VLART_ASSIGN_OR_RETURN(p->mlp_ratio, GetFloat(j, "mlp_ratio", p->mlp_ratio));
  VLART_TRY(ReadInt(j, "num_domains", &p->num_domains));
  VLART_TRY(ReadInt(j, "len_soft_prompts", &p->len_soft_prompts));
  VLART_TRY(ReadInt(j, "dim_time", &p->dim_time));
  VLART_TRY(ReadInt(j, "max_len_seq", &p->max_len_seq));
  VLART_TRY(ReadInt(j, "num_actions", &p->num_actions));
  VLART_ASSIGN_OR_RETURN(p->use_hetero_proj, GetBool(j, "use_hetero_proj", p->use_hetero_proj));
  VLART_ASSIGN_OR_RETURN(p->use_proprio, GetBool(j, "use_proprio", p->use_proprio));
  VLART_ASSIGN_OR_RETURN(const std::string mode, GetString(j, "action_mode", "ee6d"));
  int max_action_dim = 20, real_action_dim = 20;
  VLART_TRY(ReadInt(j, "max_action_dim", &max_action_dim));
  VLART_TRY(ReadInt(j, "real_action_dim", &real_action_dim));
  VLART_ASSIGN_OR_RETURN(*space, MakeActionSpace(mode, max_action_dim, real_action_dim));
  VLART_TRY(Positive(j, "hidden_size", p->hidden_size));
  VLART_TRY(Positive(j, "num_heads", p->num_heads));
  VLART_TRY(Positive(j, "num_domains", p->num_domains));
  VLART_TRY(Positive(j, "num_actions", p->num_actions));
  VLART_TRY(Positive(j, "dim_time", p->dim_time));
  VLART_TRY(Positive(j, "max_len_seq", p->max_len_seq));
  if (p->depth < 0 || p->len_soft_prompts < 0) {
    return InvalidArgument("{}: fields 'depth' / 'len_soft_prompts': expected >= 0, got {} / {}",
                           j.label, p->depth, p->len_soft_prompts);
  }
  if (p->hidden_size % p->num_heads != 0) {
    return InvalidArgument("{}: expected hidden_size {} divisible by num_heads {}", j.label,
                           p->hidden_size, p->num_heads);
  }
  if (!(p->mlp_ratio > 0.0) || static_cast<int>(p->hidden_size * p->mlp_ratio) <= 0) {
    return InvalidArgument("{}: field 'mlp_ratio': expected > 0, got {}", j.label, p->mlp_ratio);
  }
  return Status::Ok();
}

}  // namespace

Result<XvlaConfig> ParseXvlaConfigText(const std::string& text, const std::string& origin) {
  VLART_ASSIGN_OR_RETURN(const JsonDocument j, ParseJsonDocument(text, origin));
  VLART_ASSIGN_OR_RETURN(const std::string model_type, GetString(j, "model_type", "xvla"));
  if (model_type != "xvla") {
    return InvalidArgument("{}: field 'model_type': expected 'xvla', got '{}'", origin, model_type);
  }
  XvlaConfig cfg;
  VLART_TRY(ParseVision(j, &cfg.vision));
  VLART_TRY(ParseText(j, &cfg.text));
  VLART_TRY(ReadInt(j, "florence_config.projection_dim", &cfg.projection_dim));
  int image_projection_dim = cfg.projection_dim;
  VLART_TRY(ReadInt(j, "florence_config.vision_config.projection_dim", &image_projection_dim));
  if (image_projection_dim != cfg.projection_dim) {
    return InvalidArgument(
        "{}: florence_config.vision_config.projection_dim {} must equal "
        "florence_config.projection_dim {} (the image tokens feed the policy's vlm_proj)",
        origin, image_projection_dim, cfg.projection_dim);
  }
  VLART_TRY(ParsePolicy(j, &cfg.policy, &cfg.action_space));
  if (cfg.projection_dim != cfg.text.d_model) {
    return InvalidArgument(
        "{}: florence_config.projection_dim {} must equal text_config.d_model {} (image tokens and "
        "text embeddings are concatenated)",
        origin, cfg.projection_dim, cfg.text.d_model);
  }
  return cfg;
}

Result<XvlaConfig> ParseXvlaConfig(const std::filesystem::path& config_json) {
  std::ifstream f(config_json, std::ios::binary);
  if (!f) {
    return NotFound("X-VLA config: cannot open '{}'; hint: a checkpoint folder holds config.json",
                    config_json.string());
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ParseXvlaConfigText(ss.str(), config_json.string());
}

}  // namespace vlart::xvla
