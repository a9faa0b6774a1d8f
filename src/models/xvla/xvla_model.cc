// SPDX-License-Identifier: Apache-2.0
//
// xvla_model.cc: loading, planning and the forward of X-VLA (see xvla_model.h).

#include "models/xvla/xvla_model.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "models/common/view_upload.h"

namespace vlart::xvla {
namespace {

constexpr float kLayerNormEps = 1e-5f;  // image_proj_norm (nn.LayerNorm default)
constexpr const char* kSharedTokens = "shared.weight";
constexpr const char* kAliasTokens = "encoder.embed_tokens.weight";
constexpr const char* kBartPrefix = "vlm.language_model.model.";

// Tokens per view: the mean token plus the last stage's grid.
int LastGrid(const DavitConfig& v) {
  int h = v.image_size;
  for (int s = 0; s < 4; ++s) h = (h + 2 * v.patch_padding[s] - v.patch_size[s]) / v.patch_stride[s] + 1;
  return h;
}

// timestep_embedding(t, dim, max_period=100) of the official transformer.py, in f32 with
// torch's operation order: freqs = exp(-ln(100) * arange(half) / half); [cos(t f), sin(t f)].
void TimestepEmbedding(float t, int dim, float* out) {
  const int half = dim / 2;
  const float neg_log = -std::log(100.0f);
  for (int k = 0; k < half; ++k) {
    const float freq = std::exp(neg_log * static_cast<float>(k) / static_cast<float>(half));
    const float arg = t * freq;
    out[k] = std::cos(arg);
    out[half + k] = std::sin(arg);
  }
  if (dim % 2 == 1) out[dim - 1] = 0.0f;
}

// The step's t exactly as torch.full((B,), i / steps, dtype=float32) makes it.
float StepTime(int i, int steps) {
  return static_cast<float>(static_cast<double>(i) / static_cast<double>(steps));
}

// Pillow's taps of one axis: I32 [out, 2 + K] rows {first, count, weights} that stay inside
// an input of `in` pixels (Backend::ResizePixels; a device backend cannot check them).
Status CheckResizeTaps(const HostTensor& taps, const char* name, int64_t out, int64_t in) {
  const Shape& shape = taps.shape();
  if (taps.dtype() != DType::kI32 || shape.size() != 2 || shape[0] != out || shape[1] < 3) {
    return InvalidArgument("X-VLA input '{}': expected I32 [{}, 2 + K] with K >= 1, got {}{}", name,
                           out, DTypeName(taps.dtype()), shape.ToString());
  }
  const int32_t* row = taps.data<int32_t>();
  for (int64_t o = 0; o < out; ++o, row += shape[1]) {
    if (row[0] < 0 || row[1] < 1 || row[1] > shape[1] - 2 || int64_t{row[0]} + row[1] > in) {
      return InvalidArgument("X-VLA input '{}[{}]': expected taps inside the camera image (0 <= "
                             "first, 1 <= count <= {}, first + count <= {}), got first {} count {}",
                             name, o, shape[1] - 2, in, row[0], row[1]);
    }
  }
  return Status::Ok();
}

// Uploads `host` into `dev` unless `uploaded` already holds the same bytes (tables that
// rarely change: the pixel table, the resize taps).
void UploadIfChanged(Backend& be, const HostTensor& host, HostTensor& uploaded, const Tensor& dev) {
  if (uploaded.data<void>() != nullptr && uploaded.nbytes() == host.nbytes() &&
      std::memcmp(uploaded.data<void>(), host.data<void>(), host.nbytes()) == 0) {
    return;
  }
  uploaded = HostTensor::CopyOf(host.view());
  be.Upload(uploaded.view(), dev);
}

}  // namespace

int XvlaConfig::tokens_per_view() const {
  const int g = LastGrid(vision);
  return 1 + g * g;
}

int XvlaConfig::policy_tokens() const {
  return policy.num_actions + encoder_tokens() + aux_tokens() + policy.len_soft_prompts;
}

void XvlaModel::DescribeWeights(const XvlaConfig& cfg, const std::string& token_table_name,
                                XvlaWeights* w, WeightTable* t) {
  DescribeDavitWeights(cfg.vision, &w->davit, t);
  const int c3 = cfg.vision.dim_embed[3];
  ProjectorWeights& p = w->projector;
  t->Host("vlm.image_projection", {c3, cfg.projection_dim}, &p.image_projection);
  t->Device("vlm.image_proj_norm.weight", {cfg.projection_dim}, &p.proj_norm_w);
  t->Device("vlm.image_proj_norm.bias", {cfg.projection_dim}, &p.proj_norm_b);
  t->Host("vlm.image_pos_embed.row_embeddings.weight", {cfg.vision.max_pos_embeddings, c3 / 2},
          &p.row_embed);
  t->Host("vlm.image_pos_embed.column_embeddings.weight",
          {cfg.vision.max_pos_embeddings, c3 - c3 / 2}, &p.col_embed);
  t->OptionalHost("vlm.visual_temporal_embed.pos_idx_to_embed",
                  {cfg.vision.max_temporal_embeddings, c3}, &p.temporal, &p.has_temporal);
  DescribeBartEncoderWeights(cfg.text, token_table_name, &w->bart, t);
  DescribePolicyWeights(cfg, &w->policy, t);
}

std::string XvlaModel::TokenTableName(const WeightSource& source) {
  if (source.ShapeOf(std::string(kBartPrefix) + kSharedTokens)) return kSharedTokens;
  if (source.ShapeOf(std::string(kBartPrefix) + kAliasTokens)) return kAliasTokens;
  return kSharedTokens;  // reported as missing by the weight check
}

XvlaModel::XvlaModel(const XvlaConfig& cfg, Backend& backend, XvlaModelOptions options)
    : cfg_(cfg), be_(backend), options_(options), dtype_(backend.compute_dtype()) {}

Result<std::unique_ptr<XvlaModel>> XvlaModel::Load(const XvlaConfig& cfg,
                                                   const WeightSource& source, Backend& backend,
                                                   XvlaModelOptions options) {
  std::unique_ptr<XvlaModel> m(new XvlaModel(cfg, backend, options));
  const int g = LastGrid(cfg.vision);
  if (g > cfg.vision.max_pos_embeddings) {
    return InvalidArgument(
        "X-VLA config: image_pos_embed: expected max_pos_embeddings >= {} (the {}px grid), got {}",
        g, cfg.vision.image_size, cfg.vision.max_pos_embeddings);
  }
  if (cfg.policy_tokens() - cfg.policy.len_soft_prompts > cfg.policy.max_len_seq) {
    return InvalidArgument("X-VLA config: max_len_seq: expected >= {} positions, got {}",
                           cfg.policy_tokens() - cfg.policy.len_soft_prompts,
                           cfg.policy.max_len_seq);
  }
  if (cfg.encoder_tokens() > cfg.text.max_position_embeddings) {
    return InvalidArgument(
        "X-VLA config: text_config.max_position_embeddings: expected >= {}, got {}",
        cfg.encoder_tokens(), cfg.text.max_position_embeddings);
  }
  WeightTable table;
  DescribeWeights(cfg, TokenTableName(source), &m->w_, &table);
  m->weights_arena_ = backend.NewArena();
  VLART_TRY(LoadWeightTable(table, source, backend, *m->weights_arena_, m->dtype_));

  FinishBartEncoderWeights(cfg.text, &m->w_.bart, backend, *m->weights_arena_, m->dtype_);

  // Projector: image_projection is used as x @ W ([in, out]); nn.Linear wants [out, in].
  ProjectorWeights& p = m->w_.projector;
  const int64_t c3 = cfg.vision.dim_embed[3];
  const int64_t proj = cfg.projection_dim;
  HostTensor wt(DType::kF32, {proj, c3});
  for (int64_t i = 0; i < c3; ++i) {
    for (int64_t o = 0; o < proj; ++o) wt.data<float>()[o * c3 + i] = p.image_projection.data<float>()[i * proj + o];
  }
  p.image_projection_t = UploadTensor(wt, backend, *m->weights_arena_, m->dtype_);
  p.image_projection = HostTensor();

  // pos2d[h * g + w] = concat(column_embeddings[w], row_embeddings[h]).
  HostTensor pos(DType::kF32, {int64_t{g} * g, c3});
  const int64_t col_dim = c3 - c3 / 2;
  const int64_t row_dim = c3 / 2;
  for (int h = 0; h < g; ++h) {
    for (int x = 0; x < g; ++x) {
      float* dst = pos.data<float>() + (int64_t{h} * g + x) * c3;
      std::memcpy(dst, p.col_embed.data<float>() + x * col_dim, col_dim * sizeof(float));
      std::memcpy(dst + col_dim, p.row_embed.data<float>() + h * row_dim, row_dim * sizeof(float));
    }
  }
  p.pos2d = UploadTensor(pos, backend, *m->weights_arena_, m->dtype_);
  // Temporal embedding of frame 0 (T = 1): the buffer's row 0 when the file has it, else
  // sin(0) = 0 on even and cos(0) = 1 on odd channels, as the module computes it.
  HostTensor row0(DType::kF32, {c3});
  for (int64_t i = 0; i < c3; ++i) {
    row0.data<float>()[i] = p.has_temporal ? p.temporal.data<float>()[i] : (i % 2 == 1 ? 1.0f : 0.0f);
  }
  p.temporal_row0 = UploadTensor(row0, backend, *m->weights_arena_, m->dtype_);
  p.row_embed = HostTensor(), p.col_embed = HostTensor(), p.temporal = HostTensor();
  backend.Synchronize();
  m->weights_arena_->Seal();  // read-only from here: kernels may load weights ahead
  return m;
}

XvlaModel::Plan::Plan(const XvlaModel& model, const PlanKey& k) : key(k) {
  const XvlaConfig& cfg = model.cfg_;
  Backend& be = model.be_;
  const DType dt = model.dtype_;
  const int64_t b = k.batch;
  const int64_t v = cfg.num_views;
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j < v; ++j) {
      if (k.view_mask[i * v + j]) valid_views.emplace_back(static_cast<int>(i), static_cast<int>(j));
    }
  }
  const int64_t n = static_cast<int64_t>(valid_views.size());
  const int64_t s = cfg.vision.image_size;
  const int64_t c3 = cfg.vision.dim_embed[3];
  const int64_t t = cfg.tokens_per_view();
  const int64_t l = cfg.max_text_tokens;
  const int64_t d = cfg.text.d_model;
  const int64_t a = cfg.policy.num_actions;
  const int64_t da = cfg.action_space.dim_action;
  const int64_t dp = cfg.dim_proprio();
  const int64_t dtm = cfg.policy.dim_time;

  arena = be.NewArena();
  if (k.source_height > 0) {
    source = arena->Allocate({n, k.source_height, k.source_width, 3}, DType::kU8);
    resize_x = arena->Allocate({s, k.taps_x}, DType::kI32);
    resize_y = arena->Allocate({s, k.taps_y}, DType::kI32);
  }
  if (k.pixels) {
    pixels = arena->Allocate({n, 3, s, s}, DType::kU8);
    pixel_table = arena->Allocate({3, 256}, DType::kF32);
    images = arena->Allocate({n, 3, s, s}, dt);
  } else {
    images_f32 = arena->Allocate({n, 3, s, s}, DType::kF32);
    images = dt == DType::kF32 ? images_f32 : arena->Allocate({n, 3, s, s}, dt);
  }
  ids = arena->Allocate({b * l}, DType::kI32);
  domains = arena->Allocate({b}, DType::kI32);
  proprio = arena->Allocate({b, dp}, DType::kF32);
  noise = arena->Allocate({b, a, da}, DType::kF32);
  temb = arena->Allocate({k.steps, dtm}, DType::kF32);
  vision_out = arena->Allocate({n, t - 1, c3}, dt);
  tokens = arena->Allocate({n, t, c3}, dt);
  projected = arena->Allocate({n * t, cfg.projection_dim}, dt);
  view_feats = arena->Allocate({b, v, t, cfg.projection_dim}, dt);
  text_emb = arena->Allocate({b * l, d}, dt);
  enc_in = arena->Allocate({b, t + l, d}, dt);
  vlm_features = arena->Allocate({b, t + l, d}, dt);
  aux = arena->Allocate({b, (v - 1) * t, d}, dt);
  proprio_m = arena->Allocate({b, dp}, DType::kF32);
  x_t = arena->Allocate({b, a, da}, DType::kF32);
  tok_in = arena->Allocate({b, a, da + dp + dtm}, DType::kF32);
  action = arena->Allocate({b, a, da}, DType::kF32);

  davit = std::make_unique<DavitEncoder>(cfg.vision, model.w_.davit, be, *arena,
                                         static_cast<int>(n), dt);
  bart = std::make_unique<BartEncoder>(cfg.text, model.w_.bart, be, *arena, static_cast<int>(b),
                                       static_cast<int>(t + l), dt);
  policy = std::make_unique<PolicyTransformer>(cfg, model.w_.policy, be, *arena,
                                               static_cast<int>(b), static_cast<int>(t + l),
                                               static_cast<int>((v - 1) * t), dt,
                                               model.options_.hoist_step_invariant);

  // Time embeddings of every step, computed once on the host (t is fixed by `steps`).
  HostTensor temb_host(DType::kF32, {k.steps, dtm});
  for (int kk = 0; kk < k.steps; ++kk) {
    TimestepEmbedding(StepTime(k.steps - kk, k.steps), static_cast<int>(dtm),
                      temb_host.data<float>() + kk * dtm);
  }
  be.Upload(temb_host.view(), temb);
}

