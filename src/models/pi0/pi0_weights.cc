// SPDX-License-Identifier: Apache-2.0
//
// pi0_weights.cc: weight tables for pi0 / pi0.5 and the part-by-part loader.

#include "models/pi0/pi0_weights.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <initializer_list>

#include "io/checkpoint.h"

namespace vlart::pi0 {
namespace {

// Stacks row blocks of equal trailing shape: [r0, ...] ; [r1, ...] ; ... (host, f32).
HostTensor StackRows(std::initializer_list<const HostTensor*> parts) {
  Shape shape = (*parts.begin())->shape();
  int64_t rows = 0;
  for (const HostTensor* p : parts) rows += p->shape()[0];
  shape[0] = rows;
  HostTensor out(DType::kF32, shape);
  auto* dst = static_cast<char*>(out.view().data);
  for (const HostTensor* p : parts) {
    std::memcpy(dst, p->view().data, p->nbytes());
    dst += p->nbytes();
  }
  return out;
}

// Columns [c0, c1) of a [R, C] host matrix, contiguous.
HostTensor Columns(const HostTensor& m, int64_t c0, int64_t c1) {
  return HostTensor::CopyOf(m.view().Slice(1, c0, c1));
}

void DescribeSiglipStem(const Pi0Config& cfg, SiglipWeights* w, WeightTable* t) {
  const SiglipConfig& v = cfg.vision;
  t->SetPrefix(kVisionPrefix);
  t->Device("embeddings.patch_embedding.weight", {v.width, 3, v.patch_size, v.patch_size},
            &w->patch_w);
  t->Device("embeddings.patch_embedding.bias", {v.width}, &w->patch_b);
  t->Device("embeddings.position_embedding.weight", {v.tokens(), v.width}, &w->pos);
  t->Device("post_layernorm.weight", {v.width}, &w->post_ln_w);
  t->Device("post_layernorm.bias", {v.width}, &w->post_ln_b);
  t->SetPrefix(kProjectorPrefix);
  t->Device("weight", {cfg.vlm.width, v.width}, &w->proj_w);
  t->Device("bias", {cfg.vlm.width}, &w->proj_b);
  t->SetPrefix("");
}

void DescribeSiglipLayer(const SiglipConfig& v, int l, SiglipLayerWeights* L, WeightTable* t) {
  const int64_t c = v.width;
  t->SetPrefix(fmt::format("{}encoder.layers.{}.", kVisionPrefix, l));
  t->Device("layer_norm1.weight", {c}, &L->ln1_w);
  t->Device("layer_norm1.bias", {c}, &L->ln1_b);
  t->Host("self_attn.q_proj.weight", {c, c}, &L->q_w);
  t->Host("self_attn.q_proj.bias", {c}, &L->q_b);
  t->Host("self_attn.k_proj.weight", {c, c}, &L->k_w);
  t->Host("self_attn.k_proj.bias", {c}, &L->k_b);
  t->Host("self_attn.v_proj.weight", {c, c}, &L->v_w);
  t->Host("self_attn.v_proj.bias", {c}, &L->v_b);
  t->Device("self_attn.out_proj.weight", {c, c}, &L->out_w);
  t->Device("self_attn.out_proj.bias", {c}, &L->out_b);
  t->Device("layer_norm2.weight", {c}, &L->ln2_w);
  t->Device("layer_norm2.bias", {c}, &L->ln2_b);
  t->Device("mlp.fc1.weight", {v.mlp_dim, c}, &L->fc1_w);
  t->Device("mlp.fc1.bias", {v.mlp_dim}, &L->fc1_b);
  t->Device("mlp.fc2.weight", {c, v.mlp_dim}, &L->fc2_w);
  t->Device("mlp.fc2.bias", {c}, &L->fc2_b);
  t->SetPrefix("");
}

// Adaptive layers (pi0.5 expert) store `<norm>.dense.{weight,bias}` instead of `<norm>.weight`.
// The denses are host slots: they are uploaded in f32 whatever the compute dtype.
void DescribeGemmaLayer(const GemmaConfig& g, const std::string& prefix, int l,
                        GemmaLayerWeights* L, WeightTable* t) {
  const int64_t w = g.width;
  t->SetPrefix(fmt::format("{}layers.{}.", prefix, l));
  t->Host("self_attn.q_proj.weight", {g.q_dim(), w}, &L->q_w);
  t->Host("self_attn.k_proj.weight", {g.kv_dim(), w}, &L->k_w);
  t->Host("self_attn.v_proj.weight", {g.kv_dim(), w}, &L->v_w);
  t->Device("self_attn.o_proj.weight", {w, g.q_dim()}, &L->o_w);
  t->Host("mlp.gate_proj.weight", {g.mlp_dim, w}, &L->gate_w);
  t->Host("mlp.up_proj.weight", {g.mlp_dim, w}, &L->up_w);
  t->Device("mlp.down_proj.weight", {w, g.mlp_dim}, &L->down_w);
  t->SetPrefix("");
}

// The norm slots of a Gemma layer (adaRMS denses are host slots, uploaded in f32).
void DescribeGemmaNorms(const GemmaConfig& g, const std::string& prefix, int l, bool ada,
                        GemmaLayerWeights* L, WeightTable* t) {
  const int64_t w = g.width;
  t->SetPrefix(fmt::format("{}layers.{}.", prefix, l));
  if (ada) {
    t->Host("input_layernorm.dense.weight", {3 * w, w}, &L->input_dense_w_host);
    t->Host("input_layernorm.dense.bias", {3 * w}, &L->input_dense_b_host);
    t->Host("post_attention_layernorm.dense.weight", {3 * w, w}, &L->post_dense_w_host);
    t->Host("post_attention_layernorm.dense.bias", {3 * w}, &L->post_dense_b_host);
  } else {
    t->Device("input_layernorm.weight", {w}, &L->input_norm);
    t->Device("post_attention_layernorm.weight", {w}, &L->post_norm);
  }
  t->SetPrefix("");
}

void DescribeExpertTail(const Pi0Config& cfg, ExpertWeights* e, WeightTable* t) {
  const int64_t w = cfg.expert.width;
  t->SetPrefix(kExpertPrefix);
  if (cfg.pi05) {
    t->Host("norm.dense.weight", {3 * w, w}, &e->final_dense_w_host);
    t->Host("norm.dense.bias", {3 * w}, &e->final_dense_b_host);
  } else {
    t->Device("norm.weight", {w}, &e->final_norm);
  }
  t->SetPrefix("");
}

void DescribeProjections(const Pi0Config& cfg, ProjectionWeights* p, WeightTable* t) {
  const int64_t we = cfg.expert.width;
  const int64_t a = cfg.action_dim;
  t->Device("action_in_proj.weight", {we, a}, &p->action_in_w);
  t->Device("action_in_proj.bias", {we}, &p->action_in_b);
  t->Device("action_out_proj.weight", {a, we}, &p->action_out_w);
  t->Device("action_out_proj.bias", {a}, &p->action_out_b);
  if (cfg.pi05) {
    t->Device("time_mlp_in.weight", {we, we}, &p->time_in_w);
    t->Device("time_mlp_in.bias", {we}, &p->time_in_b);
    t->Device("time_mlp_out.weight", {we, we}, &p->time_out_w);
    t->Device("time_mlp_out.bias", {we}, &p->time_out_b);
  } else {
    t->Device("state_proj.weight", {we, a}, &p->state_w);
    t->Device("state_proj.bias", {we}, &p->state_b);
    t->Host("action_time_mlp_in.weight", {we, 2 * we}, &p->action_time_in_host);
    t->Device("action_time_mlp_in.bias", {we}, &p->action_time_in_b);
    t->Device("action_time_mlp_out.weight", {we, we}, &p->action_time_out_w);
    t->Device("action_time_mlp_out.bias", {we}, &p->action_time_out_b);
  }
}

// Multiplies column j of every [R, W] host matrix in `parts` by (1 + norm[j]) in f32 (GemmaRMSNorm's
// `1.0 + weight.float()`): W' = W diag(1 + w), so Norm(x) Wᵀ = s ⊙ (x W'ᵀ) per row.
void FoldNormColumns(const HostTensor& norm, std::initializer_list<HostTensor*> parts) {
  const float* w = norm.data<float>();
  const int64_t width = norm.numel();
  for (HostTensor* p : parts) {
    float* m = p->data<float>();
    const int64_t rows = p->numel() / width;  // [R, W] contiguous (load-time host slots)
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < width; ++j) m[r * width + j] *= 1.0f + w[j];
    }
  }
}

