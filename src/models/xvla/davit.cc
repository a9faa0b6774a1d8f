// SPDX-License-Identifier: Apache-2.0
//
// davit.cc: DaViT forward (see davit.h for the math and the reference).

#include "models/xvla/davit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vlart::xvla {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // nn.LayerNorm default, used throughout DaViT

void DescribeBlock(const std::string& prefix, int c, DavitBlockWeights* w, bool spatial,
                   WeightTable* t) {
  const std::string attn = spatial ? "window_attn" : "channel_attn";
  t->Device(prefix + "conv1.fn.dw.weight", {c, 1, 3, 3}, &w->conv1_w);
  t->Device(prefix + "conv1.fn.dw.bias", {c}, &w->conv1_b);
  t->Device(prefix + attn + ".norm.weight", {c}, &w->norm1_w);
  t->Device(prefix + attn + ".norm.bias", {c}, &w->norm1_b);
  t->Device(prefix + attn + ".fn.qkv.weight", {3 * c, c}, &w->qkv_w);
  t->Device(prefix + attn + ".fn.qkv.bias", {3 * c}, &w->qkv_b);
  t->Device(prefix + attn + ".fn.proj.weight", {c, c}, &w->proj_w);
  t->Device(prefix + attn + ".fn.proj.bias", {c}, &w->proj_b);
  t->Device(prefix + "conv2.fn.dw.weight", {c, 1, 3, 3}, &w->conv2_w);
  t->Device(prefix + "conv2.fn.dw.bias", {c}, &w->conv2_b);
  t->Device(prefix + "ffn.norm.weight", {c}, &w->norm2_w);
  t->Device(prefix + "ffn.norm.bias", {c}, &w->norm2_b);
  t->Device(prefix + "ffn.fn.net.fc1.weight", {4 * c, c}, &w->fc1_w);
  t->Device(prefix + "ffn.fn.net.fc1.bias", {4 * c}, &w->fc1_b);
  t->Device(prefix + "ffn.fn.net.fc2.weight", {c, 4 * c}, &w->fc2_w);
  t->Device(prefix + "ffn.fn.net.fc2.bias", {c}, &w->fc2_b);
}

int64_t MaxOver4(const std::array<int64_t, 4>& v) { return *std::max_element(v.begin(), v.end()); }

}  // namespace

void DescribeDavitWeights(const DavitConfig& cfg, DavitWeights* w, WeightTable* table) {
  for (int s = 0; s < 4; ++s) {
    const int c = cfg.dim_embed[s];
    const int c_in = s == 0 ? 3 : cfg.dim_embed[s - 1];
    const int k = cfg.patch_size[s];
    DavitStageWeights& st = w->stages[s];
    const std::string conv = fmt::format("vlm.vision_tower.convs.{}.", s);
    table->Device(conv + "proj.weight", {c, c_in, k, k}, &st.conv_w);
    table->Device(conv + "proj.bias", {c}, &st.conv_b);
    const int norm_dim = cfg.patch_prenorm[s] ? c_in : c;
    table->Device(conv + "norm.weight", {norm_dim}, &st.norm_w);
    table->Device(conv + "norm.bias", {norm_dim}, &st.norm_b);
    st.spatial.resize(cfg.depths[s]);
    st.channel.resize(cfg.depths[s]);
    for (int j = 0; j < cfg.depths[s]; ++j) {
      const std::string block = fmt::format("vlm.vision_tower.blocks.{}.{}.", s, j);
      DescribeBlock(block + "spatial_block.", c, &st.spatial[j], /*spatial=*/true, table);
      DescribeBlock(block + "channel_block.", c, &st.channel[j], /*spatial=*/false, table);
    }
  }
}

DavitEncoder::DavitEncoder(const DavitConfig& cfg, const DavitWeights& weights, Backend& backend,
                           Arena& arena, int num_images, DType dtype)
    : cfg_(cfg), w_(weights), be_(backend), num_images_(num_images) {
  int h = cfg.image_size;
  std::array<int64_t, 4> x_elems{}, pad_elems{}, hidden_elems{}, qkv_elems{};
  for (int s = 0; s < 4; ++s) {
    // Conv output size: floor((H + 2p - k) / stride) + 1, as nn.Conv2d.
    h = (h + 2 * cfg.patch_padding[s] - cfg.patch_size[s]) / cfg.patch_stride[s] + 1;
    grids_[s] = h;
    padded_[s] = (h + cfg.window_size - 1) / cfg.window_size * cfg.window_size;
    const int64_t c = cfg.dim_embed[s];
    const int64_t n = num_images;
    x_elems[s] = n * h * h * c;
    pad_elems[s] = n * padded_[s] * padded_[s] * c;
    hidden_elems[s] = n * h * h * c * cfg.mlp_ratio;
    qkv_elems[s] = 3 * pad_elems[s];  // windows cover the padded grid; >= tokens for channels
  }
  // The stage-(s) conv reads LN(x_{s-1}) from tmp_, so tmp_ must hold the largest x.
  x_ = arena.Allocate({MaxOver4(x_elems)}, dtype);
  tmp_ = arena.Allocate({MaxOver4(x_elems)}, dtype);
  pad_ = arena.Allocate({MaxOver4(pad_elems)}, dtype);
  win_ = arena.Allocate({MaxOver4(pad_elems)}, dtype);
  qkv_ = arena.Allocate({MaxOver4(qkv_elems)}, dtype);
  attn_ = arena.Allocate({MaxOver4(pad_elems)}, dtype);
  hidden_ = arena.Allocate({MaxOver4(hidden_elems)}, dtype);
}

