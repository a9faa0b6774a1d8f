// SPDX-License-Identifier: Apache-2.0
//
// policy_transformer.cc: the soft-prompted policy transformer (see the header).

#include "models/xvla/policy_transformer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vlart::xvla {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // nn.LayerNorm default (norm1, norm2, final norm)

}  // namespace

void DescribePolicyWeights(const XvlaConfig& cfg, PolicyWeights* w, WeightTable* t) {
  const PolicyConfig& p = cfg.policy;
  const int h = p.hidden_size;
  const int mlp = static_cast<int>(h * p.mlp_ratio);
  const int d_in = cfg.projection_dim;
  const int da = cfg.action_space.dim_action;
  const int d_tok = da + cfg.dim_proprio() + p.dim_time;
  const int nd = p.num_domains;
  t->SetPrefix("transformer.");
  w->blocks.resize(p.depth);
  for (int l = 0; l < p.depth; ++l) {
    PolicyBlockWeights& b = w->blocks[l];
    const std::string pre = fmt::format("blocks.{}.", l);
    t->Device(pre + "norm1.weight", {h}, &b.norm1_w);
    t->Device(pre + "norm1.bias", {h}, &b.norm1_b);
    t->Device(pre + "attn.qkv.weight", {3 * h, h}, &b.qkv_w);
    t->Device(pre + "attn.qkv.bias", {3 * h}, &b.qkv_b);
    t->Device(pre + "attn.proj.weight", {h, h}, &b.proj_w);
    t->Device(pre + "attn.proj.bias", {h}, &b.proj_b);
    t->Device(pre + "norm2.weight", {h}, &b.norm2_w);
    t->Device(pre + "norm2.bias", {h}, &b.norm2_b);
    t->Device(pre + "mlp.fc1.weight", {mlp, h}, &b.fc1_w);
    t->Device(pre + "mlp.fc1.bias", {mlp}, &b.fc1_b);
    t->Device(pre + "mlp.fc2.weight", {h, mlp}, &b.fc2_w);
    t->Device(pre + "mlp.fc2.bias", {h}, &b.fc2_b);
  }
  if (p.use_hetero_proj) {
    t->Device("vlm_proj.fc.weight", {nd, int64_t{d_in} * h}, &w->vlm_proj_w);
    t->Device("vlm_proj.bias.weight", {nd, h}, &w->vlm_proj_b);
    t->Device("aux_visual_proj.fc.weight", {nd, int64_t{d_in} * h}, &w->aux_proj_w);
    t->Device("aux_visual_proj.bias.weight", {nd, h}, &w->aux_proj_b);
  } else {
    t->Device("vlm_proj.weight", {h, d_in}, &w->vlm_proj_w);
    t->Device("vlm_proj.bias", {h}, &w->vlm_proj_b);
    t->Device("aux_visual_proj.weight", {h, d_in}, &w->aux_proj_w);
    t->Device("aux_visual_proj.bias", {h}, &w->aux_proj_b);
  }
  t->Device("pos_emb", {1, p.max_len_seq, h}, &w->pos_emb);
  t->Device("norm.weight", {h}, &w->norm_w);
  t->Device("norm.bias", {h}, &w->norm_b);
  t->Device("action_encoder.fc.weight", {nd, int64_t{d_tok} * h}, &w->enc_table);
  t->Device("action_encoder.bias.weight", {nd, h}, &w->enc_bias);
  t->Device("action_decoder.fc.weight", {nd, int64_t{h} * da}, &w->dec_table);
  t->Device("action_decoder.bias.weight", {nd, da}, &w->dec_bias);
  if (p.len_soft_prompts > 0) {
    t->Device("soft_prompt_hub.weight", {nd, int64_t{p.len_soft_prompts} * h}, &w->soft_prompts);
  }
  t->SetPrefix("");
}

