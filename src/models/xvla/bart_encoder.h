// SPDX-License-Identifier: Apache-2.0
//
// bart_encoder.h: Florence-2's BART text encoder (post-LN), as X-VLA runs it.
//
//   h = LN_emb(inputs_embeds + pos[i + 2])          (learned positions, offset 2)
//   per layer:  h = LN1(h + out_proj(MHA(h)))        (no attention mask: pads attend)
//               h = LN2(h + fc2(gelu_erf(fc1(h))))
// q/k/v are fused into one [3d, d] projection at load time (rows q, k, v; exact).
// Reference: transformers/models/bart/modeling_bart.py BartEncoder / BartEncoderLayer.
#pragma once

#include <vector>

#include "models/common/trace.h"
#include "models/common/weights.h"
#include "models/xvla/xvla_config.h"
#include "ops/backend.h"

namespace vlart::xvla {

struct BartLayerWeights {
  HostTensor q_w, k_w, v_w;      // [d, d] each, host: fused into qkv_w at load
  HostTensor q_b, k_b, v_b;      // [d]
  Tensor qkv_w, qkv_b;           // [3d, d], [3d]
  Tensor out_w, out_b;           // [d, d], [d]
  Tensor ln1_w, ln1_b;           // [d]  self_attn_layer_norm
  Tensor fc1_w, fc1_b;           // [ffn, d], [ffn]
  Tensor fc2_w, fc2_b;           // [d, ffn], [d]
  Tensor ln2_w, ln2_b;           // [d]  final_layer_norm
};

struct BartEncoderWeights {
  HostTensor embed_tokens_host;   // [vocab, d]  `shared.weight` (or the tied alias)
  Tensor embed_tokens;            // [vocab, d]
  Tensor embed_positions;         // [max_pos + 2, d]
  Tensor ln_emb_w, ln_emb_b;      // [d]
  std::vector<BartLayerWeights> layers;
};

// Adds the encoder's tensors ("vlm.language_model.model.*") to `table`.
// `token_table_name` is the key that holds the token embedding in this checkpoint
// (`shared.weight`, or `encoder.embed_tokens.weight` when only the alias was saved).
void DescribeBartEncoderWeights(const BartEncoderConfig& cfg, const std::string& token_table_name,
                                BartEncoderWeights* w, WeightTable* table);
// Load-time algebra after the table was loaded: fuses q/k/v, applies the embedding
// scale when configured, and uploads them.
void FinishBartEncoderWeights(const BartEncoderConfig& cfg, BartEncoderWeights* w,
                              Backend& backend, Arena& arena, DType dtype);

class BartEncoder {
 public:
  BartEncoder(const BartEncoderConfig& cfg, const BartEncoderWeights& weights, Backend& backend,
              Arena& arena, int batch, int seq_len, DType dtype);

  // Token embedding lookup: ids I32 [B * L] -> out [B * L, d] (scaled when configured).
  void EmbedTokens(const Tensor& ids, const Tensor& out);
  // inputs_embeds [B, S, d] -> out [B, S, d]. Trace: "encoder.embed", "encoder.layer{l}".
  void Forward(const Tensor& inputs_embeds, const Tensor& out, const Tracer& trace);

 private:
  const BartEncoderConfig& cfg_;
  const BartEncoderWeights& w_;
  Backend& be_;
  int batch_, seq_len_;
  Tensor h_;       // [B * S, d]  residual stream
  Tensor tmp_;     // [B * S, d]
  Tensor qkv_;     // [B * S, 3d]
  Tensor attn_;    // [B * S, d]
  Tensor hidden_;  // [B * S, ffn]
};

}  // namespace vlart::xvla
