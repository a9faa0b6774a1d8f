// SPDX-License-Identifier: Apache-2.0
//
// pi0_model.cc: loading, planning, uploading and the forward of pi0 / pi0.5 (see header).

#include "models/pi0/pi0_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "image/normalize.h"
#include "models/common/view_upload.h"
#include "models/pi0/pi0_schedule.h"

namespace vlart::pi0 {
namespace {

Status CheckTensor(const HostTensor& t, const char* name, DType dtype, const Shape& want) {
  if (t.dtype() != dtype || t.shape() != want) {
    return InvalidArgument("pi0 input '{}': expected {}{}, got {}{}", name, DTypeName(dtype),
                           want.ToString(), DTypeName(t.dtype()), t.shape().ToString());
  }
  return Status::Ok();
}

}  // namespace

Pi0Model::Pi0Model(const Pi0Config& cfg, Backend& backend, Pi0ModelOptions options)
    : cfg_(cfg), be_(backend), options_(options), dtype_(backend.compute_dtype()) {}

Result<std::unique_ptr<Pi0Model>> Pi0Model::Load(const Pi0Config& cfg, const WeightSource& source,
                                                 Backend& backend, Pi0ModelOptions options) {
  VLART_TRY(ValidatePi0Config(cfg));
  std::unique_ptr<Pi0Model> m(new Pi0Model(cfg, backend, options));
  m->weights_arena_ = backend.NewArena();
  VLART_TRY(LoadPi0Weights(m->cfg_, source, backend, *m->weights_arena_, m->dtype_,
                           options.fold_rms_norms, &m->w_));
  HostTensor table(DType::kF32, {3, 256});
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      table.data<float>()[c * 256 + v] = OpenpiPixelValue(static_cast<uint8_t>(v));
    }
  }
  m->pixel_table_ = m->weights_arena_->Allocate({3, 256}, DType::kF32);
  backend.Upload(table.view(), m->pixel_table_);
  m->weights_arena_->Seal();  // read-only from here: kernels may load weights ahead
  return m;
}

Pi0Model::Plan::Plan(const Pi0Model& model, const PlanKey& k) : key(k) {
  const Pi0Config& cfg = model.cfg_;
  Backend& be = model.be_;
  const DType dtype = model.dtype_;
  const int64_t b = k.batch;
  const int64_t nv = cfg.num_views;
  images_per_sample.assign(b, 0);
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t v = 0; v < nv; ++v) {
      if (k.encoded[i * nv + v]) {
        encoded_views.emplace_back(static_cast<int>(i), static_cast<int>(v));
        image_row0.push_back(int64_t{images_per_sample[i]} * cfg.vision.tokens());
        ++images_per_sample[i];
      }
    }
  }
  const int64_t n = static_cast<int64_t>(encoded_views.size());
  const int64_t s = cfg.vision.image_size;
  const int64_t t = cfg.vision.tokens();
  const int64_t w = cfg.vlm.width;
  const int64_t l = k.prefix_len;
  const int64_t sfx = cfg.suffix_len();
  const int64_t h = cfg.action_horizon;
  const int64_t a = cfg.action_dim;
  dt = OpenpiDt(k.steps);

  arena = be.NewArena();
  images = arena->Allocate({n, 3, s, s}, dtype);
  if (k.pixels) pixels = arena->Allocate({n, s, s, 3}, DType::kU8);
  ids = arena->Allocate({b * l}, DType::kI32);
  positions = arena->Allocate({b, l}, DType::kI32);
  prefix_mask = arena->Allocate({b, l, l}, DType::kF32);
  suffix_positions = arena->Allocate({b, sfx}, DType::kI32);
  suffix_mask = arena->Allocate({b, sfx, l + sfx}, DType::kF32);
  state = arena->Allocate({b, a}, DType::kF32);
  noise = arena->Allocate({b, h, a}, DType::kF32);
  image_tokens = arena->Allocate({n, t, w}, dtype);
  prefix_x = arena->Allocate({b, l, w}, dtype);
  kv.prefix_len = l;
  for (int i = 0; i < cfg.vlm.depth; ++i) {
    kv.k.push_back(arena->Allocate({b, l + sfx, cfg.vlm.num_kv_heads, cfg.vlm.head_dim}, dtype));
    kv.v.push_back(arena->Allocate({b, l + sfx, cfg.vlm.num_kv_heads, cfg.vlm.head_dim}, dtype));
  }
  x_t = arena->Allocate({b, h, a}, DType::kF32);
  v_t = arena->Allocate({b, h, a}, DType::kF32);
  x0 = arena->Allocate({b, h, a}, DType::kF32);

  host.valid.assign(b * l, 0);
  host.uploaded_valid.assign(b * l, 2);  // matches no pattern: every sample's first upload builds
  host.call_ids.assign(b * l, 0);
  host.ids = HostTensor(DType::kI32, {b * l});
  host.positions = HostTensor(DType::kI32, {b, l});
  host.prefix_mask = HostTensor(DType::kF32, {b, l, l});
  host.suffix_positions = HostTensor(DType::kI32, {b, sfx});
  host.suffix_mask = HostTensor(DType::kF32, {b, sfx, l + sfx});
  host.state = HostTensor(DType::kF32, {b, a});
  host.key_row.assign(l, 0.0f);
  // Suffix query q sees suffix key j iff cumsum(ar)[j] <= cumsum(ar)[q], with
  // ar = [1, 1, 0, ...] (pi0: state, then actions) or [1, 0, ...] (pi0.5).
  std::vector<int> cum_ar(sfx);
  for (int64_t j = 0; j < sfx; ++j) {
    const int ar = cfg.pi05 ? (j == 0) : (j <= 1);
    cum_ar[j] = (j > 0 ? cum_ar[j - 1] : 0) + ar;
  }
  host.suffix_tail.resize(sfx * sfx);
  for (int64_t q = 0; q < sfx; ++q) {
    for (int64_t j = 0; j < sfx; ++j) {
      host.suffix_tail[q * sfx + j] = cum_ar[j] <= cum_ar[q] ? 0.0f : kMaskNegative;
    }
  }
  prefix_slots.resize(b);

  const Pi0ModelOptions& o = model.options_;
  siglip = std::make_unique<SiglipEncoder>(cfg.vision, model.w_.vision, be, *arena, n, dtype);
  prefix = std::make_unique<GemmaPrefix>(cfg.vlm, model.w_.vlm, be, *arena, b, l, dtype,
                                         o.skip_dead_prefix_compute);
  expert = std::make_unique<ActionExpert>(cfg, model.w_, be, *arena, b, l, k.steps,
                                          ExpertOptions{o.cache_state_token, o.fold_time_path},
                                          dtype);
}

