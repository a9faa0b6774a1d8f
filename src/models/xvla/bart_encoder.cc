// SPDX-License-Identifier: Apache-2.0
//
// bart_encoder.cc: BART encoder forward (see bart_encoder.h).

#include "models/xvla/bart_encoder.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace vlart::xvla {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // BartConfig layer_norm_eps default (nn.LayerNorm)

// Stacks row blocks [a; b; c] of equal width into one [rows_a + rows_b + rows_c, ...] tensor.
HostTensor StackRows(const HostTensor& a, const HostTensor& b, const HostTensor& c) {
  Shape shape = a.shape();
  shape[0] = a.shape()[0] + b.shape()[0] + c.shape()[0];
  HostTensor out(DType::kF32, shape);
  char* dst = static_cast<char*>(out.view().data);
  for (const HostTensor* part : {&a, &b, &c}) {
    std::memcpy(dst, part->view().data, part->nbytes());
    dst += part->nbytes();
  }
  return out;
}

}  // namespace

void DescribeBartEncoderWeights(const BartEncoderConfig& cfg, const std::string& token_table_name,
                                BartEncoderWeights* w, WeightTable* t) {
  const int d = cfg.d_model;
  t->SetPrefix("vlm.language_model.model.");
  t->Host(token_table_name, {cfg.vocab_size, d}, &w->embed_tokens_host);
  t->Device("encoder.embed_positions.weight", {cfg.max_position_embeddings + 2, d},
            &w->embed_positions);
  t->Device("encoder.layernorm_embedding.weight", {d}, &w->ln_emb_w);
  t->Device("encoder.layernorm_embedding.bias", {d}, &w->ln_emb_b);
  w->layers.resize(cfg.encoder_layers);
  for (int l = 0; l < cfg.encoder_layers; ++l) {
    BartLayerWeights& L = w->layers[l];
    const std::string p = fmt::format("encoder.layers.{}.", l);
    t->Host(p + "self_attn.q_proj.weight", {d, d}, &L.q_w);
    t->Host(p + "self_attn.q_proj.bias", {d}, &L.q_b);
    t->Host(p + "self_attn.k_proj.weight", {d, d}, &L.k_w);
    t->Host(p + "self_attn.k_proj.bias", {d}, &L.k_b);
    t->Host(p + "self_attn.v_proj.weight", {d, d}, &L.v_w);
    t->Host(p + "self_attn.v_proj.bias", {d}, &L.v_b);
    t->Device(p + "self_attn.out_proj.weight", {d, d}, &L.out_w);
    t->Device(p + "self_attn.out_proj.bias", {d}, &L.out_b);
    t->Device(p + "self_attn_layer_norm.weight", {d}, &L.ln1_w);
    t->Device(p + "self_attn_layer_norm.bias", {d}, &L.ln1_b);
    t->Device(p + "fc1.weight", {cfg.encoder_ffn_dim, d}, &L.fc1_w);
    t->Device(p + "fc1.bias", {cfg.encoder_ffn_dim}, &L.fc1_b);
    t->Device(p + "fc2.weight", {d, cfg.encoder_ffn_dim}, &L.fc2_w);
    t->Device(p + "fc2.bias", {d}, &L.fc2_b);
    t->Device(p + "final_layer_norm.weight", {d}, &L.ln2_w);
    t->Device(p + "final_layer_norm.bias", {d}, &L.ln2_b);
  }
  t->SetPrefix("");
}