Tensor DavitEncoder::X(int s) const {
  const int64_t h = grids_[s];
  const int64_t c = cfg_.dim_embed[s];
  return x_.Slice(0, 0, num_images_ * h * h * c).Reshape({num_images_, h, h, c});
}

Tensor DavitEncoder::Tmp(int s) const {
  const int64_t h = grids_[s];
  const int64_t c = cfg_.dim_embed[s];
  return tmp_.Slice(0, 0, num_images_ * h * h * c).Reshape({num_images_, h, h, c});
}

void DavitEncoder::ConvResidual(const Tensor& w, const Tensor& b, int s) {
  // x = x + dwconv3x3(x): the conv reads all of x, so it writes to tmp, then tmp
  // becomes x by a copy (a depthwise conv cannot run in place).
  const Tensor x = X(s);
  const Tensor tmp = Tmp(s);
  be_.Conv2d(x, w, &b, Conv2dParams{1, 1, cfg_.dim_embed[s]}, &x, tmp);
  be_.Copy(tmp, x);
}

void DavitEncoder::Ffn(int s, const DavitBlockWeights& w) {
  const int64_t c = cfg_.dim_embed[s];
  const int64_t rows = num_images_ * grids_[s] * grids_[s];
  const Tensor x = X(s).Reshape({rows, c});
  const Tensor y = Tmp(s).Reshape({rows, c});
  const Tensor hid = hidden_.Slice(0, 0, rows * c * cfg_.mlp_ratio).Reshape({rows, c * cfg_.mlp_ratio});
  be_.LayerNorm(x, w.norm2_w, w.norm2_b, kLayerNormEps, y);
  be_.Linear(y, w.fc1_w, &w.fc1_b, Activation::kGeluErf, nullptr, hid);
  be_.Linear(hid, w.fc2_w, &w.fc2_b, Activation::kNone, &x, x);
}

void DavitEncoder::SpatialBlock(int s, const DavitBlockWeights& w, const Tracer& trace) {
  const int64_t n = num_images_;
  const int64_t h = grids_[s];
  const int64_t hp = padded_[s];
  const int64_t c = cfg_.dim_embed[s];
  const int64_t win = cfg_.window_size;
  const int64_t nw = hp / win;                 // windows per side
  const int64_t heads = cfg_.num_heads[s];
  const int64_t hd = c / heads;
  const int64_t win_rows = n * nw * nw * win * win;  // == n * hp * hp

  ConvResidual(w.conv1_w, w.conv1_b, s);

  // y = LN(x), zero-padded to [n, hp, hp, C]. Only the interior is written, so the
  // padding is zeroed here every call (the buffer is shared across stages).
  const Tensor pad = pad_.Slice(0, 0, n * hp * hp * c).Reshape({n, hp, hp, c});
  be_.Fill(pad, 0.0f);
  const Tensor y = Tmp(s);
  be_.LayerNorm(X(s), w.norm1_w, w.norm1_b, kLayerNormEps, y);
  be_.Copy(y, pad.Slice(1, 0, h).Slice(2, 0, h));

  // Window partition: [n, nw, win, nw, win, C] -> [n, nw, nw, win, win, C] rows.
  const Tensor windows = win_.Slice(0, 0, win_rows * c).Reshape({n, nw, nw, win, win, c});
  be_.Copy(pad.Reshape({n, nw, win, nw, win, c}).Permute({0, 1, 3, 2, 4, 5}), windows);

  // qkv on every window position (padded ones give the bias), attention per window.
  const Tensor qkv = qkv_.Slice(0, 0, win_rows * 3 * c).Reshape({win_rows, 3 * c});
  be_.Linear(windows.Reshape({win_rows, c}), w.qkv_w, &w.qkv_b, Activation::kNone, nullptr, qkv);
  const Tensor qkv5 = qkv.Reshape({n * nw * nw, win * win, 3, heads, hd});
  const Tensor out = attn_.Slice(0, 0, win_rows * c).Reshape({n * nw * nw, win * win, heads, hd});
  be_.Attention(qkv5.Select(2, 0), qkv5.Select(2, 1), qkv5.Select(2, 2), nullptr,
                1.0f / std::sqrt(static_cast<float>(hd)), out);

  // proj on every position, then un-partition back into `pad` and add the interior.
  be_.Linear(out.Reshape({win_rows, c}), w.proj_w, &w.proj_b, Activation::kNone, nullptr,
             windows.Reshape({win_rows, c}));
  be_.Copy(windows.Permute({0, 1, 3, 2, 4, 5}), pad.Reshape({n, nw, win, nw, win, c}));
  be_.Add(X(s), pad.Slice(1, 0, h).Slice(2, 0, h), X(s));

  ConvResidual(w.conv2_w, w.conv2_b, s);
  Ffn(s, w);
  (void)trace;
}