Status Pi0Model::Validate(const Pi0Inputs& in) const {
  const int64_t v = cfg_.num_views;
  const int64_t s = cfg_.vision.image_size;
  const int64_t lt = cfg_.max_token_len;
  const int64_t a = cfg_.action_dim;
  if (in.image_mask.dtype() != DType::kU8 || in.image_mask.shape().size() != 2 ||
      in.image_mask.shape()[1] != v || in.image_mask.shape()[0] < 1) {
    return InvalidArgument("pi0 input 'image_mask': expected U8[B, {}] with B >= 1, got {}{}", v,
                           DTypeName(in.image_mask.dtype()), in.image_mask.shape().ToString());
  }
  const int64_t b = in.image_mask.shape()[0];
  if (in.pixels.data<void>() != nullptr) {
    if (in.images.data<void>() != nullptr) {
      return InvalidArgument(
          "pi0 inputs: expected either 'images' (F32 planes) or 'pixels' (U8 bytes), got both");
    }
    VLART_TRY(CheckTensor(in.pixels, "pixels", DType::kU8, {b, v, s, s, 3}));
  } else {
    VLART_TRY(CheckTensor(in.images, "images", DType::kF32, {b, v, 3, s, s}));
  }
  VLART_TRY(CheckTensor(in.tokens, "tokens", DType::kI32, {b, lt}));
  VLART_TRY(CheckTensor(in.token_mask, "token_mask", DType::kU8, {b, lt}));
  VLART_TRY(CheckTensor(in.state, "state", DType::kF64, {b, a}));
  VLART_TRY(CheckTensor(in.noise, "noise", DType::kF32, {b, cfg_.action_horizon, a}));
  if (in.steps < 1 || in.steps > 1000) {
    return InvalidArgument("pi0 input 'steps': expected 1..1000, got {}", in.steps);
  }
  for (int64_t i = 0; i < b * lt; ++i) {
    const int32_t id = in.tokens.data<int32_t>()[i];
    if (id < 0 || id >= cfg_.vocab_size) {
      return InvalidArgument("pi0 input 'tokens[{}][{}]': expected a token id in [0, {}), got {}",
                             i / lt, i % lt, cfg_.vocab_size, id);
    }
  }
  for (int64_t i = 0; i < b * a; ++i) {
    const double x = in.state.data<double>()[i];
    if (!std::isfinite(x)) {
      return InvalidArgument("pi0 input 'state[{}][{}]': expected a finite value, got {}", i / a,
                             i % a, x);
    }
  }
  for (int64_t i = 0; i < in.noise.numel(); ++i) {
    if (!std::isfinite(in.noise.data<float>()[i])) {
      return InvalidArgument("pi0 input 'noise': expected finite values, got {} at flat index {}",
                             in.noise.data<float>()[i], i);
    }
  }
  for (int64_t i = 0; i < b; ++i) {
    int valid = 0;
    for (int64_t j = 0; j < v; ++j) valid += in.image_mask.data<uint8_t>()[i * v + j] != 0;
    for (int64_t j = 0; j < lt; ++j) valid += in.token_mask.data<uint8_t>()[i * lt + j] != 0;
    if (valid == 0) {
      return InvalidArgument(
          "pi0 input sample {}: expected at least one present image or prompt token, got none", i);
    }
  }
  return Status::Ok();
}

