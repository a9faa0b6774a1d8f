// SPDX-License-Identifier: Apache-2.0
//
// tiny_policies.h: what the host micro-benchmarks share (preprocess_bench, upload_bench):
// tiny synthetic checkpoints of X-VLA, pi0 and pi0.5 in one temporary folder (removed at
// exit), the bundled demo views, OrDie, and BM_PolicyStage, which times one host stage of
// whole Policy::ActBatch calls (CallTimings::preprocess_ms, upload_ms, ...: the rows
// `vlart bench --device cpu` reports) on the CPU backend.
//
// Tiny widths, real input shapes: X-VLA gets the two 256x256 views, pi0 / pi0.5 the same
// through resize_with_pad(224, 224), LIBERO's state and instruction. Header-only, for
// benchmark binaries (one translation unit each).
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/image.h"
#include "image/resize_with_pad.h"
#include "runtime/synthetic_checkpoint.h"
#include "text/embedded_assets.h"
#include "vlart/policy.h"

namespace vlart::bench {

inline constexpr const char* kPrompt = "put both the alphabet soup and the tomato sauce in the basket";
inline const std::vector<double> kLiberoState = {-0.05, 0.03, 0.78, 2.97, -0.09, -0.11, 0.026, -0.026};

template <typename T>
T OrDie(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "bench: %s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

inline void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

struct TinyPolicies {
  std::filesystem::path root;    // root / "xvla" | "pi0" | "pi05": tiny checkpoints
  std::vector<Image> views;      // the bundled 256x256 views
  std::vector<Image> views_224;  // the same through resize_with_pad(224, 224)

  TinyPolicies() {
    root = std::filesystem::temp_directory_path() / ("vlart_host_bench_" + std::to_string(::getpid()));
    for (const char* arch : {"xvla", "pi0", "pi05"}) {
      Check(WriteSyntheticCheckpoint(SyntheticSpec{arch, "tiny", 0}, root / arch), arch);
    }
    for (const char* name : {"demo/agentview.png", "demo/wrist.png"}) {
      Image img = OrDie(DecodeImageBytes(EmbeddedAsset(name), name), name);
      views_224.push_back(OrDie(ResizeWithPad(img.view(), 224, 224), "resize_with_pad"));
      views.push_back(std::move(img));
    }
  }
  ~TinyPolicies() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};

inline TinyPolicies& Tiny() {
  static TinyPolicies t;
  return t;
}

// One host stage of Policy::ActBatch on the tiny `arch` ("xvla", "pi0", "pi05"), batch
// state.range(0), 1 denoising step; the iteration time is the stage's own timing.
inline void BM_PolicyStage(benchmark::State& state, const char* arch, double CallTimings::*stage) {
  static std::unique_ptr<Policy> policies[3];
  const std::string a = arch;
  const int which = a == "xvla" ? 0 : a == "pi0" ? 1 : 2;
  if (policies[which] == nullptr) {
    policies[which] = OrDie(Policy::Load(Tiny().root / arch, PolicyOptions{}), "policy");
  }
  Observation o;
  o.images = which == 0 ? Tiny().views : Tiny().views_224;
  o.prompt = kPrompt;
  if (which == 0) {
    o.state.assign(20, 0.0);
    o.domain_id = 3;
  } else {
    o.state = kLiberoState;
  }
  const std::vector<Observation> batch(static_cast<size_t>(state.range(0)), o);
  uint64_t seed = 0;
  for (auto _ : state) {
    CallTimings t;
    ActOptions ao;
    ao.steps = 1;
    ao.seed = seed++;
    ao.timings = &t;
    auto chunks = policies[which]->ActBatch(batch, ao);
    if (!chunks.ok()) {
      state.SkipWithError(chunks.status().ToString().c_str());
      break;
    }
    state.SetIterationTime(t.*stage / 1000.0);
  }
}

}  // namespace vlart::bench
