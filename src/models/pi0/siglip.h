// SPDX-License-Identifier: Apache-2.0
//
// siglip.h: the SigLIP So400m/14 vision tower (no pooling head) and PaliGemma's
// projector, over a batch of images.
//
//   x = conv14x14/14(image) + pos          [N, T, C], T = (S/14)^2, patches row-major
//   per layer (pre-LN):  x += out_proj(MHA(LN1(x)));  x += fc2(gelu_tanh(fc1(LN2(x))))
//   x = post_layernorm(x);  out = projector(x)   [N, T, Wq]  (no 1/sqrt(Wq) scaling)
// LayerNorm eps 1e-6, full bidirectional attention, scale head_dim^-0.5, biases everywhere.
// Reference: openpi transformers_replace/models/siglip/modeling_siglip.py
// (SiglipVisionEmbeddings, SiglipEncoderLayer, SiglipVisionTransformer) and
// paligemma/modeling_paligemma.py get_image_features (projector, no scaling).
// openpi embeds each image slot in its own call; the tower is per-image, so the N
// images here (the encoded views of every sample, packed) give the same rows.
#pragma once

#include "models/common/trace.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_weights.h"
#include "ops/backend.h"

namespace vlart::pi0 {

class SiglipEncoder {
 public:
  SiglipEncoder(const SiglipConfig& cfg, const SiglipWeights& weights, Backend& backend,
                Arena& arena, int64_t num_images, DType dtype);

  // images [N, 3, S, S] (NCHW, values in [-1, 1]) -> out [N, T, Wq] (projector output).
  // Trace: "vision.embeddings", "vision.layer{l}", "vision.layer0.{ln1,attn_out,ln2,
  // mlp_out}", "vision.post_layernorm", "vision.projector", all [N, T, .].
  void Forward(const Tensor& images, const Tensor& out, const Tracer& trace);

 private:
  const SiglipConfig& cfg_;
  const SiglipWeights& w_;
  Backend& be_;
  int64_t n_;
  Tensor x_;       // [N * T, C]  residual stream
  Tensor y_;       // [N * T, C]  normed / projections
  Tensor qkv_;     // [N * T, 3C]
  Tensor attn_;    // [N * T, C]
  Tensor hidden_;  // [N * T, M]
};

}  // namespace vlart::pi0