Pi0Model::PlanKey Pi0Model::MakePlanKey(const Pi0Inputs& in) const {
  const int64_t b = in.image_mask.shape()[0];
  const int64_t v = cfg_.num_views;
  const int64_t lt = cfg_.max_token_len;
  const int64_t t = cfg_.vision.tokens();
  PlanKey key;
  key.batch = static_cast<int>(b);
  key.steps = in.steps;
  key.pixels = in.pixels.data<void>() != nullptr;
  key.encoded.resize(b * v);
  int64_t longest = 0;
  for (int64_t i = 0; i < b; ++i) {
    int64_t rows = 0;
    for (int64_t j = 0; j < v; ++j) {
      const bool present = in.image_mask.data<uint8_t>()[i * v + j] != 0;
      const bool encode = present || !options_.skip_masked_images;
      key.encoded[i * v + j] = encode;
      rows += encode ? t : 0;
    }
    if (options_.trim_text_padding) {
      for (int64_t j = 0; j < lt; ++j) rows += in.token_mask.data<uint8_t>()[i * lt + j] != 0;
    } else {
      rows += lt;
    }
    longest = std::max(longest, rows);
  }
  key.prefix_len = static_cast<int>(longest);
  return key;
}

Result<Pi0Model::Plan*> Pi0Model::GetPlan(const PlanKey& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second.get();
  const int64_t v = cfg_.num_views;
  if (key.batch < 1 || key.prefix_len < 1 || key.steps < 1 || key.steps > 1000 ||
      static_cast<int64_t>(key.encoded.size()) != key.batch * v) {
    return InvalidArgument(
        "pi0 plan: expected batch >= 1, prefix_len >= 1, steps 1..1000 and {} view flags per "
        "sample, got batch {}, prefix_len {}, steps {}, {} flags",
        v, key.batch, key.prefix_len, key.steps, key.encoded.size());
  }
  auto plan = std::make_unique<Plan>(*this, key);
  Plan* raw = plan.get();
  plans_.emplace(key, std::move(plan));
  return raw;
}

namespace {

// Sample i's positions, prefix mask, suffix positions and suffix mask from its pad pattern
// plan.host.valid (see Upload), into plan.host.
void BuildPrefixInputs(Pi0Model::Plan& plan, int64_t i) {
  Pi0Model::Plan::HostInputs& h = plan.host;
  const int64_t l = plan.key.prefix_len;
  const int64_t sfx = h.suffix_positions.shape()[1];
  const uint8_t* valid = h.valid.data() + i * l;
  // openpi's positions cumsum(pad) - 1 over its slots; the slots we dropped all have
  // pad = false, so over our rows it is the running count of valid rows, minus one
  // (batch padding rows, invalid, repeat the last).
  int32_t* pos = h.positions.data<int32_t>() + i * l;
  int32_t cum = 0;
  for (int64_t r = 0; r < l; ++r) {
    cum += valid[r];
    pos[r] = cum - 1;
  }
  const int32_t n_valid = cum;
  // make_att_2d_masks with ar = 0 everywhere: query q sees key k iff both are valid.
  float* key_row = h.key_row.data();
  for (int64_t k = 0; k < l; ++k) key_row[k] = valid[k] ? 0.0f : kMaskNegative;
  float* pm = h.prefix_mask.data<float>() + i * l * l;
  for (int64_t q = 0; q < l; ++q) {
    if (valid[q]) {
      std::memcpy(pm + q * l, key_row, l * sizeof(float));
    } else {
      std::fill_n(pm + q * l, l, kMaskNegative);
    }
  }
  // Suffix: positions sum(prefix pad) + arange(S); keys [prefix (valid ones) ; suffix].
  for (int64_t q = 0; q < sfx; ++q) {
    h.suffix_positions.data<int32_t>()[i * sfx + q] = n_valid + static_cast<int32_t>(q);
    float* sm = h.suffix_mask.data<float>() + (i * sfx + q) * (l + sfx);
    std::memcpy(sm, key_row, l * sizeof(float));
    std::memcpy(sm + l, h.suffix_tail.data() + q * sfx, sfx * sizeof(float));
  }
}

}  // namespace

