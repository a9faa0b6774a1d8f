// SPDX-License-Identifier: Apache-2.0
//
// xvla_config.h: X-VLA's architecture as read from a checkpoint's config.json.
//
// Field names and defaults follow the official code (2toinf/X-VLA
// models/configuration_xvla.py and configuration_florence2.py); docs/models/xvla.md
// lists where each number comes from. Only values that change the computation are
// kept. ParseXvlaConfig validates everything it reads and rejects configurations this
// engine does not implement (e.g. an image_feature_source other than
// [spatial_avg_pool, temporal_avg_pool]) with a clear Status.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/xvla/action_space.h"

namespace vlart::xvla {

// Florence-2's DaViT vision tower (4 stages).
struct DavitConfig {
  std::array<int, 4> dim_embed = {256, 512, 1024, 2048};   // C per stage
  std::array<int, 4> num_heads = {8, 16, 32, 64};          // window attention heads
  std::array<int, 4> num_groups = {8, 16, 32, 64};         // channel attention groups
  std::array<int, 4> depths = {1, 1, 9, 1};                // (spatial + channel) blocks per stage
  std::array<int, 4> patch_size = {7, 3, 3, 3};
  std::array<int, 4> patch_stride = {4, 2, 2, 2};
  std::array<int, 4> patch_padding = {3, 1, 1, 1};
  std::array<bool, 4> patch_prenorm = {false, true, true, true};
  int window_size = 12;
  int mlp_ratio = 4;           // DaViT FFN hidden = mlp_ratio * C (fixed at 4 in Florence-2)
  int max_pos_embeddings = 50; // image_pos_embed.max_pos_embeddings (learned_abs_2d)
  int max_temporal_embeddings = 100;  // visual_temporal_embedding.max_temporal_embeddings (COSINE)
  int image_size = 224;        // the processor's resize target; fixes the token grid
};

// Florence-2's BART text encoder (the decoder is not used).
struct BartEncoderConfig {
  int vocab_size = 51289;
  int d_model = 1024;
  int encoder_layers = 12;
  int encoder_attention_heads = 16;
  int encoder_ffn_dim = 4096;
  int max_position_embeddings = 1024;  // the table holds max_position_embeddings + 2 rows
  bool scale_embedding = false;        // multiply token embeddings by sqrt(d_model)
  int pad_token_id = 1;
  int bos_token_id = 0;
  int eos_token_id = 2;
};

// The soft-prompted policy transformer and the action loop.
struct PolicyConfig {
  int hidden_size = 1024;
  int depth = 24;
  int num_heads = 16;
  double mlp_ratio = 4.0;
  int num_domains = 30;
  int len_soft_prompts = 32;
  int dim_time = 32;
  int max_len_seq = 512;
  bool use_hetero_proj = false;  // vlm_proj / aux_visual_proj become per-domain linears
  int num_actions = 30;          // the action chunk length
  bool use_proprio = true;
};

struct XvlaConfig {
  DavitConfig vision;
  BartEncoderConfig text;
  int projection_dim = 1024;  // florence_config.projection_dim: image tokens' width (= d_model)
  PolicyConfig policy;
  ActionSpace action_space;   // from action_mode (+ max/real action dims for "auto")

  // Processor constants (class attributes of the official XVLAProcessor, not in any config).
  int num_views = 3;
  int max_text_tokens = 50;

  // Derived sizes.
  int tokens_per_view() const;   // 1 mean token + (image_size / 32)^2 grid tokens = 50
  int encoder_tokens() const { return tokens_per_view() + max_text_tokens; }      // 100
  int aux_tokens() const { return (num_views - 1) * tokens_per_view(); }          // 100
  int policy_tokens() const;     // actions + encoder + aux + soft prompts = 262
  int dim_proprio() const { return policy.use_proprio ? action_space.dim_action : 0; }
};

// Parses `config.json` of an X-VLA checkpoint (official layout: top-level policy
// fields plus a nested florence_config with vision_config and text_config).
Result<XvlaConfig> ParseXvlaConfig(const std::filesystem::path& config_json);
// Same, from JSON text (`origin` names it in error messages).
Result<XvlaConfig> ParseXvlaConfigText(const std::string& text, const std::string& origin);

}  // namespace vlart::xvla

namespace vlart::xvla {

// The architecture of the released X-VLA-0.9B checkpoints (2toINF/X-VLA-Libero): DaViT
// [256, 512, 1024, 2048], BART 12 x 1024 with 4096 positions, policy 24 x 1024, 30
// domains, 32 soft prompts, ee6d actions.
XvlaConfig XvlaFullConfig();
// The same architecture with narrow widths and one or two layers (a few MB of weights):
// the embedded default for demos and tests. `vocab_size` should match the tokenizer.
XvlaConfig XvlaTinyConfig(int vocab_size);

// config.json text in the official layout (what ParseXvlaConfigText reads back).
std::string XvlaConfigToJson(const XvlaConfig& cfg);

}  // namespace vlart::xvla
