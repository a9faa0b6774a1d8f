// SPDX-License-Identifier: Apache-2.0
//
// preprocess_bench.cc: Google Benchmark timings of the host preprocessing of one policy call
// (what `vlart bench` reports as the `preprocess` row), piece by piece, at the released
// models' input shapes.
//
//   cmake --build build --target preprocess_bench
//   build/bench/host/preprocess_bench [--benchmark_filter=Xvla] [--benchmark_repetitions=5]
//
// Inputs are `vlart bench`'s: the two bundled LIBERO views (256x256; pi0 gets them through
// openpi's client resize_with_pad to 224x224, as LIBERO clients send them), its prompt and
// state. Configurations are XvlaFullConfig / Pi0FullConfig (224x224 views, 3 slots, 50 X-VLA
// text tokens, 30x20 / 50x32 / 10x32 noise); tokenizers, norm stats and the image processor
// settings come from tiny synthetic checkpoint folders written to a temporary directory at
// start (the same side files a full synthetic checkpoint carries).
//   pieces          the reference path's parts (one-shot and planned Pillow resize,
//                   normalisation, tokenizers, noise) and the fast path's (Fast*View);
//   *Prepare        the whole preprocessing as the policies call it (PrepareInto into
//                   reused buffers, noise included), in a hot loop;
//   *PrepareAfterIdle  the same after 10 ms of sleep per call (a robot loop on a GPU host:
//                   caches cooled, helper threads asleep);
//   PolicyStage/PolicyPreprocess_*  CallTimings::preprocess_ms of whole tiny-model CPU calls, the
//                   number `vlart bench` reports.
// VLART_PREPROCESS_THREADS=N runs the processors' tasks on N threads for every call (default:
// the caller alone at batch 1, helpers for batched calls; WorkerPool::DefaultHelpers).

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "image/decode.h"
#include "image/image_preprocessor.h"
#include "image/normalize.h"
#include "image/resample.h"
#include "image/resize_with_pad.h"
#include "io/norm_stats.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/pi0/pi0_transforms.h"
#include "models/xvla/xvla_config.h"
#include "models/xvla/xvla_processor.h"
#include "runtime/synthetic_checkpoint.h"
#include "text/embedded_assets.h"
#include "text/paligemma_prompt.h"
#include "text/sentencepiece_tokenizer.h"
#include "vlart/policy.h"
#include "tiny_policies.h"