Result<XvlaModel::Plan*> XvlaModel::GetPlan(const PlanKey& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second.get();
  auto plan = std::make_unique<Plan>(*this, key);
  Plan* raw = plan.get();
  plans_.emplace(key, std::move(plan));
  return raw;
}

Status XvlaModel::Validate(const XvlaInputs& in) const {
  const int64_t v = cfg_.num_views;
  const int64_t s = cfg_.vision.image_size;
  const int64_t l = cfg_.max_text_tokens;
  if (in.input_ids.dtype() != DType::kI32 || in.input_ids.shape().size() != 2 ||
      in.input_ids.shape()[1] != l) {
    return InvalidArgument("X-VLA input 'input_ids': expected I32 [B, {}], got {}{}", l,
                           DTypeName(in.input_ids.dtype()), in.input_ids.shape().ToString());
  }
  const int64_t b = in.input_ids.shape()[0];
  if (b < 1) return InvalidArgument("X-VLA input 'input_ids': expected a batch of at least 1, got 0");
  auto check_shape = [&](const HostTensor& t, const char* name, DType dtype, const Shape& want) {
    if (t.dtype() != dtype || t.shape() != want) {
      return InvalidArgument("X-VLA input '{}': expected {}{}, got {}{}", name, DTypeName(dtype),
                             want.ToString(), DTypeName(t.dtype()), t.shape().ToString());
    }
    return Status::Ok();
  };
  const int forms = (in.images.data<void>() != nullptr) + (in.pixels.data<void>() != nullptr) +
                    (in.source_pixels.data<void>() != nullptr);
  if (forms > 1) {
    return InvalidArgument("X-VLA inputs: expected one of 'images' (F32 planes), 'pixels' (U8 "
                           "resized bytes) or 'source_pixels' (U8 camera bytes), got {}", forms);
  }
  if (in.source_pixels.data<void>() != nullptr) {
    const Shape& src = in.source_pixels.shape();
    if (in.source_pixels.dtype() != DType::kU8 || src.size() != 5 || src[0] != b || src[1] != v ||
        src[2] < 1 || src[3] < 1 || src[4] != 3) {
      return InvalidArgument("X-VLA input 'source_pixels': expected U8 [{}, {}, H, W, 3], got {}{}",
                             b, v, DTypeName(in.source_pixels.dtype()), src.ToString());
    }
    VLART_TRY(CheckResizeTaps(in.resize_x, "resize_x", s, src[3]));
    VLART_TRY(CheckResizeTaps(in.resize_y, "resize_y", s, src[2]));
  }
  if (in.pixels.data<void>() != nullptr || in.source_pixels.data<void>() != nullptr) {
    if (in.pixels.data<void>() != nullptr) {
      VLART_TRY(check_shape(in.pixels, "pixels", DType::kU8, {b, v, 3, s, s}));
    }
    VLART_TRY(check_shape(in.pixel_table, "pixel_table", DType::kF32, {3, 256}));
    for (int64_t i = 0; i < in.pixel_table.numel(); ++i) {
      if (!std::isfinite(in.pixel_table.data<float>()[i])) {
        return InvalidArgument("X-VLA input 'pixel_table[{}][{}]': expected a finite value, got {}",
                               i / 256, i % 256, in.pixel_table.data<float>()[i]);
      }
    }
  } else {
    VLART_TRY(check_shape(in.images, "images", DType::kF32, {b, v, 3, s, s}));
  }
  VLART_TRY(check_shape(in.image_mask, "image_mask", DType::kU8, {b, v}));
  VLART_TRY(check_shape(in.domain_id, "domain_id", DType::kI32, {b}));
  VLART_TRY(check_shape(in.proprio, "proprio", DType::kF32, {b, cfg_.dim_proprio()}));
  VLART_TRY(check_shape(in.noise, "noise", DType::kF32,
                        {b, cfg_.policy.num_actions, cfg_.action_space.dim_action}));
  if (in.steps < 1 || in.steps > 1000) {
    return InvalidArgument("X-VLA input 'steps': expected 1..1000, got {}", in.steps);
  }
  for (int64_t i = 0; i < b * l; ++i) {
    const int32_t id = in.input_ids.data<int32_t>()[i];
    if (id < 0 || id >= cfg_.text.vocab_size) {
      return InvalidArgument("X-VLA input 'input_ids[{}][{}]': expected a token id in [0, {}), got {}",
                             i / l, i % l, cfg_.text.vocab_size, id);
    }
  }
  for (int64_t i = 0; i < b; ++i) {
    const int32_t d = in.domain_id.data<int32_t>()[i];
    if (d < 0 || d >= cfg_.policy.num_domains) {
      return InvalidArgument("X-VLA input 'domain_id[{}]': expected 0..{}, got {}", i,
                             cfg_.policy.num_domains - 1, d);
    }
    int present = 0;
    for (int64_t j = 0; j < v; ++j) present += in.image_mask.data<uint8_t>()[i * v + j] != 0;
    if (present == 0) {
      return InvalidArgument("X-VLA input 'image_mask[{}]': expected at least one present view, got none", i);
    }
  }
  auto check_finite = [](const HostTensor& t, const char* name) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (!std::isfinite(t.data<float>()[i])) {
        return InvalidArgument("X-VLA input '{}': expected finite values, got {} at flat index {}",
                               name, t.data<float>()[i], i);
      }
    }
    return Status::Ok();
  };
  VLART_TRY(check_finite(in.proprio, "proprio"));
  VLART_TRY(check_finite(in.noise, "noise"));
  return Status::Ok();
}

