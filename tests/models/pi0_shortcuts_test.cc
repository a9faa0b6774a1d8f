// SPDX-License-Identifier: Apache-2.0
//
// pi0_shortcuts_test.cc: every numerical shortcut of the pi0 / pi0.5 model, proven
// against openpi's layout as executed (Pi0ModelOptions::Reference()) on the CPU
// reference, with the golden inputs (B = 2, prompts of 19 and 8 tokens, third view masked).
//
// Bit-identical (memcmp of x0), each alone and all together:
//   skip_masked_images, trim_text_padding, skip_dead_prefix_compute, cache_state_token
//   (pi0), fold_time_path (pi0.5: adaRMS modulations precomputed per step).
// Why they can be exact: a removed key has softmax weight exp(-2.38e38 - max) = +0 in
// f32; the softmax sums in double (s + 0 = s) and the f32 accumulation of P.V adds
// 0 * v = +0 (v finite); removed tokens change no position; every kept value goes
// through the same operations. "The same operations" needs products whose rounding
// does not depend on how many rows or keys a call has. OpenBLAS's sgemm (the CPU
// reference) does not give that: a row's result depends on its place in the kernel's
// 16-row tiles (fixed_order_backend.h). So bit-identity is proven on the fixed-order
// test backend (the CPU reference with Linear / Attention / Conv2d as plain ordered
// loops), and on the CPU reference itself the same shortcuts are checked to differ by
// rounding only (the golden tolerance rule of pi0_test_util.h: 8 x 4 ulps of the
// largest |x0|; measured ~1e-6 on values ~5).
// Up to rounding only: pi0's fold_time_path splits the f32 dot product of
// action_time_mlp_in over [action_emb, time_emb] into two sums (the time half becomes a
// per-step bias). Each of the two results is within gamma_n * S of the exact value,
// n = 2We + 1 terms (the bias counted as one), S = sum_i |w_i z_i| + |b|, gamma_n =
// n u / (1 - n u), u = 2^-24; so they differ by at most 2 gamma_n S per element. That
// bound is checked at step 0 (the only step whose inputs are the same in both runs);
// end to end both variants are compared with the goldens (pi0_golden_test.cc).
// Up to rounding only: fold_rms_norms (RMSNorm weights folded into the qkv and gate/up
// weights, the statistic applied after the GEMM): the folded weights are W (1 + w) rounded to
// f32 once and the GEMM sums x W'ᵀ instead of (x s (1 + w)) Wᵀ; checked here end to end at
// the golden tolerance and, stage by stage, in pi0_golden_test.cc (the defaults fold).

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "capture_tracer.h"
#include "fixed_order_backend.h"
#include "pi0_test_util.h"
#include "runtime/profiling_backend.h"

