// SPDX-License-Identifier: Apache-2.0
//
// pi0_synthetic.h: random-weight pi0 / pi0.5 checkpoints with openpi's names and shapes.
//
// The tensor list is what openpi's converter writes for the architecture (specs/pi0.md
// 2.1): every tensor the model reads (the tied embedding under lm_head's name) plus
// the two it never reads (the VLM's final norm and the expert's lm_head), so a full
// config gives 777 (pi0) / 812 (pi0.5) tensors, 3,501,372,176 / 3,616,757,520 values.
// Tensor `name` is drawn from its own generator, Rng(seed ^ fnv1a64(name)), so a writer
// can produce tensors one at a time (the full model is 14 GB in f32) or in parallel,
// in any order, with the same result. Scales keep activations O(1) through the stack
// (the tiny goldens' scheme, with depth-scaled output projections as in
// xvla_synthetic.h): matrices N(0, 1/fan_in), attention/MLP output matrices further
// / sqrt(2 * layers of their tower); biases N(0, 0.02^2); SigLIP LayerNorm gamma
// 1 + N(0, 0.05^2), beta N(0, 0.02^2); Gemma RMSNorm offsets N(0, 0.05^2); token
// table N(0, 1/W) (x sqrt(W) in the prefix -> O(1)); position table N(0, 0.02^2);
// adaRMS denses N(0, 4/fan_in) with bias N(0, 0.2^2) (scale/shift/gate ~0.5 rms, so the
// gated sub-layers matter); the unused expert lm_head N(0, 0.02^2).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/host_tensor.h"
#include "models/pi0/pi0_config.h"

namespace vlart::pi0 {

// The embedded SentencePiece model that goes with tiny synthetic checkpoints
// (src/text/embedded_assets.h) and its vocabulary size (use it for Pi0TinyConfig).
inline constexpr const char* kTinyTokenizerAsset = "tokenizers/paligemma_tiny/tokenizer.model";
inline constexpr int kTinyTokenizerVocab = 1200;

// (name, shape) of every tensor of the checkpoint file, sorted by name.
std::vector<std::pair<std::string, Shape>> SyntheticPi0TensorList(const Pi0Config& cfg);
// One tensor (f32), deterministic in (seed, name).
HostTensor MakeSyntheticPi0Tensor(const std::string& name, const Shape& shape,
                                  const Pi0Config& cfg, uint64_t seed);
// Every tensor at once (tiny configs; a full one needs ~14 GB).
std::vector<std::pair<std::string, HostTensor>> MakeSyntheticPi0Weights(const Pi0Config& cfg,
                                                                        uint64_t seed);
// assets/physical-intelligence/libero/norm_stats.json as openpi's normalize.save writes
// it: "state" (8) and "actions" (7), each mean / std / q01 / q99, LIBERO-like values.
std::string SyntheticPi0NormStatsJson();
// Where openpi looks for it inside a checkpoint folder.
inline constexpr const char* kLiberoNormStatsPath = "assets/physical-intelligence/libero/norm_stats.json";

}  // namespace vlart::pi0