Status XvlaModel::Upload(Plan& plan, const XvlaInputs& in) {
  const int64_t b = plan.key.batch;
  const int64_t v = cfg_.num_views;
  const PlanKey want = FormKeyFor(in);  // the mask is compared below, view by view
  const auto form = [](const PlanKey& k) {
    return k.source_height > 0 ? fmt::format("source_pixels {}x{}", k.source_height, k.source_width)
                               : std::string(k.pixels ? "pixels" : "images");
  };
  if (want.batch != b || want.steps != plan.key.steps || want.pixels != plan.key.pixels ||
      want.source_height != plan.key.source_height || want.source_width != plan.key.source_width ||
      want.taps_x != plan.key.taps_x || want.taps_y != plan.key.taps_y) {
    return InvalidArgument(
        "X-VLA upload: inputs of batch {} / {} steps / {} into a plan for {} / {} / {}", want.batch,
        in.steps, form(want), b, plan.key.steps, form(plan.key));
  }
  for (int64_t i = 0; i < b * v; ++i) {
    if ((in.image_mask.data<uint8_t>()[i] != 0) != (plan.key.view_mask[i] != 0)) {
      return InvalidArgument("X-VLA upload: sample {} view {}: the image mask says {}, the plan {}",
                             i / v, i % v, in.image_mask.data<uint8_t>()[i] != 0 ? "present" : "absent",
                             plan.key.view_mask[i] != 0 ? "present" : "absent");
    }
  }
  // The present views (absent views are never encoded), checked finite before anything is
  // uploaded, then copied straight from the caller's tensor.
  if (plan.key.source_height > 0) {
    VLART_TRY(UploadEncodedViews(be_, in.source_pixels, plan.valid_views, plan.source, "X-VLA"));
    UploadIfChanged(be_, in.resize_x, plan.uploaded_x, plan.resize_x);
    UploadIfChanged(be_, in.resize_y, plan.uploaded_y, plan.resize_y);
    UploadIfChanged(be_, in.pixel_table, plan.uploaded_table, plan.pixel_table);
  } else if (plan.key.pixels) {
    VLART_TRY(UploadEncodedViews(be_, in.pixels, plan.valid_views, plan.pixels, "X-VLA"));
    UploadIfChanged(be_, in.pixel_table, plan.uploaded_table, plan.pixel_table);
  } else {
    VLART_TRY(UploadEncodedViews(be_, in.images, plan.valid_views, plan.images_f32, "X-VLA"));
  }
  be_.Upload(in.input_ids.view().Reshape({-1}), plan.ids);
  be_.Upload(in.domain_id.view(), plan.domains);
  be_.Upload(in.proprio.view(), plan.proprio);
  be_.Upload(in.noise.view(), plan.noise);
  return Status::Ok();
}