namespace vlart {
namespace {

using testing::LoadPi0Tiny;
using testing::Pi0Tiny;

struct RunOutput {
  HostTensor x0;
  std::map<std::string, HostTensor> traces;  // the requested traced stages
};

// Runs the model with `options`; with `keep` non-empty, traces and keeps those stages.
enum class Kind { kCpuReference, kFixedOrder };

RunOutput RunModel(Pi0Tiny& t, const pi0::Pi0ModelOptions& options, const pi0::Pi0Inputs& in,
                   const std::vector<std::string>& keep = {}, Kind kind = Kind::kCpuReference) {
  RunOutput r;
  auto be = kind == Kind::kFixedOrder ? testing::CreateFixedOrderBackend() : CreateCpuBackend();
  testing::CaptureTracer capture(*be);
  auto model = pi0::Pi0Model::Load(t.cfg, *t.source, *be, options);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return r;
  if (!keep.empty()) (*model)->tracer().Set(capture.Fn());
  auto out = (*model)->Run(in);
  EXPECT_TRUE(out.ok()) << out.status().message();
  if (!out.ok()) return r;
  r.x0 = std::move(out->x0);
  for (const std::string& name : keep) {
    EXPECT_TRUE(capture.Has(name)) << name;
    if (capture.Has(name)) r.traces[name] = HostTensor::CopyOf(capture.Get(name).view());
  }
  return r;
}

HostTensor RunX0(Pi0Tiny& t, const pi0::Pi0ModelOptions& options, const pi0::Pi0Inputs& in,
                 Kind kind = Kind::kCpuReference) {
  return RunModel(t, options, in, {}, kind).x0;
}

struct Shortcut {
  const char* name;
  bool pi0::Pi0ModelOptions::*flag;
};
constexpr Shortcut kExactForBoth[] = {
    {"skip_masked_images", &pi0::Pi0ModelOptions::skip_masked_images},
    {"trim_text_padding", &pi0::Pi0ModelOptions::trim_text_padding},
    {"skip_dead_prefix_compute", &pi0::Pi0ModelOptions::skip_dead_prefix_compute},
};

class Pi0Shortcuts : public ::testing::TestWithParam<std::string> {};

std::vector<Shortcut> ExactShortcuts(const pi0::Pi0Config& cfg) {
  std::vector<Shortcut> shortcuts(std::begin(kExactForBoth), std::end(kExactForBoth));
  if (cfg.pi05) {
    shortcuts.push_back({"fold_time_path (adaRMS per step)", &pi0::Pi0ModelOptions::fold_time_path});
  } else {
    shortcuts.push_back({"cache_state_token", &pi0::Pi0ModelOptions::cache_state_token});
  }
  return shortcuts;
}

TEST_P(Pi0Shortcuts, EachExactShortcutIsBitIdentical) {
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  const Kind kind = Kind::kFixedOrder;
  const HostTensor base = RunX0(t, pi0::Pi0ModelOptions::Reference(), in, kind);
  pi0::Pi0ModelOptions together = pi0::Pi0ModelOptions::Reference();
  for (const Shortcut& s : ExactShortcuts(t.cfg)) {
    pi0::Pi0ModelOptions o = pi0::Pi0ModelOptions::Reference();
    o.*(s.flag) = true;
    together.*(s.flag) = true;
    const HostTensor x0 = RunX0(t, o, in, kind);
    EXPECT_TRUE(testing::BitEqual(x0, base))
        << s.name << ": max |diff| " << testing::MaxAbsDiff(x0, base);
  }
  const HostTensor x0 = RunX0(t, together, in, kind);
  EXPECT_TRUE(testing::BitEqual(x0, base)) << "all exact shortcuts together: max |diff| "
                                           << testing::MaxAbsDiff(x0, base);
}

TEST_P(Pi0Shortcuts, ExactWithDifferentViewsAndPromptsAcrossTheBatch) {
  // Sample 0 keeps all three views (the zero image counts as present), sample 1 only
  // its base view, and sample 1's prompt is cut to 3 tokens: the two samples' prefixes
  // differ in length, so the shorter one is padded with masked rows.
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  const int64_t v = t.cfg.num_views;
  const int64_t lt = t.cfg.max_token_len;
  in.image_mask.data<uint8_t>()[0 * v + 2] = 1;
  in.image_mask.data<uint8_t>()[1 * v + 1] = 0;
  for (int64_t j = 3; j < lt; ++j) in.token_mask.data<uint8_t>()[lt + j] = 0;
  pi0::Pi0ModelOptions exact;  // the defaults, minus the rounding-level folds
  if (!t.cfg.pi05) exact.fold_time_path = false;
  exact.fold_rms_norms = false;
  const HostTensor base = RunX0(t, pi0::Pi0ModelOptions::Reference(), in, Kind::kFixedOrder);
  const HostTensor x0 = RunX0(t, exact, in, Kind::kFixedOrder);
  EXPECT_TRUE(testing::BitEqual(x0, base)) << "max |diff| " << testing::MaxAbsDiff(x0, base);
}

TEST_P(Pi0Shortcuts, OnTheCpuReferenceShortcutsDifferOnlyByRounding) {
  // Every shortcut (pi0's time fold included), alone and together, on the OpenBLAS CPU
  // reference, against openpi's layout on the same backend.
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  const HostTensor base = RunX0(t, pi0::Pi0ModelOptions::Reference(), in);
  std::vector<Shortcut> shortcuts = ExactShortcuts(t.cfg);
  if (!t.cfg.pi05) shortcuts.push_back({"fold_time_path (pi0)", &pi0::Pi0ModelOptions::fold_time_path});
  shortcuts.push_back({"fold_rms_norms", &pi0::Pi0ModelOptions::fold_rms_norms});
  for (const Shortcut& s : shortcuts) {
    pi0::Pi0ModelOptions o = pi0::Pi0ModelOptions::Reference();
    o.*(s.flag) = true;
    const testing::StageResult r = testing::CompareAll("x0 (reference layout)", s.name, RunX0(t, o, in), base);
    EXPECT_TRUE(r.ok) << s.name << ": " << r.max_abs_diff << " > " << r.tolerance;
  }
  const testing::StageResult r =
      testing::CompareAll("x0 (reference layout)", "all", RunX0(t, pi0::Pi0ModelOptions{}, in), base);
  EXPECT_TRUE(r.ok) << "all shortcuts: " << r.max_abs_diff << " > " << r.tolerance;
  std::printf("%s, every shortcut on, cpu-ref: max |x0 diff| %.3e (tolerance %.3e)\n",
              GetParam().c_str(), r.max_abs_diff, r.tolerance);
}

TEST_P(Pi0Shortcuts, TracingDoesNotChangeTheResult) {
  // Traced runs split fused epilogues to expose sub-layer outputs; the f32 values must
  // be the same operations.
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  for (const pi0::Pi0ModelOptions& o : {pi0::Pi0ModelOptions::Reference(), pi0::Pi0ModelOptions{}}) {
    const HostTensor traced = RunModel(t, o, in, {"x0"}).x0;
    const HostTensor plain = RunX0(t, o, in);
    EXPECT_TRUE(testing::BitEqual(traced, plain));
  }
}

TEST(Pi0Shortcuts, Pi0TimeFoldDiffersOnlyByRounding) {
  Pi0Tiny t = LoadPi0Tiny("pi0_tiny");
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  pi0::Pi0ModelOptions folded = pi0::Pi0ModelOptions::Reference();
  folded.fold_time_path = true;
  const std::vector<std::string> keep = {"step0.action_time_pre", "step0.action_emb",
                                         "step0.time_emb"};
  RunOutput ref = RunModel(t, pi0::Pi0ModelOptions::Reference(), in, keep);
  RunOutput fold = RunModel(t, folded, in, keep);
  const HostTensor& ref_pre = ref.traces["step0.action_time_pre"];
  const HostTensor& fold_pre = fold.traces["step0.action_time_pre"];
  const HostTensor& action_emb = ref.traces["step0.action_emb"];
  const HostTensor& time_emb = ref.traces["step0.time_emb"];
  ASSERT_TRUE(testing::BitEqual(fold.traces["step0.action_emb"], action_emb));
  ASSERT_TRUE(testing::BitEqual(fold.traces["step0.time_emb"], time_emb));

  auto w = t.source->LoadF32("action_time_mlp_in.weight");  // [We, 2We]
  auto bias = t.source->LoadF32("action_time_mlp_in.bias");
  ASSERT_TRUE(w.ok() && bias.ok());
  const int64_t we = t.cfg.expert.width;
  const int64_t b = action_emb.shape()[0], h = action_emb.shape()[1];
  const double u = std::ldexp(1.0, -24);
  const double n = 2.0 * static_cast<double>(we) + 1.0;
  const double gamma = n * u / (1.0 - n * u);
  double worst_ratio = 0.0, worst_diff = 0.0;
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t r = 0; r < h; ++r) {
      const float* a = action_emb.data<float>() + (i * h + r) * we;
      const float* tau = time_emb.data<float>() + i * we;
      for (int64_t o = 0; o < we; ++o) {
        const float* wo = w->data<float>() + o * 2 * we;
        double s = std::fabs(static_cast<double>(bias->data<float>()[o]));
        for (int64_t j = 0; j < we; ++j) {
          s += std::fabs(static_cast<double>(wo[j]) * a[j]) + std::fabs(static_cast<double>(wo[we + j]) * tau[j]);
        }
        const int64_t idx = (i * h + r) * we + o;
        const double diff = std::fabs(static_cast<double>(fold_pre.data<float>()[idx]) -
                                      ref_pre.data<float>()[idx]);
        const double bound = 2.0 * gamma * s;
        worst_diff = std::max(worst_diff, diff);
        worst_ratio = std::max(worst_ratio, diff / bound);
        EXPECT_LE(diff, bound) << "row " << i << "," << r << " out " << o;
      }
    }
  }
  RecordProperty("max_abs_diff", std::to_string(worst_diff));
  std::printf("pi0 time fold, step-0 pre-activation: max |diff| %.3e, max diff / bound %.3f\n",
              worst_diff, worst_ratio);
}

