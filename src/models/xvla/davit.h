// SPDX-License-Identifier: Apache-2.0
//
// davit.h: Florence-2's DaViT vision tower over the op interface.
//
// Four stages; each starts with a conv embed (stage 0: conv then LayerNorm; later
// stages: LayerNorm then conv) and runs `depth` pairs of blocks:
//   spatial block: x += dw3x3(x); x += proj(window_attn(pad(LN(x)))); x += dw3x3(x);
//                  x += fc2(gelu_erf(fc1(LN(x))))
//   channel block: the same with channel ("group") attention, scale N^-0.5.
// Window attention pads LN(x) with zeros on the right/bottom to multiples of the
// window (12) and attends over all 144 positions, padded ones included (their q/k/v
// are the qkv bias). Activations are NHWC, i.e. [n, H, W, C] == tokens [n, H*W, C].
// Reference: transformers/models/florence2/modeling_florence2.py (Florence2Vision*)
// and the official vendored copy (2toinf/X-VLA models/modeling_florence2.py, DaViT).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "models/common/trace.h"
#include "models/common/weights.h"
#include "models/xvla/xvla_config.h"
#include "ops/backend.h"

namespace vlart::xvla {

struct DavitBlockWeights {      // one spatial or channel block of width C
  Tensor conv1_w, conv1_b;      // [C, 1, 3, 3], [C]
  Tensor norm1_w, norm1_b;      // [C]
  Tensor qkv_w, qkv_b;          // [3C, C], [3C]   (feature order [3][heads or groups][32])
  Tensor proj_w, proj_b;        // [C, C], [C]
  Tensor conv2_w, conv2_b;      // [C, 1, 3, 3], [C]
  Tensor norm2_w, norm2_b;      // [C]
  Tensor fc1_w, fc1_b;          // [4C, C], [4C]
  Tensor fc2_w, fc2_b;          // [C, 4C], [C]
};

struct DavitStageWeights {
  Tensor conv_w, conv_b;        // [C_s, C_in, k, k], [C_s]
  Tensor norm_w, norm_b;        // [C_in] before the conv (prenorm) or [C_s] after it (stage 0)
  std::vector<DavitBlockWeights> spatial;  // [depth]
  std::vector<DavitBlockWeights> channel;  // [depth]
};

struct DavitWeights {
  std::array<DavitStageWeights, 4> stages;
};

// Adds every DaViT tensor ("vlm.vision_tower.*") to `table`, pointing into `w`.
void DescribeDavitWeights(const DavitConfig& cfg, DavitWeights* w, WeightTable* table);

// Runs the tower on a fixed number of images; owns its activation buffers.
class DavitEncoder {
 public:
  // Allocates activations for `num_images` images of cfg.image_size^2 from `arena`.
  DavitEncoder(const DavitConfig& cfg, const DavitWeights& weights, Backend& backend,
               Arena& arena, int num_images, DType dtype);

  // images: [n, 3, S, S] NCHW (f32 or compute dtype); out: [n, (S/32)^2, C_3].
  // Trace names: "vision.stage{s}.embed", "vision.stage{s}.block{j}.spatial|channel".
  void Forward(const Tensor& images, const Tensor& out, const Tracer& trace);

  int num_images() const { return num_images_; }
  int grid(int stage) const { return grids_[stage]; }  // H = W of stage `stage`

 private:
  void SpatialBlock(int stage, const DavitBlockWeights& w, const Tracer& trace);
  void ChannelBlock(int stage, const DavitBlockWeights& w, const Tracer& trace);
  void ConvResidual(const Tensor& w, const Tensor& b, int stage);  // x += dw3x3(x)
  void Ffn(int stage, const DavitBlockWeights& w);                  // x += fc2(gelu(fc1(LN(x))))
  Tensor X(int stage) const;       // [n, H, W, C] view of the residual stream
  Tensor Tmp(int stage) const;     // [n, H, W, C] scratch of the same size

  const DavitConfig& cfg_;
  const DavitWeights& w_;
  Backend& be_;
  int num_images_;
  std::array<int, 4> grids_{};       // H (= W) per stage
  std::array<int, 4> padded_{};      // H rounded up to the window
  Tensor x_;        // residual stream, sized for the largest stage [n * H0 * W0 * C0]
  Tensor tmp_;      // same size: conv outputs, LN outputs
  Tensor pad_;      // [n, Hp, Wp, C] zero-padded LN output (largest stage)
  Tensor win_;      // [n * windows * 144, C] window-partitioned rows
  Tensor qkv_;      // [rows, 3C] (rows = padded rows for windows, tokens for channels)
  Tensor attn_;     // [rows, C]
  Tensor hidden_;   // [n * H * W, 4C] FFN hidden
};

}  // namespace vlart::xvla