void XvlaModel::Forward(Plan& p) {
  const XvlaConfig& cfg = cfg_;
  const int64_t b = p.key.batch;
  const int64_t v = cfg.num_views;
  const int64_t n = static_cast<int64_t>(p.valid_views.size());
  const int64_t t = cfg.tokens_per_view();
  const int64_t l = cfg.max_text_tokens;
  const int64_t c3 = cfg.vision.dim_embed[3];
  const int64_t d = cfg.text.d_model;
  const int64_t a = cfg.policy.num_actions;
  const int64_t da = cfg.action_space.dim_action;
  const int64_t dp = cfg.dim_proprio();
  const int64_t dtm = cfg.policy.dim_time;
  const Tracer& trace = tracer_;

  // ---- vision: DaViT, positions, mean token, projection -------------------------
  Stage("vision");
  // Images arrive as camera bytes (resized, then normalised here), resized bytes
  // (normalised here) or f32 planes (rounded to the compute dtype here): every form's
  // conversion happens inside the recorded call.
  if (p.key.source_height > 0) be_.ResizePixels(p.source, p.resize_x, p.resize_y, p.pixels);
  if (p.key.pixels) {
    be_.NormalizePixels(p.pixels.Permute({0, 2, 3, 1}), p.pixel_table, p.images);
  } else if (p.images.data != p.images_f32.data) {
    be_.Copy(p.images_f32, p.images);
  }
  p.davit->Forward(p.images, p.vision_out, trace);
  trace("vision.features", p.vision_out);
  const Tensor grid_tokens = p.tokens.Slice(1, 1, t);
  be_.Add(p.vision_out, w_.projector.pos2d.Broadcast({n, t - 1, c3}), grid_tokens);
  be_.Add(grid_tokens, w_.projector.temporal_row0.Broadcast({n, t - 1, c3}), grid_tokens);
  be_.MeanOverTokens(grid_tokens, p.tokens.Select(1, 0));
  trace("vision.tokens", p.tokens);
  be_.Linear(p.tokens.Reshape({n * t, c3}), w_.projector.image_projection_t, nullptr,
             Activation::kNone, nullptr, p.projected);
  be_.LayerNorm(p.projected, w_.projector.proj_norm_w, w_.projector.proj_norm_b, kLayerNormEps,
                p.projected);
  const Tensor projected = p.projected.Reshape({n, t, cfg.projection_dim});
  trace("vision.projected", projected);
  be_.Fill(p.view_feats, 0.0f);
  for (int64_t k = 0; k < n; ++k) {
    const auto [bi, vi] = p.valid_views[k];
    be_.Copy(projected.Select(0, k), p.view_feats.Select(0, bi).Select(0, vi));
  }
  trace("vision.view_features", p.view_feats);

  // ---- BART encoder over [view-0 tokens ; text] -----------------------------------
  Stage("encoder");
  be_.Copy(p.view_feats.Select(1, 0), p.enc_in.Slice(1, 0, t));
  p.bart->EmbedTokens(p.ids, p.text_emb);
  be_.Copy(p.text_emb.Reshape({b, l, d}), p.enc_in.Slice(1, t, t + l));
  trace("encoder.input", p.enc_in);
  p.bart->Forward(p.enc_in, p.vlm_features, trace);
  trace("encoder.output", p.vlm_features);
  be_.Copy(p.view_feats.Slice(1, 1, v), p.aux.Reshape({b, v - 1, t, d}));
  trace("policy.aux", p.aux);

  // ---- policy: the x0-prediction loop --------------------------------------------
  Stage("policy");
  p.policy->BuildContext(p.vlm_features, p.aux, p.domains);
  be_.Copy(p.proprio, p.proprio_m);
  for (int c : cfg.action_space.zeroed_channels) be_.Fill(p.proprio_m.Slice(1, c, c + 1), 0.0f);
  be_.Fill(p.action, 0.0f);
  for (int k = 0; k < p.key.steps; ++k) {
    const float tt = StepTime(p.key.steps - k, p.key.steps);
    const float one_minus_t = 1.0f - tt;
    be_.Axpby(tt, p.noise, one_minus_t, p.action, p.x_t);
    for (int c : cfg.action_space.zeroed_channels) be_.Fill(p.x_t.Slice(2, c, c + 1), 0.0f);
    trace(fmt::format("policy.step{}.x_t", k), p.x_t);
    be_.Copy(p.x_t, p.tok_in.Slice(2, 0, da));
    if (dp > 0) {
      be_.Copy(p.proprio_m.Unsqueeze(1).Broadcast({b, a, dp}), p.tok_in.Slice(2, da, da + dp));
    }
    be_.Copy(p.temb.Select(0, k).Broadcast({b, a, dtm}), p.tok_in.Slice(2, da + dp, da + dp + dtm));
    p.policy->Step(p.tok_in, p.domains, p.action, k, trace);
  }

  // ---- postprocess: sigmoid on the gripper channels --------------------------------
  Stage("post");
  for (int c : cfg.action_space.sigmoid_channels) {
    const Tensor col = p.action.Slice(2, c, c + 1);
    be_.Activate(Activation::kSigmoid, col, col);
  }
  trace("actions", p.action);
  Stage("end");
}