// The action expert streams its next GEMMs' weights (Backend::Prefetch) only for one sample:
// two hints per layer and step at batch 1 (pi0's cached state token: two per layer but the
// last, which stops after its K/V), none at the goldens' batch 2 (on the H100 the hints cost
// 0.47-0.63 ms at batch 4; docs/PERFORMANCE.md). Each golden sample run alone gives its row
// of the batch-2 result (up to f32 reassociation, below).
TEST_P(Pi0Shortcuts, WeightHintsOnlyAtBatchOne) {
  Pi0Tiny t = LoadPi0Tiny(GetParam());
  const pi0::Pi0Inputs in = testing::GoldenModelInputs(t);
  ASSERT_EQ(in.noise.shape()[0], 2) << "the goldens hold two samples";
  const pi0::Pi0ModelOptions options;  // the defaults
  ProfilingBackend be(CreateCpuBackend(), 1 << 16);
  auto model = pi0::Pi0Model::Load(t.cfg, *t.source, be, options);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto hints = [&be] {
    int n = 0;
    for (const OpTiming& op : be.Timings()) n += op.op == "Prefetch" ? 1 : 0;
    return n;
  };
  be.ResetOps();
  auto both = (*model)->Run(in);
  ASSERT_TRUE(both.ok()) << both.status().message();
  EXPECT_EQ(hints(), 0) << "batch 2";
  const int depth = t.cfg.expert.depth;
  const bool state_pass = !t.cfg.pi05 && options.cache_state_token;
  const int want = 2 * depth * in.steps + (state_pass ? 2 * (depth - 1) : 0);
  const int64_t per_sample = both->x0.numel() / 2;
  const auto* b = static_cast<const float*>(both->x0.view().data);
  for (int64_t i = 0; i < 2; ++i) {
    be.ResetOps();
    auto one = (*model)->Run(testing::Gather(in, {i}));
    ASSERT_TRUE(one.ok()) << one.status().message();
    EXPECT_EQ(hints(), want) << "batch 1, sample " << i;
    ASSERT_EQ(one->x0.numel(), per_sample);
    const auto* a = static_cast<const float*>(one->x0.view().data);
    // Alone, a sample's prefix is trimmed to its own prompt; in the batch, to the longer
    // one, so its attention sums over more (masked, zero-weight) keys in another grouping.
    // pi0 comes out bit for bit, pi0.5's second sample 1e-6 off: f32 reassociation, ~1e-6
    // relative per value of order 1; 1e-5 leaves 10x margin and still catches any real
    // mixing of samples (differences of order 0.1).
    for (int64_t j = 0; j < per_sample; ++j) {
      ASSERT_NEAR(a[j], b[i * per_sample + j], 1e-5) << "sample " << i << ", x0 value " << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tiny, Pi0Shortcuts, ::testing::Values("pi0_tiny", "pi05_tiny"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace vlart
