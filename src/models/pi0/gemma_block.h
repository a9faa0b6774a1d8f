// SPDX-License-Identifier: Apache-2.0
//
// gemma_block.h: one Gemma decoder layer as pi0 runs it, shared by the PaliGemma
// prefix (gemma_prefix.h) and the action expert (action_expert.h).
//
//   h   = Norm_in(x)                                  RMSNorm (1 + w), or adaRMS
//   q, k, v = [q; k; v] projection of h, RoPE (rotate-half) on q and k
//   K/V of these tokens -> cache rows [kv_offset, kv_offset + S)   (K after RoPE)
//   a   = softmax(q kᵀ / sqrt(D) + mask) v  over cache rows [0, kv_len)  (MQA/GQA)
//   x   = x + o_proj(a) [* gate_attn]
//   h   = Norm_post(x)
//   x   = x + down(gelu_tanh(gate(h)) * up(h)) [* gate_mlp]
// Reference: openpi transformers_replace/models/gemma/modeling_gemma.py (GemmaRMSNorm,
// GemmaAttention with `torch.cat([past_k, k])`, eager_attention_forward, GemmaMLP,
// _gated_residual), reached through gemma_pytorch.py's prefix and suffix passes.
// adaRMS (pi0.5 expert): [scale, shift, gate] = chunk3(Dense(cond)) (in that order);
// Norm = x_hat * (1 + scale) + shift (one AdaRmsNorm: the same f32 operations in the same
// order as openpi, rounded once); residual x + y * gate (one MulAdd); a residual followed by an
// adaRMS norm is one MulAddAdaRmsNorm (the same operations: CUDA fuses them into one launch).
// Folded norms (GemmaLayerWeights::norms_folded, Pi0ModelOptions::fold_rms_norms): the qkv and
// gate/up GEMMs read x, their weights carry (1 + w), and RopeQkv / GatedActivation multiply
// each row by 1 / sqrt(mean(x²) + eps) (RowRmsScale): no norm launches.
// `kv_only` stops after the K/V write: the last prefix layer's (and the cached pi0 state
// token's last layer's) outputs are never read, only its K/V.
// Forward only enqueues ops on scratch allocated at construction.
#pragma once

#include <string_view>

#include "models/common/trace.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_weights.h"
#include "ops/backend.h"

namespace vlart::pi0 {

// adaRMS modulation of one norm site. Each is [R, W] with R = 1 (one vector for the
// whole batch: every sample shares the step's t) or R = B (one per sample).
struct AdaModulation {
  Tensor scale;  // [R, W]
  Tensor shift;  // [R, W]
  Tensor gate;   // [R, W]  (unused by the final norm)
};

// adaRMS layers chained across their boundary (pi0.5's expert, untraced runs): the MLP's gated
// residual of one layer and the next norm (the next layer's input norm, or the final norm) run
// as one MulAddAdaRmsNorm, and the next layer skips its input norm.
struct AdaChain {
  bool input_normed = false;           // this layer's input norm is already in the block's scratch
  const AdaModulation* next = nullptr;  // the next norm's modulation (null: plain residual)
  Tensor next_out;  // where the next norm goes: [B, S, W]; undefined: the block's own scratch
};

struct GemmaAttentionArgs {
  Tensor positions;          // I32 [B, S]
  Tensor mask;               // F32 [B, S, kv_len] additive (0 / -2.3819763e38)
  Tensor k_cache, v_cache;   // [B, Lmax, Hkv, D] this layer's cache
  int64_t kv_offset = 0;     // rows [kv_offset, kv_offset + S) receive this chunk's K/V
  int64_t kv_len = 0;        // keys [0, kv_len) are attended (kv_offset + S <= kv_len)
};

class GemmaBlock {
 public:
  // Scratch for up to batch * max_seq tokens, in `dtype`.
  GemmaBlock(const GemmaConfig& cfg, Backend& backend, Arena& arena, int64_t batch,
             int64_t max_seq, DType dtype);

  // One decoder layer over x [B, S, W] (the residual stream, updated in place).
  // ada_in / ada_post: null for plain norms (w.input_norm / w.post_norm). When
  // `internals` is not empty and the tracer is active, traces "{internals}.input_norm",
  // ".attn_out", ".post_norm", ".mlp_out" (and ".attn_gate", ".mlp_gate" for adaRMS).
  // With both ada_in and ada_post, the attention's gated residual and the post-attention
  // norm are one op (MulAddAdaRmsNorm); `chain` (adaRMS only, may be null) fuses the MLP's
  // residual with the next norm too (see AdaChain).
  // prefetch_next (may be null): the layer streams weights ahead (Backend::Prefetch, results
  // unchanged): o_proj and gate_up once the qkv GEMM is done (during RoPE and attention),
  // down_proj and prefetch_next's qkv once o_proj is done. For few-row chunks (the action
  // expert), where every GEMM is a short pass over its weights.
  void Forward(const GemmaLayerWeights& w, const Tensor& x, const GemmaAttentionArgs& attn,
               const AdaModulation* ada_in, const AdaModulation* ada_post, bool kv_only,
               const Tracer& trace, std::string_view internals, const AdaChain* chain = nullptr,
               const GemmaLayerWeights* prefetch_next = nullptr);

  // Gemma RMSNorm of x [B, S, W] into out [B, S, W]: x_hat * (1 + weight) when `ada` is
  // null, else x_hat * (1 + scale) + shift.
  void Norm(const Tensor& x, const Tensor* weight, const AdaModulation* ada, const Tensor& out);

 private:
  // x + y [* gate] into x; y [B, S, W] is scratch.
  void Residual(const Tensor& x, const Tensor& y, const AdaModulation* ada);
  // x + y * gate.gate into x, then the adaRMS norm `norm` of x into out: one op.
  void ResidualNorm(const Tensor& x, const Tensor& y, const AdaModulation& gate,
                    const AdaModulation& norm, const Tensor& out);

  const GemmaConfig& cfg_;
  Backend& be_;
  int64_t batch_, max_seq_;
  Tensor normed_;  // [B * Smax, W]
  Tensor qkv_;     // [B * Smax, (Hq + 2 Hkv) D]
  Tensor attn_;    // [B * Smax, Hq D]
  Tensor hidden_;  // [B * Smax, 2M]   gate | up
  Tensor tmp_;     // [B * Smax, W]
};

}  // namespace vlart::pi0
