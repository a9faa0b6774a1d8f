// SPDX-License-Identifier: Apache-2.0
//
// gemma_block.cc: one Gemma decoder layer (see gemma_block.h).

#include "models/pi0/gemma_block.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

namespace vlart::pi0 {
namespace {

// A modulation [R, W] (R = 1 or B) seen as [B, 1, W], as openpi's tensors are.
Tensor PerSample(const Tensor& m, int64_t b) {
  const Shape to{b, 1, m.dim(1)};
  return m.dim(0) == 1 ? m.Select(0, 0).Broadcast(to) : m.Unsqueeze(1);
}

// A modulation [R, W] (R = 1 or B) broadcast over the tokens of `shape` [B, S, W] (stride 0
// over S, and over B too when R = 1).
Tensor PerToken(const Tensor& m, const Shape& shape) {
  return m.dim(0) == 1 ? m.Select(0, 0).Broadcast(shape) : m.Unsqueeze(1).Broadcast(shape);
}

}  // namespace

GemmaBlock::GemmaBlock(const GemmaConfig& cfg, Backend& backend, Arena& arena, int64_t batch,
                       int64_t max_seq, DType dtype)
    : cfg_(cfg), be_(backend), batch_(batch), max_seq_(max_seq) {
  const int64_t rows = batch * max_seq;
  normed_ = arena.Allocate({rows, cfg.width}, dtype);
  qkv_ = arena.Allocate({rows, cfg.q_dim() + 2 * cfg.kv_dim()}, dtype);
  attn_ = arena.Allocate({rows, cfg.q_dim()}, dtype);
  hidden_ = arena.Allocate({rows, 2 * int64_t{cfg.mlp_dim}}, dtype);
  tmp_ = arena.Allocate({rows, cfg.width}, dtype);
}

void GemmaBlock::Norm(const Tensor& x, const Tensor* weight, const AdaModulation* ada,
                      const Tensor& out) {
  const float eps = cfg_.rms_norm_eps;
  if (ada == nullptr) {
    be_.RmsNorm(x, *weight, eps, 1.0f, out);
    return;
  }
  // x_hat * (1 + scale) + shift in one op, each sample's row broadcast over its tokens.
  be_.AdaRmsNorm(x, PerToken(ada->scale, x.shape), PerToken(ada->shift, x.shape), eps, out);
}

void GemmaBlock::Residual(const Tensor& x, const Tensor& y, const AdaModulation* ada) {
  if (ada != nullptr) {
    be_.MulAdd(y, PerToken(ada->gate, y.shape), x, x);  // openpi: x + y * gate
    return;
  }
  be_.Add(x, y, x);
}

void GemmaBlock::ResidualNorm(const Tensor& x, const Tensor& y, const AdaModulation& gate,
                              const AdaModulation& norm, const Tensor& out) {
  be_.MulAddAdaRmsNorm(x, y, PerToken(gate.gate, y.shape), PerToken(norm.scale, x.shape),
                       PerToken(norm.shift, x.shape), cfg_.rms_norm_eps, out);
}

void GemmaBlock::Forward(const GemmaLayerWeights& w, const Tensor& x,
                         const GemmaAttentionArgs& a, const AdaModulation* ada_in,
                         const AdaModulation* ada_post, bool kv_only, const Tracer& trace,
                         std::string_view internals, const AdaChain* chain,
                         const GemmaLayerWeights* prefetch_next) {
  const int64_t b = x.dim(0);
  const int64_t s = x.dim(1);
  const int64_t width = cfg_.width;
  const int64_t hq = cfg_.num_heads;
  const int64_t hkv = cfg_.num_kv_heads;
  const int64_t d = cfg_.head_dim;
  const int64_t rows = b * s;
  VLART_CHECK(b == batch_ && s <= max_seq_, "GemmaBlock: x {} exceeds the scratch for {} x {}",
              x.ToString(), batch_, max_seq_);
  VLART_CHECK(a.kv_offset + s <= a.kv_len && a.mask.dim(2) == a.kv_len,
              "GemmaBlock: chunk [{}, {}) outside the attended keys [0, {}) (mask {})",
              a.kv_offset, a.kv_offset + s, a.kv_len, a.mask.ToString());
  const bool detail = !internals.empty() && trace.active();
  auto name = [&](const char* what) { return fmt::format("{}.{}", internals, what); };

  // Folded norms (GemmaLayerWeights::norms_folded, plain norms only): the GEMMs read x itself
  // and RopeQkv / GatedActivation apply the RMS statistic of x's rows (RowRmsScale). A traced
  // run still computes the norms, for display only.
  const bool folded = w.norms_folded;  // only ever set for plain-norm layers (pi0_weights.cc)
  const Tensor x2 = x.Reshape({rows, width});
  const RowRmsScale x_rms{x2, cfg_.rms_norm_eps};

  // ---- attention ----------------------------------------------------------------------
  const Tensor h = normed_.Slice(0, 0, rows).Reshape({b, s, width});
  const bool input_normed = chain != nullptr && chain->input_normed;
  VLART_CHECK(!input_normed || (ada_in != nullptr && !detail),
              "GemmaBlock: a chained input norm needs adaRMS and an untraced layer");
  if ((!folded || detail) && !input_normed) Norm(x, &w.input_norm, ada_in, h);
  if (detail) {
    trace(name("input_norm"), h);
    if (ada_in != nullptr) trace(name("attn_gate"), PerSample(ada_in->gate, b));
  }
  const Tensor qkv = qkv_.Slice(0, 0, rows);
  be_.Linear(folded ? x2 : h.Reshape({rows, width}), w.qkv_w, nullptr, Activation::kNone, nullptr,
             qkv);
  if (prefetch_next != nullptr && !kv_only) {
    const Tensor ahead[] = {w.o_w, w.gate_up_w};  // read after RoPE and attention
    be_.Prefetch(ahead);
  }
  const Tensor qkv4 = qkv.Reshape({b, s, hq + 2 * hkv, d});
  const Tensor q = qkv4.Slice(2, 0, hq);
  const Tensor k = qkv4.Slice(2, hq, hq + hkv);
  const Tensor v = qkv4.Slice(2, hq + hkv, hq + 2 * hkv);
  // RoPE q in place, RoPE k into the K cache, v into the V cache: one op (one launch on CUDA),
  // bit for bit the Rope, Rope, Copy it replaces.
  be_.RopeQkv(q, k, v, a.positions, cfg_.rope_theta, q,
              a.k_cache.Slice(1, a.kv_offset, a.kv_offset + s),
              a.v_cache.Slice(1, a.kv_offset, a.kv_offset + s), folded ? &x_rms : nullptr);
  if (kv_only) return;

  const Tensor attn = attn_.Slice(0, 0, rows);
  // HF Gemma: self.scaling = head_dim ** -0.5 (a Python float, f32 in the multiply).
  const auto scale = static_cast<float>(std::pow(static_cast<double>(d), -0.5));
  be_.Attention(q, a.k_cache.Slice(1, 0, a.kv_len), a.v_cache.Slice(1, 0, a.kv_len), &a.mask,
                scale, attn.Reshape({b, s, hq, d}));
  const Tensor y = tmp_.Slice(0, 0, rows);
  // adaRMS: the gated residual and the post-attention norm are one op.
  const bool post_fused = ada_in != nullptr && ada_post != nullptr;
  if (ada_in == nullptr && !detail) {
    be_.Linear(attn, w.o_w, nullptr, Activation::kNone, &x2, x2);
  } else {
    be_.Linear(attn, w.o_w, nullptr, Activation::kNone, nullptr, y);
    if (detail) trace(name("attn_out"), y.Reshape({b, s, width}));
    if (post_fused) {
      ResidualNorm(x, y.Reshape({b, s, width}), *ada_in, *ada_post, h);
    } else {
      Residual(x, y.Reshape({b, s, width}), ada_in);
    }
  }

  if (prefetch_next != nullptr) {
    const Tensor ahead[] = {w.down_w, prefetch_next->qkv_w};  // read after the gate_up GEMM
    be_.Prefetch(ahead);
  }

  // ---- MLP (GeGLU) -----------------------------------------------------------------------
  if ((!folded || detail) && !post_fused) Norm(x, &w.post_norm, ada_post, h);
  if (detail) {
    trace(name("post_norm"), h);
    if (ada_post != nullptr) trace(name("mlp_gate"), PerSample(ada_post->gate, b));
  }
  // gate_up GEMM, gelu_tanh(gate) * up (HF GemmaMLP) and the down GEMM as one op (one kernel
  // on CUDA at the expert's few rows); plain layers add the residual in place.
  const bool plain_residual = ada_post == nullptr && !detail;
  be_.GatedMlp(folded ? x2 : h.Reshape({rows, width}), w.gate_up_w, w.down_w, Activation::kGeluTanh,
               folded ? &x_rms : nullptr, plain_residual ? &x2 : nullptr, hidden_.Slice(0, 0, rows),
               plain_residual ? x2 : y);
  if (plain_residual) return;
  if (detail) trace(name("mlp_out"), y.Reshape({b, s, width}));
  if (chain != nullptr && chain->next != nullptr && ada_post != nullptr) {
    VLART_CHECK(!detail, "GemmaBlock: a chained next norm needs an untraced layer");
    ResidualNorm(x, y.Reshape({b, s, width}), *ada_post, *chain->next,
                 chain->next_out.data != nullptr ? chain->next_out : h);
  } else {
    Residual(x, y.Reshape({b, s, width}), ada_post);
  }
}

}  // namespace vlart::pi0
