// SPDX-License-Identifier: Apache-2.0
//
// siglip.cc: SigLIP vision tower + projector forward (see siglip.h).

#include "models/pi0/siglip.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

namespace vlart::pi0 {

SiglipEncoder::SiglipEncoder(const SiglipConfig& cfg, const SiglipWeights& weights,
                             Backend& backend, Arena& arena, int64_t num_images, DType dtype)
    : cfg_(cfg), w_(weights), be_(backend), n_(num_images) {
  const int64_t rows = num_images * cfg.tokens();
  x_ = arena.Allocate({rows, cfg.width}, dtype);
  y_ = arena.Allocate({rows, cfg.width}, dtype);
  qkv_ = arena.Allocate({rows, 3 * int64_t{cfg.width}}, dtype);
  attn_ = arena.Allocate({rows, cfg.width}, dtype);
  hidden_ = arena.Allocate({rows, cfg.mlp_dim}, dtype);
}

void SiglipEncoder::Forward(const Tensor& images, const Tensor& out, const Tracer& trace) {
  if (n_ == 0) return;
  const int64_t g = cfg_.grid();
  const int64_t t = cfg_.tokens();
  const int64_t c = cfg_.width;
  const int64_t heads = cfg_.num_heads;
  const int64_t hd = cfg_.head_dim();
  const int64_t rows = n_ * t;
  const float eps = cfg_.layer_norm_eps;
  const Tensor x3 = x_.Reshape({n_, t, c});

  // Patch embedding: a 14x14 stride-14 conv over the NCHW image seen as NHWC; the
  // [N, g, g, C] output flattened row-major is torch's flatten(2).transpose(1, 2).
  Conv2dParams conv;
  conv.stride = cfg_.patch_size;
  be_.Conv2d(images.Permute({0, 2, 3, 1}), w_.patch_w, &w_.patch_b, conv, nullptr,
             x_.Reshape({n_, g, g, c}));
  be_.Add(x3, w_.pos.Broadcast({n_, t, c}), x3);
  trace("vision.embeddings", x3);

  const auto scale = static_cast<float>(std::pow(static_cast<double>(hd), -0.5));
  // Each residual projection and the LayerNorm after it are one op (LinearResidualLayerNorm:
  // the same two ops on the CPU; CUDA may fuse them): out_proj then ln2, fc2 then the next
  // layer's ln1 (the last layer's: post_layernorm). So y_ holds ln1(x) entering every layer.
  const size_t layers = w_.layers.size();
  // The LayerNorm layer l starts with: its ln1, or post_layernorm for l == layers.
  const auto ln1_of = [&](size_t l) -> std::pair<const Tensor*, const Tensor*> {
    if (l < layers) return {&w_.layers[l].ln1_w, &w_.layers[l].ln1_b};
    return {&w_.post_ln_w, &w_.post_ln_b};
  };
  be_.LayerNorm(x_, *ln1_of(0).first, *ln1_of(0).second, eps, y_);
  for (size_t l = 0; l < layers; ++l) {
    const SiglipLayerWeights& L = w_.layers[l];
    const bool detail = l == 0 && trace.active();
    if (detail) trace("vision.layer0.ln1", y_.Reshape({n_, t, c}));
    be_.Linear(y_, L.qkv_w, &L.qkv_b, Activation::kNone, nullptr, qkv_);
    const Tensor qkv5 = qkv_.Reshape({n_, t, 3, heads, hd});
    be_.Attention(qkv5.Select(2, 0), qkv5.Select(2, 1), qkv5.Select(2, 2), nullptr, scale,
                  attn_.Reshape({n_, t, heads, hd}));
    if (detail) {  // unfused residual to expose the sub-layer output (same f32 result)
      be_.Linear(attn_, L.out_w, &L.out_b, Activation::kNone, nullptr, y_);
      trace("vision.layer0.attn_out", y_.Reshape({n_, t, c}));
      be_.Add(x_, y_, x_);
      be_.LayerNorm(x_, L.ln2_w, L.ln2_b, eps, y_);
    } else {
      be_.LinearResidualLayerNorm(attn_, L.out_w, &L.out_b, x_, x_, L.ln2_w, L.ln2_b, eps, y_);
    }
    if (detail) trace("vision.layer0.ln2", y_.Reshape({n_, t, c}));
    be_.Linear(y_, L.fc1_w, &L.fc1_b, Activation::kGeluTanh, nullptr, hidden_);
    const auto [g, b] = ln1_of(l + 1);
    if (detail) {
      be_.Linear(hidden_, L.fc2_w, &L.fc2_b, Activation::kNone, nullptr, y_);
      trace("vision.layer0.mlp_out", y_.Reshape({n_, t, c}));
      be_.Add(x_, y_, x_);
      be_.LayerNorm(x_, *g, *b, eps, y_);
    } else {
      be_.LinearResidualLayerNorm(hidden_, L.fc2_w, &L.fc2_b, x_, x_, *g, *b, eps, y_);
    }
    if (trace.active()) trace(fmt::format("vision.layer{}", l), x3);
  }
  trace("vision.post_layernorm", y_.Reshape({n_, t, c}));
  be_.Linear(y_, w_.proj_w, &w_.proj_b, Activation::kNone, nullptr,
             out.Reshape({rows, out.dim(2)}));
  trace("vision.projector", out);
}

}  // namespace vlart::pi0
