// SPDX-License-Identifier: Apache-2.0
//
// pi0_config.h: the pi0 / pi0.5 architecture and the LIBERO transform settings.
//
// openpi's converted PyTorch checkpoints carry a config.json with only five keys
// (action_dim, action_horizon, paligemma_variant, action_expert_variant, precision),
// so most numbers come from the weights (InferPi0Config):
//   variant   pi0.5 when time_mlp_in.weight is present and state_proj.weight absent,
//             pi0 for the opposite; anything else needs an explicit override;
//   SigLIP    width / patch from the patch conv, the grid from the position table,
//             layers by counting, MLP from fc1; heads by SigLIP's head_dim 72;
//   Gemma     width from q_proj's input, heads = q_proj rows / head_dim with Gemma's
//             head_dim 256 (kv heads likewise from k_proj), layers by counting, MLP
//             from gate_proj; the VLM and the expert separately;
//   vocab     rows of the tied embedding; action_dim from action_in_proj.
// A `vlart_tiny_arch` block (written by our golden generator and tiny synthetic
// checkpoints, whose head dims break the conventions) gives those numbers explicitly.
// LIBERO defaults where the config is silent (specs/pi0.md section 1.1): pi0 H = 50,
// 48 prompt tokens, z-score, delta actions on dims 0..5; pi0.5 H = 10, 200 tokens,
// quantile, no delta; 3 image slots; 10 Euler steps; 7 output dims. Every knob can be
// overridden (Pi0ConfigOverrides).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/status.h"
#include "io/json_config.h"
#include "models/common/weights.h"

namespace vlart::pi0 {

// SigLIP So400m/14 without its pooling head.
struct SiglipConfig {
  int image_size = 224;
  int patch_size = 14;
  int width = 1152;
  int depth = 27;
  int num_heads = 16;
  int mlp_dim = 4304;
  float layer_norm_eps = 1e-6f;
  int grid() const { return image_size / patch_size; }
  int tokens() const { return grid() * grid(); }  // tokens per image (256)
  int head_dim() const { return width / num_heads; }
};

// A Gemma decoder stack (the PaliGemma language model or the action expert).
struct GemmaConfig {
  int width = 2048;
  int depth = 18;
  int mlp_dim = 16384;
  int num_heads = 8;
  int num_kv_heads = 1;
  int head_dim = 256;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  int q_dim() const { return num_heads * head_dim; }
  int kv_dim() const { return num_kv_heads * head_dim; }
};

enum class NormMode {
  kZScore,    // (x - mean) / (std + 1e-6)                  pi0_libero
  kQuantile,  // (x - q01) / (q99 - q01 + 1e-6) * 2 - 1     pi05_libero
};
const char* NormModeName(NormMode mode);

// openpi's input/output transforms for LIBERO (LiberoInputs, Normalize, ..., Unnormalize,
// AbsoluteActions, LiberoOutputs).
struct Pi0TransformConfig {
  NormMode norm = NormMode::kZScore;
  int delta_action_dims = 6;   // AbsoluteActions: actions[..., :n] += state[:n]; 0 = none
  int output_action_dim = 7;   // LiberoOutputs: actions[..., :7]
};

struct Pi0Config {
  bool pi05 = false;
  SiglipConfig vision;
  GemmaConfig vlm;        // gemma_2b
  GemmaConfig expert{1024, 18, 4096, 8, 1, 256};  // gemma_300m
  int vocab_size = 257152;
  int action_dim = 32;    // padded state / action width
  int action_horizon = 50;
  int max_token_len = 48;
  int num_views = 3;      // image slots: base, left wrist, right wrist
  int num_steps = 10;     // Euler steps (sample_actions' default)
  Pi0TransformConfig transforms;

  // Suffix tokens per step: the pi0 state token + H action tokens; pi0.5 has no state token.
  int suffix_len() const { return pi05 ? action_horizon : action_horizon + 1; }
  // openpi's prefix as executed: every image slot + the padded prompt.
  int full_prefix_len() const { return num_views * vision.tokens() + max_token_len; }
};

struct Pi0ConfigOverrides {
  std::optional<bool> pi05;
  std::optional<int> action_horizon;
  std::optional<int> max_token_len;
  std::optional<int> num_views;
  std::optional<int> num_steps;
  std::optional<NormMode> norm;
  std::optional<int> delta_action_dims;
  std::optional<int> output_action_dim;
};

// Key names of openpi's PyTorch checkpoints (LeRobot prepends "model.").
inline constexpr const char* kVisionPrefix =
    "paligemma_with_expert.paligemma.model.vision_tower.vision_model.";
inline constexpr const char* kProjectorPrefix =
    "paligemma_with_expert.paligemma.model.multi_modal_projector.linear.";
inline constexpr const char* kVlmPrefix = "paligemma_with_expert.paligemma.model.language_model.";
inline constexpr const char* kExpertPrefix = "paligemma_with_expert.gemma_expert.model.";
// The tied token embedding: safetensors.save_model keeps one name of a tied pair, which
// is lm_head's in openpi's files; LeRobot loads it into embed_tokens.
inline constexpr const char* kEmbedLmHeadKey = "paligemma_with_expert.paligemma.lm_head.weight";
inline constexpr const char* kEmbedTokensKey =
    "paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight";
// In every converted file, never used by inference.
inline constexpr const char* kExpertLmHeadKey = "paligemma_with_expert.gemma_expert.lm_head.weight";
inline constexpr const char* kVlmFinalNormKey =
    "paligemma_with_expert.paligemma.model.language_model.norm.weight";

// Builds the config from a parsed config.json (null when the folder has none) and the
// checkpoint's tensors, then applies `overrides` and validates the result.
Result<Pi0Config> InferPi0Config(const JsonDocument* config_json, const WeightSource& weights,
                                 const Pi0ConfigOverrides& overrides = {});
// Same, reading `dir`/config.json when it exists.
Result<Pi0Config> LoadPi0Config(const std::filesystem::path& dir, const WeightSource& weights,
                                const Pi0ConfigOverrides& overrides = {});
// Checks sizes and cross-constraints (the expert attends to the VLM's per-layer K/V).
Status ValidatePi0Config(const Pi0Config& cfg);

// The released pi0_libero / pi05_libero architecture (specs/pi0.md section 2).
Pi0Config Pi0FullConfig(bool pi05);
// The same structure with narrow widths and two layers (a few MB): the tests' and
// demos' default. 224x224 images (the LIBERO request size); `vocab_size` should cover
// the tokenizer (the embedded paligemma_tiny model has 1200 pieces).
Pi0Config Pi0TinyConfig(bool pi05, int vocab_size);

// config.json as openpi's converter writes it (five keys; `precision` names the weight
// dtype of the file, "bfloat16" or "float32"), plus `vlart_tiny_arch` with every size
// when the architecture is not the released one (so it parses back).
std::string Pi0ConfigToJson(const Pi0Config& cfg, const std::string& precision = "bfloat16");

}  // namespace vlart::pi0
