// SPDX-License-Identifier: Apache-2.0
//
// upload_bench.cc: Google Benchmark timings of the host side of one policy call's input
// upload (what `vlart bench` reports as the `upload` row), at the released models' input
// shapes.
//
//   cmake --build build --target upload_bench
//   build/bench/host/upload_bench [--benchmark_filter=Pi0] [--benchmark_repetitions=5]
//
// Models: Pi0TinyConfig / XvlaTinyConfig with synthetic weights on the CPU backend. Tiny
// widths, real input shapes: three 224x224 image slots (pi0: 256 tokens per view, 48 / 200
// prompt slots; X-VLA: 50 text tokens), pi0 actions 50x32 / 10x32, X-VLA 30x20. The CPU
// backend's Upload is a memcpy into the plan's buffer, so a case times the host work the
// model adds plus one copy of the bytes; on CUDA the copy goes to the pinned staging
// buffer instead (bf16 pixels converted on the way: F32ToBf16Staging).
//   Pi0Upload/pi05/batch/prompts  Pi0Model::Upload of LIBERO-like inputs (views 1 and 2
//                   present, the third masked, 20-token prompts). prompts=0: the same
//                   inputs every call (a robot loop: nothing but pixels, state and noise
//                   is re-uploaded); prompts=1: the last sample's prompt alternates between
//                   20 and 12 tokens, so with batch > 1 every call rebuilds and re-uploads
//                   positions and masks (batch 1: each prompt length is its own plan, so
//                   only the ids change);
//   XvlaUpload/batch           XvlaModel::Upload of two present views of three;
//   PolicyStage/PolicyUpload_arch/batch  CallTimings::upload_ms of whole tiny-model CPU calls (the
//                   number `vlart bench --device cpu` reports);
//   F32ToBf16/variant          two views of pixels (301,056 values) to bf16, as
//                   CudaBackend::Upload converts them into its staging buffer: 0 = the
//                   scalar cast in a loop (before), 1 = F32ToBF16ArrayPortable (baseline
//                   SSE2 build), 2 = F32ToBF16Array (AVX2 where present: what it runs now);
//   FirstNonFinite/avx2, IsFiniteLoop  the image check over two views: vectorised
//                   (baseline, AVX2) and the per-value loop Upload ran before.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/finite.h"
#include "core/float_convert.h"
#include "core/float_convert_array.h"
#include "core/rng.h"
#include "models/common/weights.h"
#include "models/pi0/pi0_model.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/xvla/xvla_model.h"
#include "models/xvla/xvla_synthetic.h"
#include "vlart/policy.h"
#include "tiny_policies.h"