// Loads one Gemma layer (weights + norms) and applies the fusions; `fold_norms` (plain-norm
// layers only) folds the two RMSNorm weights into qkv and gate_up (GemmaLayerWeights).
Status LoadGemmaLayer(const GemmaConfig& g, const std::string& prefix, int l, bool ada,
                      bool fold_norms, const WeightSource& source, Backend& be, Arena& arena,
                      DType dtype, GemmaLayerWeights* L) {
  WeightTable t;
  DescribeGemmaLayer(g, prefix, l, L, &t);
  DescribeGemmaNorms(g, prefix, l, ada, L, &t);
  VLART_TRY(LoadWeightTable(t, source, be, arena, dtype));
  if (fold_norms && !ada) {
    const std::string at = fmt::format("{}layers.{}.", prefix, l);
    VLART_ASSIGN_OR_RETURN(const HostTensor in_norm, source.LoadF32(at + "input_layernorm.weight"));
    VLART_ASSIGN_OR_RETURN(const HostTensor post_norm,
                           source.LoadF32(at + "post_attention_layernorm.weight"));
    FoldNormColumns(in_norm, {&L->q_w, &L->k_w, &L->v_w});
    FoldNormColumns(post_norm, {&L->gate_w, &L->up_w});
    L->norms_folded = true;
  }
  L->qkv_w = UploadTensor(StackRows({&L->q_w, &L->k_w, &L->v_w}), be, arena, dtype);
  L->gate_up_w = UploadTensor(StackRows({&L->gate_w, &L->up_w}), be, arena, dtype);
  L->q_w = HostTensor(), L->k_w = HostTensor(), L->v_w = HostTensor();
  L->gate_w = HostTensor(), L->up_w = HostTensor();
  if (ada) {
    L->input_dense_w = UploadTensor(L->input_dense_w_host, be, arena, DType::kF32);
    L->input_dense_b = UploadTensor(L->input_dense_b_host, be, arena, DType::kF32);
    L->post_dense_w = UploadTensor(L->post_dense_w_host, be, arena, DType::kF32);
    L->post_dense_b = UploadTensor(L->post_dense_b_host, be, arena, DType::kF32);
    L->input_dense_w_host = HostTensor(), L->input_dense_b_host = HostTensor();
    L->post_dense_w_host = HostTensor(), L->post_dense_b_host = HostTensor();
  }
  return Status::Ok();
}

}  // namespace