Status Pi0Model::Upload(Plan& plan, const Pi0Inputs& in) {
  const PlanKey& key = plan.key;
  const int64_t b = key.batch;
  const int64_t nv = cfg_.num_views;
  const int64_t t = cfg_.vision.tokens();
  const int64_t lt = cfg_.max_token_len;
  const int64_t l = key.prefix_len;
  const int64_t a = cfg_.action_dim;
  if (in.image_mask.shape()[0] != b || in.steps != key.steps ||
      (in.pixels.data<void>() != nullptr) != key.pixels) {
    return InvalidArgument(
        "pi0 upload: inputs of batch {} / {} steps / {} into a plan for {} / {} / {}",
        in.image_mask.shape()[0], in.steps, in.pixels.data<void>() != nullptr ? "pixels" : "images",
        b, key.steps, key.pixels ? "pixels" : "images");
  }
  const uint8_t* imask = in.image_mask.data<uint8_t>();
  const uint8_t* tmask = in.token_mask.data<uint8_t>();
  const int32_t* tokens = in.tokens.data<int32_t>();
  Plan::HostInputs& host = plan.host;

  // Prefix layout. openpi's prefix slots are [view 0 (T) | ... | view V-1 (T) | prompt (Lt)];
  // we keep, in that order, the slots of encoded views and (unless trimmed) every prompt
  // slot, then pad the sample to L rows. This pass only records each row's slot, pad flag
  // and token id; what derives from the pad flags is rebuilt below for the samples whose
  // flags changed. Nothing reaches the device before every input check passed, so a
  // refused call leaves the plan's device buffers (and what host.uploaded_valid says about
  // them) as they were.
  for (int64_t i = 0; i < b; ++i) {
    std::vector<int>& slots = plan.prefix_slots[i];
    slots.assign(l, -1);
    uint8_t* valid = host.valid.data() + i * l;
    int32_t* ids = host.call_ids.data() + i * l;
    int64_t r = 0;
    for (int64_t v = 0; v < nv; ++v) {
      const bool present = imask[i * nv + v] != 0;
      if (!key.encoded[i * nv + v]) {
        if (present) {
          return InvalidArgument("pi0 upload: sample {} view {} is present but the plan does not "
                                 "encode it",
                                 i, v);
        }
        continue;
      }
      if (r + t > l) {
        return InvalidArgument("pi0 upload: sample {} needs more than the plan's {} prefix rows",
                               i, l);
      }
      for (int64_t j = 0; j < t; ++j, ++r) {
        slots[r] = static_cast<int>(v * t + j);
        valid[r] = present;
        ids[r] = 0;
      }
    }
    for (int64_t j = 0; j < lt; ++j) {
      const bool pad = tmask[i * lt + j] != 0;
      if (!pad && options_.trim_text_padding) continue;
      if (r == l) {
        return InvalidArgument("pi0 upload: sample {} needs more than the plan's {} prefix rows",
                               i, l);
      }
      slots[r] = static_cast<int>(nv * t + j);
      valid[r] = pad;
      ids[r] = tokens[i * lt + j];
      ++r;
    }
    for (; r < l; ++r) {  // batch padding: masked rows (any finite position and id)
      valid[r] = 0;
      ids[r] = 0;
    }
  }

  // Encoded images: finite (openpi would propagate NaN; we refuse it), then uploaded
  // straight from the caller's tensor; or their bytes, normalised by the forward.
  if (key.pixels) {
    VLART_TRY(UploadEncodedViews(be_, in.pixels, plan.encoded_views, plan.pixels, "pi0"));
  } else {
    VLART_TRY(UploadEncodedViews(be_, in.images, plan.encoded_views, plan.images, "pi0"));
  }

  if (!host.ids_uploaded ||
      std::memcmp(host.ids.data<int32_t>(), host.call_ids.data(), b * l * sizeof(int32_t)) != 0) {
    std::memcpy(host.ids.data<int32_t>(), host.call_ids.data(), b * l * sizeof(int32_t));
    be_.Upload(host.ids.view(), plan.ids);
    host.ids_uploaded = true;
    ++plan.ids_uploads;
  }
  // Positions and masks of the samples whose pad pattern changed: rebuilt, and uploaded
  // one slice per tensor for each run of consecutive changed samples.
  auto changed = [&](int64_t i) {
    return std::memcmp(host.valid.data() + i * l, host.uploaded_valid.data() + i * l, l) != 0;
  };
  for (int64_t i0 = 0; i0 < b;) {
    if (!changed(i0)) {
      ++i0;
      continue;
    }
    int64_t i1 = i0 + 1;
    while (i1 < b && changed(i1)) ++i1;
    for (int64_t i = i0; i < i1; ++i) BuildPrefixInputs(plan, i);
    be_.Upload(host.positions.view().Slice(0, i0, i1), plan.positions.Slice(0, i0, i1));
    be_.Upload(host.prefix_mask.view().Slice(0, i0, i1), plan.prefix_mask.Slice(0, i0, i1));
    be_.Upload(host.suffix_positions.view().Slice(0, i0, i1),
               plan.suffix_positions.Slice(0, i0, i1));
    be_.Upload(host.suffix_mask.view().Slice(0, i0, i1), plan.suffix_mask.Slice(0, i0, i1));
    std::memcpy(host.uploaded_valid.data() + i0 * l, host.valid.data() + i0 * l, (i1 - i0) * l);
    plan.mask_builds += i1 - i0;
    i0 = i1;
  }
  // openpi casts the float64 state to float32 before state_proj.
  for (int64_t i = 0; i < b * a; ++i) {
    host.state.data<float>()[i] = static_cast<float>(in.state.data<double>()[i]);
  }
  be_.Upload(host.state.view(), plan.state);
  be_.Upload(in.noise.view(), plan.noise);
  // No Synchronize: Upload has consumed its source when it returns (backend.h) and the
  // stream orders the copies before the forward.
  return Status::Ok();
}

