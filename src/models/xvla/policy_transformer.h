// SPDX-License-Identifier: Apache-2.0
//
// policy_transformer.h: X-VLA's SoftPromptedTransformer, one denoising step at a time.
//
// Per step (official models/transformer.py, SoftPromptedTransformer.forward):
//   tok   = concat(x_t [A, da], proprio [dp], temb(t) [dt])           per action row
//   X     = concat(action_encoder_d(tok), vlm_proj(vlm), aux_proj(aux)) + pos_emb[:S0]
//   X     = concat(X, soft_prompts_d)                                  (no positions)
//   X     = blocks(X)   pre-LN: X += proj(MHSA(LN1 X)); X += fc2(gelu_tanh(fc1(LN2 X)))
//   x0    = action_decoder_d(LN(X[:A]))
// where _d marks per-domain weights (DomainAwareLinear, tables stored [in, out]).
// The context rows (vlm/aux projections + positions, soft prompts) do not depend on the
// step: they are built once per call by BuildContext and copied into the sequence each
// step. Setting hoist_context = false recomputes them every step exactly as the
// reference does; tests/models prove both give bit-identical results.
#pragma once

#include <vector>

#include "models/common/trace.h"
#include "models/common/weights.h"
#include "models/xvla/xvla_config.h"
#include "ops/backend.h"

namespace vlart::xvla {

struct PolicyBlockWeights {
  Tensor norm1_w, norm1_b;   // [H]
  Tensor qkv_w, qkv_b;       // [3H, H], [3H]   (output order [3][heads][hd])
  Tensor proj_w, proj_b;     // [H, H], [H]
  Tensor norm2_w, norm2_b;   // [H]
  Tensor fc1_w, fc1_b;       // [mlp, H], [mlp]
  Tensor fc2_w, fc2_b;       // [H, mlp], [H]
};

struct PolicyWeights {
  std::vector<PolicyBlockWeights> blocks;
  // use_hetero_proj == false: nn.Linear [H, d_in]; true: per-domain tables (below).
  Tensor vlm_proj_w, vlm_proj_b;           // [H, d_in], [H]     or [D, d_in*H], [D, H]
  Tensor aux_proj_w, aux_proj_b;           // [H, d_in], [H]     or [D, d_in*H], [D, H]
  Tensor pos_emb;                          // [1, max_len_seq, H]
  Tensor norm_w, norm_b;                   // [H]
  Tensor enc_table, enc_bias;              // [D, (da+dp+dt)*H], [D, H]
  Tensor dec_table, dec_bias;              // [D, H*da], [D, da]
  Tensor soft_prompts;                     // [D, P*H] (absent when P == 0)
};

// Adds "transformer.*" tensors to `table`. `d_in` is the VLM feature width.
void DescribePolicyWeights(const XvlaConfig& cfg, PolicyWeights* w, WeightTable* table);

class PolicyTransformer {
 public:
  // Activations for `batch` samples; `num_vlm` / `num_aux` context tokens.
  PolicyTransformer(const XvlaConfig& cfg, const PolicyWeights& weights, Backend& backend,
                    Arena& arena, int batch, int num_vlm, int num_aux, DType dtype,
                    bool hoist_context);

  // vlm [B, num_vlm, d_in], aux [B, num_aux, d_in], domain_ids I32 [B].
  // Builds the step-invariant rows (or remembers the inputs when not hoisting).
  void BuildContext(const Tensor& vlm, const Tensor& aux, const Tensor& domain_ids);
  // tokens_in [B, A, da+dp+dt] (f32) -> x0 [B, A, da] (f32). Trace prefix "policy.step{k}".
  void Step(const Tensor& tokens_in, const Tensor& domain_ids, const Tensor& x0, int step,
            const Tracer& trace);

  int seq_len() const { return seq_len_; }

 private:
  void WriteContextRows(const Tensor& dst_seq);  // projections + positions + prompts

  const XvlaConfig& cfg_;
  const PolicyWeights& w_;
  Backend& be_;
  int batch_, num_vlm_, num_aux_, seq_len_;
  bool hoist_;
  Tensor vlm_, aux_, domains_;   // inputs remembered by BuildContext (views)
  Tensor context_;   // [B, S, H]   rows A.. filled by BuildContext when hoisting
  Tensor seq_;       // [B, S, H]   residual stream
  Tensor proj_tmp_;  // [B, max(num_vlm, num_aux), H]
  Tensor tok_c_;     // [B, A, da+dp+dt] in the compute dtype
  Tensor y_;         // [B * S, H]
  Tensor qkv_;       // [B * S, 3H]
  Tensor attn_;      // [B * S, H]
  Tensor hidden_;    // [B * S, mlp]
  Tensor head_in_;   // [B, A, H]  LN(X[:A]) contiguous
};

}  // namespace vlart::xvla