void FinishBartEncoderWeights(const BartEncoderConfig& cfg, BartEncoderWeights* w,
                              Backend& backend, Arena& arena, DType dtype) {
  if (cfg.scale_embedding) {
    // BartScaledWordEmbedding multiplies every looked-up row by sqrt(d_model) in f32;
    // scaling the table once gives the same values.
    const float scale = std::sqrt(static_cast<float>(cfg.d_model));
    float* e = w->embed_tokens_host.data<float>();
    for (int64_t i = 0; i < w->embed_tokens_host.numel(); ++i) e[i] *= scale;
  }
  w->embed_tokens = UploadTensor(w->embed_tokens_host, backend, arena, dtype);
  w->embed_tokens_host = HostTensor();
  for (BartLayerWeights& L : w->layers) {
    L.qkv_w = UploadTensor(StackRows(L.q_w, L.k_w, L.v_w), backend, arena, dtype);
    L.qkv_b = UploadTensor(StackRows(L.q_b, L.k_b, L.v_b), backend, arena, dtype);
    L.q_w = HostTensor(), L.k_w = HostTensor(), L.v_w = HostTensor();
    L.q_b = HostTensor(), L.k_b = HostTensor(), L.v_b = HostTensor();
  }
}

BartEncoder::BartEncoder(const BartEncoderConfig& cfg, const BartEncoderWeights& weights,
                         Backend& backend, Arena& arena, int batch, int seq_len, DType dtype)
    : cfg_(cfg), w_(weights), be_(backend), batch_(batch), seq_len_(seq_len) {
  const int64_t rows = static_cast<int64_t>(batch) * seq_len;
  h_ = arena.Allocate({rows, cfg.d_model}, dtype);
  tmp_ = arena.Allocate({rows, cfg.d_model}, dtype);
  qkv_ = arena.Allocate({rows, 3 * cfg.d_model}, dtype);
  attn_ = arena.Allocate({rows, cfg.d_model}, dtype);
  hidden_ = arena.Allocate({rows, cfg.encoder_ffn_dim}, dtype);
}

void BartEncoder::EmbedTokens(const Tensor& ids, const Tensor& out) {
  be_.Embedding(ids, w_.embed_tokens, out);
}

void BartEncoder::Forward(const Tensor& inputs_embeds, const Tensor& out, const Tracer& trace) {
  const int64_t d = cfg_.d_model;
  const int64_t heads = cfg_.encoder_attention_heads;
  const int64_t hd = d / heads;
  const int64_t rows = static_cast<int64_t>(batch_) * seq_len_;
  const Tensor h3 = h_.Reshape({batch_, seq_len_, d});

  // h = LN(inputs_embeds + positions[2 : 2 + S]) (positions broadcast over the batch).
  const Tensor pos = w_.embed_positions.Slice(0, 2, 2 + seq_len_).Broadcast({batch_, seq_len_, d});
  be_.Add(inputs_embeds, pos, h3);
  trace("encoder.embed_sum", h3);
  be_.LayerNorm(h_, w_.ln_emb_w, w_.ln_emb_b, kLayerNormEps, h_);
  trace("encoder.embed", h3);

  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (size_t l = 0; l < w_.layers.size(); ++l) {
    const BartLayerWeights& L = w_.layers[l];
    be_.Linear(h_, L.qkv_w, &L.qkv_b, Activation::kNone, nullptr, qkv_);
    const Tensor qkv5 = qkv_.Reshape({batch_, seq_len_, 3, heads, hd});
    be_.Attention(qkv5.Select(2, 0), qkv5.Select(2, 1), qkv5.Select(2, 2), nullptr, scale,
                  attn_.Reshape({batch_, seq_len_, heads, hd}));
    be_.Linear(attn_, L.out_w, &L.out_b, Activation::kNone, &h_, tmp_);
    be_.LayerNorm(tmp_, L.ln1_w, L.ln1_b, kLayerNormEps, h_);
    be_.Linear(h_, L.fc1_w, &L.fc1_b, Activation::kGeluErf, nullptr, hidden_);
    be_.Linear(hidden_, L.fc2_w, &L.fc2_b, Activation::kNone, &h_, tmp_);
    be_.LayerNorm(tmp_, L.ln2_w, L.ln2_b, kLayerNormEps, h_);
    trace(fmt::format("encoder.layer{}", l), h3);
  }
  be_.Copy(h3, out);
  (void)rows;
}

}  // namespace vlart::xvla