void DavitEncoder::ChannelBlock(int s, const DavitBlockWeights& w, const Tracer& trace) {
  const int64_t n = num_images_;
  const int64_t tokens = static_cast<int64_t>(grids_[s]) * grids_[s];
  const int64_t c = cfg_.dim_embed[s];
  const int64_t groups = cfg_.num_groups[s];
  const int64_t gd = c / groups;
  const int64_t rows = n * tokens;

  ConvResidual(w.conv1_w, w.conv1_b, s);

  const Tensor x = X(s).Reshape({rows, c});
  const Tensor y = Tmp(s).Reshape({rows, c});
  be_.LayerNorm(x, w.norm1_w, w.norm1_b, kLayerNormEps, y);
  const Tensor qkv = qkv_.Slice(0, 0, rows * 3 * c).Reshape({rows, 3 * c});
  be_.Linear(y, w.qkv_w, &w.qkv_b, Activation::kNone, nullptr, qkv);
  const Tensor qkv5 = qkv.Reshape({n, tokens, 3, groups, gd});
  const Tensor out = attn_.Slice(0, 0, rows * c).Reshape({n, tokens, groups, gd});
  // Florence-2 scales channel attention by the token count: N^-0.5.
  be_.ChannelAttention(qkv5.Select(2, 0), qkv5.Select(2, 1), qkv5.Select(2, 2),
                       1.0f / std::sqrt(static_cast<float>(tokens)), out);
  be_.Linear(out.Reshape({rows, c}), w.proj_w, &w.proj_b, Activation::kNone, &x, x);

  ConvResidual(w.conv2_w, w.conv2_b, s);
  Ffn(s, w);
  (void)trace;
}

void DavitEncoder::Forward(const Tensor& images, const Tensor& out, const Tracer& trace) {
  VLART_CHECK(images.ndim() == 4 && images.dim(0) == num_images_ && images.dim(1) == 3 &&
                  images.dim(2) == cfg_.image_size && images.dim(3) == cfg_.image_size,
              "DaViT: images {} for {} images of {}px", images.ToString(), num_images_,
              cfg_.image_size);
  for (int s = 0; s < 4; ++s) {
    const DavitStageWeights& st = w_.stages[s];
    const Conv2dParams conv{cfg_.patch_stride[s], cfg_.patch_padding[s], 1};
    const int64_t c = cfg_.dim_embed[s];
    if (s == 0) {
      // conv on the NCHW image (as an NHWC view), then LayerNorm over channels.
      const Tensor conv_out = Tmp(0);
      be_.Conv2d(images.Permute({0, 2, 3, 1}), st.conv_w, &st.conv_b, conv, nullptr, conv_out);
      if (cfg_.patch_prenorm[0]) {
        be_.Copy(conv_out, X(0));
      } else {
        be_.LayerNorm(conv_out, st.norm_w, st.norm_b, kLayerNormEps, X(0));
      }
    } else {
      // LayerNorm over the previous stage's channels, then the strided conv.
      const Tensor prev = X(s - 1);
      const Tensor normed = Tmp(s - 1);
      if (cfg_.patch_prenorm[s]) {
        be_.LayerNorm(prev, st.norm_w, st.norm_b, kLayerNormEps, normed);
      } else {
        be_.Copy(prev, normed);
      }
      be_.Conv2d(normed, st.conv_w, &st.conv_b, conv, nullptr, X(s));
      if (!cfg_.patch_prenorm[s]) {
        be_.LayerNorm(X(s), st.norm_w, st.norm_b, kLayerNormEps, X(s));
      }
    }
    trace(fmt::format("vision.stage{}.embed", s), X(s));
    for (int j = 0; j < cfg_.depths[s]; ++j) {
      SpatialBlock(s, st.spatial[j], trace);
      trace(fmt::format("vision.stage{}.block{}.spatial", s, j), X(s));
      ChannelBlock(s, st.channel[j], trace);
      trace(fmt::format("vision.stage{}.block{}.channel", s, j), X(s));
    }
    (void)c;
  }
  const int64_t h = grids_[3];
  be_.Copy(X(3).Reshape({num_images_, h * h, cfg_.dim_embed[3]}), out);
}

}  // namespace vlart::xvla