PolicyTransformer::PolicyTransformer(const XvlaConfig& cfg, const PolicyWeights& weights,
                                     Backend& backend, Arena& arena, int batch, int num_vlm,
                                     int num_aux, DType dtype, bool hoist_context)
    : cfg_(cfg),
      w_(weights),
      be_(backend),
      batch_(batch),
      num_vlm_(num_vlm),
      num_aux_(num_aux),
      hoist_(hoist_context) {
  const PolicyConfig& p = cfg.policy;
  const int64_t a = cfg.policy.num_actions;
  seq_len_ = static_cast<int>(a) + num_vlm + num_aux + p.len_soft_prompts;
  const int64_t h = p.hidden_size;
  const int64_t mlp = static_cast<int64_t>(h * p.mlp_ratio);
  const int64_t rows = static_cast<int64_t>(batch) * seq_len_;
  const int64_t d_tok = cfg.action_space.dim_action + cfg.dim_proprio() + p.dim_time;
  context_ = arena.Allocate({batch, seq_len_, h}, dtype);
  seq_ = arena.Allocate({batch, seq_len_, h}, dtype);
  proj_tmp_ = arena.Allocate({batch, std::max(num_vlm, num_aux), h}, dtype);
  tok_c_ = arena.Allocate({batch, a, d_tok}, dtype);
  y_ = arena.Allocate({rows, h}, dtype);
  qkv_ = arena.Allocate({rows, 3 * h}, dtype);
  attn_ = arena.Allocate({rows, h}, dtype);
  hidden_ = arena.Allocate({rows, mlp}, dtype);
  head_in_ = arena.Allocate({batch, a, h}, dtype);
}

void PolicyTransformer::WriteContextRows(const Tensor& dst) {
  const int64_t a = cfg_.policy.num_actions;
  const int64_t h = cfg_.policy.hidden_size;
  const int64_t b = batch_;
  // Projection of a [B, n, d_in] stream into rows [row0, row0 + n) of dst, plus positions.
  auto project = [&](const Tensor& src, const Tensor& wt, const Tensor& bias, int64_t row0) {
    const int64_t n = src.dim(1);
    const Tensor out = proj_tmp_.Slice(1, 0, n);
    if (cfg_.policy.use_hetero_proj) {
      be_.DomainLinear(src, wt, bias, domains_, out);
    } else {
      // proj_tmp_ rows are uniform only when n fills the buffer or B == 1; run per sample.
      for (int64_t i = 0; i < b; ++i) {
        be_.Linear(src.Select(0, i), wt, &bias, Activation::kNone, nullptr, out.Select(0, i));
      }
    }
    const Tensor pos = w_.pos_emb.Select(0, 0).Slice(0, row0, row0 + n).Broadcast({b, n, h});
    be_.Add(out, pos, dst.Slice(1, row0, row0 + n));
  };
  project(vlm_, w_.vlm_proj_w, w_.vlm_proj_b, a);
  project(aux_, w_.aux_proj_w, w_.aux_proj_b, a + num_vlm_);
  const int64_t np = cfg_.policy.len_soft_prompts;
  if (np > 0) {
    // soft_prompt_hub.weight[d] viewed [P, H], no positional embedding.
    const int64_t row0 = a + num_vlm_ + num_aux_;
    be_.Embedding(domains_, w_.soft_prompts,
                  proj_tmp_.Reshape({-1}).Slice(0, 0, b * np * h).Reshape({b, np * h}));
    be_.Copy(proj_tmp_.Reshape({-1}).Slice(0, 0, b * np * h).Reshape({b, np, h}),
             dst.Slice(1, row0, row0 + np));
  }
}

void PolicyTransformer::BuildContext(const Tensor& vlm, const Tensor& aux,
                                     const Tensor& domain_ids) {
  VLART_CHECK(vlm.dim(1) == num_vlm_ && aux.dim(1) == num_aux_, "policy context {} / {}",
              vlm.ToString(), aux.ToString());
  vlm_ = vlm;
  aux_ = aux;
  domains_ = domain_ids;
  if (hoist_) WriteContextRows(context_);
}

