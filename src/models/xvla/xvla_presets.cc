// SPDX-License-Identifier: Apache-2.0
//
// xvla_presets.cc: the full and tiny X-VLA configurations, and config.json output.
//
// XvlaConfigToJson writes the fields the official XVLAConfig / Florence2Config read
// (2toinf/X-VLA models/configuration_xvla.py, configuration_florence2.py), so a
// generated checkpoint folder looks like a released one.

#include <nlohmann/json.hpp>

#include "models/xvla/xvla_config.h"

namespace vlart::xvla {

XvlaConfig XvlaFullConfig() {
  XvlaConfig cfg;  // the struct defaults are the released architecture...
  cfg.text.max_position_embeddings = 4096;  // ...except X-VLA-Libero's 4096 text positions
  return cfg;
}

XvlaConfig XvlaTinyConfig(int vocab_size) {
  XvlaConfig cfg;
  cfg.vision.dim_embed = {32, 64, 96, 128};
  cfg.vision.num_heads = {1, 2, 3, 4};  // head dim 32 as in the real model
  cfg.vision.num_groups = {1, 2, 3, 4};
  cfg.vision.depths = {1, 1, 2, 1};
  cfg.text.vocab_size = vocab_size;
  cfg.text.d_model = 64;
  cfg.text.encoder_layers = 2;
  cfg.text.encoder_attention_heads = 4;
  cfg.text.encoder_ffn_dim = 128;
  cfg.text.max_position_embeddings = 128;
  cfg.projection_dim = 64;
  cfg.policy.hidden_size = 96;
  cfg.policy.depth = 2;
  cfg.policy.num_heads = 4;
  cfg.policy.num_domains = 30;  // keeps LIBERO's domain id 3 valid
  cfg.policy.len_soft_prompts = 8;
  return cfg;
}

std::string XvlaConfigToJson(const XvlaConfig& cfg) {
  using nlohmann::ordered_json;
  const DavitConfig& v = cfg.vision;
  const BartEncoderConfig& t = cfg.text;
  const PolicyConfig& p = cfg.policy;
  ordered_json vision = {
      {"model_type", "davit"},
      {"drop_path_rate", 0.1},
      {"patch_size", v.patch_size},
      {"patch_stride", v.patch_stride},
      {"patch_padding", v.patch_padding},
      {"patch_prenorm", v.patch_prenorm},
      {"enable_checkpoint", false},
      {"dim_embed", v.dim_embed},
      {"num_heads", v.num_heads},
      {"num_groups", v.num_groups},
      {"depths", v.depths},
      {"window_size", v.window_size},
      {"projection_dim", cfg.projection_dim},
      {"visual_temporal_embedding",
       {{"type", "COSINE"}, {"max_temporal_embeddings", v.max_temporal_embeddings}}},
      {"image_pos_embed", {{"type", "learned_abs_2d"}, {"max_pos_embeddings", v.max_pos_embeddings}}},
      {"image_feature_source", {"spatial_avg_pool", "temporal_avg_pool"}},
  };
  ordered_json text = {
      {"model_type", "florence2_language"},
      {"vocab_size", t.vocab_size},
      {"max_position_embeddings", t.max_position_embeddings},
      {"d_model", t.d_model},
      {"encoder_layers", t.encoder_layers},
      {"encoder_attention_heads", t.encoder_attention_heads},
      {"encoder_ffn_dim", t.encoder_ffn_dim},
      {"decoder_layers", t.encoder_layers},
      {"decoder_attention_heads", t.encoder_attention_heads},
      {"decoder_ffn_dim", t.encoder_ffn_dim},
      {"activation_function", "gelu"},
      {"scale_embedding", t.scale_embedding},
      {"pad_token_id", t.pad_token_id},
      {"bos_token_id", t.bos_token_id},
      {"eos_token_id", t.eos_token_id},
  };
  ordered_json root = {
      {"architectures", {"XVLA"}},
      {"model_type", "xvla"},
      {"florence_config",
       {{"model_type", "florence2"},
        {"projection_dim", cfg.projection_dim},
        {"vocab_size", t.vocab_size},
        {"vision_config", vision},
        {"text_config", text}}},
      {"hidden_size", p.hidden_size},
      {"depth", p.depth},
      {"num_heads", p.num_heads},
      {"mlp_ratio", p.mlp_ratio},
      {"num_domains", p.num_domains},
      {"len_soft_prompts", p.len_soft_prompts},
      {"soft_prompt_length", p.len_soft_prompts},
      {"dim_time", p.dim_time},
      {"max_len_seq", p.max_len_seq},
      {"use_hetero_proj", p.use_hetero_proj},
      {"num_actions", p.num_actions},
      {"action_mode", cfg.action_space.name},
      {"max_action_dim", cfg.action_space.dim_action},
      {"real_action_dim", cfg.action_space.output_dim},
      {"use_proprio", p.use_proprio},
      {"torch_dtype", "float32"},
  };
  return root.dump(2) + "\n";
}

}  // namespace vlart::xvla
