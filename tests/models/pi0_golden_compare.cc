// SPDX-License-Identifier: Apache-2.0
//
// pi0_golden_compare.cc: see pi0_golden_compare.h.

#include "pi0_golden_compare.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "capture_tracer.h"

namespace vlart::testing {

Pi0RunResult RunPi0AndCompare(Pi0Tiny& t, Backend& be, const pi0::Pi0ModelOptions& options) {
  Pi0RunResult res;
  auto model = pi0::Pi0Model::Load(t.cfg, *t.source, be, options);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return res;
  pi0::Pi0Model& m = **model;
  const pi0::Pi0Inputs in = GoldenModelInputs(t);
  EXPECT_TRUE(m.Validate(in).ok());
  auto plan = m.GetPlan(m.MakePlanKey(in));
  EXPECT_TRUE(plan.ok());
  CaptureTracer capture(be);
  m.tracer().Set(capture.Fn());
  EXPECT_TRUE(m.Upload(**plan, in).ok());
  m.Forward(**plan);
  pi0::Pi0Outputs out;
  EXPECT_TRUE(m.Download(**plan, &out).ok());
  res.x0 = std::move(out.x0);
  const pi0::Pi0Model::Plan& p = **plan;
  // The plan's layout buffers, read back from the backend (device memory on CUDA).
  const HostTensor positions = DownloadToHost(be, p.positions, DType::kI32);
  const HostTensor prefix_mask = DownloadToHost(be, p.prefix_mask, DType::kF32);
  const HostTensor suffix_positions = DownloadToHost(be, p.suffix_positions, DType::kI32);
  const HostTensor suffix_mask = DownloadToHost(be, p.suffix_mask, DType::kF32);

  const GoldenFile& g = *t.golden;
  const pi0::Pi0Config& cfg = t.cfg;
  const bool reference = !options.skip_masked_images && !options.trim_text_padding;
  const int64_t b = p.key.batch;
  const int64_t h = cfg.action_horizon;
  const int64_t sfx = cfg.suffix_len();
  const bool state_cached = !cfg.pi05 && options.cache_state_token;
  auto traced = [&](const std::string& name) -> HostTensor {
    EXPECT_TRUE(capture.Has(name)) << "not traced: " << name;
    if (!capture.Has(name)) return HostTensor(DType::kF32, {1});
    return HostTensor::CopyOf(capture.Get(name).view());
  };
  auto add = [&](StageResult r) { res.stages.push_back(std::move(r)); };
  auto rows = [&](const std::string& gname, const std::string& ours, const RowPairs& pairs) {
    add(CompareRows(gname, ours, traced(ours), g.F32(gname), pairs));
  };
  auto all = [&](const std::string& gname, const std::string& ours) {
    add(CompareAll(gname, ours, traced(ours), g.F32(gname)));
  };
  auto exact = [&](const std::string& what, bool ok) {
    if (!ok) res.exact_failures.push_back(what);
  };

  // ---- vision: ours [N, T, C] over the encoded (b, v) views; golden per image slot ---
  for (int v = 0; v < cfg.num_views; ++v) {
    RowPairs pairs(1);
    for (size_t e = 0; e < p.encoded_views.size(); ++e) {
      if (p.encoded_views[e].second == v) pairs[0].emplace_back(e, p.encoded_views[e].first);
    }
    if (pairs[0].empty()) continue;  // a masked slot that was skipped
    auto per_image = [&](const std::string& stage) {
      const std::string gname = fmt::format("vision.img{}.{}", v, stage);
      const HostTensor ours = traced("vision." + stage);
      const HostTensor gold = g.F32(gname);
      add(CompareRows(gname, "vision." + stage,
                      HostTensor::CopyOf(ours.view().Reshape({1, ours.shape()[0], -1})),
                      HostTensor::CopyOf(gold.view().Reshape({1, gold.shape()[0], -1})), pairs));
    };
    per_image("embeddings");
    if (v == 0) {
      for (const char* s : {"layer0.ln1", "layer0.attn_out", "layer0.ln2", "layer0.mlp_out"}) {
        per_image(s);
      }
    }
    for (int l = 0; l < cfg.vision.depth; ++l) per_image(fmt::format("layer{}", l));
    per_image("post_layernorm");
    per_image("projector");
  }

  // ---- prefix: embeddings, layout (positions, mask), VLM layers, K/V cache ---------
  const RowPairs prefix_pairs = PrefixRowPairs(p, t, reference);
  rows("prefix.embs", "prefix.embs", prefix_pairs);
  {
    const HostTensor gpos = g.I32("prefix.positions");
    const HostTensor gmask = g.U8("prefix.att_2d_mask");
    const int64_t lp = gpos.shape()[1];
    const int64_t l = p.key.prefix_len;
    bool pos_ok = true, mask_ok = true;
    for (int64_t i = 0; i < b; ++i) {
      for (const auto& [r, s] : prefix_pairs[i]) {
        pos_ok &= positions.data<int32_t>()[i * l + r] == gpos.data<int32_t>()[i * lp + s];
        for (const auto& [r2, s2] : prefix_pairs[i]) {
          const float want = gmask.data<uint8_t>()[(i * lp + s) * lp + s2] ? 0.0f : pi0::kMaskNegative;
          mask_ok &= prefix_mask.data<float>()[(i * l + r) * l + r2] == want;
        }
      }
    }
    exact("prefix.positions", pos_ok);
    exact("prefix.att_2d_mask", mask_ok);
  }
  for (const char* s : {"input_norm", "attn_out", "post_norm", "mlp_out"}) {
    rows(fmt::format("vlm.layer0.{}", s), fmt::format("vlm.layer0.{}", s), prefix_pairs);
  }
  for (int l = 0; l < cfg.vlm.depth; ++l) {
    if (options.skip_dead_prefix_compute && l == cfg.vlm.depth - 1) continue;  // not computed
    rows(fmt::format("vlm.layer{}", l), fmt::format("vlm.layer{}", l), prefix_pairs);
  }
  for (int l = 0; l < cfg.vlm.depth; ++l) {
    for (const char* kv : {"k", "v"}) {
      const std::string gname = fmt::format("kv.layer{}.{}", l, kv);
      const Tensor& cache = kv[0] == 'k' ? p.kv.k[l] : p.kv.v[l];
      const HostTensor ours = DownloadToHost(be, cache.Reshape({b, cache.dim(1), -1}), DType::kF32);
      const HostTensor gold = g.F32(gname);
      add(CompareRows(gname, fmt::format("kv.k/v[{}] prefix rows", l), ours,
                      HostTensor::CopyOf(gold.view().Reshape({b, gold.shape()[2], -1})),
                      prefix_pairs));
    }
  }

  // ---- suffix layout ---------------------------------------------------------------
  {
    const HostTensor gpos = g.I32("suffix.positions");
    bool ok = true;
    for (int64_t i = 0; i < b * sfx; ++i) {
      ok &= suffix_positions.data<int32_t>()[i] == gpos.data<int32_t>()[i];
    }
    exact("suffix.positions", ok);
    const HostTensor gmask = g.U8("suffix.att_2d_mask");  // [B, S, Lp + S]
    const int64_t lp = gmask.shape()[2] - sfx;
    const int64_t l = p.key.prefix_len;
    ok = true;
    for (int64_t i = 0; i < b; ++i) {
      for (int64_t q = 0; q < sfx; ++q) {
        const uint8_t* grow = gmask.data<uint8_t>() + (i * sfx + q) * (lp + sfx);
        const float* orow = suffix_mask.data<float>() + (i * sfx + q) * (l + sfx);
        for (const auto& [r, s] : prefix_pairs[i]) ok &= orow[r] == (grow[s] ? 0.0f : pi0::kMaskNegative);
        for (int64_t j = 0; j < sfx; ++j) {
          ok &= orow[l + j] == (grow[lp + j] ? 0.0f : pi0::kMaskNegative);
        }
      }
    }
    exact("suffix.att_2d_mask", ok);
  }

  // ---- denoising steps -------------------------------------------------------------
  const std::vector<float>& times = p.expert->times();
  exact("number of steps", static_cast<int>(times.size()) == in.steps);
  const int64_t s_run = state_cached ? h : sfx;
  const RowPairs expert_pairs = RangePairs(b, 0, sfx - s_run, s_run);
  for (int k = 0; k < static_cast<int>(times.size()); ++k) {
    const std::string pre = fmt::format("step{}.", k);
    const HostTensor gt = g.F32(pre + "t");
    bool t_ok = true;
    for (int64_t i = 0; i < b; ++i) {
      t_ok &= std::memcmp(&gt.data<float>()[i], &times[k], sizeof(float)) == 0;
    }
    exact(pre + "t", t_ok);
    exact(pre + "time_emb (bit-exact)",
          MaxAbsDiff(traced(pre + "time_emb"), g.F32(pre + "time_emb")) == 0.0);
    all(pre + "x_t", pre + "x_t");
    all(pre + "suffix_embs", pre + "suffix_embs");
    if (cfg.pi05) all(pre + "adarms_cond", pre + "adarms_cond");
    if (k == 0) {
      if (!cfg.pi05) all("step0.action_emb", "step0.action_emb");
      for (const char* s : {"input_norm", "attn_out", "post_norm", "mlp_out"}) {
        rows(fmt::format("step0.expert.layer0.{}", s), fmt::format("step0.expert.layer0.{}", s),
             expert_pairs);
      }
      if (cfg.pi05) {
        all("step0.expert.layer0.attn_gate", "step0.expert.layer0.attn_gate");
        all("step0.expert.layer0.mlp_gate", "step0.expert.layer0.mlp_gate");
      }
      for (int l = 0; l < cfg.expert.depth; ++l) {
        const std::string name = fmt::format("step0.expert.layer{}", l);
        rows(name, name, expert_pairs);
        if (state_cached && l + 1 < cfg.expert.depth) {  // the cached state token's rows
          const std::string ours = fmt::format("expert.state.layer{}", l);
          add(CompareRows(name + " (state row)", ours, traced(ours), g.F32(name), RangePairs(b, 0, 0, 1)));
        }
      }
      rows("step0.expert.final_norm", "step0.expert.final_norm", RangePairs(b, 0, sfx - h, h));
    }
    all(pre + "v_t", pre + "v_t");
  }
  all("x0", "x0");
  return res;
}

void ExpectAllPi0StagesMatch(const Pi0RunResult& r, const std::string& what) {
  bool ok = !r.stages.empty();
  for (const StageResult& s : r.stages) ok = ok && s.ok;
  const std::string table = FormatStages(r.stages);
  EXPECT_TRUE(ok) << what << "\n" << table;
  for (const std::string& f : r.exact_failures) ADD_FAILURE() << what << ": not exact: " << f;
  if (std::getenv("VLART_TEST_VERBOSE")) std::printf("== %s ==\n%s", what.c_str(), table.c_str());
}

}  // namespace vlart::testing
