// SPDX-License-Identifier: Apache-2.0
//
// xvla_config.cc: config.json -> XvlaConfig, with the official defaults and checks.

#include "models/xvla/xvla_config.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "io/json_config.h"

namespace vlart::xvla {
namespace {

template <size_t N>
Status ReadIntArray(const JsonConfig& j, const std::string& path, std::array<int, N>* out) {
  VLART_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> v, j.OptIntArray(path));
  if (!v) return Status::Ok();
  if (v->size() != N) {
    return InvalidArgument("{}: field '{}': expected an array of {} integers, got {}", j.origin(),
                           path, N, v->size());
  }
  for (size_t i = 0; i < N; ++i) (*out)[i] = static_cast<int>((*v)[i]);
  return Status::Ok();
}

Status ReadInt(const JsonConfig& j, const std::string& path, int* out) {
  VLART_ASSIGN_OR_RETURN(std::optional<int64_t> v, j.OptInt(path));
  if (v) *out = static_cast<int>(*v);
  return Status::Ok();
}

Status Positive(const JsonConfig& j, const std::string& field, int64_t v) {
  if (v > 0) return Status::Ok();
  return InvalidArgument("{}: field '{}': expected a positive integer, got {}", j.origin(), field, v);
}

Status ParseVision(const JsonConfig& j, DavitConfig* v) {
  const std::string p = "florence_config.vision_config.";
  VLART_TRY(ReadIntArray(j, p + "dim_embed", &v->dim_embed));
  VLART_TRY(ReadIntArray(j, p + "num_heads", &v->num_heads));
  VLART_TRY(ReadIntArray(j, p + "num_groups", &v->num_groups));
  VLART_TRY(ReadIntArray(j, p + "depths", &v->depths));
  VLART_TRY(ReadIntArray(j, p + "patch_size", &v->patch_size));
  VLART_TRY(ReadIntArray(j, p + "patch_stride", &v->patch_stride));
  VLART_TRY(ReadIntArray(j, p + "patch_padding", &v->patch_padding));
  VLART_ASSIGN_OR_RETURN(std::optional<std::vector<bool>> prenorm, j.OptBoolArray(p + "patch_prenorm"));
  if (prenorm) {
    if (prenorm->size() != 4) {
      return InvalidArgument("{}: field '{}patch_prenorm': expected an array of 4 booleans, got {}",
                             j.origin(), p, prenorm->size());
    }
    for (int i = 0; i < 4; ++i) v->patch_prenorm[i] = (*prenorm)[i];
  }
  VLART_TRY(ReadInt(j, p + "window_size", &v->window_size));
  VLART_ASSIGN_OR_RETURN(std::optional<std::string> pos_type, j.OptString(p + "image_pos_embed.type"));
  if (pos_type && *pos_type != "learned_abs_2d") {
    return Unimplemented("{}: field '{}image_pos_embed.type': expected 'learned_abs_2d', got '{}'",
                         j.origin(), p, *pos_type);
  }
  VLART_TRY(ReadInt(j, p + "image_pos_embed.max_pos_embeddings", &v->max_pos_embeddings));
  VLART_ASSIGN_OR_RETURN(std::optional<std::string> temporal_type,
                         j.OptString(p + "visual_temporal_embedding.type"));
  if (temporal_type && *temporal_type != "COSINE") {
    return Unimplemented(
        "{}: field '{}visual_temporal_embedding.type': expected 'COSINE', got '{}'", j.origin(), p,
        *temporal_type);
  }
  VLART_TRY(ReadInt(j, p + "visual_temporal_embedding.max_temporal_embeddings",
                    &v->max_temporal_embeddings));
  VLART_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> sources,
                         j.OptStringArray(p + "image_feature_source"));
  if (sources && (*sources != std::vector<std::string>{"spatial_avg_pool", "temporal_avg_pool"})) {
    return Unimplemented(
        "{}: field '{}image_feature_source': expected [spatial_avg_pool, temporal_avg_pool] (the "
        "only layout X-VLA ships), got {} entries",
        j.origin(), p, sources->size());
  }
  for (int s = 0; s < 4; ++s) {
    VLART_TRY(Positive(j, fmt::format("{}dim_embed[{}]", p, s), v->dim_embed[s]));
    VLART_TRY(Positive(j, fmt::format("{}num_heads[{}]", p, s), v->num_heads[s]));
    VLART_TRY(Positive(j, fmt::format("{}num_groups[{}]", p, s), v->num_groups[s]));
    VLART_TRY(Positive(j, fmt::format("{}patch_size[{}]", p, s), v->patch_size[s]));
    VLART_TRY(Positive(j, fmt::format("{}patch_stride[{}]", p, s), v->patch_stride[s]));
    if (v->depths[s] < 0 || v->patch_padding[s] < 0) {
      return InvalidArgument("{}: fields '{}depths' / 'patch_padding': expected >= 0 at stage {}",
                             j.origin(), p, s);
    }
    if (v->dim_embed[s] % v->num_heads[s] != 0 || v->dim_embed[s] % v->num_groups[s] != 0) {
      return InvalidArgument(
          "{}: stage {}: expected dim_embed {} divisible by num_heads {} and num_groups {}",
          j.origin(), s, v->dim_embed[s], v->num_heads[s], v->num_groups[s]);
    }
  }
  VLART_TRY(Positive(j, p + "window_size", v->window_size));
  VLART_TRY(Positive(j, p + "image_pos_embed.max_pos_embeddings", v->max_pos_embeddings));
  return Status::Ok();
}