void PolicyTransformer::Step(const Tensor& tokens_in, const Tensor& domain_ids, const Tensor& x0,
                             int step, const Tracer& trace) {
  const PolicyConfig& p = cfg_.policy;
  const int64_t a = p.num_actions;
  const int64_t h = p.hidden_size;
  const int64_t heads = p.num_heads;
  const int64_t hd = h / heads;
  const int64_t rows = static_cast<int64_t>(batch_) * seq_len_;
  const std::string pre = fmt::format("policy.step{}.", step);

  // Context rows: copied from the hoisted buffer, or recomputed as the reference does.
  const int64_t ctx0 = a;
  if (hoist_) {
    be_.Copy(context_.Slice(1, ctx0, seq_len_), seq_.Slice(1, ctx0, seq_len_));
  } else {
    WriteContextRows(seq_);
  }
  // Action rows: action_encoder_d(tokens) + pos_emb[:A].
  const Tensor act = seq_.Slice(1, 0, a);
  be_.Copy(tokens_in, tok_c_);
  be_.DomainLinear(tok_c_, w_.enc_table, w_.enc_bias, domain_ids, act);
  be_.Add(act, w_.pos_emb.Select(0, 0).Slice(0, 0, a).Broadcast({batch_, a, h}), act);
  trace(pre + "input", seq_);

  const Tensor x = seq_.Reshape({rows, h});
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Each residual projection and the LayerNorm after it are one op (LinearResidualLayerNorm:
  // the same two ops on the CPU; CUDA may fuse them): proj then norm2, fc2 then the next
  // block's norm1. So y_ holds norm1(x) on entering every block after the first.
  const size_t blocks = w_.blocks.size();
  if (blocks > 0) be_.LayerNorm(x, w_.blocks[0].norm1_w, w_.blocks[0].norm1_b, kLayerNormEps, y_);
  for (size_t l = 0; l < blocks; ++l) {
    const PolicyBlockWeights& b = w_.blocks[l];
    be_.Linear(y_, b.qkv_w, &b.qkv_b, Activation::kNone, nullptr, qkv_);
    // Weights stream ahead at batch 1 (Backend::Prefetch, results unchanged): proj and fc1
    // during the attention, fc2 and the next block's qkv (the last block's: block 0 of the
    // next step) during proj, the norm and fc1. Measured on the H100 (docs/PERFORMANCE.md,
    // 2026-11-24): policy 0.30 ms faster at batch 1, 0.76 ms slower at batch 4 (1048 rows:
    // the GEMMs reuse their weights, and the extra HBM traffic only competes).
    const bool stream_ahead = batch_ == 1;
    const PolicyBlockWeights& next = w_.blocks[(l + 1) % blocks];
    const Tensor during_attention[] = {b.proj_w, b.fc1_w};
    if (stream_ahead) be_.Prefetch(during_attention);
    const Tensor qkv5 = qkv_.Reshape({batch_, seq_len_, 3, heads, hd});
    be_.Attention(qkv5.Select(2, 0), qkv5.Select(2, 1), qkv5.Select(2, 2), nullptr, scale,
                  attn_.Reshape({batch_, seq_len_, heads, hd}));
    be_.LinearResidualLayerNorm(attn_, b.proj_w, &b.proj_b, x, x, b.norm2_w, b.norm2_b, kLayerNormEps, y_);
    const Tensor during_mlp[] = {b.fc2_w, next.qkv_w};
    if (stream_ahead) be_.Prefetch(during_mlp);
    be_.Linear(y_, b.fc1_w, &b.fc1_b, Activation::kGeluTanh, nullptr, hidden_);
    if (l + 1 < blocks) {
      be_.LinearResidualLayerNorm(hidden_, b.fc2_w, &b.fc2_b, x, x, next.norm1_w, next.norm1_b,
                                  kLayerNormEps, y_);
    } else {
      be_.Linear(hidden_, b.fc2_w, &b.fc2_b, Activation::kNone, &x, x);
    }
    if (trace.active()) trace(pre + fmt::format("block{}", l), seq_);
  }
  be_.LayerNorm(seq_.Slice(1, 0, a), w_.norm_w, w_.norm_b, kLayerNormEps, head_in_);
  be_.DomainLinear(head_in_, w_.dec_table, w_.dec_bias, domain_ids, x0);
  trace(pre + "x0", x0);
}

}  // namespace vlart::xvla