std::string Pi0EmbeddingKey(const WeightSource& source) {
  if (source.ShapeOf(kEmbedLmHeadKey)) return kEmbedLmHeadKey;
  if (source.ShapeOf(kEmbedTokensKey)) return kEmbedTokensKey;
  return kEmbedLmHeadKey;  // reported as missing by the weight check
}

void DescribePi0Weights(const Pi0Config& cfg, const std::string& embed_key, Pi0Weights* w,
                        WeightTable* t) {
  DescribeSiglipStem(cfg, &w->vision, t);
  w->vision.layers.resize(cfg.vision.depth);
  for (int l = 0; l < cfg.vision.depth; ++l) DescribeSiglipLayer(cfg.vision, l, &w->vision.layers[l], t);
  t->Host(embed_key, {cfg.vocab_size, cfg.vlm.width}, &w->vlm.embed_host);
  w->vlm.layers.resize(cfg.vlm.depth);
  for (int l = 0; l < cfg.vlm.depth; ++l) {
    DescribeGemmaLayer(cfg.vlm, kVlmPrefix, l, &w->vlm.layers[l], t);
    DescribeGemmaNorms(cfg.vlm, kVlmPrefix, l, false, &w->vlm.layers[l], t);
  }
  w->expert.layers.resize(cfg.expert.depth);
  for (int l = 0; l < cfg.expert.depth; ++l) {
    DescribeGemmaLayer(cfg.expert, kExpertPrefix, l, &w->expert.layers[l], t);
    DescribeGemmaNorms(cfg.expert, kExpertPrefix, l, cfg.pi05, &w->expert.layers[l], t);
  }
  DescribeExpertTail(cfg, &w->expert, t);
  DescribeProjections(cfg, &w->proj, t);
}