Status ParseText(const JsonConfig& j, BartEncoderConfig* t) {
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
  VLART_ASSIGN_OR_RETURN(std::optional<bool> scale, j.OptBool(p + "scale_embedding"));
  if (scale) t->scale_embedding = *scale;
  VLART_ASSIGN_OR_RETURN(std::optional<std::string> act, j.OptString(p + "activation_function"));
  if (act && *act != "gelu") {
    return Unimplemented("{}: field '{}activation_function': expected 'gelu', got '{}'",
                         j.origin(), p, *act);
  }
  VLART_TRY(Positive(j, p + "vocab_size", t->vocab_size));
  VLART_TRY(Positive(j, p + "d_model", t->d_model));
  VLART_TRY(Positive(j, p + "encoder_attention_heads", t->encoder_attention_heads));
  VLART_TRY(Positive(j, p + "encoder_ffn_dim", t->encoder_ffn_dim));
  VLART_TRY(Positive(j, p + "max_position_embeddings", t->max_position_embeddings));
  if (t->encoder_layers < 0) {
    return InvalidArgument("{}: field '{}encoder_layers': expected >= 0, got {}", j.origin(), p,
                           t->encoder_layers);
  }
  if (t->d_model % t->encoder_attention_heads != 0) {
    return InvalidArgument("{}: text_config: expected d_model {} divisible by {} heads", j.origin(),
                           t->d_model, t->encoder_attention_heads);
  }
  return Status::Ok();
}

Status ParsePolicy(const JsonConfig& j, PolicyConfig* p, ActionSpace* space) {
  VLART_TRY(ReadInt(j, "hidden_size", &p->hidden_size));
  VLART_TRY(ReadInt(j, "depth", &p->depth));
  VLART_TRY(ReadInt(j, "num_heads", &p->num_heads));
  VLART_ASSIGN_OR_RETURN(std::optional<double> mlp_ratio, j.OptNumber("mlp_ratio"));
  if (mlp_ratio) p->mlp_ratio = *mlp_ratio;
  VLART_TRY(ReadInt(j, "num_domains", &p->num_domains));
  VLART_TRY(ReadInt(j, "len_soft_prompts", &p->len_soft_prompts));
  VLART_TRY(ReadInt(j, "dim_time", &p->dim_time));
  VLART_TRY(ReadInt(j, "max_len_seq", &p->max_len_seq));
  VLART_TRY(ReadInt(j, "num_actions", &p->num_actions));
  VLART_ASSIGN_OR_RETURN(std::optional<bool> hetero, j.OptBool("use_hetero_proj"));
  if (hetero) p->use_hetero_proj = *hetero;
  VLART_ASSIGN_OR_RETURN(std::optional<bool> use_proprio, j.OptBool("use_proprio"));
  if (use_proprio) p->use_proprio = *use_proprio;
  VLART_ASSIGN_OR_RETURN(std::optional<std::string> mode, j.OptString("action_mode"));
  int max_action_dim = 20, real_action_dim = 20;
  VLART_TRY(ReadInt(j, "max_action_dim", &max_action_dim));
  VLART_TRY(ReadInt(j, "real_action_dim", &real_action_dim));
  VLART_ASSIGN_OR_RETURN(*space, MakeActionSpace(mode.value_or("ee6d"), max_action_dim, real_action_dim));
  VLART_TRY(Positive(j, "hidden_size", p->hidden_size));
  VLART_TRY(Positive(j, "num_heads", p->num_heads));
  VLART_TRY(Positive(j, "num_domains", p->num_domains));
  VLART_TRY(Positive(j, "num_actions", p->num_actions));
  VLART_TRY(Positive(j, "dim_time", p->dim_time));
  VLART_TRY(Positive(j, "max_len_seq", p->max_len_seq));
  if (p->depth < 0 || p->len_soft_prompts < 0) {
    return InvalidArgument("{}: fields 'depth' / 'len_soft_prompts': expected >= 0, got {} / {}",
                           j.origin(), p->depth, p->len_soft_prompts);
  }
  if (p->hidden_size % p->num_heads != 0) {
    return InvalidArgument("{}: expected hidden_size {} divisible by num_heads {}", j.origin(),
                           p->hidden_size, p->num_heads);
  }
  if (!(p->mlp_ratio > 0.0) || static_cast<int>(p->hidden_size * p->mlp_ratio) <= 0) {
    return InvalidArgument("{}: field 'mlp_ratio': expected > 0, got {}", j.origin(), p->mlp_ratio);
  }
  return Status::Ok();
}

}  // namespace

Result<XvlaConfig> ParseXvlaConfigText(const std::string& text, const std::string& origin) {
  VLART_ASSIGN_OR_RETURN(JsonConfig j, JsonConfig::Parse(text, origin));
  VLART_ASSIGN_OR_RETURN(std::optional<std::string> model_type, j.OptString("model_type"));
  if (model_type && *model_type != "xvla") {
    return InvalidArgument("{}: field 'model_type': expected 'xvla', got '{}'", origin, *model_type);
  }
  XvlaConfig cfg;
  VLART_TRY(ParseVision(j, &cfg.vision));
  VLART_TRY(ParseText(j, &cfg.text));
  VLART_TRY(ReadInt(j, "florence_config.projection_dim", &cfg.projection_dim));
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
  return ParseXvlaConfigText(ss.str(), config_json.filename().string());
}

}  // namespace vlart::xvla