void Pi0Model::Forward(Plan& p) {
  const int64_t b = p.key.batch;
  const int64_t l = p.key.prefix_len;
  const int64_t t = cfg_.vision.tokens();
  const int64_t w = cfg_.vlm.width;
  const Tracer& trace = tracer_;

  Stage("vision");
  if (p.key.pixels) be_.NormalizePixels(p.pixels, pixel_table_, p.images);
  p.siglip->Forward(p.images, p.image_tokens, trace);

  // [image tokens ; embed(ids) * sqrt(W)] (the table is pre-scaled): gather every row,
  // then overwrite the image rows; sample b's j-th encoded view fills rows [jT, (j+1)T).
  Stage("prefix");
  be_.Embedding(p.ids, w_.vlm.embed, p.prefix_x.Reshape({b * l, w}));
  for (size_t e = 0; e < p.encoded_views.size(); ++e) {
    const int64_t r0 = p.image_row0[e];
    be_.Copy(p.image_tokens.Select(0, static_cast<int64_t>(e)),
             p.prefix_x.Select(0, p.encoded_views[e].first).Slice(0, r0, r0 + t));
  }
  trace("prefix.embs", p.prefix_x);
  p.prefix->Forward(p.prefix_x, p.positions, p.prefix_mask, p.kv, trace);

  Stage("denoise");
  p.expert->Begin(p.state, p.kv, p.suffix_positions, p.suffix_mask, trace);
  be_.Copy(p.noise, p.x_t);
  for (int k = 0; k < p.expert->steps(); ++k) {
    if (trace.active()) trace(fmt::format("step{}.x_t", k), p.x_t);
    p.expert->Step(k, p.x_t, p.v_t, p.kv, p.suffix_positions, p.suffix_mask, trace);
    if (trace.active()) trace(fmt::format("step{}.v_t", k), p.v_t);
    be_.Axpby(p.dt, p.v_t, 1.0f, p.x_t, p.x_t);  // x + dt * v (dt * v rounds, then the sum)
  }

  Stage("post");
  be_.Copy(p.x_t, p.x0);
  trace("x0", p.x0);
  Stage("end");
}

Status Pi0Model::Download(Plan& plan, Pi0Outputs* out) {
  out->x0 = HostTensor(DType::kF32, plan.x0.shape);
  be_.Download(plan.x0, out->x0.view());
  be_.Synchronize();
  return Status::Ok();
}

Result<Pi0Outputs> Pi0Model::Run(const Pi0Inputs& inputs) {
  VLART_TRY(Validate(inputs));
  VLART_ASSIGN_OR_RETURN(Plan * plan, GetPlan(MakePlanKey(inputs)));
  VLART_TRY(Upload(*plan, inputs));
  Forward(*plan);
  Pi0Outputs out;
  VLART_TRY(Download(*plan, &out));
  return out;
}

}  // namespace vlart::pi0