Status XvlaModel::Download(Plan& plan, XvlaOutputs* out) {
  const int64_t b = plan.key.batch;
  const int64_t a = cfg_.policy.num_actions;
  const int64_t da = cfg_.action_space.dim_action;
  HostTensor full(DType::kF32, {b, a, da});
  be_.Download(plan.action, full.view());
  be_.Synchronize();
  const int64_t keep = cfg_.action_space.output_dim;
  out->actions = HostTensor::CopyOf(full.view().Slice(2, 0, keep));
  return Status::Ok();
}

XvlaModel::PlanKey XvlaModel::KeyFor(const XvlaInputs& inputs) {
  PlanKey key = FormKeyFor(inputs);
  key.view_mask.assign(inputs.image_mask.data<uint8_t>(),
                       inputs.image_mask.data<uint8_t>() + inputs.image_mask.numel());
  for (uint8_t& m : key.view_mask) m = m != 0;
  return key;
}

XvlaModel::PlanKey XvlaModel::FormKeyFor(const XvlaInputs& inputs) {
  PlanKey key;
  key.batch = static_cast<int>(inputs.input_ids.shape()[0]);
  key.steps = inputs.steps;
  key.pixels = inputs.pixels.data<void>() != nullptr || inputs.source_pixels.data<void>() != nullptr;
  if (inputs.source_pixels.data<void>() != nullptr) {
    key.source_height = static_cast<int>(inputs.source_pixels.shape()[2]);
    key.source_width = static_cast<int>(inputs.source_pixels.shape()[3]);
    // Row widths of the taps (0 for a malformed table, which Validate refuses).
    const auto width = [](const HostTensor& t) {
      return t.shape().size() == 2 ? static_cast<int>(t.shape()[1]) : 0;
    };
    key.taps_x = width(inputs.resize_x);
    key.taps_y = width(inputs.resize_y);
  }
  return key;
}

Result<XvlaOutputs> XvlaModel::Run(const XvlaInputs& inputs) {
  VLART_TRY(Validate(inputs));
  VLART_ASSIGN_OR_RETURN(Plan * plan, GetPlan(KeyFor(inputs)));
  VLART_TRY(Upload(*plan, inputs));
  Forward(*plan);
  XvlaOutputs out;
  VLART_TRY(Download(*plan, &out));
  return out;
}

}  // namespace vlart::xvla
