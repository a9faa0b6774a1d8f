// SPDX-License-Identifier: Apache-2.0
//
// action_expert.cc: suffix embedding + Gemma action expert, one Euler step (see header).

#include "models/pi0/action_expert.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/host_tensor.h"
#include "models/pi0/pi0_schedule.h"

namespace vlart::pi0 {

ActionExpert::ActionExpert(const Pi0Config& cfg, const Pi0Weights& weights, Backend& backend,
                           Arena& arena, int64_t batch, int64_t prefix_len, int steps,
                           const ExpertOptions& options, DType dtype)
    : cfg_(cfg),
      w_(weights),
      be_(backend),
      batch_(batch),
      prefix_len_(prefix_len),
      times_(OpenpiStepTimes(steps)),
      steps_(static_cast<int>(times_.size())),
      opt_(options) {
  const int64_t b = batch;
  const int64_t h = cfg.action_horizon;
  const int64_t we = cfg.expert.width;
  const bool cache = !cfg.pi05 && opt_.cache_state_token;
  s_full_ = cfg.suffix_len();
  s_run_ = cache ? h : s_full_;
  block_ = std::make_unique<GemmaBlock>(cfg.expert, backend, arena, b, s_run_, dtype);

  temb_ = arena.Allocate({steps_, we}, DType::kF32);
  stream_ = arena.Allocate({b, s_run_, we}, dtype);
  final_ = arena.Allocate({b, h, we}, dtype);
  final_f32_ = arena.Allocate({b * h, we}, DType::kF32);
  suffix_ = arena.Allocate({b, s_full_, we}, DType::kF32);
  if (!cfg.pi05) {
    action_emb_ = arena.Allocate({b * h, we}, DType::kF32);
    hmid_ = arena.Allocate({b * h, we}, DType::kF32);
    atm_out_ = arena.Allocate({b * h, we}, DType::kF32);
    if (opt_.fold_time_path) {
      time_bias_ = arena.Allocate({steps_, we}, DType::kF32);
    } else {
      cat_ = arena.Allocate({b * h, 2 * we}, DType::kF32);
    }
    if (cache) state_stream_ = arena.Allocate({b, 1, we}, dtype);
  } else {
    const int64_t rows = opt_.fold_time_path ? steps_ : b;
    time_tmp_ = arena.Allocate({rows, we}, DType::kF32);
    if (opt_.fold_time_path) {
      cond_table_ = arena.Allocate({steps_, we}, DType::kF32);
    } else {
      cond_ = arena.Allocate({b, we}, DType::kF32);
      temb_rows_ = arena.Allocate({b, we}, DType::kF32);
    }
    sites_.resize(2 * cfg.expert.depth + 1);
    for (Site& s : sites_) {
      s.f32 = arena.Allocate({rows, 3 * we}, DType::kF32);
      s.table = arena.Allocate({rows, 3 * we}, dtype);
    }
  }
  BuildTimeTables();
}

void ActionExpert::BuildTimeTables() {
  const int64_t we = cfg_.expert.width;
  HostTensor temb(DType::kF32, {steps_, we});
  for (int k = 0; k < steps_; ++k) {
    OpenpiTimeEmbedding(times_[k], static_cast<int>(we), temb.data<float>() + k * we);
  }
  be_.Upload(temb.view(), temb_);
  be_.Synchronize();  // `temb` is freed on return
  if (!opt_.fold_time_path) return;
  const ProjectionWeights& p = w_.proj;
  if (!cfg_.pi05) {
    // The time half of action_time_mlp_in plus its bias, per step.
    be_.Linear(temb_, p.action_time_in_time_w, &p.action_time_in_b, Activation::kNone, nullptr,
               time_bias_);
    return;
  }
  be_.Linear(temb_, p.time_in_w, &p.time_in_b, Activation::kSilu, nullptr, time_tmp_);
  be_.Linear(time_tmp_, p.time_out_w, &p.time_out_b, Activation::kSilu, nullptr, cond_table_);
  for (size_t i = 0; i < sites_.size(); ++i) {
    const size_t l = i / 2;
    const bool final_site = i + 1 == sites_.size();
    const Tensor& dw = final_site ? w_.expert.final_dense_w
                                  : (i % 2 == 0 ? w_.expert.layers[l].input_dense_w
                                                : w_.expert.layers[l].post_dense_w);
    const Tensor& db = final_site ? w_.expert.final_dense_b
                                  : (i % 2 == 0 ? w_.expert.layers[l].input_dense_b
                                                : w_.expert.layers[l].post_dense_b);
    be_.Linear(cond_table_, dw, &db, Activation::kNone, nullptr, sites_[i].f32);
    be_.Copy(sites_[i].f32, sites_[i].table);
  }
}

void ActionExpert::ComputeStepModulations(int k) {
  // Exactly the ops of BuildTimeTables, on one row per sample (as openpi runs them).
  const ProjectionWeights& p = w_.proj;
  be_.Copy(temb_.Select(0, k).Broadcast(temb_rows_.shape), temb_rows_);
  be_.Linear(temb_rows_, p.time_in_w, &p.time_in_b, Activation::kSilu, nullptr, time_tmp_);
  be_.Linear(time_tmp_, p.time_out_w, &p.time_out_b, Activation::kSilu, nullptr, cond_);
  for (size_t i = 0; i < sites_.size(); ++i) {
    const size_t l = i / 2;
    const bool final_site = i + 1 == sites_.size();
    const Tensor& dw = final_site ? w_.expert.final_dense_w
                                  : (i % 2 == 0 ? w_.expert.layers[l].input_dense_w
                                                : w_.expert.layers[l].post_dense_w);
    const Tensor& db = final_site ? w_.expert.final_dense_b
                                  : (i % 2 == 0 ? w_.expert.layers[l].input_dense_b
                                                : w_.expert.layers[l].post_dense_b);
    be_.Linear(cond_, dw, &db, Activation::kNone, nullptr, sites_[i].f32);
    be_.Copy(sites_[i].f32, sites_[i].table);
  }
}

AdaModulation ActionExpert::Modulation(const Site& site, int k) const {
  const int64_t we = cfg_.expert.width;
  const Tensor rows = opt_.fold_time_path ? site.table.Slice(0, k, k + 1) : site.table;
  return AdaModulation{rows.Slice(1, 0, we), rows.Slice(1, we, 2 * we), rows.Slice(1, 2 * we, 3 * we)};
}

void ActionExpert::RunLayers(const Tensor& x, const Tensor& positions, const Tensor& mask,
                             int64_t kv_offset, int64_t kv_len, const KvCache& kv, int k,
                             bool state_pass, const Tracer& trace, const AdaModulation* final_ada,
                             const Tensor& final_out) {
  const int depth = static_cast<int>(w_.expert.layers.size());
  // adaRMS layers chained: residual + next norm in one op (traced runs keep every layer's x).
  const bool chained = cfg_.pi05 && !trace.active() && !state_pass;
  VLART_CHECK(final_ada == nullptr || chained, "ActionExpert: a fused final norm needs a chained run");
  AdaModulation next_in;
  for (int l = 0; l < depth; ++l) {
    GemmaAttentionArgs a;
    a.positions = positions;
    a.mask = mask;
    a.k_cache = kv.k[l];
    a.v_cache = kv.v[l];
    a.kv_offset = kv_offset;
    a.kv_len = kv_len;
    AdaModulation ada_in, ada_post;
    const bool ada = cfg_.pi05;
    if (ada) {
      ada_in = Modulation(sites_[2 * l], k);
      ada_post = Modulation(sites_[2 * l + 1], k);
    }
    // The cached state token's last layer: only its K/V are ever read.
    const bool kv_only = state_pass && l == depth - 1;
    const bool step0 = k == 0 && !state_pass;
    AdaChain chain;
    if (chained) {
      chain.input_normed = l > 0;
      if (l + 1 < depth) {
        next_in = Modulation(sites_[2 * (l + 1)], k);
        chain.next = &next_in;
      } else if (final_ada != nullptr) {
        chain.next = final_ada;
        chain.next_out = final_out;
      }
    }
    // Weights stream ahead at batch 1 only; the last layer's "next" is layer 0 of the
    // following step. Measured on the H100 (docs/PERFORMANCE.md, 2026-11-24): pi0's denoise
    // 0.41 ms faster at batch 1, pi0.5's unchanged; at batch 4 both slower (+0.47 / +0.63 ms).
    const GemmaLayerWeights* next = batch_ == 1 ? &w_.expert.layers[(l + 1) % depth] : nullptr;
    block_->Forward(w_.expert.layers[l], x, a, ada ? &ada_in : nullptr, ada ? &ada_post : nullptr,
                    kv_only, trace, step0 && l == 0 ? "step0.expert.layer0" : "",
                    chained ? &chain : nullptr, next);
    if (!trace.active() || kv_only) continue;
    if (state_pass) trace(fmt::format("expert.state.layer{}", l), x);
    if (step0) trace(fmt::format("step0.expert.layer{}", l), x);
  }
}

void ActionExpert::Begin(const Tensor& state, const KvCache& kv, const Tensor& positions,
                         const Tensor& mask, const Tracer& trace) {
  if (cfg_.pi05) return;
  const ProjectionWeights& p = w_.proj;
  // openpi casts the float64 state to float32 right before state_proj (the caller did).
  be_.Linear(state, p.state_w, &p.state_b, Activation::kNone, nullptr, suffix_.Select(1, 0));
  if (!opt_.cache_state_token) return;
  const int64_t l = prefix_len_;
  be_.Copy(suffix_.Slice(1, 0, 1), state_stream_);
  RunLayers(state_stream_, positions.Slice(1, 0, 1), mask.Slice(1, 0, 1).Slice(2, 0, l + 1), l,
            l + 1, kv, -1, /*state_pass=*/true, trace);
}

void ActionExpert::Step(int k, const Tensor& x_t, const Tensor& v_t, const KvCache& kv,
                        const Tensor& positions, const Tensor& mask, const Tracer& trace) {
  VLART_CHECK(k >= 0 && k < steps_, "ActionExpert::Step: step {} of {}", k, steps_);
  const int64_t b = batch_;
  const int64_t h = cfg_.action_horizon;
  const int64_t we = cfg_.expert.width;
  const int64_t a = cfg_.action_dim;
  const int64_t rows = b * h;
  const int64_t l = prefix_len_;
  const ProjectionWeights& p = w_.proj;
  const bool traced = trace.active();
  const std::string pre = traced ? fmt::format("step{}.", k) : std::string();
  if (traced) trace(pre + "time_emb", temb_.Select(0, k).Broadcast({b, we}));

  Tensor pos = positions, msk = mask;
  int64_t offset = l;
  if (!cfg_.pi05) {
    be_.Linear(x_t.Reshape({rows, a}), p.action_in_w, &p.action_in_b, Activation::kNone, nullptr,
               action_emb_);
    if (traced && k == 0) trace("step0.action_emb", action_emb_.Reshape({b, h, we}));
    // swish(action_time_mlp_in(concat[action_emb, time_emb])): fused epilogue, or split so
    // the pre-activation can be traced (the same f32 values either way).
    const Activation act = traced ? Activation::kNone : Activation::kSilu;
    if (opt_.fold_time_path) {
      const Tensor bias = time_bias_.Select(0, k);
      be_.Linear(action_emb_, p.action_time_in_action_w, &bias, act, nullptr, hmid_);
    } else {
      be_.Copy(action_emb_, cat_.Slice(1, 0, we));
      be_.Copy(temb_.Select(0, k).Broadcast({rows, we}), cat_.Slice(1, we, 2 * we));
      be_.Linear(cat_, p.action_time_in_w, &p.action_time_in_b, act, nullptr, hmid_);
    }
    if (traced) {
      trace(pre + "action_time_pre", hmid_.Reshape({b, h, we}));
      be_.Activate(Activation::kSilu, hmid_, hmid_);
    }
    be_.Linear(hmid_, p.action_time_out_w, &p.action_time_out_b, Activation::kNone, nullptr,
               atm_out_);
    be_.Copy(atm_out_.Reshape({b, h, we}), suffix_.Slice(1, 1, s_full_));
    if (traced) trace(pre + "suffix_embs", suffix_);
    if (opt_.cache_state_token) {
      be_.Copy(suffix_.Slice(1, 1, s_full_), stream_);
      pos = positions.Slice(1, 1, s_full_);
      msk = mask.Slice(1, 1, s_full_);
      offset = l + 1;
    } else {
      be_.Copy(suffix_, stream_);
    }
  } else {
    be_.Linear(x_t.Reshape({rows, a}), p.action_in_w, &p.action_in_b, Activation::kNone, nullptr,
               suffix_.Reshape({rows, we}));
    if (traced) trace(pre + "suffix_embs", suffix_);
    if (!opt_.fold_time_path) ComputeStepModulations(k);
    if (traced) {
      trace(pre + "adarms_cond",
            opt_.fold_time_path ? cond_table_.Select(0, k).Broadcast({b, we}) : cond_);
    }
    be_.Copy(suffix_, stream_);
  }

  // Final (ada)RMSNorm of the action rows, then action_out_proj in f32. pi0.5 untraced: the
  // last layer's residual and the final norm are one op (every stream row is an action row).
  const bool fuse_final = cfg_.pi05 && !traced && s_run_ == h;
  const AdaModulation final_ada = cfg_.pi05 ? Modulation(sites_.back(), k) : AdaModulation{};
  RunLayers(stream_, pos, msk, offset, l + s_full_, kv, k, /*state_pass=*/false, trace,
            fuse_final ? &final_ada : nullptr, final_);

  const Tensor last = stream_.Slice(1, s_run_ - h, s_run_);
  if (cfg_.pi05) {
    if (!fuse_final) block_->Norm(last, nullptr, &final_ada, final_);
  } else {
    block_->Norm(last, &w_.expert.final_norm, nullptr, final_);
  }
  if (traced && k == 0) trace("step0.expert.final_norm", final_);
  be_.Copy(final_, final_f32_.Reshape({b, h, we}));
  be_.Linear(final_f32_, p.action_out_w, &p.action_out_b, Activation::kNone, nullptr,
             v_t.Reshape({rows, a}));
}

}  // namespace vlart::pi0