namespace vlart {
namespace {

using bench::Check;
using bench::BM_PolicyStage;
using bench::OrDie;

HostTensor RandomPixels(const Shape& shape, uint64_t seed) {
  HostTensor t(DType::kF32, shape);
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(2.0 * rng.Uniform() - 1.0);
  return t;
}

// ---- pi0 / pi0.5 -------------------------------------------------------------------

struct Pi0Bench {
  std::unique_ptr<Backend> be = CreateCpuBackend();
  MapWeightSource weights;
  std::unique_ptr<pi0::Pi0Model> model;
};

Pi0Bench& Pi0(bool pi05) {
  static std::unique_ptr<Pi0Bench> benches[2];
  std::unique_ptr<Pi0Bench>& b = benches[pi05 ? 1 : 0];
  if (b == nullptr) {
    b = std::make_unique<Pi0Bench>();
    const pi0::Pi0Config cfg = pi0::Pi0TinyConfig(pi05, pi0::kTinyTokenizerVocab);
    for (auto& [name, t] : pi0::MakeSyntheticPi0Weights(cfg, 0)) b->weights.Put(name, std::move(t));
    b->model = OrDie(pi0::Pi0Model::Load(cfg, b->weights, *b->be), "pi0 model");
  }
  return *b;
}

// LIBERO-like model inputs: views 1 and 2 present, the third masked; `tokens` prompt tokens.
pi0::Pi0Inputs Pi0Inputs(const pi0::Pi0Config& cfg, int64_t batch, int tokens) {
  const int64_t v = cfg.num_views;
  const int64_t s = cfg.vision.image_size;
  const int64_t lt = cfg.max_token_len;
  pi0::Pi0Inputs in;
  in.images = RandomPixels({batch, v, 3, s, s}, 1);
  in.image_mask = HostTensor(DType::kU8, {batch, v});
  in.tokens = HostTensor(DType::kI32, {batch, lt});
  in.token_mask = HostTensor(DType::kU8, {batch, lt});
  for (int64_t i = 0; i < batch; ++i) {
    in.image_mask.data<uint8_t>()[i * v] = 1;
    in.image_mask.data<uint8_t>()[i * v + 1] = 1;
    for (int j = 0; j < tokens; ++j) {
      in.tokens.data<int32_t>()[i * lt + j] = 2 + (j * 37) % 1000;
      in.token_mask.data<uint8_t>()[i * lt + j] = 1;
    }
  }
  in.state = HostTensor(DType::kF64, {batch, cfg.action_dim});
  in.noise = RandomPixels({batch, cfg.action_horizon, cfg.action_dim}, 2);
  in.steps = 10;
  return in;
}

void BM_Pi0Upload(benchmark::State& state) {
  Pi0Bench& b = Pi0(state.range(0) != 0);
  const int64_t batch = state.range(1);
  const bool change_prompts = state.range(2) != 0;
  pi0::Pi0Inputs in[2] = {Pi0Inputs(b.model->config(), batch, 20),
                          Pi0Inputs(b.model->config(), batch, 20)};
  if (change_prompts) {  // the last sample's prompt: 20 or 12 tokens
    const int64_t lt = b.model->config().max_token_len;
    for (int64_t j = 12; j < 20; ++j) in[1].token_mask.data<uint8_t>()[(batch - 1) * lt + j] = 0;
  }
  pi0::Pi0Model::Plan* plans[2];
  for (int k = 0; k < 2; ++k) {
    Check(b.model->Validate(in[k]), "pi0 inputs");
    plans[k] = OrDie(b.model->GetPlan(b.model->MakePlanKey(in[k])), "pi0 plan");
    Check(b.model->Upload(*plans[k], in[k]), "pi0 upload");
  }
  int k = 0;
  for (auto _ : state) {
    const int which = change_prompts ? k++ & 1 : 0;
    const Status s = b.model->Upload(*plans[which], in[which]);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Pi0Upload)
    ->ArgNames({"pi05", "batch", "prompts"})
    ->Args({0, 1, 0})->Args({0, 1, 1})->Args({0, 4, 0})->Args({0, 4, 1})
    ->Args({1, 1, 0})->Args({1, 4, 1});

// ---- X-VLA -------------------------------------------------------------------------

void BM_XvlaUpload(benchmark::State& state) {
  static std::unique_ptr<Backend> be = CreateCpuBackend();
  static MapWeightSource weights;
  static std::unique_ptr<xvla::XvlaModel> model;
  if (model == nullptr) {
    const xvla::XvlaConfig cfg = xvla::XvlaTinyConfig(1000);
    for (auto& [name, t] : xvla::MakeSyntheticXvlaWeights(cfg, 0)) weights.Put(name, std::move(t));
    model = OrDie(xvla::XvlaModel::Load(cfg, weights, *be), "xvla model");
  }
  const xvla::XvlaConfig& cfg = model->config();
  const int64_t batch = state.range(0);
  const int64_t v = cfg.num_views;
  const int64_t s = cfg.vision.image_size;
  xvla::XvlaInputs in;
  in.input_ids = HostTensor(DType::kI32, {batch, cfg.max_text_tokens});
  in.images = RandomPixels({batch, v, 3, s, s}, 1);
  in.image_mask = HostTensor(DType::kU8, {batch, v});
  for (int64_t i = 0; i < batch; ++i) in.image_mask.data<uint8_t>()[i * v] = in.image_mask.data<uint8_t>()[i * v + 1] = 1;
  in.domain_id = HostTensor(DType::kI32, {batch});
  in.proprio = HostTensor(DType::kF32, {batch, cfg.dim_proprio()});
  in.noise = RandomPixels({batch, cfg.policy.num_actions, cfg.action_space.dim_action}, 2);
  in.steps = 10;
  Check(model->Validate(in), "xvla inputs");
  xvla::XvlaModel::Plan* plan = OrDie(model->GetPlan(xvla::XvlaModel::KeyFor(in)), "xvla plan");
  for (auto _ : state) {
    const Status st = model->Upload(*plan, in);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_XvlaUpload)->ArgName("batch")->Arg(1)->Arg(4);

// ---- whole calls: the `upload` stage of Policy::ActBatch (tiny models, CPU) ------

BENCHMARK_CAPTURE(BM_PolicyStage, PolicyUpload_xvla, "xvla", &CallTimings::upload_ms)->Arg(1)->Arg(4)->UseManualTime()->Iterations(40);
BENCHMARK_CAPTURE(BM_PolicyStage, PolicyUpload_pi0, "pi0", &CallTimings::upload_ms)->Arg(1)->Arg(4)->UseManualTime()->Iterations(40);
BENCHMARK_CAPTURE(BM_PolicyStage, PolicyUpload_pi05, "pi05", &CallTimings::upload_ms)->Arg(1)->Arg(4)->UseManualTime()->Iterations(40);

// ---- pieces ------------------------------------------------------------------------

// Two views of pixels to bf16: 0 = the scalar cast in a plain loop (what
// CudaBackend::Upload ran before), 1 = F32ToBF16ArrayPortable (the same loop, baseline
// build), 2 = F32ToBF16Array (AVX2 where the CPU has it: what it runs now).
void BM_F32ToBf16(benchmark::State& state) {
  const HostTensor src = RandomPixels({2, 3, 224, 224}, 3);
  std::vector<uint16_t> staging(static_cast<size_t>(src.numel()));
  const float* s = src.data<float>();
  uint16_t* d = staging.data();
  const int64_t n = src.numel();
  const int64_t variant = state.range(0);
  for (auto _ : state) {
    if (variant == 0) {
      for (int64_t i = 0; i < n; ++i) d[i] = F32ToBF16Bits(s[i]);
    } else if (variant == 1) {
      F32ToBF16ArrayPortable(s, d, n);
    } else {
      F32ToBF16Array(s, d, n);
    }
    benchmark::DoNotOptimize(d);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_F32ToBf16)->ArgName("variant")->Arg(0)->Arg(1)->Arg(2);

void BM_FirstNonFinite(benchmark::State& state) {  // 0: baseline build, 1: AVX2 where present
  const HostTensor src = RandomPixels({2, 3, 224, 224}, 4);
  const bool portable = state.range(0) == 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(portable ? FirstNonFinitePortable(src.data<float>(), src.numel())
                                      : FirstNonFinite(src.data<float>(), src.numel()));
  }
}
BENCHMARK(BM_FirstNonFinite)->ArgName("avx2")->Arg(0)->Arg(1);

void BM_IsFiniteLoop(benchmark::State& state) {  // the per-value check Upload used before
  const HostTensor src = RandomPixels({2, 3, 224, 224}, 4);
  const float* x = src.data<float>();
  const int64_t n = src.numel();
  for (auto _ : state) {
    int64_t bad = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(x[i])) {
        bad = i;
        break;
      }
    }
    benchmark::DoNotOptimize(bad);
  }
}
BENCHMARK(BM_IsFiniteLoop);

}  // namespace
}  // namespace vlart

BENCHMARK_MAIN();