Status LoadPi0Weights(const Pi0Config& cfg, const WeightSource& source, Backend& be, Arena& arena,
                      DType dtype, bool fold_rms_norms, Pi0Weights* w) {
  const std::string embed_key = Pi0EmbeddingKey(source);
  {
    // The whole checkpoint is checked before anything is uploaded (the check reads
    // shapes only; the scratch slots stay empty).
    Pi0Weights scratch;
    WeightTable all;
    DescribePi0Weights(cfg, embed_key, &scratch, &all);
    VLART_TRY(CheckWeightTable(all, source));
  }
  {
    WeightTable t;
    DescribeSiglipStem(cfg, &w->vision, &t);
    VLART_TRY(LoadWeightTable(t, source, be, arena, dtype));
  }
  w->vision.layers.resize(cfg.vision.depth);
  for (int l = 0; l < cfg.vision.depth; ++l) {
    SiglipLayerWeights& L = w->vision.layers[l];
    WeightTable t;
    DescribeSiglipLayer(cfg.vision, l, &L, &t);
    VLART_TRY(LoadWeightTable(t, source, be, arena, dtype));
    L.qkv_w = UploadTensor(StackRows({&L.q_w, &L.k_w, &L.v_w}), be, arena, dtype);
    L.qkv_b = UploadTensor(StackRows({&L.q_b, &L.k_b, &L.v_b}), be, arena, dtype);
    L.q_w = HostTensor(), L.k_w = HostTensor(), L.v_w = HostTensor();
    L.q_b = HostTensor(), L.k_b = HostTensor(), L.v_b = HostTensor();
  }
  {
    // openpi: embed_tokens(ids) * math.sqrt(width), an f32 multiply by the Python float
    // (converted to f32 by torch's scalar path). Scaling the table once is the same per element.
    WeightTable t;
    t.Host(embed_key, {cfg.vocab_size, cfg.vlm.width}, &w->vlm.embed_host);
    VLART_TRY(LoadWeightTable(t, source, be, arena, dtype));
    const auto scale = static_cast<float>(std::sqrt(static_cast<double>(cfg.vlm.width)));
    float* e = w->vlm.embed_host.data<float>();
    for (int64_t i = 0; i < w->vlm.embed_host.numel(); ++i) e[i] = e[i] * scale;
    w->vlm.embed = UploadTensor(w->vlm.embed_host, be, arena, dtype);
    w->vlm.embed_host = HostTensor();
  }
  w->vlm.layers.resize(cfg.vlm.depth);
  for (int l = 0; l < cfg.vlm.depth; ++l) {
    // The VLM's norms stay separate launches: at prefix shapes (~560 tokens) the row-scaled
    // RopeQkv / GatedActivation cost more than the RmsNorm they replace (docs/PERFORMANCE.md).
    VLART_TRY(LoadGemmaLayer(cfg.vlm, kVlmPrefix, l, false, /*fold_norms=*/false, source, be,
                             arena, dtype, &w->vlm.layers[l]));
  }
  w->expert.layers.resize(cfg.expert.depth);
  for (int l = 0; l < cfg.expert.depth; ++l) {
    VLART_TRY(LoadGemmaLayer(cfg.expert, kExpertPrefix, l, cfg.pi05, fold_rms_norms, source, be,
                             arena, dtype, &w->expert.layers[l]));
  }
  {
    WeightTable t;
    ExpertWeights& e = w->expert;
    DescribeExpertTail(cfg, &e, &t);
    VLART_TRY(LoadWeightTable(t, source, be, arena, dtype));
    if (cfg.pi05) {
      e.final_dense_w = UploadTensor(e.final_dense_w_host, be, arena, DType::kF32);
      e.final_dense_b = UploadTensor(e.final_dense_b_host, be, arena, DType::kF32);
      e.final_dense_w_host = HostTensor(), e.final_dense_b_host = HostTensor();
    }
  }
  {
    ProjectionWeights& p = w->proj;
    WeightTable t;
    DescribeProjections(cfg, &p, &t);
    VLART_TRY(LoadWeightTable(t, source, be, arena, DType::kF32));
    if (!cfg.pi05) {
      const int64_t we = cfg.expert.width;
      p.action_time_in_w = UploadTensor(p.action_time_in_host, be, arena, DType::kF32);
      p.action_time_in_action_w =
          UploadTensor(Columns(p.action_time_in_host, 0, we), be, arena, DType::kF32);
      p.action_time_in_time_w =
          UploadTensor(Columns(p.action_time_in_host, we, 2 * we), be, arena, DType::kF32);
      p.action_time_in_host = HostTensor();
    }
  }
  be.Synchronize();
  return Status::Ok();
}

Result<std::vector<WeightSpec>> Pi0WeightSpecs(const std::filesystem::path& dir) {
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointSource> source, OpenPi0Checkpoint(dir));
  VLART_ASSIGN_OR_RETURN(const Pi0Config cfg, LoadPi0Config(dir, *source));
  Pi0Weights slots;
  WeightTable table;
  DescribePi0Weights(cfg, Pi0EmbeddingKey(*source), &slots, &table);
  // Specs name the keys as stored (LeRobot's "model." included).
  const Checkpoint& ckpt = source->checkpoint();
  const std::string prefix =
      ckpt.Find("action_in_proj.weight") == nullptr && ckpt.Find("model.action_in_proj.weight")
          ? "model."
          : "";
  std::vector<WeightSpec> specs;
  for (const WeightSlot& s : table.slots()) {
    specs.push_back(WeightSpec{prefix + s.name, s.shape, s.required});
  }
  return specs;
}

Result<std::unique_ptr<CheckpointSource>> OpenPi0Checkpoint(const std::filesystem::path& path) {
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(path));
  // LeRobot wraps openpi's module tree in PI0Policy.model: every key gains "model.".
  const bool lerobot = ckpt->Find("action_in_proj.weight") == nullptr &&
                       ckpt->Find("model.action_in_proj.weight") != nullptr;
  return std::make_unique<CheckpointSource>(std::move(ckpt), lerobot ? "model." : "");
}

}  // namespace vlart::pi0