namespace vlart {
namespace {

namespace fs = std::filesystem;

using bench::kLiberoState;
using bench::kPrompt;
using bench::BM_PolicyStage;
using bench::OrDie;

// Tiny checkpoints and the demo views (tiny_policies.h).
bench::TinyPolicies& F() { return bench::Tiny(); }

// ---- X-VLA pieces ----

xvla::XvlaProcessor& XvlaProc() {
  static xvla::XvlaProcessor p =
      OrDie(xvla::XvlaProcessor::Load(F().root / "xvla", xvla::XvlaFullConfig()), "xvla processor");
  return p;
}

void BM_XvlaResizeOneShot(benchmark::State& state) {
  const ImageView in = F().views[0].view();
  for (auto _ : state) {
    Result<Image> r = ResizeImage(in, 224, 224, ResampleFilter::kBicubic);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_XvlaResizeOneShot);

void BM_XvlaResizePlanned(benchmark::State& state) {
  const ImageView in = F().views[0].view();
  Resampler r = OrDie(Resampler::Create(256, 256, 224, 224, ResampleFilter::kBicubic), "plan");
  std::vector<uint8_t> out(224 * 224 * 3);
  for (auto _ : state) {
    const Status s = r.Run(in, out.data());
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_XvlaResizePlanned);

void BM_ClipNormalize(benchmark::State& state) {
  const Image img = Image::Zeros(224, 224);
  HostTensor out(DType::kF32, {3, 224, 224});
  const ClipNormalization norm;
  for (auto _ : state) {
    const Status s = NormalizeClip(img.view(), norm, out.view());
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data<float>());
  }
}
BENCHMARK(BM_ClipNormalize);

void BM_XvlaPreprocessImage(benchmark::State& state) {
  HostTensor out(DType::kF32, {3, 224, 224});
  for (auto _ : state) {
    const Status s = XvlaProc().PreprocessImage(F().views[0], out.view());
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data<float>());
  }
}
BENCHMARK(BM_XvlaPreprocessImage);

void BM_FastClipView(benchmark::State& state) {
  // ImagePreprocessor: one 256x256 view -> [3, 224, 224] (resize + CLIP), 3 planes in turn.
  ImagePreprocessor pre(224, 224, ResampleFilter::kBicubic, PixelNormalizer::Clip({}),
                        {state.range(0) != 0});
  HostTensor out(DType::kF32, {3, 224, 224});
  const ImageView in = F().views[0].view();
  for (auto _ : state) {
    (void)pre.Prepare(256, 256, 1);
    for (int c = 0; c < 3; ++c) pre.RunPlane(in, c, 0, out.data<float>() + c * 224 * 224);
    benchmark::DoNotOptimize(out.data<float>());
  }
}
BENCHMARK(BM_FastClipView)->Arg(0)->Arg(1);

void BM_FastOpenpiView(benchmark::State& state) {
  ImagePreprocessor pre(224, 224, ResampleFilter::kBicubic, PixelNormalizer::Openpi(),
                        {state.range(0) != 0});
  HostTensor out(DType::kF32, {3, 224, 224});
  const ImageView in = F().views_224[0].view();
  for (auto _ : state) {
    (void)pre.Prepare(224, 224, 1);
    for (int c = 0; c < 3; ++c) pre.RunPlane(in, c, 0, out.data<float>() + c * 224 * 224);
    benchmark::DoNotOptimize(out.data<float>());
  }
}
BENCHMARK(BM_FastOpenpiView)->Arg(0)->Arg(1);

void BM_XvlaTokenize(benchmark::State& state) {
  for (auto _ : state) {
    bool truncated = false;
    auto ids = XvlaProc().Tokenize(kPrompt, &truncated);
    benchmark::DoNotOptimize(ids);
  }
}
BENCHMARK(BM_XvlaTokenize);

void BM_XvlaNoise(benchmark::State& state) {
  HostTensor noise(DType::kF32, {1, 30, 20});
  uint64_t seed = 0;
  for (auto _ : state) {
    Rng rng(seed++);
    for (int64_t k = 0; k < noise.numel(); ++k) noise.data<float>()[k] = rng.Normal();
    benchmark::DoNotOptimize(noise.data<float>());
  }
}
BENCHMARK(BM_XvlaNoise);

void BM_XvlaPrepare(benchmark::State& state) {
  std::vector<xvla::XvlaRequest> batch(static_cast<size_t>(state.range(0)));
  for (xvla::XvlaRequest& r : batch) {
    r.images = F().views;
    r.instruction = kPrompt;
    r.proprio.assign(20, 0.0);
    r.domain_id = 3;
  }
  // As XvlaPolicy calls it: into the same buffers every call.
  xvla::XvlaInputs in;
  uint64_t seed = 0;
  for (auto _ : state) {
    const Status s = XvlaProc().PrepareInto(batch, 10, nullptr, seed++, nullptr, &in);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(in.images.data<float>());
  }
}
BENCHMARK(BM_XvlaPrepare)->Arg(1)->Arg(4);

// The robot-loop pattern on a GPU host: the host idles ~10 ms (the forward) between
// calls, so the helpers are asleep when a call starts and the caller pays their wake-up.
void BM_XvlaPrepareAfterIdle(benchmark::State& state) {
  std::vector<xvla::XvlaRequest> batch(static_cast<size_t>(state.range(0)));
  for (xvla::XvlaRequest& r : batch) {
    r.images = F().views;
    r.instruction = kPrompt;
    r.proprio.assign(20, 0.0);
    r.domain_id = 3;
  }
  xvla::XvlaInputs in;
  uint64_t seed = 0;
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto t0 = std::chrono::steady_clock::now();
    const Status s = XvlaProc().PrepareInto(batch, 10, nullptr, seed++, nullptr, &in);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(s);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
}
BENCHMARK(BM_XvlaPrepareAfterIdle)->Arg(1)->Arg(4)->UseManualTime()->Iterations(200);

// ---- pi0 / pi0.5 pieces ----

struct Pi0Side {
  pi0::Pi0Config cfg;
  std::unique_ptr<SentencePieceTokenizer> tok;
  std::unique_ptr<pi0::Pi0Transforms> transforms;
  pi0::PromptTokenizer prompt;
};

Pi0Side& Pi0(bool pi05) {
  static Pi0Side sides[2];
  Pi0Side& s = sides[pi05 ? 1 : 0];
  if (s.tok == nullptr) {
    const fs::path dir = F().root / (pi05 ? "pi05" : "pi0");
    s.cfg = pi0::Pi0FullConfig(pi05);
    s.tok = std::make_unique<SentencePieceTokenizer>(
        OrDie(SentencePieceTokenizer::FromFile(dir / "tokenizer.model"), "tokenizer"));
    NormStats stats = OrDie(NormStats::Load(dir / pi0::kLiberoNormStatsPath), "norm stats");
    s.transforms = std::make_unique<pi0::Pi0Transforms>(
        OrDie(pi0::Pi0Transforms::Create(s.cfg, std::move(stats)), "transforms"));
    s.prompt = pi0::SentencePiecePromptTokenizer(*s.tok);
  }
  return s;
}


void BM_OpenpiNormalize(benchmark::State& state) {
  HostTensor out(DType::kF32, {3, 224, 224});
  const ImageView in = F().views_224[0].view();
  for (auto _ : state) {
    const Status s = NormalizeOpenpi(in, ChannelLayout::kCHW, out.view());
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data<float>());
  }
}
BENCHMARK(BM_OpenpiNormalize);

void BM_Pi0Tokenize(benchmark::State& state) {
  Pi0Side& s = Pi0(false);
  for (auto _ : state) {
    auto t = TokenizePi0Prompt(*s.tok, kPrompt, s.cfg.max_token_len);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_Pi0Tokenize);

void BM_Pi0NormalizeState(benchmark::State& state) {
  Pi0Side& s = Pi0(state.range(0) != 0);
  for (auto _ : state) {
    auto v = s.transforms->NormalizeState(kLiberoState);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Pi0NormalizeState)->Arg(0)->Arg(1);

void BM_Pi0Noise(benchmark::State& state) {
  Pi0Side& s = Pi0(state.range(0) != 0);
  uint64_t seed = 0;
  for (auto _ : state) {
    HostTensor n = pi0::MakeNoise(s.cfg, 1, seed++);
    benchmark::DoNotOptimize(n.data<float>());
  }
}
BENCHMARK(BM_Pi0Noise)->Arg(0)->Arg(1);

void BM_Pi0Prepare(benchmark::State& state) {
  const bool pi05 = state.range(0) != 0;
  Pi0Side& s = Pi0(pi05);
  std::vector<pi0::LiberoObservation> batch(static_cast<size_t>(state.range(1)));
  for (pi0::LiberoObservation& o : batch) {
    o = pi0::LiberoObservation{F().views_224[0].view(), F().views_224[1].view(), kLiberoState,
                               kPrompt};
  }
  // As Pi0Policy calls it: into the same buffers every call, noise included.
  pi0::Pi0Prepared p;
  uint64_t seed = 0;
  for (auto _ : state) {
    const Status st = s.transforms->PrepareInto(batch, s.prompt, seed++, &p);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(p.inputs.images.data<float>());
  }
}
BENCHMARK(BM_Pi0Prepare)->Args({0, 1})->Args({0, 4})->Args({1, 1})->Args({1, 4});

void BM_Pi0PrepareAfterIdle(benchmark::State& state) {  // as BM_XvlaPrepareAfterIdle
  Pi0Side& s = Pi0(state.range(0) != 0);
  std::vector<pi0::LiberoObservation> batch(static_cast<size_t>(state.range(1)));
  for (pi0::LiberoObservation& o : batch) {
    o = pi0::LiberoObservation{F().views_224[0].view(), F().views_224[1].view(), kLiberoState,
                               kPrompt};
  }
  pi0::Pi0Prepared p;
  uint64_t seed = 0;
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = s.transforms->PrepareInto(batch, s.prompt, seed++, &p);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(st);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
}
BENCHMARK(BM_Pi0PrepareAfterIdle)
    ->Args({0, 1})->Args({0, 4})->Args({1, 1})->Args({1, 4})->UseManualTime()->Iterations(200);

void BM_AllocImages(benchmark::State& state) {
  for (auto _ : state) {
    HostTensor t(DType::kF32, {state.range(0), 3, 3, 224, 224});
    benchmark::DoNotOptimize(t.data<float>());
  }
}
BENCHMARK(BM_AllocImages)->Arg(1)->Arg(4);

// ---- Whole calls: the `preprocess` stage of Policy::ActBatch (tiny models, CPU) ----

BENCHMARK_CAPTURE(BM_PolicyStage, PolicyPreprocess_xvla, "xvla", &CallTimings::preprocess_ms)->Arg(1)->Arg(4)->UseManualTime()->Iterations(40);
BENCHMARK_CAPTURE(BM_PolicyStage, PolicyPreprocess_pi0, "pi0", &CallTimings::preprocess_ms)->Arg(1)->Arg(4)->UseManualTime()->Iterations(40);
BENCHMARK_CAPTURE(BM_PolicyStage, PolicyPreprocess_pi05, "pi05", &CallTimings::preprocess_ms)->Arg(1)->Arg(4)->UseManualTime()->Iterations(40);

}  // namespace
}  // namespace vlart

BENCHMARK_MAIN();
