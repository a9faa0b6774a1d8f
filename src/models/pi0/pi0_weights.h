// SPDX-License-Identifier: Apache-2.0
//
// pi0_weights.h: every tensor pi0 / pi0.5 read, how they are named, checked and loaded.
//
// Names are openpi's converted-checkpoint keys verbatim (specs/pi0.md section 2.1);
// LeRobot's files are the same keys under "model." (OpenPi0Checkpoint strips it). The
// token embedding is tied with lm_head and stored under either name (Pi0EmbeddingKey).
// Never read: the VLM's final norm (only affects the discarded prefix output) and the
// expert's lm_head (randomly initialised by openpi's converter).
//
// Load-time algebra (exact: copies and one f32 scale):
//   SigLIP q/k/v (+ biases) and Gemma q/k/v are stacked into one [q; k; v] projection;
//   Gemma gate/up are stacked into one [gate; up] projection (GeGLU reads both halves);
//   the token table is multiplied by float32(sqrt(width)) once, which equals openpi's
//   `embed(ids) * math.sqrt(width)` after the lookup, element for element;
//   pi0's action_time_mlp_in [We, 2We] is also split by columns into its action and
//   time halves (for the folded time path, see action_expert.h).
// Dtypes: the backbone (SigLIP, projector, Gemma, expert blocks) in the backend's compute
// dtype; the action path in f32 as openpi keeps it (state_proj, action_in/out_proj,
// action_time_mlp_*, time_mlp_*, and the adaRMS modulation denses, which openpi keeps
// f32 through its `input_layernorm` / `post_attention_layernorm` / `model.norm` rule).
// Host memory: parts are loaded one layer at a time, so the f32 host copies alive at
// any moment are one layer's (or the embedding table), not the model's.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/weight_spec.h"
#include "models/common/checkpoint_source.h"
#include "models/common/weights.h"
#include "models/pi0/pi0_config.h"
#include "ops/backend.h"

namespace vlart::pi0 {

struct SiglipLayerWeights {
  Tensor ln1_w, ln1_b;        // [C]            layer_norm1
  Tensor qkv_w, qkv_b;        // [3C, C], [3C]  q_proj; k_proj; v_proj
  Tensor out_w, out_b;        // [C, C], [C]    self_attn.out_proj
  Tensor ln2_w, ln2_b;        // [C]            layer_norm2
  Tensor fc1_w, fc1_b;        // [M, C], [M]
  Tensor fc2_w, fc2_b;        // [C, M], [C]
  HostTensor q_w, k_w, v_w;   // [C, C] load-time only
  HostTensor q_b, k_b, v_b;   // [C]
};

struct SiglipWeights {
  Tensor patch_w;             // [C, 3, p, p]
  Tensor patch_b;             // [C]
  Tensor pos;                 // [T, C]  T = (S / p)^2
  std::vector<SiglipLayerWeights> layers;
  Tensor post_ln_w, post_ln_b;  // [C]
  Tensor proj_w, proj_b;        // [Wq, C], [Wq]  multi_modal_projector.linear
};

struct GemmaLayerWeights {
  Tensor input_norm;          // [W] RMSNorm offsets, y = x_hat * (1 + w)   (plain norms)
  Tensor post_norm;           // [W]
  Tensor input_dense_w, input_dense_b;  // [3W, W], [3W] f32  adaRMS (pi0.5 expert)
  Tensor post_dense_w, post_dense_b;    // [3W, W], [3W] f32
  Tensor qkv_w;               // [(Hq + 2 Hkv) D, W]  q_proj; k_proj; v_proj
  Tensor o_w;                 // [W, Hq D]
  Tensor gate_up_w;           // [2M, W]  gate_proj; up_proj
  Tensor down_w;              // [W, M]
  HostTensor q_w, k_w, v_w, gate_w, up_w;  // load-time only
  HostTensor input_dense_w_host, input_dense_b_host;  // load-time only (adaRMS)
  HostTensor post_dense_w_host, post_dense_b_host;
  // Pi0ModelOptions::fold_rms_norms: qkv_w's and gate_up_w's input columns j carry
  // (1 + input_norm[j]) and (1 + post_norm[j]) (the f32 product rounded once to the compute
  // dtype); input_norm / post_norm are still loaded (traces compute the norms for display).
  bool norms_folded = false;
};

struct VlmWeights {
  Tensor embed;               // [V, W] token table, already scaled by float32(sqrt(W))
  HostTensor embed_host;      // load-time only
  std::vector<GemmaLayerWeights> layers;
};

struct ExpertWeights {
  std::vector<GemmaLayerWeights> layers;
  Tensor final_norm;                      // [We]          pi0
  Tensor final_dense_w, final_dense_b;    // [3We, We], [3We] f32  pi0.5
  HostTensor final_dense_w_host, final_dense_b_host;  // load-time only
};

// The top-level projections, all f32.
struct ProjectionWeights {
  Tensor action_in_w, action_in_b;        // [We, A], [We]
  Tensor action_out_w, action_out_b;      // [A, We], [A]
  // pi0
  Tensor state_w, state_b;                // [We, A], [We]
  Tensor action_time_in_w, action_time_in_b;  // [We, 2We], [We]  (columns: action, time)
  Tensor action_time_in_action_w;         // [We, We]  columns 0..We-1 of action_time_in_w
  Tensor action_time_in_time_w;           // [We, We]  columns We..2We-1
  Tensor action_time_out_w, action_time_out_b;  // [We, We], [We]
  HostTensor action_time_in_host;         // [We, 2We] load-time only
  // pi0.5
  Tensor time_in_w, time_in_b;            // [We, We], [We]
  Tensor time_out_w, time_out_b;          // [We, We], [We]
};

struct Pi0Weights {
  SiglipWeights vision;
  VlmWeights vlm;
  ExpertWeights expert;
  ProjectionWeights proj;
};

// The key holding the tied token embedding in `source` (lm_head's, or embed_tokens').
std::string Pi0EmbeddingKey(const WeightSource& source);

// Adds every tensor the model reads to `table` (for `vlart inspect` and the up-front
// check). `w` receives the slots; use LoadPi0Weights to load.
void DescribePi0Weights(const Pi0Config& cfg, const std::string& embed_key, Pi0Weights* w,
                        WeightTable* table);

// Checks the whole table against `source`, then loads part by part into `arena`
// (backbone in `dtype`, the action path in f32) and applies the load-time algebra;
// `fold_rms_norms`: Pi0ModelOptions::fold_rms_norms, applied to the action expert's plain-norm layers
// (GemmaLayerWeights::norms_folded).
Status LoadPi0Weights(const Pi0Config& cfg, const WeightSource& source, Backend& backend,
                      Arena& arena, DType dtype, bool fold_rms_norms, Pi0Weights* w);

// What `vlart inspect` lists for the checkpoint folder `dir`: every tensor the model
// reads, for the config inferred from the folder (a WeightSpecProvider).
Result<std::vector<WeightSpec>> Pi0WeightSpecs(const std::filesystem::path& dir);

// Opens a checkpoint folder (or one .safetensors file) as a WeightSource, stripping
// LeRobot's "model." prefix when the file uses it.
Result<std::unique_ptr<CheckpointSource>> OpenPi0Checkpoint(const std::filesystem::path& path);

}  // namespace vlart::pi0
